import jax
import pytest

from dynjax import startup

# The suite compiles hundreds of programs: it runs them as the command line does, with dynjax's straight-line
# Threefry lowering (the same random bits, about half the compile time; tests/test_threefry.py checks both).
# What a plain `import dynjax` does is checked in fresh interpreters (tests/test_imports.py).
startup.enable(lazy_imports=False, cpu_devices=False)


@pytest.fixture
def x64():
    """Run a test in float64 (restores the default afterwards)."""
    with jax.enable_x64(True):
        yield

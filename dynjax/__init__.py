"""dynjax: recurrent RL agents whose dynamics are the object of study, in pure JAX.

The public names are imported lazily, so that `dynjax.apps.cli` can join a multi-process run
(jax.distributed.initialize) before anything, gymnax included, touches a JAX backend.

Importing dynjax has no effect outside it: JAX's lowerings, sys.modules and sys.meta_path stay as they were.
The command line's start-up speed-ups are opt-in for other programs: `dynjax.startup.enable()`.
"""

import time

START = time.perf_counter()  # when dynjax was first imported: start-up times are measured from here

__version__ = "0.1.0"
# dynjax.RTRRLConfig, ... resolve on first use (module __getattr__); documented in dynjax.agents
_FROM_AGENTS = ("RTRRLConfig", "RTRRLHParams", "make_learner", "make_train")


def __getattr__(name: str):
    if name in _FROM_AGENTS:
        from dynjax import agents

        return getattr(agents, name)
    raise AttributeError(f"module 'dynjax' has no attribute {name!r}")

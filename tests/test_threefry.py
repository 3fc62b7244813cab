"""dynjax.startup.threefry: the straight-line CPU lowering of Threefry-2x32 gives JAX's random bits exactly.

The lowering is opt-in (dynjax.startup.enable); this module turns it on for its tests (and, as it is
process-wide, for the tests that run after it in the same process, as the command line would)."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.random import threefry_2x32

import dynjax.startup
from dynjax.startup.threefry import PARITY, ROTATIONS, TESTED_JAX_VERSIONS, jax_version


@pytest.fixture(autouse=True, scope="module")
def straight_line_threefry():
    """dynjax's lowering in effect for every test here. On a JAX not in TESTED_JAX_VERSIONS the lowering stays
    off (JAX's own is used, the same bits) and these tests are skipped: to validate a new JAX, add its version
    to TESTED_JAX_VERSIONS and run them."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DYNJAX_STOCK_THREEFRY", raising=False)  # these tests are about dynjax's lowering
        status = dynjax.startup.enable(lazy_imports=False)["threefry"]
    if status != "installed":
        pytest.skip(f"dynjax's Threefry lowering is off ({status}); tested on JAX {TESTED_JAX_VERSIONS}, this is "
                    f"{jax_version()}")


def numpy_threefry(k0, k1, x0, x1):
    """Slow obvious reference: the 20 rounds in NumPy uint32 arithmetic (wrapping), element by element."""
    k0, k1, x0, x1 = (np.asarray(a, np.uint32) for a in np.broadcast_arrays(k0, k1, x0, x1))
    out0, out1 = np.empty_like(x0), np.empty_like(x1)
    with np.errstate(over="ignore"):
        for i in np.ndindex(x0.shape):
            ks = [int(k0[i]), int(k1[i]), int(k0[i]) ^ int(k1[i]) ^ PARITY]
            a, b = (int(x0[i]) + ks[0]) % 2**32, (int(x1[i]) + ks[1]) % 2**32
            for g in range(5):
                for r in ROTATIONS[g % 2]:
                    a = (a + b) % 2**32
                    b = (((b << r) | (b >> (32 - r))) % 2**32) ^ a
                a = (a + ks[(g + 1) % 3]) % 2**32
                b = (b + ks[(g + 2) % 3] + g + 1) % 2**32
            out0[i], out1[i] = a, b
    return out0, out1


def test_random123_known_answers():
    """The known-answer vectors of Threefry-2x32-20 (Salmon et al. 2011, Random123's kat_vectors)."""
    cases = [((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
             ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
             ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0))]
    for key, ctr, want in cases:
        got = jax.jit(threefry_2x32)(jnp.asarray(key, jnp.uint32), jnp.asarray(ctr, jnp.uint32))
        assert [int(v) for v in got] == list(want)


def test_lowering_matches_numpy_reference_under_broadcasting_and_vmap():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**32, (6, 2), dtype=np.uint32)
    counts = rng.integers(0, 2**32, (6, 10), dtype=np.uint32)
    got = jax.jit(jax.vmap(threefry_2x32))(keys, counts)
    want0, want1 = numpy_threefry(keys[:, :1], keys[:, 1:], counts[:, :5], counts[:, 5:])
    np.testing.assert_array_equal(np.asarray(got), np.concatenate([want0, want1], axis=1))


def test_cpu_programs_use_the_straight_line_hash():
    """No while loop is left in a compiled draw: the lowering in effect is dynjax's, not JAX's rolled loop."""
    text = jax.jit(lambda k: jax.random.normal(k, (8, 10))).lower(jax.random.key(0)).compile().as_text()
    assert "while" not in text


def test_symbolic_shapes_export_with_the_same_bits():
    """jax.export with a symbolic batch size lowers the same rounds through JAX's shape machinery."""
    from jax import export

    b, = export.symbolic_shape("b")
    draw = jax.jit(lambda k, x: jax.random.uniform(k, x.shape))
    exported = export.export(draw, platforms=["cpu"])(jax.random.key(0), jax.ShapeDtypeStruct((b,), jnp.float32))
    np.testing.assert_array_equal(exported.call(jax.random.key(0), jnp.zeros(7)),
                                  jax.random.uniform(jax.random.key(0), (7,)))


_RUN = """
import json, jax, numpy as np
import dynjax.startup
status = dynjax.startup.enable(lazy_imports=False)["threefry"]  # "disabled" under DYNJAX_STOCK_THREEFRY=1
from dynjax import RTRRLConfig, make_train
cfg = RTRRLConfig(env_id="CartPole-v1", obs_mask="even", hidden_size=8, total_steps=600, eval_every=200,
                  eval_episodes=3)
state, m = jax.jit(jax.vmap(make_train(cfg)))(jax.random.split(jax.random.key(3), 2))
draw = jax.jit(lambda k: jax.random.normal(k, (8, 10))).lower(jax.random.key(0)).compile().as_text()
theta = np.concatenate([np.asarray(x).reshape(2, -1) for x in jax.tree.leaves(state.theta)], axis=1)
print(json.dumps({"theta": theta.view(np.uint32).tolist(),
                  "eval": np.asarray(m.eval_return).tolist(), "rolled": "while" in draw, "status": status}))
"""


def test_training_runs_are_bit_identical_with_jax_own_lowering():
    """A whole (vmapped) training run, init, action sampling, gymnax resets and evaluation included, gives
    the same bits under dynjax's lowering and under JAX's (enable() under DYNJAX_STOCK_THREEFRY=1 keeps JAX's)."""
    runs = {}
    for stock in ("0", "1"):
        env = os.environ | {"DYNJAX_STOCK_THREEFRY": stock, "JAX_PLATFORMS": "cpu"}
        out = subprocess.run([sys.executable, "-c", _RUN], capture_output=True, text=True, env=env, check=True)
        runs[stock] = json.loads(out.stdout.strip().splitlines()[-1])
    assert (runs["0"].pop("status"), runs["1"].pop("status")) == ("installed", "disabled")
    assert not runs["0"].pop("rolled") and runs["1"].pop("rolled")  # each run used the lowering it names
    assert runs["0"] == runs["1"]
    assert len(set(map(tuple, runs["0"]["theta"]))) == 2  # two different seeds, not a constant

"""The Dynamic RL agent: the channel swap, validation, a radius sweep through the runner (float64, RFLO critic).
The BPTT critic runs end to end in tests/test_benchmarks.py (the quick Dynamic RL table)."""

import csv
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax.agents.dynamic_rl import DynamicRLConfig, DynamicRLHParams, make_learner
from dynjax.sweep import run_sweep
from dynjax.sweep.spec import spec_from_dict

TINY = dict(n_lower=12, n_upper=6, critic_hidden=8, critic_window=8, total_steps=64, eval_every=32, eval_episodes=2,
            exponent_steps=4, exponent_segments=5)


def test_channel_swap_takes_effect_at_the_given_step(x64):
    """Two learners, the same seed, swap_at = 0 (never) and 5: identical until step 5, different from it on."""
    config = DynamicRLConfig(env_id="seq-nav", **TINY)
    learner = make_learner(config)
    hp = jax.tree.map(lambda x: jnp.asarray([x, x], float), config.hparams)._replace(swap_at=jnp.asarray([0.0, 5.0]))
    s = jax.vmap(learner.init, (None, 0))(jax.random.key(1), hp)
    step = jax.jit(jax.vmap(learner.step))
    positions = []
    for _ in range(8):
        s, _ = step(s)
        positions.append(np.asarray(s.env_state.pos))
    assert s.actor.upper.W.dtype == jnp.float32 and s.env_state.pos.dtype == jnp.float64  # train_dtype, env's
    never, at5 = np.stack(positions, axis=1)
    np.testing.assert_array_equal(never[:5], at5[:5])  # steps 0..4 act before the swap
    assert np.all(np.abs(never[5:] - at5[5:]).sum(axis=1) > 0)


def _run_steps(config, n=40):
    learner = make_learner(config)
    s = jax.vmap(learner.init)(jax.random.split(jax.random.key(3), 2))
    s, (recs, *_) = jax.jit(jax.vmap(lambda s: jax.lax.scan(lambda c, _: learner.step(c), s, None, length=n)))(s)
    return learner, s


def test_train_dtype_sets_the_learning_precision_and_the_probe_stays_float64(x64):
    """float32 training: every floating leaf of the learner's state but hp and env_state is float32; the probe's
    exponent comes out of a float64 run either way; float64 training keeps every leaf float64."""
    for dtype in ("float32", "float64"):
        learner, s = _run_steps(DynamicRLConfig(env_id="seq-nav", train_dtype=dtype, **TINY))
        floats = [x.dtype for x in jax.tree.leaves(s._replace(hp=(), env_state=())) if jnp.issubdtype(x.dtype, jnp.floating)]
        assert set(floats) == {jnp.dtype(dtype)}
        probe = jax.jit(jax.vmap(learner.diagnostics))(s)
        assert probe["exploration_exponent"].dtype == jnp.float64 and np.all(np.isfinite(probe["exploration_exponent"]))


def test_srl_trace_is_compiled_in_only_for_nonzero_lambda_s(x64):
    """lambda_s = 0 carries no G trace and learns what the G-trace program computes with lambda_s = 0 (up to
    XLA's fused multiply-adds: G = 0 * G + grad s is grad s exactly, but the programs fuse differently)."""
    from dynjax.agents.dynamic_rl import base_hparams

    config = DynamicRLConfig(env_id="seq-nav", train_dtype="float64", **TINY)
    learner, plain = _run_steps(config)
    assert plain.traces.G == ()
    traced = make_learner(dataclasses.replace(config, hparams=config.hparams._replace(lambda_s=0.5)))
    s = jax.vmap(lambda k: traced.init(k, config.hparams))(jax.random.split(jax.random.key(3), 2))  # lambda_s = 0
    assert jax.tree.leaves(s.traces.G)
    s, _ = jax.jit(jax.vmap(lambda s: jax.lax.scan(lambda c, _: traced.step(c), s, None, length=40)))(s)
    for a, b in zip(jax.tree.leaves(plain.actor), jax.tree.leaves(s.actor)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert base_hparams(config.hparams, {"lambda_s": [0.0, 0.3]}).lambda_s == 0.3
    assert base_hparams(config.hparams, {"radius": [1.0]}).lambda_s == 0.0


@pytest.mark.parametrize("kwargs, field", [
    (dict(env_id="CartPole-v1"), "env_id"),
    (dict(eval_every=30), "eval_every"),
    (dict(env_id="Pendulum-v1", hparams=DynamicRLHParams(swap_at=10)), "swap_at"),
    (dict(critic="lstm"), "critic"),
    (dict(td_transform="tanh"), "td_transform"),
    (dict(train_dtype="float16"), "train_dtype"),
])
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        make_learner(DynamicRLConfig(**(TINY | kwargs)))


def test_sweep_over_radius_writes_diagnostics(tmp_path):
    spec = spec_from_dict({"algo": "dynamic-rl", "seeds": 2, "config": dict(env_id="seq-nav", critic="rflo", **TINY),
                           "grid": {"radius": [1.5, 3.0]}})
    summary = run_sweep(spec, tmp_path, log=lambda m: None)
    assert len(summary["configs"]) == 2
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert len(rows) == 2 * 2 * 3
    assert {"eval_success", "exploration_exponent", "saturated_outputs", "train_success"} <= set(rows[0])
    assert all(np.isfinite(float(r["exploration_exponent"])) for r in rows)
    assert all(int(r["diverged_at"]) == -1 for r in rows) and {int(r["step"]) for r in rows} == {0, 32, 64}


def test_swap_from_acts_on_two_channel_actions_only():
    from dynjax.envs.change import swap_from

    a = jnp.array([0.3, -0.7])
    np.testing.assert_array_equal(swap_from(a, jnp.asarray(9), jnp.asarray(10.0)), a)
    np.testing.assert_array_equal(swap_from(a, jnp.asarray(10), jnp.asarray(10.0)), a[::-1])
    np.testing.assert_array_equal(swap_from(a, jnp.asarray(10), jnp.asarray(0.0)), a)  # 0: never
    np.testing.assert_array_equal(swap_from(jnp.array([0.5]), jnp.asarray(10), jnp.asarray(1.0)), [0.5])
    assert int(swap_from(jnp.asarray(1), jnp.asarray(10), jnp.asarray(1.0))) == 1  # discrete: untouched

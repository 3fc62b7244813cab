"""The Dynamic RL agent: the channel swap, validation, a radius sweep through the runner (float64, RFLO critic).
The BPTT critic runs end to end in tests/test_benchmarks.py (the quick Dynamic RL table)."""

import csv

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
    assert s.actor.upper.W.dtype == jnp.float64 and s.env_state.pos.dtype == jnp.float64
    never, at5 = np.stack(positions, axis=1)
    np.testing.assert_array_equal(never[:5], at5[:5])  # steps 0..4 act before the swap
    assert np.all(np.abs(never[5:] - at5[5:]).sum(axis=1) > 0)


@pytest.mark.parametrize("kwargs, field", [
    (dict(env_id="CartPole-v1"), "env_id"),
    (dict(eval_every=30), "eval_every"),
    (dict(env_id="Pendulum-v1", hparams=DynamicRLHParams(swap_at=10)), "swap_at"),
    (dict(critic="lstm"), "critic"),
    (dict(td_transform="tanh"), "td_transform"),
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

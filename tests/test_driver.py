"""The one driver every agent runs under (dynjax.agents.driver): segments, means, divergence freezing and the
closed-loop evaluation, checked on a hand-made learner whose numbers are known, and on every agent."""

from functools import partial
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax.agents import ALGORITHMS, driver
from dynjax.agents.evaluation import EvalMetrics
from dynjax.agents.ppo import PPOConfig
from dynjax.agents.supervised import SLConfig
from dynjax.analysis import ClosedLoop, closed_loop_lyapunov
from dynjax.envs import make_env


class Config(NamedTuple):
    total_steps: int = 12
    eval_every: int = 6
    eval_unit: int = 2
    eval_episodes: int = 3
    hparams: Any = ()


class State(NamedTuple):
    theta: jax.Array
    key: jax.Array
    step: jax.Array
    diverged_at: jax.Array


class Counter(NamedTuple):
    """Each update takes 2 steps, adds 1 to theta, 'finishes an episode' of return = step on every update, and
    reports theta's parity as a mean; theta becomes nan at step `nan_at` (its TD error too)."""

    config: Config
    spec: Any
    nan_at: int
    train_metrics: tuple = ("parity",)
    diagnostics: Any = None

    def init(self, key, hp=None):
        return State(theta=jnp.zeros(()), key=key, step=jnp.zeros((), jnp.int32), diverged_at=jnp.full((), -1, jnp.int32))

    def update(self, s):
        step = s.step + 2
        theta = jnp.where(step >= self.nan_at, jnp.nan, s.theta + 1.0)
        s = s._replace(theta=theta, step=step)
        return s, driver.UpdateReport(return_sum=step.astype(jnp.float32), return_count=jnp.ones((), jnp.int32),
                                      bad_at=driver.first_bad(~jnp.isfinite(theta), step),
                                      means={"parity": (theta % 2, jnp.ones((), jnp.int32))})

    def parameters(self, s):
        return s.theta

    def closed_loop(self, s):
        return ClosedLoop(h0=jnp.zeros(()), step=lambda h, x: h, inputs=lambda o, a, r: o,
                          act=lambda h, key: jnp.zeros((), jnp.int32), null_action=jnp.zeros((), jnp.int32))


def test_segments_reduce_means_and_returns():
    learner = Counter(Config(), make_env("CartPole-v1"), nan_at=10**6)
    s, m = jax.jit(driver.make_train(learner))(jax.random.key(0))
    # 2 segments of 3 updates (6 steps); episode returns = the steps 2, 4, 6 and 8, 10, 12
    np.testing.assert_array_equal(m.step, [0, 6, 12])
    np.testing.assert_allclose(m.train_return, [np.nan, 4.0, 10.0])
    np.testing.assert_allclose(m.extra["parity"], [np.nan, 2 / 3, 1 / 3])  # theta 1,2,3 then 4,5,6
    np.testing.assert_array_equal(m.diverged, [False, False, False])
    assert float(s.theta) == 6.0
    # the evaluation is the closed loop's: CartPole under a constant action lasts ~9-10 steps
    assert np.all((np.asarray(m.eval_return) > 7) & (np.asarray(m.eval_return) < 12))


def test_a_diverging_learner_is_frozen_at_its_segment_start():
    learner = Counter(Config(), make_env("CartPole-v1"), nan_at=10)
    s, m = jax.jit(driver.make_train(learner))(jax.random.key(0))
    np.testing.assert_array_equal(m.diverged, [False, False, True])
    np.testing.assert_array_equal(m.diverged_at, [-1, -1, 10])
    assert float(s.theta) == 3.0 and int(s.step) == 12  # the state of step 6; the counter still advances


def test_evaluation_records_have_their_own_extra_dict():
    assert EvalMetrics._field_defaults == {}  # a default dict would be shared by every record


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_agent_fulfils_the_contract(name):
    algo = ALGORITHMS[name]
    config = algo.config_cls()
    with jax.enable_x64(algo.float64):
        learner = algo.make_learner(config)
        state = jax.eval_shape(learner.init, jax.random.key(0))
        new, report = jax.eval_shape(learner.update, state)
    for field in ("key", "step", "diverged_at"):
        assert hasattr(state, field), field
    chex.assert_trees_all_equal_shapes_and_dtypes(new, state)  # an update keeps the state's layout
    assert set(report.means) == set(learner.train_metrics)
    assert callable(learner.closed_loop) and callable(learner.parameters)
    assert config.eval_every % config.eval_unit == 0


def test_rd_ppo_is_evaluated_and_analysed_through_its_closed_loop():
    """The guide's RD state and readout are part of the loop's state: rd-ppo's evaluation is the driver's, and
    the closed-loop analyses run on it."""
    config = PPOConfig(cell="mlp", guide=True, num_envs=4, num_steps=16, total_steps=128, eval_every=64,
                       eval_episodes=4)
    learner = ALGORITHMS["rd-ppo"].make_learner(config)
    s, m = jax.jit(driver.make_train(learner))(jax.random.key(0))
    loop = learner.closed_loop(s)
    assert isinstance(loop.h0, tuple) and len(loop.h0) == 3  # (cell state, RD state, readout)
    est = jax.jit(partial(closed_loop_lyapunov, spec=learner.spec, loop=loop))(jax.random.key(1))
    assert np.isfinite(float(est.exponent)) and np.all(np.isfinite(np.asarray(m.eval_return)))


def test_supervised_learner_with_non_finite_parameters_is_flagged():
    """The driver checks every agent's parameters (the supervised agent used to check only its loss)."""
    learner = ALGORITHMS["supervised"].make_learner(SLConfig(hidden_size=8, batch_size=4, total_steps=4, eval_every=2,
                                                             eval_episodes=2))
    s = jax.jit(learner.init)(jax.random.key(0))
    s = s._replace(params=s.params._replace(b=s.params.b.at[0].set(jnp.inf)))
    s1, m = jax.jit(partial(driver.segment, learner))(s)
    assert bool(m.diverged) and int(s1.diverged_at) >= 1
    chex.assert_trees_all_equal(s1.params, s.params)  # frozen at the segment's start

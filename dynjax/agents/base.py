"""What every agent shares: the evaluation record, evaluation episodes, and divergence freezing.

An agent module provides `make_learner(config) -> learner` with `init(key, hparams) -> state`,
`segment(state) -> (state, EvalMetrics)` (train `eval_every` steps, then evaluate) and
`evaluate(state) -> EvalMetrics`; the sweep runner drives any such learner. States carry `step` and
`diverged_at` fields. `closed_loop(state) -> ClosedLoop` exposes the frozen agent as a dynamical system for
dynjax.analysis.
"""

from typing import Any, Callable, NamedTuple, TypeVar

import jax
import jax.numpy as jnp

from dynjax.analysis.closed_loop import ClosedLoop
from dynjax.envs.adapter import EnvSpec, env_action

Array = jax.Array
S = TypeVar("S")


class EvalMetrics(NamedTuple):
    step: Array  # training steps at this evaluation point (environment steps; updates for supervised agents)
    eval_return: Array  # mean return of the evaluation episodes
    train_return: Array  # mean return of training episodes finished since the last point (nan if none)
    diverged: Array  # this learner has diverged (and is frozen) by this point
    diverged_at: Array  # step of its first non-finite loss, TD error or parameter (-1: never)
    # Further per-point scalars, each a column of metrics.csv: eval_success (share of evaluation episodes the
    # environment reported as successes, for environments whose info has "success") and agent diagnostics.
    extra: dict = {}


class Episodes(NamedTuple):
    returns: Array  # (n,) return of each episode
    success: Array | None  # (n,) the episode ended with info["success"]; None where the env never reports one


def reports_success(spec: EnvSpec) -> bool:
    """Whether the environment's step info has a "success" entry (our tasks with a success criterion)."""
    obs, state = jax.eval_shape(spec.env.reset, jax.random.key(0), spec.params)
    action = jnp.zeros((), jnp.int32) if spec.discrete else jnp.zeros((spec.n_actions,))
    info = jax.eval_shape(spec.env.step, jax.random.key(0), state, action, spec.params)[5]
    return "success" in info


def evaluation(step: Array, diverged_at: Array, episodes: Episodes, extra: dict | None = None) -> EvalMetrics:
    """The EvalMetrics of one evaluation point (train_return nan: the segment fills it in)."""
    extra = dict(extra or {})
    if episodes.success is not None:
        extra["eval_success"] = jnp.mean(episodes.success.astype(episodes.returns.dtype))
    return EvalMetrics(step=step, eval_return=jnp.mean(episodes.returns), train_return=jnp.full((), jnp.nan),
                       diverged=diverged_at >= 0, diverged_at=diverged_at, extra=extra)


def loop_episode_fns(loop: ClosedLoop) -> tuple[Callable, Callable, Callable]:
    """(start, act, observe) of `episode_returns` for a closed loop."""
    start = lambda obs: loop.step(loop.h0, loop.inputs(obs, loop.null_action, jnp.zeros(())))  # noqa: E731
    observe = lambda h, obs, a, r: loop.step(h, loop.inputs(obs, a, r))  # noqa: E731
    return start, loop.act, observe


def episode_returns(key: Array, spec: EnvSpec, n_episodes: int, start: Callable[[Array], Any],
                    act: Callable[[Any, Array], Array], observe: Callable[[Any, Array, Array, Array], Any]) -> Episodes:
    """Returns (and successes) of `n_episodes` independent episodes of a fixed policy (at most spec.max_steps
    steps each).

    The policy is three pure functions over a carry c: `start(obs_0) -> c`, `act(c, key) -> a_t` and
    `observe(c, obs_{t+1}, a_t, r_t) -> c`."""
    env, params = spec.env, spec.params
    has_success = reports_success(spec)

    def episode(key: Array) -> tuple[Array, Array]:
        k_reset, k_run = jax.random.split(key)
        obs, env_state = env.reset(k_reset, params)

        def cond(c):
            return jnp.logical_and(~c[4], c[0] < spec.max_steps)

        def body(c):
            t, env_state, carry, ret, _, key, success = c
            key, k_act, k_env = jax.random.split(key, 3)
            a = act(carry, k_act)
            obs, env_state, r, term, trunc, info = env.step_within_episode(k_env, env_state, env_action(spec, a), params)
            success = success | info["success"] if has_success else success
            return t + 1, env_state, observe(carry, obs, a, r), ret + r, jnp.logical_or(term, trunc), key, success

        c0 = (jnp.zeros((), jnp.int32), env_state, start(obs), jnp.zeros(()), jnp.zeros((), bool), k_run,
              jnp.zeros((), bool))
        c = jax.lax.while_loop(cond, body, c0)
        return c[3], c[6]

    returns, success = jax.vmap(episode)(jax.random.split(key, n_episodes))
    return Episodes(returns=returns, success=success if has_success else None)


def freeze_diverged(before: S, after: S, bad_at: Array) -> S:
    """Keep `before` (the state at the start of a segment) when the learner diverged (bad_at >= 0) in it or
    earlier, so a non-finite value can never propagate; the step counter and diverged_at still advance."""
    frozen = bad_at >= 0
    kept = jax.tree.map(lambda old, new: jnp.where(frozen, old, new), before, after)
    return kept._replace(step=after.step, diverged_at=bad_at)


def mean_or_nan(total: Array, count: Array) -> Array:
    return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)


def whole_run(learner: Any, n_segments: int) -> Callable[..., tuple[Any, EvalMetrics]]:
    """`train(key, hparams=None) -> (final_state, metrics)`: init, evaluate, then `n_segments` segments, as
    one pure function; metrics have one entry per evaluation point (step 0 included)."""

    def train(key: Array, hparams: Any = None):
        s = learner.init(key, hparams)
        m0 = learner.evaluate(s)
        s, ms = jax.lax.scan(lambda c, _: learner.segment(c), s, None, length=n_segments)
        return s, jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), m0, ms)

    return train

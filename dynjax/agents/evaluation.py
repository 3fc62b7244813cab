"""Evaluation: the record of one evaluation point, and evaluation episodes of a frozen agent's closed loop.

The driver (dynjax.agents.driver) evaluates every agent the same way: `episode_returns` of its closed loop
(`loop_episode_fns(learner.closed_loop(state))`), learning frozen.
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from dynjax.analysis.closed_loop import ClosedLoop
from dynjax.envs.adapter import EnvSpec

Array = jax.Array


class EvalMetrics(NamedTuple):
    step: Array  # training steps at this evaluation point (environment steps; updates for supervised agents)
    eval_return: Array  # mean return of the evaluation episodes
    train_return: Array  # mean return of training episodes finished since the last point (nan if none)
    diverged: Array  # this learner has diverged (and is frozen) by this point
    diverged_at: Array  # step of its first non-finite loss, TD error or parameter (-1: never)
    # Further per-point scalars, each a column of metrics.csv: eval_success (share of evaluation episodes the
    # environment reported as successes, for environments whose info has "success"), the agent's diagnostics and
    # its training means (dynjax.agents.driver). Always given: a NamedTuple default would be one shared dict.
    extra: dict


class Episodes(NamedTuple):
    returns: Array  # (n,) return of each episode
    success: Array | None  # (n,) the episode ended with info["success"]; None where the env never reports one


def reports_success(spec: EnvSpec) -> bool:
    """Whether the environment's step info has a "success" entry (our tasks with a success criterion)."""
    obs, state = jax.eval_shape(spec.env.reset, jax.random.key(0), spec.params)
    action = jnp.zeros((), jnp.int32) if spec.discrete else jnp.zeros((spec.n_actions,))
    info = jax.eval_shape(spec.env.step, jax.random.key(0), state, action, spec.params)[5]
    return "success" in info


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
            obs, env_state, r, term, trunc, info = env.step_within_episode(k_env, env_state, a, params)
            success = success | info["success"] if has_success else success
            return t + 1, env_state, observe(carry, obs, a, r), ret + r, jnp.logical_or(term, trunc), key, success

        c0 = (jnp.zeros((), jnp.int32), env_state, start(obs), jnp.zeros(()), jnp.zeros((), bool), k_run,
              jnp.zeros((), bool))
        c = jax.lax.while_loop(cond, body, c0)
        return c[3], c[6]

    returns, success = jax.vmap(episode)(jax.random.split(key, n_episodes))
    return Episodes(returns=returns, success=success if has_success else None)

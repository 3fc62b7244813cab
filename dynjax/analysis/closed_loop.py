"""A frozen agent coupled to its environment, as one discrete-time dynamical system.

Every learner exposes `closed_loop(state) -> ClosedLoop`: the recurrent step F, the input map and the
evaluation policy at that point of training. Coupled to the environment E they form the closed loop

    x_t = inputs(obs_t, a_{t-1}, r_{t-1}),   h_t = F(h_{t-1}, x_t),   a_t = act(h_t),
    (obs_{t+1}, r_t) = E(env_t, a_t)

(a new episode restarts from h0 with the null action and zero reward). Here: recording it (hidden states,
inputs, observations: what PCA, fixed-point candidates and timescale estimates start from), the largest
Lyapunov exponent of the loop (two trajectories, the perturbation in h only, segments that cross an episode
end skipped: Huang et al. 2024 study the agent-environment loop; the closed-loop exponent is Shibata's
exploration exponent), and its leading exponents by the QR method (the Jacobian through network, policy and
environment). The open-loop quantities (F alone at a clamped or recorded input) are the other
modules' (fixed_points, linearise, lyapunov, attractors) with `flat_step(loop)`.
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from dynjax.analysis.lyapunov import LyapunovEstimate, LyapunovSpectrum, largest_lyapunov, qr_exponents
from dynjax.envs.adapter import EnvSpec

Array = jax.Array


class ClosedLoop(NamedTuple):
    """A learner frozen at one state, as a discrete-time system driven by its environment:

        x_t = inputs(obs_t, a_{t-1}, r_{t-1})     (a_{-1} = null_action, r_{-1} = 0 at an episode start)
        h_t = step(h_{t-1}, x_t)                   (h_{-1} = h0: every episode starts from it)
        a_t = act(h_t, key)                        (the evaluation policy: greedy where the agent's is)

    h may be any pytree (the MTRNN's layer potentials); `flat_step` gives F on flat vectors. Evaluation
    episodes (dynjax.agents.driver) and the analyses run these same functions."""

    h0: Any
    step: Callable[[Any, Array], Any]
    inputs: Callable[[Array, Array, Array], Array]
    act: Callable[[Any, Array], Array]
    null_action: Array


class LoopState(NamedTuple):
    h: Any
    env_state: Any
    obs: Array
    action: Array  # previous action (null at an episode start)
    reward: Array  # previous reward (0 at an episode start)
    key: Array


class Recording(NamedTuple):
    """`n_steps` steps of the closed loop (leading axis: time)."""

    h: Array  # (T, N) flat hidden state h_t
    x: Array  # (T, I) input x_t that produced it
    obs: Array  # (T, O) observation obs_t
    env_state: Any  # the environment's state when obs_t was observed (leaves with a leading T axis)
    action: Array  # a_t taken from h_t
    reward: Array  # r_t
    start: Array  # (T,) bool: obs_t is the first observation of an episode


def flat_step(loop: ClosedLoop) -> tuple[Callable[[Array, Array], Array], Array]:
    """(F, h0) on flat vectors: F(h, x) = ravel(step(unravel(h), x))."""
    h0, unravel = ravel_pytree(loop.h0)
    return (lambda h, x: ravel_pytree(loop.step(unravel(h), x))[0]), h0


def loop_start(key: Array, spec: EnvSpec, loop: ClosedLoop) -> LoopState:
    """A fresh episode: the reset observation, h0, the null action and zero reward."""
    k_reset, key = jax.random.split(key)
    obs, env_state = spec.env.reset(k_reset, spec.params)
    zero = jnp.zeros((), obs.dtype)
    return LoopState(h=loop.h0, env_state=env_state, obs=obs, action=loop.null_action, reward=zero, key=key)


def _step(spec: EnvSpec, loop: ClosedLoop, c: LoopState) -> tuple[LoopState, tuple]:
    key, k_act, k_env, k_reset = jax.random.split(c.key, 4)
    x = loop.inputs(c.obs, c.action, c.reward)
    h = loop.step(c.h, x)
    a = loop.act(h, k_act)
    obs, env_state, r, term, trunc, _ = spec.env.step(k_env, c.env_state, a, spec.params)
    done = jnp.logical_or(term, trunc)
    r = jnp.asarray(r, c.reward.dtype)
    nxt = LoopState(h=jax.tree.map(lambda new, zero: jnp.where(done, zero, new), h, loop.h0), env_state=env_state,
                    obs=obs, action=jnp.where(done, loop.null_action, a), reward=jnp.where(done, 0.0, r), key=key)
    return nxt, (h, x, c.obs, c.env_state, a, r, done)


def loop_transition(spec: EnvSpec, loop: ClosedLoop) -> Callable[[LoopState], tuple[LoopState, Array]]:
    """One step of the closed loop: c -> (c', the step ended an episode). gymnax environments reset
    themselves inside `step`, so c' is already the next episode's start when it did."""
    return lambda c: (lambda nxt, rec: (nxt, rec[-1]))(*_step(spec, loop, c))


def record(key: Array, spec: EnvSpec, loop: ClosedLoop, n_steps: int) -> Recording:
    """Run the closed loop `n_steps` steps from a fresh episode (episodes follow one another)."""
    def body(c, _):
        c, (h, *rest) = _step(spec, loop, c)
        return c, (ravel_pytree(h)[0], *rest)

    _, (h, x, obs, env_state, a, r, done) = jax.lax.scan(body, loop_start(key, spec, loop), None, length=n_steps)
    start = jnp.concatenate([jnp.ones((1,), bool), done[:-1]])
    return Recording(h=h, x=x, obs=obs, env_state=env_state, action=a, reward=r, start=start)


def closed_loop_lyapunov(key: Array, spec: EnvSpec, loop: ClosedLoop, d0: float | Array = 1e-6,
                         steps_per_segment: int = 10, n_segments: int = 100,
                         observe: Callable[[LoopState], Any] | None = None) -> LyapunovEstimate:
    """Largest Lyapunov exponent of the agent-environment loop, per step: two copies of the loop run with the
    same keys from one fresh episode, the second's h displaced by d0 in a random direction (the environment
    starts identical and diverges only through the actions); distances are measured over every floating leaf
    of the loop's state (h, the environment's floating state, the observation, previous action and reward), renormalised every `steps_per_segment` steps; segments that cross
    an episode end are skipped (dynjax.analysis.lyapunov.largest_lyapunov). Run it in float64 for d0 < 1e-6.
    `observe(c)` is recorded on the reference run after every step (LyapunovEstimate.observed)."""
    k_start, k_dir = jax.random.split(key)
    c0 = loop_start(k_start, spec, loop)
    leaves, treedef = jax.tree.flatten(c0.h)
    h_dir = jax.tree.unflatten(treedef, [jax.random.normal(k, x.shape, x.dtype)
                                         for k, x in zip(jax.random.split(k_dir, len(leaves)), leaves)])
    zeros = jax.tree.map(lambda x: jnp.zeros_like(x) if jnp.issubdtype(x.dtype, jnp.floating) else x, c0)
    return largest_lyapunov(loop_transition(spec, loop), c0, zeros._replace(h=h_dir), d0, steps_per_segment,
                            n_segments, observe)


def closed_loop_spectrum(key: Array, spec: EnvSpec, loop: ClosedLoop, k: int = 2, n_steps: int = 1000,
                         reorth_every: int = 1, transient: int = 100, settle: int = 5) -> LyapunovSpectrum:
    """The k leading Lyapunov exponents (per step, QR method) of the agent-environment loop from a fresh episode:
    the tangent space is every floating leaf of the loop's state (the network's h, the environment's floating
    state, the observation, the previous action and reward), the Jacobian is taken through the network, the
    policy (`loop.act`: its mode when the agent evaluates greedily) and the environment step (forward mode; discrete actions pass no derivative); integer leaves
    and keys are carried along. Blocks containing an episode end and the `settle` blocks after it do not count.
    The environment must be differentiable in its floating state (gymnax's classic-control tasks are)."""
    c0 = loop_start(key, spec, loop)
    leaves, treedef = jax.tree.flatten(c0)
    floating = [jnp.issubdtype(x.dtype, jnp.floating) for x in leaves]
    z0, unravel = ravel_pytree([x for x, f in zip(leaves, floating) if f])
    rest0 = [x for x, f in zip(leaves, floating) if not f]
    transition = loop_transition(spec, loop)

    def assemble(z, rest):
        zs, rs = iter(unravel(z)), iter(rest)
        return jax.tree.unflatten(treedef, [next(zs) if f else next(rs) for f in floating])

    def split(c):
        ls = jax.tree.leaves(c)
        return ravel_pytree([x for x, f in zip(ls, floating) if f])[0], [x for x, f in zip(ls, floating) if not f]

    def tangent(carry, Q, _):
        z, rest = carry

        def f(zz):
            nxt, done = transition(assemble(zz, rest))
            z2, rest2 = split(nxt)
            return z2, (rest2, done)

        z, Q, (rest, done) = jax.vmap(lambda v: jax.jvp(f, (z,), (v,), has_aux=True), in_axes=1,
                                      out_axes=(None, 1, None))(Q)
        return (z, rest), Q, done

    basis = jax.random.normal(jax.random.fold_in(key, 1), (z0.shape[0], k), z0.dtype)
    n_transient = -(-transient // reorth_every)
    return qr_exponents(tangent, (z0, rest0), basis, n_transient + n_steps // reorth_every, reorth_every, n_transient,
                        settle)

"""The Dynamic RL tasks (dynjax.envs.seq_nav, dynjax.envs.slider_crank): mechanics, rewards, solvability,
registration, jit/vmap and float64."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax.envs import make_env
from dynjax.envs.seq_nav import SeqNavState, SequentialNavigation
from dynjax.envs.slider_crank import (
    SliderCrank,
    SliderCrankState,
    crank_torque,
    slider_derivative,
    slider_force,
    slider_position,
)

CRANK = SliderCrank()
NAV = SequentialNavigation()


def crank_state(theta, omega=0.0, phi=0.0, time=0):
    return SliderCrankState(jnp.asarray(theta, float), jnp.asarray(omega, float), jnp.asarray(phi, float),
                            jnp.asarray(time, jnp.int32))


def nav_state(pos, a, b, reached_a=False, time=0):
    arr = lambda v: jnp.asarray(v, float)
    return SeqNavState(arr(pos), arr(a), arr(b), jnp.asarray(reached_a), jnp.asarray(time, jnp.int32))


# ----------------------------------------------------------------------------------------------- slider-crank


def test_slider_derivative_is_the_gradient_of_the_position(x64):
    p = CRANK.default_params
    r, l = p.crank_radius, p.rod_length
    theta = jax.random.uniform(jax.random.key(0), (64,), minval=-2 * math.pi, maxval=4 * math.pi)
    auto = jax.vmap(jax.grad(lambda t: slider_position(t, r, l)))(theta)
    np.testing.assert_allclose(slider_derivative(theta, r, l), auto, rtol=1e-10, atol=1e-12)
    x = slider_position(theta, r, l)
    assert float(x.min()) >= l - r - 1e-12 and float(x.max()) <= l + r + 1e-12


def test_dead_points(x64):
    p = CRANK.default_params
    r, l = p.crank_radius, p.rod_length
    np.testing.assert_allclose(slider_derivative(jnp.array([0.0, math.pi, 2 * math.pi]), r, l), 0.0, atol=1e-12)
    np.testing.assert_allclose(slider_position(jnp.array([0.0, math.pi]), r, l), [l + r, l - r], atol=1e-12)
    # elsewhere dx/dtheta = -r sin(theta) * (positive factor): the sign is -sign(sin theta)
    theta = jnp.linspace(0.01, 2 * math.pi - 0.01, 101)
    theta = theta[jnp.abs(theta - math.pi) > 0.01]
    np.testing.assert_array_equal(jnp.sign(slider_derivative(theta, r, l)), -jnp.sign(jnp.sin(theta)))


def test_one_step_follows_the_torque_formula():
    p = CRANK.default_params
    ks = jax.random.split(jax.random.key(1), 3)
    theta = jax.random.uniform(ks[0], (16,), maxval=2 * math.pi)
    omega = jax.random.uniform(ks[1], (16,), minval=-3.0, maxval=3.0)
    action = jax.random.uniform(ks[2], (16, 2), minval=-1.0, maxval=1.0)
    step = jax.jit(jax.vmap(lambda th, om, a: CRANK.step_env(None, crank_state(th, om), a, p)))
    obs, s, reward, term, info = step(theta, omega, action)
    force = p.force_max * (action[:, 0] - action[:, 1]) / 2
    tau = force * slider_derivative(theta, p.crank_radius, p.rod_length)
    np.testing.assert_allclose(crank_torque(force, theta, p), tau, rtol=1e-6)
    expect = omega + p.dt * (tau - p.damping * omega) / p.inertia
    np.testing.assert_allclose(s.omega, expect, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s.phi, p.dt * expect, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s.theta, np.mod(theta + p.dt * expect, 2 * math.pi), atol=1e-5)
    np.testing.assert_allclose(reward, p.dt * expect / (2 * math.pi), rtol=1e-5, atol=1e-7)
    assert not bool(term.any()) and not bool(info["success"].any())
    x = slider_position(s.theta, p.crank_radius, p.rod_length)
    np.testing.assert_allclose(obs[:, 0], jnp.cos(s.theta), atol=1e-6)
    np.testing.assert_allclose(obs[:, 1], jnp.sin(s.theta), atol=1e-6)
    np.testing.assert_allclose(obs[:, 2], s.omega / p.omega_max, atol=1e-6)
    np.testing.assert_allclose(obs[:, 3], (x - p.rod_length) / p.crank_radius, atol=1e-6)
    assert float(jnp.abs(obs).max()) <= 1.0 + 1e-6


def test_energy_conserved_without_damping_or_force():
    p = CRANK.default_params.replace(damping=0.0)

    @jax.jit
    def roll(s):
        def body(s, _):
            _, s, _, _, _ = CRANK.step_env(None, s, jnp.zeros(2), p)
            return s, s.omega
        return jax.lax.scan(body, s, None, length=200)

    s, omegas = roll(crank_state(1.0, 2.0))
    energy = p.inertia * omegas**2 / 2
    np.testing.assert_allclose(energy, p.inertia * 2.0**2 / 2, rtol=1e-6)
    np.testing.assert_allclose(s.phi, 200 * p.dt * 2.0, rtol=1e-5)


def test_kinetic_energy_change_equals_the_work_of_the_force(x64):
    p = CRANK.default_params.replace(damping=0.0, dt=1e-4)
    ks = jax.random.split(jax.random.key(2), 3)
    theta = jax.random.uniform(ks[0], (32,), maxval=2 * math.pi)
    theta = theta[jnp.abs(jnp.sin(theta)) > 0.2]  # away from the dead points, where the work vanishes
    omega = jax.random.uniform(ks[1], theta.shape, minval=0.5, maxval=3.0)
    action = jax.random.uniform(ks[2], theta.shape + (2,), minval=-1.0, maxval=1.0)
    action = action.at[:, 0].set(jnp.where(jnp.abs(action[:, 0] - action[:, 1]) < 0.2, 1.0, action[:, 0]))
    _, s, _, _, _ = jax.vmap(lambda th, om, a: CRANK.step_env(None, crank_state(th, om), a, p))(theta, omega, action)
    d_kin = p.inertia * (s.omega**2 - omega**2) / 2
    r, l = p.crank_radius, p.rod_length
    work = slider_force(action, p) * (slider_position(theta + s.phi, r, l) - slider_position(theta, r, l))
    # equal to first order in dt: relative error O(dt * (|omega| + |tau| / (I |omega|)))
    np.testing.assert_allclose(d_kin, work, rtol=2e-3)


def rollout_crank(s, policy, p, n_steps):
    """Steps without auto-reset; returns (ever succeeded, step index of the first success or n_steps, final state)."""
    def body(carry, _):
        s, done, n = carry
        _, s, _, term, info = CRANK.step_env(None, s, policy(s), p)
        n = jnp.where(done, n, n + 1)
        return (s, done | info["success"], n), None
    (s, done, n), _ = jax.lax.scan(body, (s, jnp.zeros((), bool), jnp.zeros((), jnp.int32)), None, length=n_steps)
    return done, n, s


def test_sign_controller_turns_the_crank_and_zero_action_does_not():
    p = CRANK.default_params

    def push(s):
        sgn = jnp.sign(slider_derivative(s.theta, p.crank_radius, p.rod_length))
        return jnp.stack([sgn, -sgn])

    @jax.jit
    def run(keys):
        _, s0 = jax.vmap(lambda k: CRANK.reset(k, p))(keys)
        good = jax.vmap(lambda s: rollout_crank(s, push, p, p.max_steps_in_episode))(s0)
        idle = jax.vmap(lambda s: rollout_crank(s, lambda _: jnp.zeros(2), p, p.max_steps_in_episode))(s0)
        return s0, good, idle

    s0, (done, n, _), (idle_done, _, idle_s) = run(jax.random.split(jax.random.key(3), 16))
    margin = p.dead_zone - 1e-6
    assert bool(((jnp.abs(jnp.sin(s0.theta)) >= math.sin(margin)) & (s0.theta < 2 * math.pi)).all())
    assert bool(done.all()), n
    assert int(n.max()) < 0.75 * p.max_steps_in_episode, n
    assert not bool(idle_done.any())
    np.testing.assert_array_equal(idle_s.phi, 0.0)


def test_swapping_the_channels_reverses_the_torque():
    p = CRANK.default_params
    ks = jax.random.split(jax.random.key(4), 2)
    theta = jax.random.uniform(ks[0], (16,), maxval=2 * math.pi)
    action = jax.random.uniform(ks[1], (16, 2), minval=-1.0, maxval=1.0)
    swapped = action[:, ::-1]
    np.testing.assert_allclose(slider_force(swapped, p), -slider_force(action, p), rtol=1e-6)
    np.testing.assert_allclose(crank_torque(slider_force(swapped, p), theta, p),
                               -crank_torque(slider_force(action, p), theta, p), rtol=1e-6, atol=1e-7)
    step = jax.vmap(lambda th, a: CRANK.step_env(None, crank_state(th), a, p)[1].omega)
    np.testing.assert_allclose(step(theta, swapped), -step(theta, action), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------------- seq-nav


def test_goal_order_matters():
    p = NAV.default_params
    step = jax.jit(lambda s, a: NAV.step_env(None, s, jnp.asarray(a, float), p))
    a, b = (0.2, 0.2), (0.8, 0.8)
    # B first: nothing, and the episode goes on
    _, s, r, term, info = step(nav_state((0.8, 0.7), a, b), (0.0, 1.0))
    assert float(r) == 0.0 and not bool(term) and not bool(info["success"]) and not bool(s.reached_a)
    _, s, r, term, _ = step(s, (0.0, 0.0))  # staying in B
    assert float(r) == 0.0 and not bool(term)
    # A: the bonus once
    _, s, r, term, info = step(nav_state((0.2, 0.1), a, b), (0.0, 1.0))
    assert float(r) == pytest.approx(p.bonus_a) and bool(s.reached_a) and not bool(term) and not bool(info["success"])
    _, s, r, term, _ = step(s, (0.0, 0.0))
    assert float(r) == 0.0 and not bool(term)
    # then B: reward_b, success, terminated
    s = s.replace(pos=jnp.asarray((0.8, 0.7), float))
    obs, s, r, term, info = step(s, (0.0, 1.0))
    assert float(r) == pytest.approx(p.reward_b) and bool(term) and bool(info["success"])
    np.testing.assert_allclose(obs, [0.8, 0.75, -0.6, -0.55, 0.0, 0.05, 1.0], atol=1e-6)
    assert bool(NAV.is_terminated(s, p))


def rollout_nav(s, policy, p, n_steps):
    def body(carry, _):
        s, done, n, ret = carry
        _, s, r, term, info = NAV.step_env(None, s, policy(s), p)
        ret = ret + jnp.where(done, 0.0, r)
        n = jnp.where(done, n, n + 1)
        return (s, done | term, n, ret), s.pos
    init = (s, jnp.zeros((), bool), jnp.zeros((), jnp.int32), jnp.zeros(()))
    (s, done, n, ret), path = jax.lax.scan(body, init, None, length=n_steps)
    return done, n, ret, path


def straight_line(s):
    target = jnp.where(s.reached_a, s.goal_b, s.goal_a)
    d = target - s.pos
    return d / jnp.maximum(jnp.linalg.norm(d), 1e-6)


def test_straight_line_controller_succeeds():
    p = NAV.default_params

    @jax.jit
    def run(keys):
        _, s0 = jax.vmap(lambda k: NAV.reset(k, p))(keys)
        return jax.vmap(lambda s: rollout_nav(s, straight_line, p, p.max_steps_in_episode))(s0)

    done, n, ret, _ = run(jax.random.split(jax.random.key(5), 16))
    assert bool(done.all()) and int(n.max()) < 80, n
    np.testing.assert_allclose(ret, p.bonus_a + p.reward_b, rtol=1e-6)


def test_truncation_at_the_time_limit():
    p = NAV.default_params.replace(max_steps_in_episode=50)

    @jax.jit
    def run(key):
        _, s = NAV.reset(key, p)

        def body(s, k):
            _, s, r, term, trunc, info = NAV.step(k, s, jnp.zeros(2), p)
            return s, (r, term, trunc, info["success"], s.time)
        return jax.lax.scan(body, s, jax.random.split(jax.random.key(7), 60))[1]

    r, term, trunc, success, time = run(jax.random.key(6))
    assert not bool(term.any()) and not bool(success.any()) and float(jnp.abs(r).max()) == 0.0
    assert np.flatnonzero(np.asarray(trunc)).tolist() == [49]
    assert int(time[49]) == 0 and int(time[50]) == 1  # auto-reset after the truncated step


def test_positions_stay_in_the_arena():
    p = NAV.default_params

    @jax.jit
    def run(key):
        _, s = NAV.reset(key, p)
        actions = 3.0 * jax.random.normal(jax.random.fold_in(key, 1), (300, 2))  # beyond [-1, 1]: clipped
        def body(s, a):
            _, s2, _, _, _ = NAV.step_env(None, s, a, p)
            return s2, (s2.pos, s2.pos - s.pos)
        return jax.lax.scan(body, s, actions)[1]

    pos, moves = jax.vmap(run)(jax.random.split(jax.random.key(8), 8))
    assert float(pos.min()) >= 0.0 and float(pos.max()) <= 1.0
    assert float(jnp.abs(moves).max()) <= p.v_max + 1e-6
    assert float(jnp.abs(moves).max()) >= p.v_max - 1e-6


@pytest.mark.parametrize("min_sep", [0.3, 0.7])
def test_reset_layout_separations(min_sep):
    p = NAV.default_params.replace(min_separation=min_sep)  # 0.7 also exercises the corner fallback
    reset = jax.jit(jax.vmap(lambda k: NAV.reset(k, p)))
    keys = jax.random.split(jax.random.key(9), 512)
    obs, s = reset(keys)
    assert float(jnp.linalg.norm(s.goal_a - s.goal_b, axis=-1).min()) >= min_sep
    assert float(jnp.linalg.norm(s.pos - s.goal_a, axis=-1).min()) >= min_sep
    for leaf in (s.pos, s.goal_a, s.goal_b):
        assert float(leaf.min()) >= 0.0 and float(leaf.max()) <= 1.0
    assert not bool(s.reached_a.any()) and not bool(s.time.any())
    np.testing.assert_allclose(obs, jnp.concatenate([s.pos, s.goal_a - s.pos, s.goal_b - s.pos,
                                                     jnp.zeros((512, 1))], axis=1), atol=1e-6)
    _, again = reset(keys[::-1])  # a layout depends on its own key only, not on its place in the batch
    np.testing.assert_array_equal(again.goal_b, s.goal_b[::-1])
    layouts = np.concatenate([np.asarray(s.pos), np.asarray(s.goal_a), np.asarray(s.goal_b)], axis=1)
    assert len(np.unique(layouts, axis=0)) == 512  # and every key its own


# ------------------------------------------------------------------------------------------------------- both


@pytest.mark.parametrize("alias,full,obs_dim,max_steps", [
    ("seq-nav", "SeqNav-dynjax", 7, 200), ("slider-crank", "SliderCrank-dynjax", 4, 400)])
def test_make_env_by_alias_and_id(alias, full, obs_dim, max_steps):
    for env_id in (alias, full):
        spec = make_env(env_id)
        assert spec.env.name == full and not spec.discrete and spec.n_actions == 2
        assert spec.obs_dim == obs_dim and spec.max_steps == max_steps
        np.testing.assert_array_equal(spec.low, [-1.0, -1.0])
        np.testing.assert_array_equal(spec.high, [1.0, 1.0])


def test_make_env_args_and_unknown_ids():
    spec = make_env("slider-crank", {"n_turns": "2", "max_steps_in_episode": "300"})
    assert spec.params.n_turns == 2 and spec.max_steps == 300
    assert make_env("seq-nav", {"goal_radius": "0.1"}).params.goal_radius == pytest.approx(0.1)
    with pytest.raises(ValueError, match="not a parameter of SeqNav-dynjax"):
        make_env("seq-nav", {"radius": "0.1"})
    with pytest.raises(ValueError, match="known ids: .*SeqNav-dynjax.*SliderCrank-dynjax.*seq-nav"):
        make_env("seqnav")


@pytest.mark.parametrize("env_id", ["seq-nav", "slider-crank"])
def test_jit_vmap_reset_and_step(env_id):
    spec = make_env(env_id)
    keys = jax.random.split(jax.random.key(10), 8)
    reset = jax.jit(jax.vmap(spec.env.reset, in_axes=(0, None)))
    step = jax.jit(jax.vmap(spec.env.step, in_axes=(0, 0, 0, None)))
    obs, state = reset(keys, spec.params)
    assert obs.shape == (8, spec.obs_dim) and obs.dtype == jnp.float32
    actions = jax.random.uniform(jax.random.key(11), (8, 2), minval=-1.0, maxval=1.0)
    obs, state, reward, term, trunc, info = step(keys, state, actions, spec.params)
    assert obs.shape == (8, spec.obs_dim) and reward.shape == (8,) and term.shape == trunc.shape == (8,)
    assert info["success"].shape == (8,) and info["success"].dtype == jnp.bool_
    assert bool(jnp.isfinite(obs).all()) and bool((state.time == 1).all())


@pytest.mark.parametrize("env", [NAV, CRANK], ids=["seq-nav", "slider-crank"])
def test_float64_under_x64(env, x64):
    params = env.default_params
    obs, state = env.reset(jax.random.key(12), params)
    obs, state, reward, term, trunc, info = env.step(jax.random.key(13), state, jnp.array([0.5, -0.25]), params)
    for leaf in jax.tree.leaves(state):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == jnp.float64
    assert obs.dtype == jnp.float64 and reward.dtype == jnp.float64


def test_transition_gradients_when_enabled(x64):
    env, p = CRANK.with_transition_gradients(), CRANK.default_params
    d_omega = jax.grad(lambda om: env.step_env(None, crank_state(1.0, om), jnp.array([1.0, 0.0]), p)[1].omega)(1.0)
    assert float(d_omega) == pytest.approx(1.0 - p.dt * p.damping / p.inertia)
    assert float(jax.grad(lambda om: CRANK.step_env(None, crank_state(1.0, om), jnp.zeros(2), p)[1].omega)(1.0)) == 0.0

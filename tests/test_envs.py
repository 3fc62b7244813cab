"""The gymnax adapter and the observation mask."""

import gymnax
import jax
import numpy as np
import pytest

from dynjax.envs import make_env, parse_env_args, resolve_mask


def test_masks_select_the_right_indices():
    assert resolve_mask("even", 4) == (0, 2)
    assert resolve_mask("odd", 4) == (1, 3)
    assert resolve_mask("1,3", 4) == (1, 3)
    assert resolve_mask([0], 2) == (0,)
    assert resolve_mask(None, 4) is None
    for bad in ("4", "0,0", "x"):
        with pytest.raises(ValueError, match="obs_mask"):
            resolve_mask(bad, 4)


def test_angle_items_read_the_scalar_angle_from_its_cos_and_sin():
    assert resolve_mask("angle(0,1)", 3) == ((0, 1),)
    assert resolve_mask("angle(0, 1),2", 3) == ((0, 1), 2) == resolve_mask([[0, 1], 2], 3)  # a run record's JSON
    for bad in ("angle(0,0)", "angle(0,3)", "angel(0,1)", "angle(0,1),1"):
        with pytest.raises(ValueError, match="obs_mask"):
            resolve_mask(bad, 3)
    # Pendulum's observation is (cos theta, sin theta, theta dot): 'angle(0,1)' is theta alone, wrapped to (-pi, pi]
    spec = make_env("Pendulum-v1", obs_mask="angle(0,1)")
    assert spec.obs_dim == 1
    key = jax.random.key(3)
    obs, state = spec.env.reset(key, spec.params)
    for i in range(40):
        wrapped = np.angle(np.exp(1j * float(state.theta)))
        np.testing.assert_allclose(float(obs[0]), wrapped, atol=1e-5)
        obs, state, *_ = spec.env.step(jax.random.fold_in(key, i), state, np.array([2.0]), spec.params)
    with_velocity = make_env("Pendulum-v1", obs_mask="angle(0,1),2")
    obs, state = with_velocity.env.reset(key, with_velocity.params)
    np.testing.assert_allclose(np.asarray(obs), [np.angle(np.exp(1j * float(state.theta))), float(state.theta_dot)],
                               atol=1e-5)


def test_masked_env_matches_raw_env():
    spec = make_env("CartPole-v1", obs_mask="even")
    raw, params = gymnax.make("CartPole-v1")
    key = jax.random.key(0)
    obs, state = spec.env.reset(key, spec.params)
    raw_obs, raw_state = raw.reset(key, params)
    np.testing.assert_array_equal(obs, np.asarray(raw_obs)[[0, 2]])
    for i in range(30):
        k = jax.random.fold_in(key, i)
        obs, state, r, term, trunc, info = spec.env.step(k, state, 1, spec.params)
        raw_obs, raw_state, raw_r, raw_term, raw_trunc, raw_info = raw.step(k, raw_state, 1, params)
        np.testing.assert_array_equal(obs, np.asarray(raw_obs)[[0, 2]])
        np.testing.assert_array_equal(info["final_observation"], np.asarray(raw_info["final_observation"])[[0, 2]])
        assert bool(term) == bool(raw_term) and bool(trunc) == bool(raw_trunc)
    assert spec.obs_dim == 2 and spec.discrete and spec.n_actions == 2


def test_truncated_and_terminated_are_kept_apart():
    spec = make_env("CartPole-v1", {"max_steps_in_episode": "5"})
    obs, state = spec.env.reset(jax.random.key(1), spec.params)
    flags = []
    for i in range(5):
        obs, state, r, term, trunc, info = spec.env.step(jax.random.key(i), state, i % 2, spec.params)
        flags.append((bool(term), bool(trunc)))
    assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])


def test_env_args_go_to_params_or_constructor():
    assert make_env("MemoryChain-bsuite", {"memory_length": "16"}).params.memory_length == 16
    spec = make_env("DeepSea-bsuite", {"size": "16"})
    assert spec.obs_dim == 256
    cont = make_env("MountainCarContinuous-v0", obs_mask="0")
    assert not cont.discrete and cont.obs_dim == 1 and float(cont.high[0]) == 1.0
    with pytest.raises(ValueError, match="memory_length"):
        make_env("MemoryChain-bsuite", {"memory_length": "abc"})
    with pytest.raises(ValueError, match="name=value"):
        parse_env_args(["memory_length"])


def _same(a, b) -> None:
    """Equal trees: integers and flags exactly, floats up to rounding (XLA may fuse an observation's sin and
    cos differently when the reset's select follows, which moves the last bit)."""
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        x, y = np.asarray(x), np.asarray(y)
        if np.issubdtype(x.dtype, np.floating):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("env_id, env_args", [
    ("CartPole-v1", {"max_steps_in_episode": "40"}), ("Pendulum-v1", {"max_steps_in_episode": "30"}),
    ("DeepSea-bsuite", {"size": "8"}), ("MemoryChain-bsuite", {}), ("seq-nav", {}), ("slider-crank", {}),
    ("PerceptualDecision-dynjax", {}),
])
def test_step_within_episode_equals_step_until_the_episode_ends(env_id, env_args):
    """Evaluation episodes step without the auto-reset: every transition up to and including the one that
    ends the episode equals the auto-resetting step's (stochastic environments included: same key use)."""
    spec = make_env(env_id, env_args)
    space = spec.env.action_space(spec.params)
    obs, state = spec.env.reset(jax.random.key(1), spec.params)
    step, within = jax.jit(spec.env.step), jax.jit(spec.env.step_within_episode)
    for t in range(spec.max_steps):
        k_act, k_env = jax.random.split(jax.random.fold_in(jax.random.key(2), t))
        action = space.sample(k_act)
        a = step(k_env, state, action, spec.params)
        b = within(k_env, state, action, spec.params)
        _same(a[2:5], b[2:5])
        _same({k: v for k, v in a[5].items() if k not in ("final_observation", "terminated", "truncated")}, b[5])
        _same(a[5]["final_observation"], b[0])  # the observation the step produced, before any reset
        if bool(a[3]) or bool(a[4]):
            return
        _same(a[:2], b[:2])
        state = a[1]
    pytest.fail(f"{env_id}: no episode end within {spec.max_steps} steps")


def test_continuous_actions_reach_the_environment_unclipped():
    """gymnax's MountainCarContinuous clips the force but charges -0.1 a^2 on the action as given: an agent
    drawing actions outside [-1, 1] pays more than 0.1 per step (an adapter that clipped first would hide it)."""
    from dynjax import RTRRLConfig, make_learner

    learner = make_learner(RTRRLConfig(env_id="MountainCarContinuous-v0", hidden_size=8, total_steps=100,
                                       eval_every=100))
    s = jax.jit(learner.init)(jax.random.key(0))
    heads = s.theta.heads  # sigma at its maximum (2 x the half-range): most samples leave [-1, 1]
    s = s._replace(theta=s.theta._replace(heads=heads._replace(W_A=heads.W_A.at[1].set(50.0)), body=s.theta.body),
                   h=jax.numpy.ones_like(s.h))
    step = jax.jit(learner.step)
    rewards = []
    for _ in range(50):
        s, info = step(s)
        rewards.append(float(info.reward))
    assert min(rewards) < -0.1 - 1e-3, rewards


def test_stateless_cartpole_is_cartpole_from_positions_with_normalised_return():
    """POPGym's StatelessCartPole: gymnax CartPole-v1's dynamics, observations (x, theta) only, 1 / L per step
    survived and truncation at L, so an episode's return is the fraction of the cap survived."""
    spec = make_env("StatelessCartPoleEasy-popgym")
    assert (spec.obs_dim, spec.max_steps, spec.n_actions) == (2, 200, 2)
    base = make_env("CartPole-v1", {"max_steps_in_episode": 200})
    key = jax.random.key(1)
    (o, s), (ob, sb) = spec.env.reset(key, spec.params), base.env.reset(key, base.params)
    np.testing.assert_array_equal(o, ob[np.array([0, 2])])
    total, steps = 0.0, 0
    for t in range(300):  # constant pushes: the pole falls within a few dozen steps
        k = jax.random.fold_in(key, t)
        o, s, r, term, trunc, _ = spec.env.step_within_episode(k, s, 1, spec.params)
        ob, sb, rb, _, _, _ = base.env.step_within_episode(k, sb, 1, base.params)
        np.testing.assert_array_equal(o, ob[np.array([0, 2])])
        assert float(r) == pytest.approx(float(rb) / 200)
        total, steps = total + float(r), steps + 1
        if term or trunc:
            break
    assert term and 5 < steps < 200 and total == pytest.approx(steps / 200)
    assert make_env("StatelessCartPoleHard-popgym").max_steps == 600

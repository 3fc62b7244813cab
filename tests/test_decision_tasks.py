"""Decision-making tasks (dynjax.envs.decision): rewards, evidence, dataset/env agreement, context gating.

Compiles dominate the run time, so the tests share a few programs, built without XLA optimization (~4x faster
to compile; the bits must not change, which the agreement tests check): one batched rollout per number of
streams (fixed batch B and length N; params and the action table are traced) and one dataset per number of
streams (B trials with delay_steps = DELAY).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax.envs import decision
from dynjax.envs.decision import (
    DECISION_ENVS,
    DecisionParams,
    DecisionTask,
    correct_choice,
    make_dataset,
    make_trial,
    observe,
    sample_trial,
    trial_draws,
)

B, N, DELAY = 512, 25, 4
CORRECT, WRONG = -1, -2  # action-table codes for the oracle's correct / wrong choice
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
ENV2 = DecisionTask(2)  # one instance: env.step is jitted with the env as a static argument


@functools.lru_cache(maxsize=None)
def rollout_fn(n_streams):
    """Jitted, vmapped: from reset_env(key), step_env with action table[i] at step i (no auto-reset).

    Table entries are actions, or CORRECT / WRONG for the correct / wrong choice of the current trial (read
    from the state). Returns per key and step: obs seen, reward, terminated, is_truncated, next obs.
    (gymnax's auto-resetting `step` is checked unbatched below; it doubles the compile time of a rollout.)
    """
    env = DecisionTask(n_streams)

    def one(key, table, params):
        obs, state = env.reset_env(key, params)

        def body(carry, i):
            obs, state = carry
            choice = correct_choice(state.coherence, state.context)
            code = table[i]
            action = jnp.where(code == CORRECT, choice, jnp.where(code == WRONG, 3 - choice, code))
            obs2, state2, reward, term, _ = env.step_env(jax.random.fold_in(key, i), state, action, params)
            return (obs2, state2), (obs, reward, term, env.is_truncated(state2, params), obs2)

        return jax.lax.scan(body, (obs, state), jnp.arange(N))[1]

    # Unoptimized code compiles ~4x faster here; it also checks that the bits do not depend on optimization.
    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)), compiler_options=FAST_COMPILE)


def rollout(n_streams, params, table, seed=0):
    table = np.broadcast_to(np.asarray(table, np.int32), (B, N))
    keys = jax.random.split(jax.random.key(seed), B)
    return [np.asarray(x) for x in rollout_fn(n_streams)(keys, jnp.asarray(table), params)]


def steps_table(fill, at=None, value=0):
    """An action row of length N: `fill` everywhere, `value` at step `at`."""
    row = np.full(N, fill, np.int32)
    if at is not None:
        row[at] = value
    return row


@functools.lru_cache(maxsize=None)
def dataset_fn(n_streams):
    """make_dataset's jitted core under an unoptimized outer jit (params traced): ~4x faster to compile.

    test_dataset_and_env_agree_step_by_step checks that it gives the bits of the public make_dataset.
    """
    T = DecisionParams(delay_steps=DELAY).max_steps_in_episode
    core = lambda key, params: decision._dataset(key, params, n_streams, B, T)  # noqa: E731
    return jax.jit(core, compiler_options=FAST_COMPILE)


def dataset(n_streams, params, seed):
    assert params.delay_steps == DELAY  # one compiled shape per n_streams
    return dataset_fn(n_streams)(jax.random.key(seed), params)


@pytest.mark.parametrize("n_streams", [1, 2])
def test_reward_only_at_the_choice(n_streams):
    default = DecisionParams()
    custom = default.replace(reward_correct=2.5, reward_wrong=-1.0, fixation_penalty=-0.5, delay_steps=3)
    for params in (default, custom):  # the reward values and the timing must come from params
        T = params.max_steps_in_episode
        W = T - params.decision_steps  # first decision step
        f32 = np.float32

        _, r, term, trunc, _ = rollout(n_streams, params, steps_table(0, W, CORRECT))
        assert np.all(r[:, :W] == 0) and np.all(r[:, W] == f32(params.reward_correct))
        assert not term[:, :W].any() and term[:, W].all() and not trunc.any()

        # a choice in the last decision step is still rewarded
        _, r, term, _, _ = rollout(n_streams, params, steps_table(0, T - 1, CORRECT))
        assert np.all(r[:, : T - 1] == 0) and np.all(r[:, T - 1] == f32(params.reward_correct))
        assert not term[:, : T - 1].any() and term[:, T - 1].all()

        _, r, term, _, _ = rollout(n_streams, params, steps_table(0, W, WRONG))
        assert np.all(r[:, W] == f32(params.reward_wrong)) and term[:, W].all() and not term[:, :W].any()

        # answering during the stimulus (either side) aborts the trial with the fixation penalty
        for action in (1, 2):
            early = params.fixation_steps + 2
            _, r, term, trunc, _ = rollout(n_streams, params, steps_table(0, early, action))
            assert np.all(r[:, early] == f32(params.fixation_penalty)) and term[:, early].all()
            assert np.all(r[:, :early] == 0) and not term[:, :early].any() and not trunc.any()

        # fixating through the decision window: no reward, the trial ends (terminated) at its last step
        _, r, term, trunc, _ = rollout(n_streams, params, steps_table(0))
        assert np.all(r[:, :T] == 0) and not term[:, : T - 1].any() and term[:, T - 1].all() and not trunc.any()


@pytest.mark.parametrize("n_streams", [1, 2, 3])
def test_answer_is_in_the_noiseless_stimulus(n_streams):
    params = DecisionParams(noise=0.0, delay_steps=DELAY)
    ds = dataset(n_streams, params, 1)
    F, S = params.fixation_steps, params.stimulus_steps
    stim = np.asarray(ds.inputs[:, :, 1 : 1 + n_streams])
    coh = np.asarray(ds.coherence)
    np.testing.assert_array_equal(stim[:, F : F + S], np.broadcast_to(coh[:, None], (B, S, n_streams)))
    assert np.all(stim[:, :F] == 0) and np.all(stim[:, F + S :] == 0)
    relevant = stim[np.arange(B), :, np.asarray(ds.context)].sum(axis=1)
    np.testing.assert_array_equal(np.where(relevant > 0, 2, 1), np.asarray(ds.choice))
    np.testing.assert_array_equal(np.unique(np.abs(coh)), np.asarray(params.coherences))  # all magnitudes occur
    assert (coh > 0).mean() == pytest.approx(0.5, abs=0.08)


def test_integrating_the_noisy_stimulus_is_right_as_often_as_theory_says():
    params = DecisionParams(delay_steps=DELAY)  # noise 1, 10 stimulus steps, coherences (0.05, 0.1, 0.2, 0.4)
    parts = [dataset(1, params, 100 + i) for i in range(16)]
    inputs = np.concatenate([np.asarray(p.inputs) for p in parts])
    choice = np.concatenate([np.asarray(p.choice) for p in parts])
    mags = np.abs(np.concatenate([np.asarray(p.coherence[:, 0]) for p in parts]))
    right = np.where(inputs[:, :, 1].sum(axis=1) > 0, 2, 1) == choice
    accs = []
    for c in np.asarray(params.coherences):
        sel = np.isclose(mags, c)
        theory = 0.5 * (1 + math.erf(c * math.sqrt(params.stimulus_steps) / params.noise / math.sqrt(2)))
        accs.append(right[sel].mean())
        assert sel.sum() > 1500 and abs(accs[-1] - theory) < 0.04, (c, accs[-1], theory)
    assert np.all(np.diff(accs) > 0), accs  # accuracy grows with coherence
    assert 0.66 < right.mean() < 0.75  # theory: 0.705

    # the noise has the requested scale and no bias
    F, S = params.fixation_steps, params.stimulus_steps
    for sigma in (0.5, 2.0):
        ds = dataset(1, params.replace(noise=sigma), 7)
        resid = np.asarray(ds.inputs[:, F : F + S, 1]) - np.asarray(ds.coherence)
        assert abs(resid.std() / sigma - 1) < 0.03 and abs(resid.mean()) < 0.03 * sigma


@pytest.mark.parametrize("n_streams", [1, 2, 3])
def test_dataset_and_env_agree(n_streams):
    params = DecisionParams(delay_steps=DELAY, noise=0.7)
    T = params.max_steps_in_episode
    W = T - params.decision_steps
    ds = dataset(n_streams, params, 5)
    assert np.all(np.asarray(ds.mask) == (np.arange(T) >= W)) and np.all(np.asarray(ds.targets)[:, :W] == 0)
    assert np.all(np.asarray(ds.targets)[:, W:] == np.asarray(ds.choice)[:, None])

    # batched and jitted: the env fed the dataset's target actions sees exactly the dataset's inputs
    table = np.zeros((B, N), np.int32)
    table[:, :T] = np.asarray(ds.targets)
    obs, r, term, trunc, final = rollout(n_streams, params, table, seed=5)
    np.testing.assert_array_equal(obs[:, : W + 1], np.asarray(ds.inputs[:, : W + 1]))
    assert np.all(r[:, :W] == 0) and np.all(r[:, W] == np.float32(params.reward_correct))
    assert not term[:, :W].any() and term[:, W].all() and not trunc.any()
    assert np.all(final[:, W, 0] == 0)  # the observation after the choice


def test_dataset_and_env_agree_step_by_step():
    """Unbatched env.step, make_trial and observe() run op by op: differently compiled code, the same bits."""
    env, params = ENV2, DecisionParams(delay_steps=DELAY, noise=1.3)
    T = params.max_steps_in_episode
    keys = jax.random.split(jax.random.key(6), B)
    for i, key in enumerate(keys[:3]):
        trial = make_trial(key, params, 2)
        if i == 0:
            # make_dataset's trial i is make_trial(split(key)[i]); the unoptimized test build gives the same bits
            full = make_dataset(jax.random.key(6), params, 2, B)
            jax.tree.map(np.testing.assert_array_equal, jax.tree.map(lambda x: x[0], full), trial)
            jax.tree.map(np.testing.assert_array_equal, full, dataset(2, params, 6))
            # no jit, so nothing is fused: a multiply-add contracted into an FMA would show up here
            coherence, context, trial_key = sample_trial(key, params, 2)
            eager = [observe(t, coherence, context, trial_draws(trial_key, t + 1, 2), params) for t in range(T)]
            np.testing.assert_array_equal(np.stack(eager), np.asarray(trial.inputs))
        obs, state = env.reset(key, params)
        for t in range(T):
            np.testing.assert_array_equal(np.asarray(obs), np.asarray(trial.inputs[t]), err_msg=f"step {t}")
            obs, state, reward, term, trunc, _ = env.step(jax.random.key(t), state, trial.targets[t], params)
            assert not bool(trunc) and bool(term) == (t == T - params.decision_steps)
            assert float(reward) == (params.reward_correct if bool(term) else 0.0)
            if bool(term):
                break
        assert bool(term)


def test_context_decides_the_answer():
    env = ENV2
    params = env.default_params
    W = params.max_steps_in_episode - params.decision_steps
    _, state0 = env.reset(jax.random.key(0), params)
    for context, right_choice in ((0, 2), (1, 1)):
        state = state0.replace(coherence=jnp.array([0.4, -0.4], jnp.float32), context=jnp.int32(context))
        for t in range(W):
            obs, state, r, term, _, _ = env.step(jax.random.key(t), state, 0, params)
            assert float(r) == 0.0 and not bool(term)
            np.testing.assert_array_equal(np.asarray(obs[3:]), np.eye(2)[context] * (t + 1 < W))
        for choice in (1, 2):
            _, _, r, term, _, _ = env.step(jax.random.key(0), state, choice, params)
            assert bool(term) and float(r) == (params.reward_correct if choice == right_choice else params.reward_wrong)

    # in the dataset the choice follows the cued stream and is at chance with respect to the others
    parts = [dataset(3, DecisionParams(delay_steps=DELAY), 200 + i) for i in range(6)]
    coh = np.concatenate([np.asarray(p.coherence) for p in parts])
    ctx = np.concatenate([np.asarray(p.context) for p in parts])
    choice = np.concatenate([np.asarray(p.choice) for p in parts])
    n = len(ctx)
    np.testing.assert_array_equal(choice, np.where(coh[np.arange(n), ctx] > 0, 2, 1))
    for k in range(3):
        other = ctx != k
        agree = (np.where(coh[other, k] > 0, 2, 1) == choice[other]).mean()
        assert 0.45 < agree < 0.55, (k, agree)
    assert np.all(np.bincount(ctx, minlength=3) > 0.28 * n)
    # the context channels show the cue before the decision window and nothing in it
    T, ctx_obs = parts[0].inputs.shape[1], np.asarray(parts[0].inputs[:, :, 4:])
    W = T - DecisionParams().decision_steps
    cue = np.eye(3)[np.asarray(parts[0].context)][:, None]
    np.testing.assert_array_equal(ctx_obs[:, :W], np.broadcast_to(cue, (B, W, 3)))
    assert np.all(ctx_obs[:, W:] == 0)


@pytest.mark.parametrize("n_streams,obs_dim", [(1, 2), (2, 5), (3, 7)])
def test_shapes_spaces_registry_and_transforms(n_streams, obs_dim):
    env_id = "PerceptualDecision-dynjax" if n_streams == 1 else "ContextDecision-dynjax"
    env, params = DECISION_ENVS[env_id](n_streams=n_streams) if n_streams == 3 else DECISION_ENVS[env_id]()
    assert env.n_streams == n_streams and env.name == env_id
    assert env.num_actions == 3 and env.action_space(params).n == 3
    assert params.max_steps_in_episode == 18 and params.coherences.shape == (4,)
    params = params.replace(delay_steps=DELAY)
    T = params.max_steps_in_episode

    ds = dataset(n_streams, params, 3)
    assert ds.inputs.shape == (B, T, obs_dim) and ds.inputs.dtype == jnp.float32
    assert ds.targets.shape == (B, T) and ds.targets.dtype == jnp.int32 and ds.mask.dtype == jnp.float32
    assert ds.choice.shape == (B,) and ds.coherence.shape == (B, n_streams) and ds.context.shape == (B,)
    space = env.observation_space(params)
    assert space.shape == (obs_dim,) and bool(jax.vmap(space.contains)(ds.inputs.reshape(-1, obs_dim)).all())
    assert not bool(space.contains(jnp.full(obs_dim, 2.0).at[1].set(0.0)))  # a cue of 2 is out of the space

    # jit + vmap of reset_env/step_env (the rollout), shapes and dtypes of what comes out
    obs, r, term, trunc, final = rollout(n_streams, params, steps_table(0))
    assert obs.shape == (B, N, obs_dim) and obs.dtype == np.float32 and final.shape == (B, N, obs_dim)
    assert r.dtype == np.float32 and term.dtype == np.bool_ and trunc.dtype == np.bool_
    assert np.all(obs[:, 0, 0] == 1) and np.all(obs[:, T - 1, 0] == 0)

    with pytest.raises(ValueError, match="n_streams"):
        DecisionTask(0)


def test_gymnax_step_auto_resets_a_terminated_trial():
    env, params = ENV2, DecisionParams()
    T = params.max_steps_in_episode
    obs, state = env.reset(jax.random.key(8), params)
    for t in range(T):  # fixate throughout: the trial terminates (not truncates) at its last step
        obs, state, r, term, trunc, info = env.step(jax.random.key(t), state, 0, params)
        assert obs.shape == (5,) and r.dtype == jnp.float32 and not bool(trunc) and not bool(info["truncated"])
        assert bool(term) == bool(info["terminated"]) == (t == T - 1) and float(r) == 0.0
    assert float(info["final_observation"][0]) == 0.0  # the observation at step T, before the reset
    assert float(obs[0]) == 1.0 and int(state.time) == 0  # a fresh trial


def test_per_step_key_does_not_touch_the_stimulus():
    env = ENV2
    params = env.default_params
    _, state = env.reset(jax.random.key(0), params)
    for t in range(params.fixation_steps + 1):
        a, state_a, *_ = env.step(jax.random.key(100 + t), state, 0, params)
        b, _, *_ = env.step(jax.random.key(200 + t), state, 0, params)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        state = state_a
    assert np.any(np.asarray(a[1:3]) != 0)  # the last one was a stimulus step

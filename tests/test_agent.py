"""RTRRL agent: determinism, vmap equivalence, episode boundaries, config errors."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax import RTRRLConfig, RTRRLHParams, make_learner, make_train
from dynjax.agents import driver

TINY = dict(total_steps=400, eval_every=200, eval_episodes=2)


def flat(tree, batched: bool = False) -> np.ndarray:
    """A parameter pytree as one vector (or one row per learner when `batched`)."""
    leaves = [np.asarray(x) for x in jax.tree.leaves(tree)]
    if batched:
        return np.concatenate([x.reshape(x.shape[0], -1) for x in leaves], axis=1)
    return np.concatenate([x.ravel() for x in leaves])


@pytest.fixture(scope="module")
def tiny_train():
    return jax.jit(make_train(RTRRLConfig(**TINY)))


def test_same_key_gives_bit_identical_metrics(tiny_train):
    """The same key gives the same bits; another key another learner (the run is not constant)."""
    s1, m1 = tiny_train(jax.random.key(3))
    _, m2 = tiny_train(jax.random.key(3))
    for a, b in zip(m1, m2):
        np.testing.assert_array_equal(a, b)
    assert m1.eval_return.shape == (3,)  # step 0 plus two evaluation points
    s3, _ = tiny_train(jax.random.key(4))
    assert not np.array_equal(flat(s1.theta), flat(s3.theta))


def test_vmapped_seeds_equal_seeds_run_one_by_one(tiny_train):
    """Same metrics; parameters equal to float rounding (a batched matvec may sum in another order, and
    over long runs such differences grow as in any chaotic system)."""
    keys = jax.random.split(jax.random.key(0), 3)
    b_state, batched = jax.jit(jax.vmap(make_train(RTRRLConfig(**TINY))))(keys)
    for i in range(3):
        s_state, single = tiny_train(keys[i])
        np.testing.assert_array_equal(batched.eval_return[i], single.eval_return)
        np.testing.assert_array_equal(batched.step[i], single.step)
        np.testing.assert_allclose(flat(b_state.theta, batched=True)[i], flat(s_state.theta), rtol=1e-5, atol=1e-5)


def test_hyperparameters_can_be_vmapped():
    """Three learning rates in one program: each learner carries its own and uses it, so the parameters move
    further from their start the larger the rate (by norm: ~1.0, 4.2, 9.4 for 1e-4, 1e-3, 1e-2)."""
    cfg = RTRRLConfig(**TINY)
    lrs = jnp.array([1e-4, 1e-3, 1e-2])
    hps = jax.vmap(lambda lr: RTRRLHParams(lr_actor=lr, lr_critic=lr, lr_rnn=lr))(lrs)
    hps = hps._replace(**{k: jnp.full((3,), v) for k, v in RTRRLHParams()._asdict().items() if not k.startswith("lr_")})
    keys = jax.random.split(jax.random.key(1), 3)
    state, m = jax.jit(jax.vmap(make_train(cfg)))(keys, hps)
    assert m.eval_return.shape == (3, 3)
    np.testing.assert_allclose(state.hp.lr_actor, lrs)
    start = jax.jit(jax.vmap(make_learner(cfg).init))(keys, hps)  # train(key, hp) starts from init(key, hp)
    moved = np.linalg.norm(flat(state.theta, batched=True) - flat(start.theta, batched=True), axis=1)
    assert np.all(moved[1:] > moved[:-1]), moved


@pytest.mark.parametrize("rule", ["rflo", "rtrl", "linear"])
def test_episode_boundaries_reset_state_and_traces(rule):
    """At every step that ends an episode the next features are those of a fresh episode, traces are zero."""
    cfg = RTRRLConfig(rule=rule, hidden_size=8, env_args=(("max_steps_in_episode", "4"),), **TINY)
    learner = make_learner(cfg)
    s = jax.jit(learner.init)(jax.random.key(0))
    step = jax.jit(learner.step)
    saw_truncation = False
    for _ in range(12):
        s_next, info = step(s)
        if bool(info.terminated) or bool(info.truncated):
            saw_truncation |= bool(info.truncated) and not bool(info.terminated)
            np.testing.assert_array_equal(flat(s_next.z), 0.0)
            assert float(s_next.ep_return) == 0.0
            obs = s_next.env_state  # the env has auto-reset: rebuild its observation
            raw = learner.spec.env._obs(learner.spec.env.get_obs(obs))
            # features are computed with the parameters in force during the step (before its update)
            h0, trace0 = learner.episode_start(s.theta.body, raw, s.hp.dt)
            np.testing.assert_allclose(s_next.h, h0, rtol=1e-5, atol=1e-6)
            for a, b in zip(jax.tree.leaves(s_next.trace), jax.tree.leaves(trace0)):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        else:
            assert np.any(flat(s_next.z) != 0.0)
        s = s_next
    assert saw_truncation


@pytest.mark.parametrize("env_id, env_args, flag", [
    ("CartPole-v1", (("max_steps_in_episode", "3"),), "truncated"),
    ("MemoryChain-bsuite", (("memory_length", "2"),), "terminated"),
])
def test_truncation_bootstraps_termination_does_not(env_id, env_args, flag):
    """With v = b_C = 10 everywhere: a truncated last step has delta = r + gamma 10 - 10, a terminal one
    delta = r - 10."""
    cfg = RTRRLConfig(env_id=env_id, obs_mask=None, hidden_size=8, env_args=env_args, **TINY)
    learner = make_learner(cfg)
    s = jax.jit(learner.init)(jax.random.key(2))
    p = s.theta
    s = s._replace(theta=p._replace(heads=p.heads._replace(w_C=jnp.zeros_like(p.heads.w_C), b_C=jnp.asarray(10.0))))
    step = jax.jit(learner.step)
    for _ in range(10):
        s, info = step(s)
        if bool(info.terminated) or bool(info.truncated):
            break
    assert bool(getattr(info, flag)) and bool(info.terminated) != bool(info.truncated)
    bootstrap = 0.99 * 10.0 if flag == "truncated" else 0.0
    # Adam moves b_C by ~1e-3 per step, hence the tolerance; the two cases differ by ~10.
    np.testing.assert_allclose(info.delta, info.reward + bootstrap - 10.0, atol=0.05)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(env_id="NoSuchEnv-v0"), "env_id"),
        (dict(obs_mask="0,9"), "obs_mask"),
        (dict(hidden_size=0), "hidden_size"),
        (dict(total_steps=-5), "total_steps"),
        (dict(total_steps=25_000, eval_every=10_000), "multiple of eval_every"),
        (dict(hparams=RTRRLHParams(lr_actor=float("nan"))), "lr_actor"),
        (dict(hparams=RTRRLHParams(lr_rnn=float("inf"))), "lr_rnn"),
        (dict(hparams=RTRRLHParams(gamma=1.5)), "gamma"),
        (dict(rule="bptt"), "rule"),
        (dict(env_args=(("memory_lenght", "3"),), env_id="MemoryChain-bsuite"), "memory_lenght"),
    ],
)
def test_bad_config_is_rejected_with_a_clear_error(kwargs, field):
    with pytest.raises(ValueError, match=field):
        make_train(RTRRLConfig(**kwargs))


def test_continuous_actions_run():
    cfg = RTRRLConfig(env_id="MountainCarContinuous-v0", obs_mask=None, hidden_size=8, **TINY)
    _, m = jax.jit(make_train(cfg))(jax.random.key(0))
    assert np.all(np.isfinite(m.eval_return))


def test_non_finite_parameters_are_flagged_as_diverged():
    learner = make_learner(RTRRLConfig(hidden_size=8, **TINY))
    s = jax.jit(learner.init)(jax.random.key(0))
    W = s.theta.body.W
    s = s._replace(theta=s.theta._replace(body=s.theta.body._replace(W=W.at[0, 0].set(jnp.nan))))
    s1, m = jax.jit(partial(driver.segment, learner))(s)
    # the first TD error is already non-finite: flagged at step 1, and the learner is frozen (its state is
    # the segment's starting state; only the step counter advances)
    assert bool(m.diverged) and int(m.diverged_at) == 1 == int(s1.diverged_at)
    assert int(s1.step) == TINY["eval_every"]
    np.testing.assert_array_equal(flat(s1.z), flat(s.z))


def test_blocked_and_single_seed_programs_equal_plain_vmap():
    from dynjax.sweep.batching import blocked_vmap

    learner = make_learner(RTRRLConfig(hidden_size=8, **TINY))
    keys = jax.random.split(jax.random.key(5), 4)
    state = jax.jit(jax.vmap(learner.init))(keys)
    segment = partial(driver.segment, learner)
    _, plain = jax.jit(jax.vmap(segment))(state)
    _, blocked = jax.jit(blocked_vmap(segment, 4, 2))(state)
    _, single = jax.jit(blocked_vmap(segment, 1, None))(jax.tree.map(lambda x: x[:1], state))
    np.testing.assert_allclose(blocked.eval_return, plain.eval_return, rtol=1e-5)
    np.testing.assert_allclose(single.eval_return, plain.eval_return[:1], rtol=1e-5)


def test_update_clip_global_or_per_group():
    """Global: one norm over every parameter; per group: the body's and the heads' updates each to their own
    norm (the authors' placement); an infinite config clip compiles no clip at all."""
    from dynjax.agents.heads import HeadParams
    from dynjax.agents.rtrrl import AgentParams, update_clip
    from dynjax.cells.ctrnn import CTRNNParams

    u = AgentParams(body=CTRNNParams(W=jnp.full((2, 2), 3.0), tau=jnp.zeros((2,))),  # body norm 6
                    heads=HeadParams(W_A=jnp.full((1, 1), 0.3), w_C=jnp.zeros((2,)), b_C=jnp.asarray(0.4)))  # 0.5
    norm = lambda t: float(jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(t))))  # noqa: E731
    assert update_clip("global", float("inf"), 1.0, u) is None
    g = update_clip("global", 1.0, 1.0, u)
    out, _ = g.update(u, g.init(u))
    np.testing.assert_allclose(norm(out), 1.0, rtol=1e-6)
    np.testing.assert_allclose(norm(out.heads), 0.5 / norm(u), rtol=1e-5)  # the heads shrink with the body
    p = update_clip("group", 1.0, 1.0, u)
    out, _ = p.update(u, p.init(u))
    np.testing.assert_allclose(norm(out.body), 1.0, rtol=1e-6)
    np.testing.assert_allclose(norm(out.heads), 0.5, rtol=1e-6)  # under its own norm: untouched

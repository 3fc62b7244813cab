"""The learner contract and the one driver that runs every agent.

An agent writes its update and nothing else. Its `make_learner(config)` returns a `Learner`:

    init(key, hparams=None) -> state            a fresh learner (hparams: the config's when None)
    update(state) -> (state, UpdateReport)      one update: `config.eval_unit` training steps
    closed_loop(state) -> ClosedLoop            the frozen agent as a dynamical system (dynjax.analysis)
    parameters(state) -> pytree                 what must stay finite (checked after every segment)
    diagnostics(state) -> dict | None           optional extra evaluation columns (None: none)
    train_metrics: tuple[str, ...]              names of the training means its UpdateReport carries

and a state with `key`, `step` and `diverged_at` fields. The driver owns everything around the update, the
same for every agent:

    segment    = eval_every / eval_unit updates (one scan), returns and means reduced inside it, then
                 divergence freezing (`freeze_diverged`) and an evaluation
    evaluation = `eval_episodes` episodes of the closed loop (learning frozen, split off the learner's key
                 with fold_in(key, 1)), the success share where the environment reports one, and diagnostics
    train      = init, evaluation at step 0, then total_steps / eval_every segments, as one pure function

so `jax.jit(jax.vmap(make_train(learner)))(keys)` runs independent learners, and the sweep runner
(dynjax.sweep) drives the same `initial` and `segment` in chunks.
"""

from typing import Any, Callable, Mapping, NamedTuple, Protocol, TypeVar

import chex
import jax
import jax.numpy as jnp

from dynjax.agents.evaluation import EvalMetrics, episode_returns, loop_episode_fns
from dynjax.analysis.closed_loop import ClosedLoop
from dynjax.envs.adapter import EnvSpec

Array = jax.Array
S = TypeVar("S")


class UpdateReport(NamedTuple):
    """What one update saw, reduced by the driver over a segment (never stored per step for a whole run)."""

    return_sum: Array  # summed returns of the training episodes that ended in this update
    return_count: Array  # how many ended
    bad_at: Array  # step of the first non-finite loss or TD error in this update (-1: none)
    means: Mapping[str, tuple[Array, Array]]  # name -> (sum, count): the segment's mean is sum / count (nan if 0)


class Learner(Protocol[S]):
    """The contract every agent's `make_learner(config)` fulfils (see the module docstring)."""

    config: Any  # with total_steps, eval_every, eval_episodes and eval_unit
    spec: EnvSpec
    train_metrics: tuple[str, ...]

    def init(self, key: Array, hparams: Any = None) -> S: ...

    def update(self, state: S) -> tuple[S, UpdateReport]: ...

    def closed_loop(self, state: S) -> ClosedLoop: ...

    def parameters(self, state: S) -> Any: ...

    @property
    def diagnostics(self) -> Callable[[S], dict] | None: ...


def hparam_arrays(hparams: Any, dtype: Any = jnp.float32) -> Any:
    """The hyperparameters as arrays of `dtype` (Python floats in a config become vmappable leaves); Dynamic RL
    passes `float` (float64 under x64)."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype), hparams)


def first_bad(bad: Array, step: Array) -> Array:
    """`step` where `bad` (a non-finite loss or TD error at that step), else -1."""
    return jnp.where(bad, step, -1).astype(jnp.int32)


def mean_or_nan(total: Array, count: Array) -> Array:
    return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)


def all_finite(tree: Any) -> Array:
    return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def freeze_diverged(before: S, after: S, bad_at: Array) -> S:
    """Keep `before` (the state at the start of a segment) when the learner diverged (bad_at >= 0) in it or
    earlier, so a non-finite value can never propagate; the step counter and diverged_at still advance."""
    frozen = bad_at >= 0
    kept = jax.tree.map(lambda old, new: jnp.where(frozen, old, new), before, after)
    return kept._replace(step=after.step, diverged_at=bad_at)


def evaluate(learner: Learner, state: Any) -> EvalMetrics:
    """The evaluation point of `state`: mean return of `eval_episodes` fresh episodes of its closed loop with
    learning frozen, the success share (environments that report one), the learner's diagnostics, and nan for
    the training columns (a segment fills those in)."""
    config = learner.config
    episodes = episode_returns(jax.random.fold_in(state.key, 1), learner.spec, config.eval_episodes,
                               *loop_episode_fns(learner.closed_loop(state)))
    extra = {} if learner.diagnostics is None else dict(learner.diagnostics(state))
    if episodes.success is not None:
        extra["eval_success"] = jnp.mean(episodes.success.astype(episodes.returns.dtype))
    extra |= {name: jnp.full((), jnp.nan) for name in learner.train_metrics}
    return EvalMetrics(step=state.step, eval_return=jnp.mean(episodes.returns), train_return=jnp.full((), jnp.nan),
                       diverged=state.diverged_at >= 0, diverged_at=state.diverged_at, extra=extra)


def segment(learner: Learner, s0: S) -> tuple[S, EvalMetrics]:
    """eval_every training steps (eval_every / eval_unit updates), then an evaluation. A learner whose loss,
    TD error or parameters became non-finite is frozen: it keeps the (finite) state it had at the start of the
    segment in which it diverged, and reports the step of the first non-finite value."""
    config = learner.config
    zero = jnp.zeros(())
    means0 = {name: (zero, jnp.zeros((), jnp.int32)) for name in learner.train_metrics}

    def body(carry, _):
        s, ret_sum, ret_count, means, bad_at = carry
        s, r = learner.update(s)
        chex.assert_equal(set(r.means), set(learner.train_metrics))
        bad_at = jnp.where((bad_at < 0) & (r.bad_at >= 0), r.bad_at, bad_at)
        means = {k: (means[k][0] + r.means[k][0], means[k][1] + r.means[k][1]) for k in means}
        return (s, ret_sum + r.return_sum, ret_count + r.return_count, means, bad_at), None

    init = (s0, zero, jnp.zeros((), jnp.int32), means0, s0.diverged_at)
    (s, ret_sum, ret_count, means, bad_at), _ = jax.lax.scan(body, init, None,
                                                             length=config.eval_every // config.eval_unit)
    bad_at = jnp.where((bad_at < 0) & ~all_finite(learner.parameters(s)), s.step, bad_at)
    s = freeze_diverged(s0, s, bad_at)
    m = evaluate(learner, s)
    extra = m.extra | {k: mean_or_nan(total, count) for k, (total, count) in means.items()}
    return s, m._replace(train_return=mean_or_nan(ret_sum, ret_count), extra=extra)


def initial(learner: Learner, key: Array, hparams: Any = None) -> tuple[Any, EvalMetrics]:
    """A fresh learner and its evaluation at step 0."""
    if hparams is not None:
        chex.assert_trees_all_equal_structs(hparams, learner.config.hparams)
    state = learner.init(key, hparams)
    return state, evaluate(learner, state)


def make_train(learner: Learner) -> Callable[..., tuple[Any, EvalMetrics]]:
    """`train(key, hparams=None) -> (final_state, metrics)`: init, evaluation at step 0, then total_steps /
    eval_every segments, as one pure function; metrics have one entry per evaluation point (step 0 included),
    so `jax.jit(jax.vmap(train))(keys)` gives (seeds, n_evals + 1) arrays."""
    n_segments = learner.config.total_steps // learner.config.eval_every

    def train(key: Array, hparams: Any = None):
        s, m0 = initial(learner, key, hparams)
        s, ms = jax.lax.scan(lambda c, _: segment(learner, c), s, None, length=n_segments)
        return s, jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), m0, ms)

    return train

"""Decision-making tasks as gymnax-API JAX environments, plus supervised datasets built from the same code.

`DecisionTask(n_streams)` is one trial-based environment covering two classic neuroscience tasks:

* n_streams K = 1: the random-dots two-alternative forced choice (2AFC) perceptual decision
  (Britten, Shadlen, Newsome & Movshon 1992, J. Neurosci. 12:4745);
* K >= 2: context-dependent integration -- K noisy streams are shown, a context cue says which one
  decides the answer and the others are distractors (Mante, Sussillo, Shenoy & Newsome 2013, Nature 503:78).

Both are used to compare reinforcement and supervised training of recurrent networks by
Kononov et al. 2025 (arXiv 2510.11162).

Trial structure (integer steps t = 0 .. T-1, with F, S, Dl, D = fixation_steps, stimulus_steps, delay_steps,
decision_steps and T = F + S + Dl + D = `max_steps_in_episode`; the decision window is W = {t >= T - D}):
    fixation [0, F) -> stimulus [F, F+S) -> delay [F+S, F+S+Dl) -> decision window [T-D, T).
Per trial (drawn at reset): c_k = s_k * m_k with s_k uniform in {-1, +1} and m_k uniform in `coherences`
(k = 0..K-1), context k* uniform in {0..K-1} (k* = 0 when K = 1); the trial key kappa is the reset key.
The correct choice is a* = 2 if c_{k*} > 0 else 1.

Observation at step t (float32, size 1 + K for K = 1, 1 + 2K for K >= 2):
    o_t[0]       = 1[t < T - D]                                    (fixation cue)
    o_t[1+k]     = 1[F <= t < F+S] * (c_k + sigma * xi_{t,k}),      xi_t ~ N(0, I_K) (approx.) hashed from (kappa, t)
                   (sigma * xi is rounded to a 2^-20 grid, far below the noise scale)
    o_t[1+K+k]   = 1[t < T - D] * 1[k = k*]                        (context one-hot, only for K >= 2)
The noise depends only on (kappa, t), never on the per-step key, and is computed bit-reproducibly (Irwin-Hall
sum of 12 integer uniforms, see `stimulus_noise`), so `make_trial` reproduces the env's observations exactly.

Actions: 0 = fixate, 1 = choose negative ("left"), 2 = choose positive ("right").
Reward for action a_t at step t:
    r_t = fixation_penalty                       if t not in W and a_t != 0   (abort, terminated)
    r_t = reward_correct if a_t = a* else reward_wrong   if t in W and a_t != 0   (choice, terminated)
    r_t = 0                                      otherwise; fixating through t = T - 1 terminates with r = 0.
Every trial ends with terminated=True; truncated is always False (T is the full trial; see `is_truncated`).

Difficulty grows with delay_steps (the evidence must be held over the delay), noise (lower signal-to-noise;
integrating the relevant stream is right with probability Phi(|c| sqrt(S) / sigma)) and n_streams (more
distractor streams to gate out by context).
"""

from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

Array = jax.Array


@struct.dataclass
class DecisionParams:
    fixation_steps: int = 5
    stimulus_steps: int = 10
    delay_steps: int = 0
    decision_steps: int = 3  # must be >= 1
    coherences: Array = struct.field(default_factory=lambda: jnp.array([0.05, 0.1, 0.2, 0.4], jnp.float32))
    noise: float = 1.0
    fixation_penalty: float = -0.1
    reward_correct: float = 1.0
    reward_wrong: float = 0.0

    @property
    def max_steps_in_episode(self) -> Any:
        """T, the full trial length (an int for concrete params)."""
        return self.fixation_steps + self.stimulus_steps + self.delay_steps + self.decision_steps


@struct.dataclass
class DecisionState:
    time: Array  # int32 step within the trial
    coherence: Array  # (K,) float32 signed coherences
    context: Array  # () int32 relevant stream k*
    trial_key: Array  # PRNG key (the reset key): the noise of step t comes from trial_draws(trial_key, t + 1)


class Trial(NamedTuple):
    inputs: Array  # (T, obs_dim) float32 observations when fixating throughout
    targets: Array  # (T,) int32 optimal action: 0 before the decision window, the correct choice in it
    mask: Array  # (T,) float32 1 on decision-window steps
    choice: Array  # () int32 correct choice (1 or 2)
    coherence: Array  # (K,) float32
    context: Array  # () int32


def correct_choice(coherence: Array, context: Array) -> Array:
    """a* = 2 (positive) if the context stream's coherence is > 0, else 1 (negative)."""
    return jnp.where(coherence[context] > 0, 2, 1).astype(jnp.int32)


def trial_draws(trial_key: Array, index: Array, n_streams: int) -> Array:
    """(12, K) uint32 random words of a trial: index 0 sets the trial variables, index t + 1 the noise of step t."""
    return jax.random.bits(jax.random.fold_in(trial_key, index), (12, n_streams), jnp.uint32)


def trial_variables(draws: Array, params: DecisionParams) -> tuple[Array, Array]:
    """(coherence (K,), context ()) from the index-0 draws: uniform choices are words modulo the number of
    options (exact when it divides 2^32, as 2 and 4 do; otherwise off by < n / 2^32)."""
    coherences = jnp.asarray(params.coherences, jnp.float32)
    sign = jnp.where(draws[0] % 2 == 1, 1.0, -1.0)
    coherence = (sign * coherences[draws[1] % coherences.shape[0]]).astype(jnp.float32)
    return coherence, (draws[2, 0] % draws.shape[1]).astype(jnp.int32)


def sample_trial(key: Array, params: DecisionParams, n_streams: int) -> tuple[Array, Array, Array]:
    """What reset_env draws from its key: (coherence, context, trial key); the trial key is the reset key."""
    return *trial_variables(trial_draws(key, 0, n_streams), params), key


def phases(t: Array, params: DecisionParams) -> tuple[Array, Array]:
    """(in the stimulus period, in the decision window) at step t."""
    in_stim = (t >= params.fixation_steps) & (t < params.fixation_steps + params.stimulus_steps)
    return in_stim, t >= params.max_steps_in_episode - params.decision_steps


def stimulus_noise(draws: Array) -> Array:
    """xi_t (K,) from the step's draws: approximately N(0, 1) -- the Irwin-Hall sum of 12 uniforms, mean 0,
    variance 1 - 2^-32.

    Built from integer arithmetic and an exact power-of-two scaling (u_j = (2 b_j + 1) / 2^17 for the top 16
    bits b_j of each word), so its bits cannot depend on how XLA compiles it (fusion, FMA contraction,
    vectorization, optimization level, eager vs jit), which a float normal sampler's polynomial does not
    guarantee.
    """
    total = jnp.sum(2 * (draws >> 16).astype(jnp.int32) + 1, axis=0) - 12 * 2**16
    return total.astype(jnp.float32) * jnp.float32(2.0**-17)


def observe(t: Array, coherence: Array, context: Array, draws: Array, params: DecisionParams) -> Array:
    """Observation at step t of a trial (layout in the module docstring); draws = trial_draws(key, t + 1, K)."""
    n_streams = coherence.shape[0]
    in_stim, in_window = phases(jnp.asarray(t, jnp.int32), params)
    # Every product that feeds an addition is exact (xi lies on a 2^-17 grid, sigma * xi is rounded to a 2^-20
    # grid), so whether XLA contracts a multiply-add into an FMA cannot change a bit: env and dataset agree.
    scaled = jnp.round(jnp.asarray(params.noise, jnp.float32) * stimulus_noise(draws) * 2.0**20) * 2.0**-20
    stim = jnp.where(in_stim, coherence + scaled.astype(jnp.float32), 0.0)
    parts = [(~in_window).astype(jnp.float32)[None], stim]
    if n_streams >= 2:
        parts.append(jax.nn.one_hot(context, n_streams, dtype=jnp.float32) * ~in_window)
    return jnp.concatenate(parts).astype(jnp.float32)


class DecisionTask(environment.Environment[DecisionState, DecisionParams]):
    """Perceptual (n_streams = 1) or context-dependent (n_streams >= 2) decision task; see the module docstring."""

    def __init__(self, n_streams: int = 1):
        super().__init__()
        if int(n_streams) < 1:
            raise ValueError(f"n_streams: must be >= 1, got {n_streams}")
        self.n_streams = int(n_streams)
        self.obs_dim = 1 + self.n_streams if self.n_streams == 1 else 1 + 2 * self.n_streams

    @property
    def default_params(self) -> DecisionParams:
        return DecisionParams()

    def _obs(self, state: DecisionState, params: DecisionParams) -> Array:
        draws = trial_draws(state.trial_key, state.time + 1, self.n_streams)
        return observe(state.time, state.coherence, state.context, draws, params)

    def reset_env(self, key: Array, params: DecisionParams) -> tuple[Array, DecisionState]:
        coherence, context, trial_key = sample_trial(key, params, self.n_streams)
        state = DecisionState(jnp.int32(0), coherence, context, trial_key)
        return self._obs(state, params), state

    def step_env(
        self, key: Array, state: DecisionState, action: int | float | Array, params: DecisionParams
    ) -> tuple[Array, DecisionState, Array, Array, dict[str, Any]]:
        del key  # the trial is fully determined at reset
        t, action = state.time, jnp.asarray(action, jnp.int32)
        acted, (_, in_window) = action != 0, phases(t, params)
        abort, chose = acted & ~in_window, acted & in_window
        hit = action == correct_choice(state.coherence, state.context)
        reward = jnp.where(abort, params.fixation_penalty,
                           jnp.where(chose, jnp.where(hit, params.reward_correct, params.reward_wrong), 0.0))
        terminated = abort | chose | (t >= params.max_steps_in_episode - 1)
        state = state.replace(time=t + 1)
        obs, state = jax.tree.map(jax.lax.stop_gradient, (self._obs(state, params), state))
        info = {"discount": 1.0 - terminated.astype(jnp.float32), "correct": chose & hit}
        return obs, state, jnp.asarray(reward, jnp.float32), terminated, info

    def is_terminated(self, state: DecisionState, params: DecisionParams) -> Array:
        """True once the clock has passed the last decision step (earlier ends are action-driven)."""
        return state.time >= params.max_steps_in_episode

    def is_truncated(self, state: DecisionState, params: DecisionParams) -> Array:
        """Always False: gymnax's default (time >= max_steps_in_episode) would flag the natural trial end."""
        return jnp.zeros((), bool)

    @property
    def name(self) -> str:
        return "PerceptualDecision-dynjax" if self.n_streams == 1 else "ContextDecision-dynjax"

    @property
    def num_actions(self) -> int:
        return 3

    def action_space(self, params: DecisionParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def observation_space(self, params: DecisionParams | None = None) -> spaces.Box:
        """Cue and context channels in [0, 1], stimulus channels unbounded."""
        n_ctx = 0 if self.n_streams == 1 else self.n_streams
        low = jnp.array([0.0] + [-jnp.inf] * self.n_streams + [0.0] * n_ctx, jnp.float32)
        return spaces.Box(low, jnp.where(low == 0.0, 1.0, jnp.inf), (self.obs_dim,), jnp.float32)

    def state_space(self, params: DecisionParams) -> spaces.Dict:
        return spaces.Dict({
            "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            "coherence": spaces.Box(-1.0, 1.0, (self.n_streams,), jnp.float32),
            "context": spaces.Discrete(self.n_streams),
        })


def make_trial(key: Array, params: DecisionParams, n_streams: int) -> Trial:
    """The trial `reset_env(key, params)` starts, as a supervised example (row t = obs at step t when fixating).

    The trial length is read from `params` eagerly (params must be concrete; their values are traced, so new
    values do not recompile).
    """
    return _trial(key, params, n_streams, int(params.max_steps_in_episode))


def make_dataset(key: Array, params: DecisionParams, n_streams: int, n_trials: int) -> Trial:
    """`n_trials` independent trials (leading axis n_trials); trial i is make_trial(split(key, n_trials)[i])."""
    return _dataset(key, params, n_streams, n_trials, int(params.max_steps_in_episode))


@partial(jax.jit, static_argnames=("n_streams", "n_steps"))
def _trial(key: Array, params: DecisionParams, n_streams: int, n_steps: int) -> Trial:
    # the reset key is the trial key (as in reset_env); all of a trial's draws come from one batched hash
    draws = jax.vmap(lambda i: trial_draws(key, i, n_streams))(jnp.arange(n_steps + 1, dtype=jnp.int32))
    coherence, context = trial_variables(draws[0], params)
    ts = jnp.arange(n_steps, dtype=jnp.int32)
    inputs = jax.vmap(lambda t, d: observe(t, coherence, context, d, params))(ts, draws[1:])
    in_window = phases(ts, params)[1]
    choice = correct_choice(coherence, context)
    targets = jnp.where(in_window, choice, 0).astype(jnp.int32)
    return Trial(inputs, targets, in_window.astype(jnp.float32), choice, coherence, context)


@partial(jax.jit, static_argnames=("n_streams", "n_trials", "n_steps"))
def _dataset(key: Array, params: DecisionParams, n_streams: int, n_trials: int, n_steps: int) -> Trial:
    return jax.vmap(lambda k: _trial(k, params, n_streams, n_steps))(jax.random.split(key, n_trials))


def _make(n_streams: int, **kwargs: Any) -> tuple[DecisionTask, DecisionParams]:
    env = DecisionTask(n_streams=n_streams, **kwargs)
    return env, env.default_params


DECISION_ENVS: dict[str, Callable[..., tuple[DecisionTask, DecisionParams]]] = {
    "PerceptualDecision-dynjax": lambda **kw: _make(**{"n_streams": 1, **kw}),
    "ContextDecision-dynjax": lambda **kw: _make(**{"n_streams": 2, **kw}),
}

"""Sequential navigation as a gymnax-API JAX environment (env id "SeqNav-dynjax", alias "seq-nav").

One of the two tasks of the Dynamic RL study (K. Shibata, "Dynamic Reinforcement Learning for Actors",
arXiv 2502.10200, 2025). The paper only names the task ("reach goal A, then goal B"); the specification
below is dynjax's own.

Arena [0, 1]^2. State: agent position p (2,), goals A and B (2,) each, the flag `reached_a` and the step t.

Reset (key kappa): p, A, B uniform in the arena, conditioned on |A - B| >= s and |p - A| >= s
(s = min_separation). Sampling is rejection-free and bounded: `N_CANDIDATES` = 32 independent triples are
drawn from kappa and the first valid one is kept (that is exactly the conditional distribution). If none is
valid (a triple is valid with probability ~0.62 for the defaults, so this happens with probability < 1e-12), a
fallback keeps the first candidate's A and puts B on the arena corner farthest from A and p on the
second-farthest corner, both at distance >= sqrt(1/2) from A, so the separations hold for every s <= 0.7.
The same key always gives the same layout; reset jits and vmaps.
p may start inside B's radius: that earns nothing (see the reward).

Step with action a (Box [-1, 1]^2; the env clips it), v = v_max, rho = goal_radius:
    a'         = clip(a, -1, 1)
    p_{t+1}    = clip(p_t + v a', 0, 1)                          (componentwise: the walls stop the agent)
    in_A       = |p_{t+1} - A| <= rho,      in_B = |p_{t+1} - B| <= rho
    first_A    = in_A and not reached_a_t
    reached_a_{t+1} = reached_a_t or in_A
    success    = reached_a_{t+1} and in_B                         (B counts only once A has been reached)
    r_t        = bonus_a * 1[first_A] + reward_b * 1[success]
    terminated = success;   truncated = (t + 1 >= max_steps_in_episode)
Reaching B before A gives no reward and does not end the episode. (A and B can only be inside the radius at
once if |A - B| <= 2 rho, impossible with the defaults; then both rewards are paid on that step.)

Observation (size 7, float of the state's dtype): o = [p ; A - p ; B - p ; reached_a].

info: "success" (bool scalar: this step completed the sequence A -> B, equal to terminated) and "discount"
(1 - terminated).

Defaults (`SeqNavParams`): v_max = 0.05 (the diagonal 1.41 takes ~29 steps), goal_radius = 0.08 (> v_max, so a
straight-line approach cannot step over a goal), min_separation = 0.3, max_steps_in_episode = 200 (the worst
straight-line path, corner -> corner -> corner, is < 60 steps), bonus_a = 0.2, reward_b = 1.0.
Success criterion: the episode terminates with success (A then B) before the time limit.

Dtype: constants are python floats and the state is created with the default float dtype (jnp.zeros(()).dtype):
float32 normally, float64 under x64, and every step stays in the state's dtype. Transitions are detached
(stop_gradient) unless `env.with_transition_gradients()` is used.
"""

from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

Array = jax.Array

N_CANDIDATES = 32  # candidate layouts drawn per reset


def float_dtype() -> Any:
    """The default float dtype: float32, or float64 under x64."""
    return jnp.zeros(()).dtype


@struct.dataclass
class SeqNavParams:
    v_max: float = 0.05
    goal_radius: float = 0.08
    min_separation: float = 0.3  # <= 0.7 is always satisfied (see the module docstring)
    max_steps_in_episode: int = 200
    bonus_a: float = 0.2
    reward_b: float = 1.0


@struct.dataclass
class SeqNavState:
    pos: Array  # (2,) agent position in [0, 1]^2
    goal_a: Array  # (2,)
    goal_b: Array  # (2,)
    reached_a: Array  # () bool
    time: Array  # () int32


def sample_layout(key: Array, params: SeqNavParams) -> tuple[Array, Array, Array]:
    """(p, A, B) drawn at reset: the first of N_CANDIDATES uniform triples meeting the separations, else the
    corner fallback of the module docstring."""
    dtype = float_dtype()
    cand = jax.random.uniform(key, (N_CANDIDATES, 3, 2), dtype)
    p, a, b = cand[:, 0], cand[:, 1], cand[:, 2]
    sep = params.min_separation
    valid = (jnp.linalg.norm(a - b, axis=-1) >= sep) & (jnp.linalg.norm(p - a, axis=-1) >= sep)
    i = jnp.argmax(valid)  # first valid index (0 when none is valid)
    corners = jnp.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype)
    order = jnp.argsort(-jnp.linalg.norm(corners - a[0], axis=-1))
    any_valid = valid.any()
    pos = jnp.where(any_valid, p[i], corners[order[1]])
    goal_a = jnp.where(any_valid, a[i], a[0])
    goal_b = jnp.where(any_valid, b[i], corners[order[0]])
    return pos, goal_a, goal_b


def within(pos: Array, goal: Array, radius: Any) -> Array:
    return jnp.linalg.norm(pos - goal, axis=-1) <= radius


class SequentialNavigation(environment.Environment[SeqNavState, SeqNavParams]):
    """Reach goal A, then goal B, in the unit square; see the module docstring."""

    _supports_transition_gradients = True

    @property
    def default_params(self) -> SeqNavParams:
        return SeqNavParams()

    def get_obs(self, state: SeqNavState, params: SeqNavParams | None = None, key: Array | None = None) -> Array:
        p = state.pos
        flag = state.reached_a.astype(p.dtype)[None]
        return jnp.concatenate([p, state.goal_a - p, state.goal_b - p, flag])

    def reset_env(self, key: Array, params: SeqNavParams) -> tuple[Array, SeqNavState]:
        pos, goal_a, goal_b = sample_layout(key, params)
        state = SeqNavState(pos, goal_a, goal_b, jnp.zeros((), bool), jnp.zeros((), jnp.int32))
        return self.get_obs(state), state

    def step_env(
        self, key: Array, state: SeqNavState, action: int | float | Array, params: SeqNavParams
    ) -> tuple[Array, SeqNavState, Array, Array, dict[str, Any]]:
        del key  # deterministic dynamics
        dtype = state.pos.dtype
        a = jnp.clip(jnp.reshape(jnp.asarray(action, dtype), (2,)), -1.0, 1.0)
        pos = jnp.clip(state.pos + params.v_max * a, 0.0, 1.0).astype(dtype)
        in_a = within(pos, state.goal_a, params.goal_radius)
        in_b = within(pos, state.goal_b, params.goal_radius)
        first_a = in_a & ~state.reached_a
        reached_a = state.reached_a | in_a
        success = reached_a & in_b
        reward = (params.bonus_a * first_a.astype(dtype) + params.reward_b * success.astype(dtype)).astype(dtype)
        state = state.replace(pos=pos, reached_a=reached_a, time=state.time + 1)
        obs, state = self._apply_transition_gradient_policy(self.get_obs(state), state)
        info = {"discount": 1.0 - success.astype(dtype), "success": success}
        return obs, state, reward, success, info

    def is_terminated(self, state: SeqNavState, params: SeqNavParams) -> Array:
        """A has been reached and the agent is inside B's radius."""
        return state.reached_a & within(state.pos, state.goal_b, params.goal_radius)

    # is_truncated: gymnax's default, state.time >= params.max_steps_in_episode

    @property
    def name(self) -> str:
        return "SeqNav-dynjax"

    @property
    def num_actions(self) -> int:
        return 2

    def action_space(self, params: SeqNavParams | None = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (2,), float_dtype())

    def observation_space(self, params: SeqNavParams | None = None) -> spaces.Box:
        """p in [0, 1]^2, goal offsets in [-1, 1]^2, the flag in {0, 1}."""
        low = jnp.array([0.0, 0.0, -1.0, -1.0, -1.0, -1.0, 0.0], float_dtype())
        return spaces.Box(low, jnp.ones(7, float_dtype()), (7,), float_dtype())

    def state_space(self, params: SeqNavParams) -> spaces.Dict:
        return spaces.Dict({
            "pos": spaces.Box(0.0, 1.0, (2,), float_dtype()),
            "goal_a": spaces.Box(0.0, 1.0, (2,), float_dtype()),
            "goal_b": spaces.Box(0.0, 1.0, (2,), float_dtype()),
            "reached_a": spaces.Discrete(2),
            "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
        })


def _make(**kwargs: Any) -> tuple[SequentialNavigation, SeqNavParams]:
    env = SequentialNavigation(**kwargs)
    return env, env.default_params


SEQ_NAV_ENVS: dict[str, Callable[..., tuple[SequentialNavigation, SeqNavParams]]] = {"SeqNav-dynjax": _make}

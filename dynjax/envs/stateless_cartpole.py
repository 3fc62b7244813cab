"""POPGym's StatelessCartPole (Morad et al. 2023, "POPGym: Benchmarking Partially Observable Reinforcement
Learning", ICLR), as the RTRRL paper's Table 3 uses it, on gymnax's CartPole-v1 physics.

The pole must be balanced from positions alone: the observation is (cart position x, pole angle theta), the
velocities are hidden, so a policy needs memory. Every step the pole stays up earns 1 / L, where L is the
episode cap (Easy 200, Medium 400, Hard 600 steps), so an episode's return is the fraction of the cap survived:
the *normalised return* in [0, 1] that POPGym and the RTRRL paper report (1.0 = balanced for the whole episode).
Termination (|x| > 2.4, |theta| > 12 degrees) and dynamics are gymnax's CartPole-v1; truncation is at L.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from gymnax.environments import spaces
from gymnax.environments.classic_control.cartpole import CartPole, EnvParams, EnvState

Array = jax.Array

# POPGym's difficulty levels: episode cap L
LEVELS = {"Easy": 200, "Medium": 400, "Hard": 600}


class StatelessCartPole(CartPole):
    """CartPole-v1 with velocities hidden and reward 1 / max_steps_in_episode per step survived."""

    def __init__(self, max_steps: int = 200):
        super().__init__()
        self._max_steps = max_steps

    @property
    def default_params(self) -> EnvParams:
        return EnvParams(max_steps_in_episode=self._max_steps)

    def step_env(self, key: Array, state: EnvState, action: Any, params: EnvParams):
        obs, state, reward, done, info = super().step_env(key, state, action, params)
        return obs, state, reward / params.max_steps_in_episode, done, info

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key: Array | None = None) -> Array:
        return jnp.array([state.x, state.theta])

    @property
    def name(self) -> str:
        return "StatelessCartPole-popgym"

    def observation_space(self, params: EnvParams) -> spaces.Box:
        high = jnp.array([params.x_threshold * 2, params.theta_threshold_radians * 2])
        return spaces.Box(-high, high, (2,), jnp.float32)


def _factory(max_steps: int) -> Callable[..., tuple[StatelessCartPole, EnvParams]]:
    def make(**kwargs: Any) -> tuple[StatelessCartPole, EnvParams]:
        env = StatelessCartPole(max_steps, **kwargs)
        return env, env.default_params
    return make


STATELESS_CARTPOLE_ENVS: dict[str, Callable[..., tuple[StatelessCartPole, EnvParams]]] = {
    f"StatelessCartPole{level}-popgym": _factory(cap) for level, cap in LEVELS.items()
}

"""Slider-crank as a gymnax-API JAX environment (env id "SliderCrank-dynjax", alias "slider-crank").

One of the two tasks of the Dynamic RL study (K. Shibata, "Dynamic Reinforcement Learning for Actors",
arXiv 2502.10200, 2025). The paper only names the task ("turn a crank by pushing a slider"); the
specification below is dynjax's own.

Mechanism: a crank of radius r turns about the origin; a rod of length l > r joins the crank pin to a slider
that moves on the x axis. With crank angle theta the slider sits at
    x(theta)      = r cos(theta) + sqrt(l^2 - r^2 sin^2(theta)),          x in [l - r, l + r]
    dx/dtheta     = -r sin(theta) - r^2 sin(theta) cos(theta) / sqrt(l^2 - r^2 sin^2(theta)).
dx/dtheta = -r sin(theta) (1 + r cos(theta) / sqrt(l^2 - r^2 sin^2 theta)) vanishes only at the dead points
theta = 0 (x = l + r) and theta = pi (x = l - r), where no slider force can turn the crank.

Actions: a in [-1, 1]^2 (Box; the env clips it), two antagonistic "muscles" pushing and pulling the slider:
    F = F_max (a[0] - a[1]) / 2.
Swapping the two channels (a[0] <-> a[1]) exactly reverses the force, hence the torque: this is what makes the
paper's environment change "swap the actor's two output channels" meaningful here (the learned policy then
turns the crank backwards until it re-adapts).

Dynamics (virtual work: the slider force does work F dx = F (dx/dtheta) dtheta on the crank):
    tau            = F dx/dtheta(theta_t)
    omega_{t+1}    = clip(omega_t + dt (tau - c omega_t) / I, -omega_max, omega_max)     (semi-implicit Euler)
    dtheta_t       = dt omega_{t+1}
    theta_{t+1}    = (theta_t + dtheta_t) mod 2 pi
    phi_{t+1}      = phi_t + dtheta_t                                   (unwrapped rotation, phi_0 = 0)
I is the effective inertia of the whole mechanism (crank, rod and slider lumped into one constant), c a
viscous damping on the crank.

Reward and termination (K = n_turns):
    success    = phi_{t+1} >= 2 pi K
    r_t        = dtheta_t / (2 pi) + success_bonus * 1[success]   (forward rotation rewarded, backward penalised)
    terminated = success;   truncated = (t + 1 >= max_steps_in_episode)
Success criterion: K net forward turns before the time limit.

Observation (size 4, float of the state's dtype):
    o = [cos theta ; sin theta ; omega / omega_max ; (x(theta) - l) / r]    (the last maps [l - r, l + r] to [-1, 1]).

info: "success" (bool scalar: this step completed the K turns, equal to terminated) and "discount" (1 - terminated).

Reset: omega = 0, phi = 0, theta uniform on [0, 2 pi) minus the arcs of half-width dead_zone (default 0.05 rad)
around the dead points 0 and pi, i.e. uniform on (d, pi - d) U (pi + d, 2 pi - d). A crank at rest exactly on a
dead point feels no torque from any force, so no policy could start it; excluding these measure-small arcs makes
every reset solvable without adding asymmetry or a kick to the dynamics (a state set by hand at a dead point with
omega = 0 stays there).

Defaults (`SliderCrankParams`), chosen so the task is solvable but takes effort: r = 0.5, l = 1.5, I = 1.0,
c = 0.2, F_max = 4.0, dt = 0.05, omega_max = 10.0, K = 3, max_steps_in_episode = 400 (20 s), success_bonus = 1.0,
dead_zone = 0.05. The controller a = [s, -s], s = sign(dx/dtheta) (F = F_max s, so tau = F_max |dx/dtheta| >= 0)
reaches 3 turns in about 125-210 steps (of 400) from every admissible start (the mean torque
2 r F_max / pi ~ 1.3 against c omega gives a cruise speed ~6.4 rad/s < omega_max); zero action never moves the
crank, so it never succeeds.

Dtype: constants are python floats and the state is created with the default float dtype (jnp.zeros(()).dtype):
float32 normally, float64 under x64, and every step stays in the state's dtype. Transitions are detached
(stop_gradient) unless `env.with_transition_gradients()` is used.
"""

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

Array = jax.Array

TWO_PI = 2.0 * math.pi


def float_dtype() -> Any:
    """The default float dtype: float32, or float64 under x64."""
    return jnp.zeros(()).dtype


@struct.dataclass
class SliderCrankParams:
    crank_radius: float = 0.5  # r
    rod_length: float = 1.5  # l (> r)
    inertia: float = 1.0  # I, effective
    damping: float = 0.2  # c
    force_max: float = 4.0  # F_max
    dt: float = 0.05
    omega_max: float = 10.0
    n_turns: int = 3  # K
    max_steps_in_episode: int = 400
    success_bonus: float = 1.0
    dead_zone: float = 0.05  # half-width (rad) of the start-angle arcs excluded around 0 and pi


@struct.dataclass
class SliderCrankState:
    theta: Array  # () crank angle in [0, 2 pi)
    omega: Array  # () angular velocity
    phi: Array  # () unwrapped rotation since reset
    time: Array  # () int32


def slider_position(theta: Array, r: Any, l: Any) -> Array:
    """x(theta) = r cos(theta) + sqrt(l^2 - r^2 sin^2(theta))."""
    s = jnp.sin(theta)
    return r * jnp.cos(theta) + jnp.sqrt(l * l - r * r * s * s)


def slider_derivative(theta: Array, r: Any, l: Any) -> Array:
    """dx/dtheta = -r sin(theta) - r^2 sin(theta) cos(theta) / sqrt(l^2 - r^2 sin^2(theta))."""
    s, c = jnp.sin(theta), jnp.cos(theta)
    return -r * s - r * r * s * c / jnp.sqrt(l * l - r * r * s * s)


def slider_force(action: Array, params: SliderCrankParams) -> Array:
    """F = F_max (a[0] - a[1]) / 2 with a clipped to [-1, 1]."""
    a = jnp.clip(action, -1.0, 1.0)
    return params.force_max * (a[..., 0] - a[..., 1]) / 2.0


def crank_torque(force: Array, theta: Array, params: SliderCrankParams) -> Array:
    """tau = F dx/dtheta (virtual work)."""
    return force * slider_derivative(theta, params.crank_radius, params.rod_length)


class SliderCrank(environment.Environment[SliderCrankState, SliderCrankParams]):
    """Turn a crank K times forward by pushing its slider; see the module docstring."""

    _supports_transition_gradients = True

    @property
    def default_params(self) -> SliderCrankParams:
        return SliderCrankParams()

    def get_obs(
        self, state: SliderCrankState, params: SliderCrankParams | None = None, key: Array | None = None
    ) -> Array:
        params = self.default_params if params is None else params
        r, l = params.crank_radius, params.rod_length
        x_norm = (slider_position(state.theta, r, l) - l) / r
        return jnp.stack([jnp.cos(state.theta), jnp.sin(state.theta), state.omega / params.omega_max, x_norm])

    def reset_env(self, key: Array, params: SliderCrankParams) -> tuple[Array, SliderCrankState]:
        dtype = float_dtype()
        u = jax.random.uniform(key, (), dtype)  # (0, 1) -> one of the two admissible arcs, uniformly
        half = jnp.where(u < 0.5, 0.0, math.pi).astype(dtype)
        v = 2.0 * jnp.where(u < 0.5, u, u - 0.5)
        theta = (half + params.dead_zone + v * (math.pi - 2.0 * params.dead_zone)).astype(dtype)
        zero = jnp.zeros((), dtype)
        state = SliderCrankState(theta, zero, zero, jnp.zeros((), jnp.int32))
        return self.get_obs(state, params), state

    def step_env(
        self, key: Array, state: SliderCrankState, action: int | float | Array, params: SliderCrankParams
    ) -> tuple[Array, SliderCrankState, Array, Array, dict[str, Any]]:
        del key  # deterministic dynamics
        dtype = state.theta.dtype
        a = jnp.reshape(jnp.asarray(action, dtype), (2,))
        tau = crank_torque(slider_force(a, params), state.theta, params)
        omega = state.omega + params.dt * (tau - params.damping * state.omega) / params.inertia
        omega = jnp.clip(omega, -params.omega_max, params.omega_max).astype(dtype)
        dtheta = (params.dt * omega).astype(dtype)
        theta = jnp.mod(state.theta + dtheta, TWO_PI).astype(dtype)
        phi = (state.phi + dtheta).astype(dtype)
        success = phi >= TWO_PI * params.n_turns
        reward = (dtheta / TWO_PI + params.success_bonus * success.astype(dtype)).astype(dtype)
        state = SliderCrankState(theta, omega, phi, state.time + 1)
        obs, state = self._apply_transition_gradient_policy(self.get_obs(state, params), state)
        info = {"discount": 1.0 - success.astype(dtype), "success": success}
        return obs, state, reward, success, info

    def is_terminated(self, state: SliderCrankState, params: SliderCrankParams) -> Array:
        """K full forward turns done."""
        return state.phi >= TWO_PI * params.n_turns

    # is_truncated: gymnax's default, state.time >= params.max_steps_in_episode

    @property
    def name(self) -> str:
        return "SliderCrank-dynjax"

    @property
    def num_actions(self) -> int:
        return 2

    def action_space(self, params: SliderCrankParams | None = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (2,), float_dtype())

    def observation_space(self, params: SliderCrankParams | None = None) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (4,), float_dtype())

    def state_space(self, params: SliderCrankParams) -> spaces.Dict:
        return spaces.Dict({
            "theta": spaces.Box(0.0, TWO_PI, (), float_dtype()),
            "omega": spaces.Box(-params.omega_max, params.omega_max, (), float_dtype()),
            "phi": spaces.Box(-jnp.inf, jnp.inf, (), float_dtype()),
            "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
        })


def _make(**kwargs: Any) -> tuple[SliderCrank, SliderCrankParams]:
    env = SliderCrank(**kwargs)
    return env, env.default_params


SLIDER_CRANK_ENVS: dict[str, Callable[..., tuple[SliderCrank, SliderCrankParams]]] = {"SliderCrank-dynjax": _make}

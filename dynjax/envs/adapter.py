"""One adapter for every gymnax >= 1.0 environment and dynjax's own tasks, plus the observation-mask wrapper.

`make_env(env_id, env_args, obs_mask)` returns an `EnvSpec`: a gymnax-API environment (reset/step pure,
params a dataclass), its parameters, and what an agent needs to size itself (flat observation size, action
kind and bounds). `env_args` entries go to the environment's parameters when the parameter dataclass has that
field (e.g. MemoryChain-bsuite memory_length=16), otherwise to its constructor (e.g. DeepSea-bsuite size=16).
Every error names the offending id, argument or index and is raised before anything is compiled.

Actions reach the environment as the agent drew them: each environment applies its own bounds and charges its
own costs, as gymnax defines them (MountainCarContinuous clips the force but charges -0.1 a^2 on the action as
given, so an agent that draws large actions pays for them; Pendulum clips the torque before its cost; dynjax's
seq-nav and slider-crank clip to [-1, 1]). An adapter that clipped first would hide those costs.
"""

import dataclasses
import inspect
import re
from typing import Any, Mapping, NamedTuple, Sequence

import gymnax
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from dynjax.envs.decision import DECISION_ENVS
from dynjax.envs.seq_nav import SEQ_NAV_ENVS
from dynjax.envs.slider_crank import SLIDER_CRANK_ENVS
from dynjax.envs.stateless_cartpole import STATELESS_CARTPOLE_ENVS

Array = jax.Array
ObsMask = None | str | Sequence[int]

# dynjax's own environments (id -> factory returning (env, default params)) and short aliases for some of them
DYNJAX_ENVS: dict[str, Any] = {**DECISION_ENVS, **SEQ_NAV_ENVS, **SLIDER_CRANK_ENVS, **STATELESS_CARTPOLE_ENVS}
ENV_ALIASES: dict[str, str] = {"seq-nav": "SeqNav-dynjax", "slider-crank": "SliderCrank-dynjax"}


class EnvSpec(NamedTuple):
    env: Any  # gymnax-API environment (possibly wrapped)
    params: Any  # its EnvParams
    obs_dim: int  # flat observation size after masking
    discrete: bool
    n_actions: int  # number of discrete actions, or the continuous action dimension
    low: Array | None  # continuous action bounds (None for discrete)
    high: Array | None
    max_steps: int  # episode step limit (evaluation length)


def _coerce(value: Any, like: Any, where: str) -> Any:
    """Convert a command-line string to the type of the default it replaces."""
    if not isinstance(value, str):
        return value
    try:
        if isinstance(like, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "1")
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float) or hasattr(like, "dtype"):
            return float(value)
    except ValueError:
        raise ValueError(f"{where}: cannot read {value!r} as {type(like).__name__}") from None
    return value


def obs_mask_field() -> Any:
    """The `obs_mask` field of an agent configuration: None (the whole observation) by default, and its help
    text for the command line (dataclass metadata)."""
    return dataclasses.field(default=None, metadata={
        "help": "observation kept: 'even', 'odd', indices '0,2', angles from (cos, sin) pairs 'angle(0,1)' "
                "(with indices: 'angle(0,1),2'), or 'none'"})


MaskItem = int | tuple[int, int]  # an observation index, or (cos index, sin index) read as one angle
_ANGLE = re.compile(r"angle\(\s*(\d+)\s*,\s*(\d+)\s*\)")


def _mask_items(text: str) -> list[MaskItem]:
    """'angle(0,1),2' -> [(0, 1), 2]."""
    items = []
    for tok in re.split(r",(?![^(]*\))", text):  # commas outside parentheses
        tok = tok.strip()
        if not tok:
            continue
        angle = _ANGLE.fullmatch(tok)
        if angle:
            items.append((int(angle[1]), int(angle[2])))
            continue
        try:
            items.append(int(tok))
        except ValueError:
            raise ValueError(f"obs_mask: expected 'even', 'odd', indices or 'angle(i,j)' items separated by commas, "
                             f"got {text!r}") from None
    return items


def resolve_mask(obs_mask: ObsMask, obs_dim: int) -> tuple[MaskItem, ...] | None:
    """Turn 'even' / 'odd' / explicit items into a tuple of what the agent observes (None keeps all): an int
    keeps that index, a pair (i, j) replaces the two entries cos(theta) = o_i, sin(theta) = o_j by the scalar
    angle theta = atan2(o_j, o_i) in (-pi, pi] (the "angle only" observation of a pendulum, whose gymnax
    observation is (cos theta, sin theta, theta dot): 'angle(0,1)').

    'even' keeps indices 0, 2, 4, ... (CartPole: cart position and pole angle, velocities hidden);
    'odd' keeps 1, 3, 5, ... (CartPole: the two velocities).
    """
    if obs_mask is None or (isinstance(obs_mask, str) and obs_mask in ("", "none", "all")):
        return None
    if isinstance(obs_mask, str):
        if obs_mask == "even":
            return tuple(range(0, obs_dim, 2))
        if obs_mask == "odd":
            return tuple(range(1, obs_dim, 2))
        obs_mask = _mask_items(obs_mask)
    items = (int(obs_mask),) if isinstance(obs_mask, int) else tuple(
        (int(i[0]), int(i[1])) if isinstance(i, (tuple, list)) else int(i) for i in obs_mask)
    if not items:
        raise ValueError("obs_mask: no observation index kept")
    used = [j for i in items for j in (i if isinstance(i, tuple) else (i,))]
    bad = [i for i in used if not 0 <= i < obs_dim]
    if bad:
        raise ValueError(f"obs_mask: indices {bad} out of range for an observation of size {obs_dim}")
    if len(set(used)) != len(used):
        raise ValueError(f"obs_mask: an index is used twice in {list(items)}")
    return items


class FlatMaskedEnv:
    """Wraps a gymnax environment: observations flattened to the default float type (float32; float64 under
    jax.enable_x64) and reduced to the kept items (`resolve_mask`: indices, and angles read from (cos, sin)
    pairs).

    The info dict's final_observation (the observation before an auto-reset) is transformed the same way.
    """

    def __init__(self, env: Any, keep: tuple[MaskItem, ...] | None):
        self._env = env
        self._keep = keep

    def _obs(self, obs: Array) -> Array:
        flat = jnp.reshape(obs, (-1,)).astype(jax.dtypes.canonicalize_dtype(jnp.float64))
        if self._keep is None:
            return flat
        if all(isinstance(i, int) for i in self._keep):
            return flat[jnp.asarray(self._keep)]
        return jnp.stack([jnp.arctan2(flat[i[1]], flat[i[0]]) if isinstance(i, tuple) else flat[i]
                          for i in self._keep])

    def reset(self, key: Array, params: Any) -> tuple[Array, Any]:
        obs, state = self._env.reset(key, params)
        return self._obs(obs), state

    def step(self, key: Array, state: Any, action: Array, params: Any):
        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action, params)
        info = dict(info)
        info["final_observation"] = self._obs(info["final_observation"])
        return self._obs(obs), state, reward.astype(jax.dtypes.canonicalize_dtype(jnp.float64)), terminated, truncated, info

    def step_within_episode(self, key: Array, state: Any, action: Array, params: Any):
        """`step` without gymnax's auto-reset, for episodes that stop at their first terminated or truncated
        step (evaluation): gymnax's step splits its key into (step key, reset key), runs step_env with the
        first and selects a reset state when done; returning step_env's transition directly gives the same
        observation, reward, flags and info on every step up to and including the last (tests/test_envs.py),
        and the reset and its random draw are never computed or compiled."""
        key_step, _ = jax.random.split(key)
        obs, state, reward, terminated, info = self._env.step_env(key_step, state, action, params)
        truncated = self._env.is_truncated(state, params)
        return self._obs(obs), state, reward.astype(jax.dtypes.canonicalize_dtype(jnp.float64)), terminated, truncated, info

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


def _make(env_id: str, **ctor_kwargs: Any) -> tuple[Any, Any]:
    """(env, default params) of one of dynjax's own tasks (DYNJAX_ENVS) or a gymnax id."""
    if env_id in DYNJAX_ENVS:
        return DYNJAX_ENVS[env_id](**ctor_kwargs)
    return gymnax.make(env_id, **ctor_kwargs)


def known_env_ids() -> list[str]:
    """Full ids (aliases in ENV_ALIASES are accepted by make_env besides these)."""
    return list(DYNJAX_ENVS) + list(gymnax.registered_envs)


def make_env(env_id: str, env_args: Mapping[str, Any] | None = None, obs_mask: ObsMask = None) -> EnvSpec:
    """Build an environment (a gymnax id or one of dynjax's tasks) with parameter/constructor overrides and an
    observation mask. Short aliases (ENV_ALIASES, e.g. "seq-nav") resolve to their full ids first."""
    env_id = ENV_ALIASES.get(env_id, env_id)
    if env_id not in known_env_ids():
        aliases = ", ".join(f"{a} -> {full}" for a, full in ENV_ALIASES.items())
        raise ValueError(f"env_id: unknown environment {env_id!r}; known ids: {', '.join(known_env_ids())} "
                         f"(aliases: {aliases})")
    env_args = dict(env_args or {})
    probe_env, default_params = _make(env_id)
    param_fields = {f.name for f in dataclasses.fields(default_params)}
    ctor_kwargs, param_kwargs = {}, {}
    ctor_sig = inspect.signature(type(probe_env).__init__).parameters
    for name, value in env_args.items():
        if name in param_fields:
            param_kwargs[name] = _coerce(value, getattr(default_params, name), f"env arg {name}")
        elif name in ctor_sig and name != "self":
            default = ctor_sig[name].default
            ctor_kwargs[name] = _coerce(value, default if default is not inspect.Parameter.empty else 0.0, f"env arg {name}")
        else:
            known = sorted(param_fields | {n for n in ctor_sig if n != "self"})
            raise ValueError(f"env arg {name!r} is not a parameter of {env_id}; known: {', '.join(known)}")
    env, params = _make(env_id, **ctor_kwargs)
    params = params.replace(**param_kwargs) if param_kwargs else params
    for name, value in param_kwargs.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"env arg {name}: must be non-negative, got {value}")

    raw_dim = int(jnp.prod(jnp.asarray(env.observation_space(params).shape)))
    keep = resolve_mask(obs_mask, raw_dim)
    wrapped = FlatMaskedEnv(env, keep)
    space = env.action_space(params)
    if isinstance(space, spaces.Discrete):
        discrete, n_actions, low, high = True, int(space.n), None, None
    elif isinstance(space, spaces.Box):
        shape = space.shape if space.shape else (1,)
        n_actions = int(jnp.prod(jnp.asarray(shape)))
        low = jnp.broadcast_to(jnp.asarray(space.low, float), (n_actions,))
        high = jnp.broadcast_to(jnp.asarray(space.high, float), (n_actions,))
        discrete = False
    else:
        raise ValueError(f"env_id: {env_id} has an action space of type {type(space).__name__}, not supported")
    max_steps = int(getattr(params, "max_steps_in_episode", 1000))
    return EnvSpec(
        env=wrapped,
        params=params,
        obs_dim=len(keep) if keep is not None else raw_dim,
        discrete=discrete,
        n_actions=n_actions,
        low=low,
        high=high,
        max_steps=max_steps,
    )


def parse_env_args(pairs: Sequence[str]) -> dict[str, str]:
    """Parse ["memory_length=16", "size=8"] into a dict; malformed entries raise a ValueError."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"env arg {pair!r}: expected name=value")
        name, value = pair.split("=", 1)
        out[name.strip()] = value.strip()
    return out

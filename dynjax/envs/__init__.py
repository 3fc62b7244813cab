"""Environments: the gymnax adapter and wrappers."""

from dynjax.envs.adapter import EnvSpec, FlatMaskedEnv, make_env, parse_env_args, resolve_mask

__all__ = ["EnvSpec", "FlatMaskedEnv", "make_env", "parse_env_args", "resolve_mask"]

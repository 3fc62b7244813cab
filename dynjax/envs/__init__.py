"""Environments: the gymnax adapter and wrappers."""

from dynjax.startup import lazy_imports

lazy_imports.install()  # before gymnax's import: its plotting modules load only if a render needs them

from dynjax.envs.adapter import EnvSpec, FlatMaskedEnv, make_env, parse_env_args, resolve_mask  # noqa: E402

__all__ = ["EnvSpec", "FlatMaskedEnv", "make_env", "parse_env_args", "resolve_mask"]

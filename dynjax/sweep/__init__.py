"""Sweeps: config grid x seeds as vmapped, sharded, chunked, resumable programs (see dynjax.sweep.runner).

The public names resolve on first use, so that `dynjax.sweep.distributed` can be imported (and a process join a
multi-process run) before anything, gymnax included, initialises a JAX backend.
"""

import importlib

_WHERE = {"initialize_distributed": "distributed", "learner_mesh": "devices", "RunDirectoryMismatch": "run_dir",
          "run_sweep": "runner", "Program": "spec", "SweepSpec": "spec", "load_spec": "spec", "resolve": "spec",
          "spec_from_dict": "spec"}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"dynjax.sweep.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'dynjax.sweep' has no attribute {name!r}")

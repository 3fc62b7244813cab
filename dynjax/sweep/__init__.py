"""Sweeps: config grid x seeds as vmapped, sharded, chunked, resumable programs (see dynjax.sweep.runner)."""

from dynjax.startup.distributed import initialize_distributed
from dynjax.sweep.devices import learner_mesh
from dynjax.sweep.run_dir import RunDirectoryMismatch
from dynjax.sweep.runner import run_sweep
from dynjax.sweep.spec import Program, SweepSpec, load_spec, resolve, spec_from_dict

__all__ = ["Program", "RunDirectoryMismatch", "SweepSpec", "initialize_distributed", "learner_mesh", "load_spec",
           "resolve", "run_sweep", "spec_from_dict"]

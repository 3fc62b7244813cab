"""Reading the learner states a run kept during training (`--snapshot-every K`), for analysis.

The sweep runner keeps the checkpoint of every K-th evaluation point of every program x seed batch for good
(dynjax.sweep.runner) and writes the batch's learners beside it (checkpoints/program-P-batch-B/learners.json:
config ids, seeds, padded count, steps per chunk). `snapshot_units(run_dir)` lists them with their programs
(from sweep.json), `make_unit_learner` rebuilds a unit's learner, and `load_snapshot` restores one checkpoint onto the first local device with its real
learners only (padding dropped), as a batched state that `jax.vmap(learner.closed_loop)` and the analyses
take. Programs of an algorithm that trains in float64 must be restored and analysed under
`jax.enable_x64(ALGORITHMS[algo].float64)`.
"""

import json
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dynjax.agents import ALGORITHMS
from dynjax.sweep.checkpoint import ChunkCheckpoints
from dynjax.sweep.run_dir import RECORD, unit_dirs
from dynjax.sweep.spec import Program, config_label, resolve, spec_from_dict


class SnapshotUnit(NamedTuple):
    """One program x seed batch of a run and the snapshots it kept."""

    program: Program
    labels: dict[int, str]  # config id -> its label in the run's tables ("base" for a one-configuration run)
    directory: Path
    config_ids: np.ndarray  # (n,) per real learner
    seeds: np.ndarray  # (n,)
    padded: int  # learners in the saved state (>= n)
    steps_per_chunk: int
    chunks: list[int]  # snapshot chunks, ascending (chunk c = training step c * steps_per_chunk)

    @property
    def steps(self) -> list[int]:
        return [c * self.steps_per_chunk for c in self.chunks]


def snapshot_units(run_dir: str | Path) -> tuple[str, list[SnapshotUnit]]:
    """(algorithm name, the units of the run in `run_dir`); errors name what is missing.

    A unit's snapshots are its checkpoints at multiples of the run's snapshot period, and the final one (a run
    without --snapshot-every has only its final state to offer, plus the chunk before it when kept)."""
    run_dir = Path(run_dir)
    record_path = run_dir / RECORD
    if not record_path.exists():
        raise ValueError(f"run_dir: {run_dir} is not a dynjax run directory (no sweep.json)")
    record = json.loads(record_path.read_text())
    spec = spec_from_dict(record["spec"])
    programs = resolve(spec)
    units = []
    for name, unit_dir in unit_dirs(run_dir):
        learners = unit_dir / "learners.json"
        if not learners.exists():
            raise ValueError(f"run_dir: {unit_dir} has no learners.json (a run from before snapshots); train it "
                             "again with --snapshot-every")
        info = json.loads(learners.read_text())
        p = programs[name.program]
        mgr = ChunkCheckpoints(unit_dir, keep=None)  # a reader: deletes nothing
        period = record.get("snapshot_every", 0) // record["chunk_evals"]
        n_chunks = p.config.total_steps // p.config.eval_every // record["chunk_evals"]
        chunks = [c for c in mgr.chunks() if (period and c % period == 0) or c == n_chunks or not period]
        mgr.close()
        labels = {int(c): config_label(p, combo) for c, combo in zip(p.config_ids, p.hparams)}
        cids = np.asarray(info["config_ids"])
        units.append(SnapshotUnit(program=p, labels=labels, directory=unit_dir, config_ids=cids,
                                  seeds=np.asarray(info["seeds"]), padded=int(info["padded"]),
                                  steps_per_chunk=int(info["steps_per_chunk"]), chunks=chunks))
    if not units:
        raise ValueError(f"run_dir: {run_dir} has no checkpoints")
    return spec.algo, units


def make_unit_learner(algo: str, unit: SnapshotUnit) -> Any:
    """The learner of the unit's program (call under jax.enable_x64(ALGORITHMS[algo].float64))."""
    return ALGORITHMS[algo].make_learner(unit.program.config)


def load_snapshot(learner: Any, unit: SnapshotUnit, chunk: int) -> Any:
    """The batched learner state (real learners only) saved after `chunk` chunks, on the first local device."""
    n = unit.padded
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    hp = jax.tree.map(lambda v: jnp.zeros((n,), jnp.float32), unit.program.config.hparams)
    abstract = jax.eval_shape(jax.vmap(lambda seed, h: learner.init(jax.random.key(seed), h)),
                              jnp.zeros((n,), jnp.uint32), hp)
    like = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), abstract)
    mgr = ChunkCheckpoints(unit.directory, keep=None)
    try:
        state = mgr.restore(chunk, like)
    finally:
        mgr.close()
    return jax.tree.map(lambda x: x[:len(unit.seeds)], state)

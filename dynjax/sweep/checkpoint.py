"""Checkpoints of the complete learner state (parameters, optimiser, traces, environment state, keys) with orbax.

One orbax CheckpointManager per unit of work (program x seed batch), indexed by the number of finished chunks.
Saves are synchronous and atomic (orbax writes a temporary directory and renames it), so a process killed at
any point leaves the last complete chunk behind. Typed PRNG keys are stored as their raw key data and
re-wrapped on restore; arrays come back with the sharding of the abstract target, on however many processes.
Empty arrays (e.g. a feedforward cell's (N, 0) recurrent block) hold no data: orbax refuses them, so they are
stored as None and rebuilt from the target's shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp


def _is_key(x: Any) -> bool:
    return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _empty(x: Any) -> bool:
    return hasattr(x, "shape") and 0 in x.shape


def _storable(tree: Any) -> Any:
    """Keys as raw key data, empty arrays as None."""
    return jax.tree.map(lambda x: None if _empty(x) else jax.random.key_data(x) if _is_key(x) else x, tree)


class ChunkCheckpoints:
    """save(chunk, state) / latest() / restore(chunk, like) for one unit of a sweep.

    The `keep` newest checkpoints are kept for resuming; with `keep_period` K, every checkpoint of a chunk that
    is a multiple of K is kept for good as well (the snapshots that `dynjax analyse` reads)."""

    def __init__(self, directory: Path, keep: int | None = 2, keep_period: int | None = None):
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, keep_period=keep_period,
                                               enable_async_checkpointing=False, create=True)
        self._mgr = ocp.CheckpointManager(Path(directory).absolute(), options=options)

    def latest(self) -> int | None:
        return self._mgr.latest_step()

    def chunks(self) -> list[int]:
        """Chunks with a checkpoint on disk, ascending."""
        return sorted(self._mgr.all_steps())

    def save(self, chunk: int, state: Any) -> None:
        self._mgr.save(chunk, args=ocp.args.StandardSave(_storable(state)))
        self._mgr.wait_until_finished()

    def restore(self, chunk: int, like: Any) -> Any:
        """Restore chunk `chunk` into the structure, dtypes and shardings of `like` (arrays or abstract)."""
        def abstract(x):
            if _empty(x):
                return None
            if _is_key(x):
                data = jax.eval_shape(jax.random.key_data, x)
                return jax.ShapeDtypeStruct(data.shape, data.dtype, sharding=getattr(x, "sharding", None))
            return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None))

        def rewrap(x, r):
            if _empty(x):
                return jax.numpy.zeros(x.shape, x.dtype, device=getattr(x, "sharding", None))
            if not _is_key(x):
                return r
            # an abstract target has no impl to ask; dynjax makes every key with jax.random.key (default impl)
            return jax.random.wrap_key_data(r, impl=jax.random.key_impl(x) if isinstance(x, jax.Array) else None)

        raw = self._mgr.restore(chunk, args=ocp.args.StandardRestore(jax.tree.map(abstract, like)))
        return jax.tree.map(rewrap, like, raw, is_leaf=lambda r: r is None)

    def close(self) -> None:
        self._mgr.close()

"""Laying the learner axis out on devices and hosts with jax.sharding (no pmap).

All devices of all processes form a one-axis Mesh ("learners"); every per-learner array carries the learner
axis first and is sharded along it (NamedSharding(mesh, P("learners"))). A learner's program is vmapped over
the learners of one device (in cache-sized blocks, dynjax.sweep.batching) under shard_map, so no cross-device
communication happens inside a chunk: each device, and each process, advances only the learners it owns.
Metrics are gathered to every process (multihost_utils.process_allgather) and written by process 0.

Multi-host: after dynjax.startup.distributed.initialize_distributed, jax.devices() spans every process, so the same
code shards the learners across hosts; each process feeds and advances only the shards it owns.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from dynjax.sweep.batching import blocked_vmap

AXIS = "learners"


def learner_mesh() -> Mesh:
    """A one-axis mesh over every device of every process."""
    return Mesh(np.asarray(jax.devices()), (AXIS,))


def padded_count(n_learners: int, mesh: Mesh) -> int:
    """Learners rounded up to a multiple of the device count (padding learners are dropped from results)."""
    d = mesh.devices.size
    return -(-n_learners // d) * d


def global_array(host: np.ndarray, mesh: Mesh) -> jax.Array:
    """A learner-axis-sharded global array from a host array every process holds in full."""
    sharding = NamedSharding(mesh, P(AXIS))
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def abstract_sharded(tree: Any, mesh: Mesh) -> Any:
    """Shapes and dtypes of a learner-axis pytree with the layout of `global_array` (a restore target)."""
    sharding = NamedSharding(mesh, P(AXIS))
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def sharded(fn: Callable[..., Any], mesh: Mesh, n_learners: int, block: int | None,
            donate: bool = False) -> Callable[..., Any]:
    """jit of `fn` (one learner) over the learner axis: vmapped in blocks within a device, sharded across.

    donate: give the first argument's buffers to the output (a chunk's input state is dead after the chunk)."""
    per_device = n_learners // mesh.devices.size
    local = blocked_vmap(fn, per_device, block)
    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=P(AXIS), out_specs=P(AXIS), check_vma=False),
                   donate_argnums=0 if donate else ())


def to_host(tree: Any) -> Any:
    """Every process gets the full (gathered) numpy value of a learner-sharded pytree."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)

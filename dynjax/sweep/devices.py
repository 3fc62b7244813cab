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


def learner_mesh(n_learners: int | None = None, padded: int | None = None) -> Mesh:
    """A one-axis mesh over the devices a batch of `n_learners` uses.

    Several processes, or no count given: every device of every process. In one process: the fewest devices
    that give no device more learners than all of them would (ceil(n / k) = ceil(n / D)), and every device at
    least two learners unless there is only one (a device with one learner runs the un-vmapped program, whose
    floating-point rounding differs from the vmapped one's: XLA drops the batch axis of size one and fuses
    differently). So 24 learners on 16 devices run on 12 of them, unpadded, and 2 learners on one device.
    `padded` (the learner count of a batch saved before, perhaps on a machine with another device count)
    picks the most devices that divide it under the same rule, so the batch resumes with its checkpoints'
    layout."""
    devices = jax.devices()
    if n_learners is None or jax.process_count() > 1:
        return Mesh(np.asarray(devices), (AXIS,))
    most = max(1, min(len(devices), (padded or n_learners) // 2))
    if padded is not None:
        k = max(d for d in range(1, most + 1) if padded % d == 0)
    else:
        per_device = -(-n_learners // most)
        k = -(-n_learners // per_device)
    return Mesh(np.asarray(devices[:k]), (AXIS,))


def first_device(mesh: Mesh) -> Mesh:
    """The step-0 program's mesh: in one process, the mesh's first device alone; with several processes, the
    mesh itself (each process initialises its own learners). On one device the step-0 program never runs on
    two CPU devices at once: XLA:CPU's LAPACK eigenvalue call (the MTRNN's spectral-radius scaling at init)
    hung about one run in two when two CPU devices ran it concurrently."""
    return mesh if jax.process_count() > 1 else Mesh(mesh.devices.ravel()[:1], (AXIS,))


def in_learner_layout(tree: Any, mesh: Mesh) -> Any:
    """A learner-axis pytree laid out (sharded) over `mesh`."""
    return jax.device_put(tree, NamedSharding(mesh, P(AXIS)))


def devices_sharing_cache(mesh: Mesh) -> int:
    """How many of the mesh's devices run on this process's CPU cores at once (they share its last-level cache;
    at least 1)."""
    return max(1, sum(d.platform == "cpu" for d in mesh.local_devices))


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
    # out_shardings pins every output leaf to the learner layout (XLA would give a zero-size leaf, e.g. the empty
    # log_std of a discrete PPO policy, a replicated layout, which the next program then refuses as an input).
    return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=P(AXIS), out_specs=P(AXIS), check_vma=False),
                   out_shardings=NamedSharding(mesh, P(AXIS)), donate_argnums=0 if donate else ())


def to_host(tree: Any) -> Any:
    """Every process gets the full (gathered) numpy value of a learner-sharded pytree."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)

"""Running many independent learners efficiently: vmap over seeds in cache-sized blocks.

jit(vmap(f)) over S seeds advances all S learners one step at a time; once the S learners' working set
(parameters, Adam moments, traces: about 32 kB per seed at N = 32) outgrows the CPU caches, every step
streams it from main memory and the rate per seed falls. `blocked_vmap` runs blocks of `block` seeds one
after another (lax.map over blocks of vmap), so each block's working set stays cache-resident for the
whole segment. `auto_block` sizes blocks by bytes (a learner's state grows ~N^2 with hidden size N), so
N = 32 runs 256 seeds per block and N = 128 sixteen. Results equal plain vmap: the learners are independent.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import jax
import numpy as np

T = TypeVar("T")


CACHE_BUDGET_BYTES = 8 << 20  # a quarter of this 2-core CPU's 32 MB L3: leaves room for XLA's temporaries


def state_bytes(abstract_state: Any) -> int:
    """Bytes of one learner's carried state (a pytree of arrays or ShapeDtypeStructs)."""
    def nbytes(x: Any) -> int:
        n = int(np.prod(x.shape, dtype=np.int64))
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return n * 8  # a threefry key is two uint32 words
        return n * np.dtype(x.dtype).itemsize

    return sum(nbytes(x) for x in jax.tree.leaves(abstract_state))


def auto_block(bytes_per_seed: int, n_seeds: int, sharing: int = 1, budget: int = CACHE_BUDGET_BYTES) -> int:
    """Seeds per block so that a block's state fits `budget / sharing` bytes, `sharing` being the number of
    devices that run blocks at once out of the same cache; at most n_seeds, and at least 2 seeds where n_seeds
    allows (a block of one vmaps over an axis of size one, which XLA drops: other fusions, other rounding)."""
    return block_size_for(n_seeds, max(2, budget // max(sharing, 1) // max(bytes_per_seed, 1)))


def block_size_for(n_seeds: int, block: int) -> int:
    """The largest divisor of n_seeds that is <= block (so blocks tile the seeds exactly)."""
    block = max(1, min(block, n_seeds))
    while n_seeds % block:
        block -= 1
    return block


def blocked_vmap(f: Callable[..., T], n_seeds: int, block: int | None) -> Callable[..., T]:
    """vmap `f` over the leading (seed) axis of every argument, `block` seeds at a time.

    block=None (or >= n_seeds) is plain vmap; a single seed runs the un-vmapped function (a vmap of one
    costs several times more per step on CPU than the plain program).
    """
    if n_seeds == 1:
        return lambda *args: jax.tree.map(lambda x: x[None], f(*jax.tree.map(lambda x: x[0], args)))
    if block is None or block >= n_seeds:
        return jax.vmap(f)
    b = block_size_for(n_seeds, block)
    if b == n_seeds:
        return jax.vmap(f)
    vf = jax.vmap(f)

    def run(*args):
        split = jax.tree.map(lambda x: x.reshape((n_seeds // b, b) + x.shape[1:]), args)
        out = jax.lax.map(lambda a: vf(*a), split)
        return jax.tree.map(lambda x: x.reshape((n_seeds,) + x.shape[2:]), out)

    return run

"""One flat parameter vector per learner, built from shapes alone.

Like jax.flatten_util.ravel_pytree, but the layout comes from abstract shapes (jax.eval_shape), so building
it runs no computation, and unravelling is plain static slices that XLA fuses into their consumers.
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class FlatLayout(NamedTuple):
    size: int
    ravel: Callable[[Any], jax.Array]  # pytree -> (size,) vector
    unravel: Callable[[jax.Array], Any]  # (size,) vector -> pytree (leaves are slices)


def flat_layout(abstract_tree: Any) -> FlatLayout:
    """Layout of a pytree of arrays or ShapeDtypeStructs (leaves in jax.tree order, each raveled row-major)."""
    leaves, treedef = jax.tree.flatten(abstract_tree)
    shapes = [tuple(leaf.shape) for leaf in leaves]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)

    def ravel(tree: Any) -> jax.Array:
        parts = jax.tree.leaves(tree)
        if len(parts) != len(shapes):
            raise ValueError(f"flat layout: expected {len(shapes)} leaves, got {len(parts)}")
        return jnp.concatenate([jnp.ravel(p) for p in parts]) if parts else jnp.zeros((0,))

    def unravel(flat: jax.Array) -> Any:
        parts = [flat[o : o + n].reshape(s) for o, n, s in zip(offsets[:-1], sizes, shapes)]
        return jax.tree.unflatten(treedef, parts)

    return FlatLayout(size=int(offsets[-1]), ravel=ravel, unravel=unravel)

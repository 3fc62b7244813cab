"""Threefry-2x32 lowered as straight-line code on CPU: the same random bits, compiled in less time.

Every JAX key is hashed with Threefry-2x32, 20 rounds (Salmon, Moraes, Dror & Shaw 2011, "Parallel random
numbers: as easy as 1, 2, 3"). With counters (x0, x1), key (k0, k1) and k2 = k0 ^ k1 ^ 0x1BD11BDA:

    x0 += k0;  x1 += k1
    for g in 0..4:  four rounds  x0 += x1;  x1 = rotl(x1, R[g % 2][j]) ^ x0,   j = 0..3
                    then  x0 += k[(g + 1) % 3];  x1 += k[(g + 2) % 3] + (g + 1)
    R = ((13, 15, 26, 6), (17, 29, 16, 24))

On CPU, JAX lowers each hash as a five-iteration loop of four rounds. XLA:CPU compiles every kernel of a
program separately, so each call site of the hash (a key split, a uniform draw, an action sample, gymnax's
reset) becomes a while loop of several kernels: at the sizes dynjax runs, a large share of a training
program's kernels and of its compile time. Emitted as the 20 rounds in a row, each hash fuses into one kernel.
Measured on the 2-core machine (benchmarks/results/throughput.md): `dynjax train rtrrl`'s chunk program
compiles in about half the CPU time and its step-0 program (init + evaluation) in about a third, and one
learner's training step runs faster (fewer kernels per step). The hash is 32-bit integer arithmetic, so the
bits are the same either way (tests/test_threefry.py: the Random123 known-answer vectors, a NumPy reference,
a symbolic-shape export, and a whole training run against JAX's own lowering).

`install()` registers this lowering for the CPU platform only (accelerators keep JAX's); `import dynjax`
calls it unless the environment sets DYNJAX_STOCK_THREEFRY=1.
"""

import operator
import os
from typing import Any, Callable

import numpy as np
from jax.extend.random import threefry2x32_p
from jax.interpreters import mlir
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
PARITY = 0x1BD11BDA


def threefry_rounds(k0: Any, k1: Any, x0: Any, x1: Any, *, add: Callable, xor: Callable,
                    rotl: Callable[[Any, int], Any], const: Callable[[int], Any]) -> tuple[Any, Any]:
    """The Threefry-2x32-20 hash of counters (x0, x1) under key (k0, k1), over any uint32 arithmetic (`add`,
    `xor`, `rotl` by a constant, `const` for a constant): traced jnp values or StableHLO values."""
    ks = (k0, k1, xor(xor(k0, k1), const(PARITY)))
    x0, x1 = add(x0, ks[0]), add(x1, ks[1])
    for g in range(5):
        for r in ROTATIONS[g % 2]:
            x0 = add(x0, x1)
            x1 = xor(rotl(x1, r), x0)
        x0 = add(x0, ks[(g + 1) % 3])
        x1 = add(add(x1, ks[(g + 2) % 3]), const(g + 1))
    return x0, x1


def _traced_hash(k0: Any, k1: Any, x0: Any, x1: Any) -> tuple[Any, Any]:
    u32 = np.uint32
    return threefry_rounds(k0, k1, x0, x1, add=operator.add, xor=operator.xor, const=u32,
                           rotl=lambda v, r: (v << u32(r)) | (v >> u32(32 - r)))


# Symbolic shapes (jax.export) need JAX's shape machinery: trace the same rounds in jnp there.
_symbolic_shape_lowering = mlir.lower_fun(_traced_hash, multiple_results=True)


def threefry2x32_20_lowering(ctx: mlir.LoweringRuleContext, k0: ir.Value, k1: ir.Value, x0: ir.Value,
                             x1: ir.Value) -> list[ir.Value]:
    """StableHLO of the hash (uint32 operands, broadcast to the output's shape), emitted op by op: lowering it
    costs no tracing. Outputs of symbolic shape take the traced jnp form of the same rounds."""
    aval = ctx.avals_out[0]
    if not all(isinstance(d, int) for d in aval.shape):
        return _symbolic_shape_lowering(ctx, k0, k1, x0, x1)
    out_type = mlir.aval_to_ir_type(ctx.module_context, aval)
    rank = len(aval.shape)
    u32 = ir.IntegerType.get_unsigned(32)

    def widen(v: ir.Value, shape: tuple[int, ...]) -> ir.Value:
        if shape == aval.shape:
            return v
        return hlo.broadcast_in_dim(out_type, v, mlir.dense_int_array(list(range(rank - len(shape), rank))))

    def const(c: int) -> ir.Value:
        return hlo.constant(ir.DenseElementsAttr.get_splat(out_type, ir.IntegerAttr.get(u32, c)))

    def rotl(v: ir.Value, r: int) -> ir.Value:
        return hlo.or_(hlo.shift_left(v, const(r)), hlo.shift_right_logical(v, const(32 - r)))

    k0, k1, x0, x1 = (widen(v, a.shape) for v, a in zip((k0, k1, x0, x1), ctx.avals_in))
    return list(threefry_rounds(k0, k1, x0, x1, add=hlo.add, xor=hlo.xor, rotl=rotl, const=const))


_installed = False


def install() -> None:
    """Lower `threefry2x32_p` on CPU with `threefry2x32_20_lowering` (idempotent; a no-op under
    DYNJAX_STOCK_THREEFRY=1). Programs already lowered keep the lowering they had."""
    global _installed
    if not _installed and os.environ.get("DYNJAX_STOCK_THREEFRY", "0") in ("", "0"):
        mlir.register_lowering(threefry2x32_p, threefry2x32_20_lowering, platform="cpu")
        _installed = True

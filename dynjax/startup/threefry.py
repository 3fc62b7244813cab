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

Nothing here runs at import. `install()` (called by `dynjax.startup.enable()`, which the `dynjax` command
line calls first thing) registers this lowering for the CPU platform only (accelerators keep JAX's), for the
whole process: programs lowered afterwards use it. It does so only on the JAX versions it was tested with
(TESTED_JAX_VERSIONS) and unless the environment sets DYNJAX_STOCK_THREEFRY=1; otherwise JAX's own lowering
stays, which gives the same bits, only compiled more slowly.

JAX API used, all of it public (no private module, no private attribute of the lowering context):
- `jax.interpreters.mlir.register_lowering` and `jax.interpreters.mlir.lower_fun`: the documented way to
  give a primitive a lowering rule, and to build one from a traced Python function (the symbolic-shape case);
- `jax.extend.random.threefry2x32_p`: the Threefry primitive, exported by jax.extend for this purpose;
- `jax.extend.lowering.LoweringRuleContext` (the type of a rule's first argument), of which the rule reads
  only `avals_in` and `avals_out` (shapes of operands and result), the fields JAX's own guides on lowering
  rules read; the context is otherwise only handed on to `lower_fun`'s rule;
- `jax.extend.mlir.ir` and `jax.extend.mlir.dialects.stablehlo`: the MLIR bindings JAX re-exports for
  writing lowering rules (types, attributes, StableHLO ops). The result type is built with
  `ir.RankedTensorType.get` from the output's shape, not through JAX's module context.
"""

import operator
import os
import re
from typing import Any, Callable

import jax
import numpy as np
from jax.extend.lowering import LoweringRuleContext
from jax.extend.mlir import ir
from jax.extend.mlir.dialects import stablehlo as hlo
from jax.extend.random import threefry2x32_p
from jax.interpreters import mlir

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


def threefry2x32_20_lowering(ctx: LoweringRuleContext, k0: ir.Value, k1: ir.Value, x0: ir.Value,
                             x1: ir.Value) -> list[ir.Value]:
    """StableHLO of the hash (uint32 operands, broadcast to the output's shape), emitted op by op: lowering it
    costs no tracing. Outputs of symbolic shape take the traced jnp form of the same rounds."""
    aval = ctx.avals_out[0]
    if not all(isinstance(d, int) for d in aval.shape):
        return _symbolic_shape_lowering(ctx, k0, k1, x0, x1)
    u32 = ir.IntegerType.get_unsigned(32)  # the primitive's operands and results are all uint32
    out_type = ir.RankedTensorType.get(list(aval.shape), u32)
    rank = len(aval.shape)

    def widen(v: ir.Value, shape: tuple[int, ...]) -> ir.Value:
        if shape == aval.shape:
            return v
        return hlo.broadcast_in_dim(out_type, v, ir.DenseI64ArrayAttr.get(list(range(rank - len(shape), rank))))

    def const(c: int) -> ir.Value:
        return hlo.constant(ir.DenseElementsAttr.get_splat(out_type, ir.IntegerAttr.get(u32, c)))

    def rotl(v: ir.Value, r: int) -> ir.Value:
        return hlo.or_(hlo.shift_left(v, const(r)), hlo.shift_right_logical(v, const(32 - r)))

    k0, k1, x0, x1 = (widen(v, a.shape) for v, a in zip((k0, k1, x0, x1), ctx.avals_in))
    return list(threefry_rounds(k0, k1, x0, x1, add=hlo.add, xor=hlo.xor, rotl=rotl, const=const))


# JAX releases this lowering was tested with (tests/test_threefry.py: known-answer vectors, NumPy reference,
# symbolic shapes, a whole training run bit for bit against JAX's lowering). An entry is a version prefix of
# whole components: "0.10.2" matches 0.10.2 and its dev/rc builds, "0.10" would match every 0.10.x. On any
# other JAX, install() leaves JAX's lowering in place.
TESTED_JAX_VERSIONS = ("0.10.2",)


def _release(version: str) -> tuple[int, ...]:
    """The leading numeric components of a version string: "0.10.2.dev20260101" -> (0, 10, 2)."""
    parts = []
    for part in version.split("."):
        m = re.match(r"\d+", part)
        if m is None:
            break
        parts.append(int(m.group()))
        if m.end() < len(part):  # "2rc1": the number ends inside the component
            break
    return tuple(parts)


def jax_version() -> str:
    """The JAX version the gate checks (a function, so that tests can stand in another)."""
    return jax.__version__


def version_tested(version: str) -> bool:
    """Whether `version` is one of TESTED_JAX_VERSIONS (whole-component prefix match)."""
    release = _release(version)
    return any(release[:len(p)] == p for p in map(_release, TESTED_JAX_VERSIONS))


_installed = False


def installed() -> bool:
    """Whether this process lowers Threefry on CPU with dynjax's rule."""
    return _installed


def install() -> str:
    """Lower `threefry2x32_p` on CPU with `threefry2x32_20_lowering`, for the whole process (idempotent).
    Returns what happened: "installed" (now or before), "disabled" (DYNJAX_STOCK_THREEFRY=1) or
    "untested-jax <version>" (not a version in TESTED_JAX_VERSIONS); in the last two JAX's lowering stays.
    Programs already lowered keep the lowering they had."""
    global _installed
    if _installed:
        return "installed"
    if os.environ.get("DYNJAX_STOCK_THREEFRY", "0") not in ("", "0"):
        return "disabled"
    version = jax_version()
    if not version_tested(version):
        return f"untested-jax {version}"
    mlir.register_lowering(threefry2x32_p, threefry2x32_20_lowering, platform="cpu")
    _installed = True
    return "installed"

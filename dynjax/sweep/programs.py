"""What a sweep compiles: the seed batches of a program, their sharded inputs and their two jitted programs.

A program's learners (configurations x seeds, config-major) are cut into batches of at most a given number of
learners (a multiple of the device count, or as many as fit a memory budget). Each batch runs two programs
over all its learners, sharded over the devices (dynjax.sweep.devices):

    step-0 program  (seeds, hparams) -> (states, metrics at step 0)       dynjax.agents.driver.initial
    chunk program   states -> (states, metrics of `chunk_evals` segments)   driver.segment, scanned; states donated

The driver is the only way the runner starts and advances learners. Both programs compile in worker threads
(`compile_in_background`) while the host lowers the other one and runs step 0.
"""

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from dynjax.agents import driver
from dynjax.sweep.devices import abstract_sharded, first_device, global_array, sharded
from dynjax.sweep.spec import Program, SweepSpec


class Batch(NamedTuple):
    """A slice of one program's learners, run start to finish as one sharded program."""

    program: Program
    index: int
    config_ids: np.ndarray  # (n,) global configuration id of each learner
    seeds: np.ndarray  # (n,) seed of each learner
    hparams: dict[str, np.ndarray]  # swept name -> (n,) values


def batches(program: Program, spec: SweepSpec, max_learners: int | None, n_devices: int) -> list[Batch]:
    """The program's learners (config-major: learner c * S + s) in batches of at most `max_learners`, rounded
    down to a multiple of the device count (at least one learner per device); one batch without a limit."""
    C, S = len(program.config_ids), spec.seeds
    cids = np.repeat(np.asarray(program.config_ids), S)
    seeds = np.tile(np.arange(spec.seed, spec.seed + S), C)
    names = list(program.hparams[0]) if program.hparams else []
    hps = {k: np.repeat(np.asarray([c[k] for c in program.hparams], np.float32), S) for k in names}
    n = C * S
    size = n if max_learners is None else max(n_devices, max_learners // n_devices * n_devices)
    return [Batch(program, b, cids[i:i + size], seeds[i:i + size], {k: v[i:i + size] for k, v in hps.items()})
            for b, i in enumerate(range(0, n, size))]


def learners_per_batch(bytes_per_learner: int, max_learners: int | None, memory_budget: int | None) -> int | None:
    """The batch size limit: `max_learners`, lowered to what fits `memory_budget` bytes when one is given."""
    if memory_budget is None:
        return max_learners
    fit = max(1, memory_budget // (3 * bytes_per_learner))  # state in, state out, chunk-start copy
    return fit if max_learners is None else min(fit, max_learners)


def batch_inputs(batch: Batch, n: int, mesh: Any) -> tuple[jax.Array, Any]:
    """The step-0 program's global inputs for n >= len(batch.seeds) learners (padded with copies of the first):
    (seeds, hyperparameters: the program's base values, swept ones per learner)."""
    n_real = len(batch.seeds)
    base = batch.program.config.hparams

    def pad(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a, np.repeat(a[:1], n - n_real, axis=0)])

    hp_host = {k: pad(np.full(n_real, float(v), np.float32) if k not in batch.hparams else batch.hparams[k])
               for k, v in base._asdict().items()}
    seeds = global_array(pad(batch.seeds.astype(np.uint32)), mesh)
    return seeds, type(base)(**{k: global_array(v, mesh) for k, v in hp_host.items()})


def batch_programs(learner: Any, probe: Any, mesh: Any, n: int, block: int | None,
                   chunk_evals: int) -> tuple[Callable[..., Any], Callable[..., Any], Any]:
    """The two jitted programs of a batch of n learners and the chunk's input: (step-0 program: seeds, hparams
    -> (states, step-0 metrics); chunk program: states -> (states, metrics of `chunk_evals` segments), input
    donated; abstract sharded states, from `probe`, one learner's state shapes). The step-0 program runs on
    `first_device(mesh)` (give it `batch_inputs(..., first_device(mesh))`, and its states to the chunk program
    through `in_learner_layout(states, mesh)`)."""
    start = sharded(lambda seed, hp: driver.initial(learner, jax.random.key(seed), hp), first_device(mesh), n, block,
                    donate=False)
    chunk = sharded(lambda s: jax.lax.scan(lambda c, _: driver.segment(learner, c), s, None, length=chunk_evals),
                    mesh, n, block, donate=True)
    like = abstract_sharded(jax.tree.map(lambda x: jax.ShapeDtypeStruct((n, *x.shape), x.dtype), probe), mesh)
    return start, chunk, like


def compile_in_background(lowered: Any, x64: bool) -> Future:
    """Compile a lowered program in a worker thread (lowering needs the GIL and the caller's JAX config, so
    the caller does it; XLA's compile releases the GIL). The future gives (compiled, seconds it took)."""

    def compile_() -> tuple[Any, float]:
        t = time.perf_counter()
        with jax.enable_x64(x64):
            return lowered.compile(), time.perf_counter() - t

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dynjax-compile")
    try:
        return pool.submit(compile_)
    finally:
        pool.shutdown(wait=False)

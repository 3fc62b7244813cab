"""The sweep runner: every training run (one config x S seeds, or a whole grid) goes through here.

For each program of the sweep (dynjax.sweep.spec) and each seed batch of it:

    init (chunk 0: evaluation at step 0)  ->  chunk 1  ->  ...  ->  chunk K
    chunk = `chunk_evals` x (eval_every training steps + evaluation), one jitted call over all learners

Between chunks the host prints progress (steps, seed-steps/s, ETA, median evaluation return, diverged
learners) and appends the chunk's metrics to metrics.csv; an orbax checkpoint of the complete state is saved
after a chunk once `checkpoint_every_s` has passed (and after the last). Running the same command again
resumes every unfinished batch from its last checkpoint (metrics rows written after it are dropped and
recomputed), so the final results equal an uninterrupted run exactly; a batch with no checkpoint yet starts
again from init (step 0 is checkpointed only as a snapshot, so that orbax stays off the way to the first
training step). With `snapshot_every` K, the checkpoint of every K-th evaluation point (step 0 included) is
kept for good: the snapshots `dynjax analyse` reads, with each batch's learners (config ids, seeds) in
learners.json beside them.

Start-up: the step-0 program (init and the evaluation at step 0 as one program) and the chunk program compile in
worker threads while the main thread lowers the other one and runs step 0 (XLA releases the GIL).

Learners of a batch are laid out over all devices of all processes (dynjax.sweep.devices); a batch holds at
most `max_learners_per_batch` learners, or as many as fit `memory_budget_bytes` of carried state.
"""

import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from dynjax import START
from dynjax.agents import ALGORITHMS
from dynjax.sweep.batching import auto_block, state_bytes
from dynjax.config import check_positive_int
from dynjax.results import run_record
from dynjax.results.metrics import append_metrics, drop_metrics_after, finished_learners, read_metrics, write_json
from dynjax.sweep.devices import abstract_sharded, global_array, learner_mesh, padded_count, sharded, to_host
from dynjax.sweep.report import write_report
from dynjax.sweep.run_dir import UnitName, prepare_run_dir, unit_dir
from dynjax.sweep.spec import Program, SweepSpec, config_label, resolve

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Batch(NamedTuple):
    """A slice of one program's learners, run start to finish as one sharded program."""

    program: Program
    index: int
    config_ids: np.ndarray  # (n,) global configuration id of each learner
    seeds: np.ndarray  # (n,) seed of each learner
    hparams: dict[str, np.ndarray]  # swept name -> (n,) values


def _batches(program: Program, spec: SweepSpec, max_learners: int | None, n_devices: int) -> list[Batch]:
    C, S = len(program.config_ids), spec.seeds
    cids = np.repeat(np.asarray(program.config_ids), S)
    seeds = np.tile(np.arange(spec.seed, spec.seed + S), C)
    names = list(program.hparams[0]) if program.hparams else []
    hps = {k: np.repeat(np.asarray([c[k] for c in program.hparams], np.float32), S) for k in names}
    n = C * S
    size = n if max_learners is None else max(n_devices, max_learners // n_devices * n_devices)
    return [Batch(program, b, cids[i:i + size], seeds[i:i + size], {k: v[i:i + size] for k, v in hps.items()})
            for b, i in enumerate(range(0, n, size))]


def _learners_per_batch(bytes_per_learner: int, max_learners: int | None, memory_budget: int | None) -> int | None:
    if memory_budget is None:
        return max_learners
    fit = max(1, memory_budget // (3 * bytes_per_learner))  # state in, state out, chunk-start copy
    return fit if max_learners is None else min(fit, max_learners)


def run_sweep(spec: SweepSpec, out: Path, *, chunk_evals: int = 1, max_learners_per_batch: int | None = None,
              memory_budget_bytes: int | None = None, seed_block: int | None = None, log: Log = _stderr,
              checkpoint_every_s: float = 10.0, snapshot_every: int | None = None,
              stop_after_chunks: int | None = None, command: list[str] | None = None) -> dict[str, Any]:
    """Run (or resume) a sweep into `out`; returns the summary (also written to summary.json).

    Metrics are appended after every chunk; a checkpoint is saved after a chunk once `checkpoint_every_s`
    seconds have passed since the last one (0: after every chunk), and after the last chunk. A resumed run
    recomputes the chunks after the last checkpoint (dropping their rows first), so results stay exact.

    snapshot_every: keep the complete learner state of every `snapshot_every`-th evaluation point (a multiple
    of chunk_evals) for analysis (dynjax.sweep.snapshots, `dynjax analyse`).
    stop_after_chunks: leave after that many chunks of this invocation (an interruption, for tests).
    command: the command line config.json records for this invocation (default sys.argv)."""
    programs = resolve(spec)  # every config validated before anything compiles
    check_positive_int("chunk_evals", chunk_evals)
    if snapshot_every is not None:
        check_positive_int("snapshot_every", snapshot_every)
        if snapshot_every % chunk_evals:
            raise ValueError(f"snapshot_every: {snapshot_every} is not a multiple of chunk_evals ({chunk_evals}); "
                             "snapshots are taken between chunks")
    for p in programs:
        n_seg = p.config.total_steps // p.config.eval_every
        if n_seg % chunk_evals:
            raise ValueError(f"chunk_evals: {chunk_evals} does not divide the {n_seg} evaluations of "
                             f"{config_label(p, {}) or 'the run'}")
    if max_learners_per_batch is not None:
        check_positive_int("max_learners_per_batch", max_learners_per_batch)
    out = Path(out)
    grid = [{"config": cid, "program": p.index, "label": config_label(p, combo), "static": p.static,
             "hparams": combo} for p in programs for cid, combo in zip(p.config_ids, p.hparams)]
    record = {"spec": spec.to_json(), "chunk_evals": chunk_evals, "grid": grid}
    prepare_run_dir(out, record | ({"snapshot_every": snapshot_every} if snapshot_every else {}))
    if jax.process_index() == 0:
        run_log = run_record.start(out, run_record.resolved_configs(programs, {g["config"]: g["label"] for g in grid}),
                                   command)
        warning = run_record.version_warning(run_log)
        if warning:
            log(warning)
    try:
        summary, trained = _run_programs(spec, out, programs, grid, chunk_evals=chunk_evals,
                                max_learners_per_batch=max_learners_per_batch, memory_budget_bytes=memory_budget_bytes,
                                seed_block=seed_block, log=log, checkpoint_every_s=checkpoint_every_s,
                                snapshot_every=snapshot_every, stop_after_chunks=stop_after_chunks)
    except BaseException as e:
        if jax.process_index() == 0:
            run_record.finish(out, run_log, "interrupted" if isinstance(e, KeyboardInterrupt) else f"failed: {e!r}")
        raise
    if jax.process_index() == 0:
        run_record.finish(out, run_log, "finished" if summary else "stopped", trained)
    return summary


def _run_programs(spec: SweepSpec, out: Path, programs: list[Program], grid: list[dict[str, Any]], *,
                  chunk_evals: int, max_learners_per_batch: int | None, memory_budget_bytes: int | None,
                  seed_block: int | None, log: Log, checkpoint_every_s: float, snapshot_every: int | None,
                  stop_after_chunks: int | None) -> tuple[dict[str, Any], int]:
    """The body of run_sweep, once `out` holds the sweep's records: every batch of every program, then the
    report ({} when stopped early); with the seed-steps this call trained."""
    snapshot_period = snapshot_every // chunk_evals if snapshot_every else None
    is_writer = jax.process_index() == 0
    mesh = learner_mesh()
    n_dev = mesh.devices.size
    metrics_path = out / "metrics.csv"
    chunks_left = stop_after_chunks

    total_work = sum(len(p.config_ids) * spec.seeds * p.config.total_steps for p in programs)
    done_work, trained, t_run = 0, 0, time.perf_counter()
    timing = {"compute_s": 0.0, "io_s": 0.0}  # chunk programs vs metrics + checkpoints between them
    for program in programs:
        # Agents that need float64 are traced, run and checkpointed under it.
        x64 = ALGORITHMS[spec.algo].float64
        with jax.enable_x64(x64):
            learner = ALGORITHMS[spec.algo].make_learner(program.config)
            hp_cls = type(program.config.hparams)
            probe = jax.eval_shape(learner.init, jax.random.key(0))
            per_learner = state_bytes(probe)
            limit = _learners_per_batch(per_learner, max_learners_per_batch, memory_budget_bytes)
            for batch in _batches(program, spec, limit, n_dev):
                n_real = len(batch.seeds)
                if finished_learners(metrics_path, program.config.total_steps) >= set(
                        zip(batch.config_ids.tolist(), batch.seeds.tolist())):
                    log(f"[dynjax] program {program.index} batch {batch.index}: finished (metrics.csv holds every "
                        "learner's last evaluation)")
                    done_work += n_real * program.config.total_steps
                    continue
                n = padded_count(n_real, mesh)
                pad = lambda a: np.concatenate([a, np.repeat(a[:1], n - n_real, axis=0)])  # noqa: E731
                block = seed_block or auto_block(per_learner, n // n_dev)
                hp_host = {k: pad(np.full(n_real, float(v), np.float32) if k not in batch.hparams else batch.hparams[k])
                           for k, v in program.config.hparams._asdict().items()}
                seeds_g = global_array(pad(batch.seeds.astype(np.uint32)), mesh)
                hp_g = hp_cls(**{k: global_array(v, mesh) for k, v in hp_host.items()})
                start, run_chunk, like = batch_programs(learner, probe, mesh, n, block, chunk_evals)
                unit = unit_dir(out, UnitName(program.index, batch.index))
                # A unit directory that does not exist yet holds no checkpoint: orbax is then first needed for
                # a save. Several processes keep the eager manager (its creation is collective).
                fresh = jax.process_count() == 1 and not unit.exists()
                ckpt = _DeferredCheckpoints(unit, snapshot_period)
                if fresh:
                    unit.mkdir(parents=True, exist_ok=True)
                else:
                    ckpt.open()
                if is_writer:
                    write_json(unit / "learners.json", {"config_ids": batch.config_ids.tolist(),
                                                        "seeds": batch.seeds.tolist(), "padded": n,
                                                        "steps_per_chunk": program.config.eval_every * chunk_evals})
                n_chunks = program.config.total_steps // program.config.eval_every // chunk_evals
                steps_per_chunk = program.config.eval_every * chunk_evals
                last = None if fresh else ckpt.latest()
                ids = (batch.config_ids, batch.seeds)
                t_setup = time.perf_counter()
                # Both programs compile (or load from the persistent cache) in worker threads while this thread
                # lowers the other one, runs the step-0 program (init + evaluation: one compile) and writes step
                # 0's metrics.
                pending0 = _compile_in_background(start.lower(seeds_g, hp_g), x64) if last is None else None
                pending = (_compile_in_background(run_chunk.lower(like), x64)
                           if last is None or last < n_chunks else None)
                t_step0 = time.perf_counter()
                if last is None:
                    state, m0 = pending0.result()[0](seeds_g, hp_g)
                    m0 = to_host(m0)
                    if is_writer:
                        drop_metrics_after(metrics_path, *ids, step=-1)
                        append_metrics(metrics_path, _rows(m0, n_real, add_axis=True), *ids)
                    if snapshot_period:  # step 0 is a snapshot; otherwise a run with no checkpoint restarts from init
                        ckpt.save(0, state)
                    last = 0
                else:
                    state = ckpt.restore(last, like)
                    if is_writer:
                        drop_metrics_after(metrics_path, *ids, step=last * steps_per_chunk)
                    log(f"[dynjax] resuming program {program.index} batch {batch.index} at chunk {last}/{n_chunks}")
                done_work += n_real * last * steps_per_chunk
                t_wait = time.perf_counter()
                compiled, t_compile = pending.result() if pending is not None else (None, 0.0)
                t_ready = time.perf_counter()
                if last < n_chunks:
                    log(f"[dynjax] program {program.index + 1}/{len(programs)} ({config_label(program, {}) or 'base'}), "
                        f"batch {batch.index}: {n_real} learners on {n_dev} device(s), {program.config.total_steps} "
                        f"steps each; compiled in {t_compile:.1f}s, first training step at {t_ready - START:.1f}s "
                        f"after start (before this batch {t_setup - START:.1f}s, tracing {t_step0 - t_setup:.1f}s, "
                        f"step 0 {t_wait - t_step0:.1f}s, then waited {t_ready - t_wait:.1f}s for the chunk program)")
                t_batch, work_batch = time.perf_counter(), 0
                t_saved = t_batch
                for k in range(last + 1, n_chunks + 1):
                    if chunks_left is not None:
                        if chunks_left <= 0:
                            ckpt.close()
                            log("[dynjax] stopped early (stop_after_chunks); run the same command to resume")
                            return {}, trained
                        chunks_left -= 1
                    t0 = time.perf_counter()
                    state, m = compiled(state)
                    m = to_host(m)
                    t1 = time.perf_counter()
                    if is_writer:
                        append_metrics(metrics_path, _rows(m, n_real), *ids)
                    if (k == n_chunks or time.perf_counter() - t_saved >= checkpoint_every_s
                            or (snapshot_period and k % snapshot_period == 0)):
                        ckpt.save(k, state)
                        t_saved = time.perf_counter()
                    timing["compute_s"] += t1 - t0
                    timing["io_s"] += time.perf_counter() - t1
                    work_batch += n_real * steps_per_chunk
                    trained += n_real * steps_per_chunk
                    done_work += n_real * steps_per_chunk
                    elapsed = time.perf_counter() - t_batch
                    rate = work_batch / max(elapsed, 1e-9)
                    ev = np.asarray(m.eval_return)[:n_real, -1]
                    bad = np.asarray(m.diverged)[:n_real, -1].astype(bool)
                    med = f"{np.median(ev[~bad]):.1f}" if (~bad).any() else "n/a"
                    log(f"  step {k * steps_per_chunk:>9d}/{program.config.total_steps}  {rate:,.0f} seed-steps/s  "
                        f"ETA {_fmt_time((total_work - done_work) / max(rate, 1e-9))}  median eval return {med}  "
                        f"diverged {int(bad.sum())}/{n_real}")
                ckpt.close()
    summary: dict[str, Any] = {}
    if is_writer:
        summary = write_report(out, read_metrics(metrics_path), grid,
                               timing=timing | {"wall_s": time.perf_counter() - t_run})
    return summary, trained


def _rows(m: Any, n_real: int, add_axis: bool = False) -> dict[str, np.ndarray]:
    """Metrics of the real learners as (learners, points) arrays."""
    d = {k: np.asarray(v)[:n_real] for k, v in (m._asdict() | m.extra).items() if k != "extra"}
    return {k: v[:, None] if add_axis else v for k, v in d.items()}


def _initial(learner: Any, seed: jax.Array, hp: Any) -> tuple[Any, Any]:
    """A learner's initial state and its evaluation at step 0, as one program (one compile, one dispatch)."""
    state = learner.init(jax.random.key(seed), hp)
    return state, learner.evaluate(state)


def batch_programs(learner: Any, probe: Any, mesh: Any, n: int, block: int | None,
                   chunk_evals: int) -> tuple[Callable[..., Any], Callable[..., Any], Any]:
    """The two jitted programs of a batch of n learners and the chunk's input: (step-0 program: seeds, hparams
    -> (states, step-0 metrics); chunk program: states -> (states, metrics of `chunk_evals` segments), input
    donated; abstract sharded states, from `probe`, one learner's state shapes)."""
    start = sharded(lambda seed, hp: _initial(learner, seed, hp), mesh, n, block, donate=False)
    chunk = sharded(lambda s: jax.lax.scan(lambda c, _: learner.segment(c), s, None, length=chunk_evals),
                    mesh, n, block, donate=True)
    like = abstract_sharded(jax.tree.map(lambda x: jax.ShapeDtypeStruct((n, *x.shape), x.dtype), probe), mesh)
    return start, chunk, like


def _compile_in_background(lowered: Any, x64: bool) -> Future:
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


class _DeferredCheckpoints:
    """A unit's ChunkCheckpoints, created (and orbax imported, ~0.5 s) on first use rather than before the
    first training step."""

    def __init__(self, directory: Path, keep_period: int | None):
        self._directory, self._keep_period, self._ckpt = directory, keep_period, None

    def open(self) -> Any:
        if self._ckpt is None:
            from dynjax.sweep.checkpoint import ChunkCheckpoints

            self._ckpt = ChunkCheckpoints(self._directory, keep_period=self._keep_period)
        return self._ckpt

    def latest(self) -> int | None:
        return self.open().latest()

    def save(self, chunk: int, state: Any) -> None:
        self.open().save(chunk, state)

    def restore(self, chunk: int, like: Any) -> Any:
        return self.open().restore(chunk, like)

    def close(self) -> None:
        if self._ckpt is not None:
            self._ckpt.close()


def _fmt_time(sec: float) -> str:
    sec = int(max(sec, 0))
    return f"{sec // 3600:d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"

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

Learners of a batch are laid out over the devices (dynjax.sweep.devices.learner_mesh: every device of every
process, or in one process as many as the batch can use; the command line makes one CPU device per core,
dynjax.startup.cpu_devices); a batch holds at most `max_learners_per_batch` learners, or as many as fit
`memory_budget_bytes` of carried state.

This module is the host loop; the batches and their programs are dynjax.sweep.programs, the progress lines
and counters dynjax.sweep.progress, the run directory's layout dynjax.sweep.run_dir.
"""

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np

from dynjax.agents import ALGORITHMS
from dynjax.config import check_positive_int
from dynjax.results import run_record
from dynjax.results.metrics import append_metrics, drop_metrics_after, finished_learners, read_metrics, write_json
from dynjax.sweep.batching import auto_block, state_bytes
from dynjax.sweep.devices import (devices_sharing_cache, first_device, in_learner_layout, learner_mesh,
                                  padded_count, to_host)
from dynjax.sweep.programs import (Batch, batch_inputs, batch_programs, batches, compile_in_background,
                                   learners_per_batch)
from dynjax.sweep.progress import Progress
from dynjax.sweep.report import write_report
from dynjax.sweep.run_dir import UnitName, prepare_run_dir, unit_dir
from dynjax.sweep.spec import Program, SweepSpec, config_label, resolve

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


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
                                   command, absent=run_record.absent_means([p.config for p in programs]))
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
    algo = ALGORITHMS[spec.algo]
    loop = _HostLoop(out, chunk_evals, snapshot_every // chunk_evals if snapshot_every else None,
                     checkpoint_every_s, seed_block, stop_after_chunks,
                     Progress(sum(len(p.config_ids) * spec.seeds * p.config.total_steps for p in programs),
                              len(programs), log))
    for program in programs:
        # Agents that need float64 are traced, run and checkpointed under it.
        with jax.enable_x64(algo.float64):
            learner = algo.make_learner(program.config)
            probe = jax.eval_shape(learner.init, jax.random.key(0))
            per_learner = state_bytes(probe)
            limit = learners_per_batch(per_learner, max_learners_per_batch, memory_budget_bytes)
            for batch in batches(program, spec, limit, loop.n_dev):
                if not loop.run_batch(batch, learner, probe, per_learner, algo.float64):
                    return {}, loop.progress.trained
    summary: dict[str, Any] = {}
    if loop.is_writer:
        summary = write_report(out, read_metrics(loop.metrics_path), grid,
                               timing=loop.progress.timing | {"wall_s": loop.progress.wall_s()})
    return summary, loop.progress.trained


class _HostLoop:
    """The host side of one invocation: runs a batch's chunks, appends their metrics, saves its checkpoints,
    resumes it from its last one, and stops after `stop_after_chunks` chunks (None: never)."""

    def __init__(self, out: Path, chunk_evals: int, snapshot_period: int | None, checkpoint_every_s: float,
                 seed_block: int | None, stop_after_chunks: int | None, progress: Progress):
        self.out, self.chunk_evals, self.snapshot_period = out, chunk_evals, snapshot_period
        self.checkpoint_every_s, self.seed_block, self.chunks_left = checkpoint_every_s, seed_block, stop_after_chunks
        self.progress = progress
        self.is_writer = jax.process_index() == 0
        self.n_dev = learner_mesh().devices.size
        self.metrics_path = out / "metrics.csv"

    def run_batch(self, batch: Batch, learner: Any, probe: Any, per_learner: int, x64: bool) -> bool:
        """Run (or resume, or skip when finished) one batch to its end; False when stopped early."""
        program, progress, metrics_path = batch.program, self.progress, self.metrics_path
        n_real = len(batch.seeds)
        if finished_learners(metrics_path, program.config.total_steps) >= set(
                zip(batch.config_ids.tolist(), batch.seeds.tolist())):
            progress.finished(program, batch.index, n_real)
            return True
        unit = unit_dir(self.out, UnitName(program.index, batch.index))
        saved = json.loads((unit / "learners.json").read_text()) if (unit / "learners.json").exists() else {}
        mesh = learner_mesh(n_real, saved.get("padded"))
        n = saved.get("padded") or padded_count(n_real, mesh)
        n_dev = mesh.devices.size
        block = self.seed_block or auto_block(per_learner, n // n_dev, devices_sharing_cache(mesh))
        seeds_g, hp_g = batch_inputs(batch, n, first_device(mesh))
        start, run_chunk, like = batch_programs(learner, probe, mesh, n, block, self.chunk_evals)
        # A unit directory that does not exist yet holds no checkpoint: orbax is then first needed for a save.
        # Several processes keep the eager manager (its creation is collective).
        fresh = jax.process_count() == 1 and not unit.exists()
        ckpt = _DeferredCheckpoints(unit, self.snapshot_period)
        if fresh:
            unit.mkdir(parents=True, exist_ok=True)
        else:
            ckpt.open()
        steps_per_chunk = program.config.eval_every * self.chunk_evals
        if self.is_writer:
            write_json(unit / "learners.json", {"config_ids": batch.config_ids.tolist(),
                                                "seeds": batch.seeds.tolist(), "padded": n,
                                                "steps_per_chunk": steps_per_chunk})
        n_chunks = program.config.total_steps // steps_per_chunk
        last = None if fresh else ckpt.latest()
        ids = (batch.config_ids, batch.seeds)
        t_setup = time.perf_counter()
        # Both programs compile (or load from the persistent cache) in worker threads while this thread lowers
        # the other one, runs the step-0 program (init + evaluation: one compile) and writes step 0's metrics.
        pending0 = compile_in_background(start.lower(seeds_g, hp_g), x64) if last is None else None
        pending = compile_in_background(run_chunk.lower(like), x64) if last is None or last < n_chunks else None
        t_step0 = time.perf_counter()
        if last is None:
            state, m0 = pending0.result()[0](seeds_g, hp_g)
            state, m0 = in_learner_layout(state, mesh), to_host(m0)
            if self.is_writer:
                drop_metrics_after(metrics_path, *ids, step=-1)
                append_metrics(metrics_path, _rows(m0, n_real, add_axis=True), *ids)
            if self.snapshot_period:  # step 0 is a snapshot; otherwise a run with no checkpoint restarts from init
                ckpt.save(0, state)
            last = 0
        else:
            state = ckpt.restore(last, like)
            if self.is_writer:
                drop_metrics_after(metrics_path, *ids, step=last * steps_per_chunk)
            progress.resuming(program, batch.index, last, n_chunks)
        progress.done_before(n_real * last * steps_per_chunk)
        t_wait = time.perf_counter()
        compiled, t_compile = pending.result() if pending is not None else (None, 0.0)
        t_ready = time.perf_counter()
        if last < n_chunks:
            progress.batch_start(program, batch.index, n_real, n_dev, t_compile, t_setup, t_step0, t_wait,
                                 t_ready)
        t_saved = progress.start_chunks()
        for k in range(last + 1, n_chunks + 1):
            if self.chunks_left is not None:
                if self.chunks_left <= 0:
                    ckpt.close()
                    progress.stopped()
                    return False
                self.chunks_left -= 1
            t0 = time.perf_counter()
            state, m = compiled(state)
            m = to_host(m)
            t1 = time.perf_counter()
            if self.is_writer:
                append_metrics(metrics_path, _rows(m, n_real), *ids)
            if (k == n_chunks or time.perf_counter() - t_saved >= self.checkpoint_every_s
                    or (self.snapshot_period and k % self.snapshot_period == 0)):
                ckpt.save(k, state)
                t_saved = time.perf_counter()
            progress.chunk(k * steps_per_chunk, program.config.total_steps, n_real, n_real * steps_per_chunk, m,
                           compute_s=t1 - t0, io_s=time.perf_counter() - t1)
        ckpt.close()
        return True


def _rows(m: Any, n_real: int, add_axis: bool = False) -> dict[str, np.ndarray]:
    """Metrics of the real learners as (learners, points) arrays."""
    d = {k: np.asarray(v)[:n_real] for k, v in (m._asdict() | m.extra).items() if k != "extra"}
    return {k: v[:, None] if add_axis else v for k, v in d.items()}


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

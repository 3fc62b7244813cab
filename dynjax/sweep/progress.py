"""What a sweep reports while it runs: progress lines (steps, seed-steps/s, ETA, median evaluation return,
diverged learners), the start-up timing of each batch, and this invocation's counters (seed-steps trained,
chunk compute vs metrics + checkpoint I/O seconds) that summary.json and config.json record."""

import time
from typing import Any, Callable

import numpy as np

from dynjax import START
from dynjax.sweep.spec import Program, config_label

Log = Callable[[str], None]


def fmt_time(sec: float) -> str:
    sec = int(max(sec, 0))
    return f"{sec // 3600:d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"


class Progress:
    """Counters of one invocation over `total_work` seed-steps (the whole sweep, resumed parts included) and
    the log lines that report them."""

    def __init__(self, total_work: int, n_programs: int, log: Log):
        self.log, self.total_work, self.n_programs = log, total_work, n_programs
        self.done_work = 0  # seed-steps of the sweep done, by earlier invocations or this one
        self.trained = 0  # seed-steps this invocation trained
        self.timing = {"compute_s": 0.0, "io_s": 0.0}  # chunk programs vs metrics + checkpoints between them
        self.t_run = time.perf_counter()
        self._t_batch, self._work_batch = self.t_run, 0

    def finished(self, program: Program, batch: int, n_real: int) -> None:
        """A batch every learner of which has its last evaluation in metrics.csv: nothing to run."""
        self.log(f"[dynjax] program {program.index} batch {batch}: finished (metrics.csv holds every "
                 "learner's last evaluation)")
        self.done_work += n_real * program.config.total_steps

    def resuming(self, program: Program, batch: int, chunk: int, n_chunks: int) -> None:
        self.log(f"[dynjax] resuming program {program.index} batch {batch} at chunk {chunk}/{n_chunks}")

    def done_before(self, seed_steps: int) -> None:
        """Work of the batch about to run that is already done (its checkpoint's chunks)."""
        self.done_work += seed_steps

    def batch_start(self, program: Program, batch: int, n_real: int, n_dev: int, t_compile: float, t_setup: float,
                    t_step0: float, t_wait: float, t_ready: float) -> None:
        """The line before a batch's first training chunk: its size and where the time to get there went."""
        self.log(f"[dynjax] program {program.index + 1}/{self.n_programs} ({config_label(program, {}) or 'base'}), "
                 f"batch {batch}: {n_real} learners on {n_dev} device(s), {program.config.total_steps} "
                 f"steps each; compiled in {t_compile:.1f}s, first training step at {t_ready - START:.1f}s "
                 f"after start (before this batch {t_setup - START:.1f}s, tracing {t_step0 - t_setup:.1f}s, "
                 f"step 0 {t_wait - t_step0:.1f}s, then waited {t_ready - t_wait:.1f}s for the chunk program)")

    def start_chunks(self) -> float:
        """The batch's chunks start now (the rate counts from here); returns the time."""
        self._t_batch, self._work_batch = time.perf_counter(), 0
        return self._t_batch

    def chunk(self, step: int, total_steps: int, n_real: int, seed_steps: int, m: Any, compute_s: float,
              io_s: float) -> None:
        """Count a finished chunk (`seed_steps` trained, metrics `m` with the padded learners) and report it."""
        self.timing["compute_s"] += compute_s
        self.timing["io_s"] += io_s
        self._work_batch += seed_steps
        self.trained += seed_steps
        self.done_work += seed_steps
        elapsed = time.perf_counter() - self._t_batch
        rate = self._work_batch / max(elapsed, 1e-9)
        ev = np.asarray(m.eval_return)[:n_real, -1]
        bad = np.asarray(m.diverged)[:n_real, -1].astype(bool)
        med = f"{np.median(ev[~bad]):.1f}" if (~bad).any() else "n/a"
        self.log(f"  step {step:>9d}/{total_steps}  {rate:,.0f} seed-steps/s  "
                 f"ETA {fmt_time((self.total_work - self.done_work) / max(rate, 1e-9))}  median eval return {med}  "
                 f"diverged {int(bad.sum())}/{n_real}")

    def stopped(self) -> None:
        self.log("[dynjax] stopped early (stop_after_chunks); run the same command to resume")

    def wall_s(self) -> float:
        return time.perf_counter() - self.t_run

"""`dynjax analyse <run-dir>`: the dynamics of every snapshot a run kept, over seeds and training.

A run trained with `--snapshot-every K` keeps the learners' complete state at every K-th evaluation point
(dynjax.sweep.snapshots). For each snapshot and learner (one jitted program vmapped over the learners of a
batch) this freezes the agent (`learner.closed_loop`) and measures:

- a recording of `record_steps` closed-loop steps from a fresh episode (Huang, Singh & Rajan use 1,000 steps,
  5 Pendulum episodes): hidden states h_t, inputs x_t, observations;
- integration timescales tau_i = |1 / ln|lambda_i|| of the recurrence Jacobian dF/dh at `expansion_points`
  recorded points (h_{t-1}, x_t) evenly spread over the recording, top `n_timescales` per point, averaged over
  the points (Huang et al.; Maheswaranathan et al. 2019); unstable eigenvalues do not give a timescale;
- fixed points of F(h, x*) at the clamped input x* (`input`: the mean recorded input, or zero), from
  `candidates` recorded states (Sussillo & Barak 2013; dynjax.analysis.fixed_points, tol_q 1e-12 in float64,
  1e-9 in float32 where q cannot get lower), unique and not outliers, with their stability (all |lambda| < 1);
- the attractor class of the autonomous network h' = F(h, x*) from `attractor_inits` recorded states
  (dynjax.analysis.attractors: fixed point, limit cycle, quasi-periodic, chaotic), as shares;
- the largest Lyapunov exponent of the agent-environment loop (dynjax.analysis.closed_loop: two
  trajectories, d0 1e-6 in float64 / 1e-4 in float32, 10-step segments, segments across resets skipped), and
  the two leading exponents of the network driven open loop by the recorded inputs (QR method, reset at the
  recording's episode starts; the first 100 steps and 5 after each reset discarded).

Outputs, in <run-dir>/analysis (or --out): analysis.csv (one row per learner and snapshot: config, seed, step,
diverged, fixed-point counts, tau_1..tau_k, lyapunov, attractor shares), summary.md (medians over seeds per
configuration and step), and plots/: timescales.png (top-k tau vs training step), lyapunov.png, attractors.png
(class shares vs step), pca-<unit>.png (the first learner's recorded states in their top two principal
components at up to six snapshots, fixed points marked by stability).
"""

import csv
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dynjax.agents import ALGORITHMS
from dynjax.analysis.attractors import CLASS_NAMES, classify_attractor
from dynjax.analysis.closed_loop import ClosedLoop, Recording, closed_loop_lyapunov, flat_step, record
from dynjax.analysis.fixed_points import find_fixed_points
from dynjax.analysis.linearise import eigen_spectrum, jacobians, timescales
from dynjax.analysis.lyapunov import driven_lyapunov_spectrum
from dynjax.config import check_choice, check_positive_int
from dynjax.envs.adapter import EnvSpec
from dynjax.sweep.snapshots import SnapshotUnit, load_snapshot, make_unit_learner, snapshot_units

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class AnalyseOptions:
    record_steps: int = 1000
    expansion_points: int = 100
    n_timescales: int = 5
    candidates: int = 256
    attractor_inits: int = 8
    attractor_steps: int = 2000
    lyapunov_segments: int = 100
    lyapunov_steps: int = 10
    input: str = "mean"  # clamped input x*: "mean" of the recorded inputs, or "zero"
    seed: int = 0

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            if f.name not in ("input", "seed"):
                check_positive_int(f.name, getattr(self, f.name))
        check_choice("input", self.input, ("mean", "zero"))
        if self.attractor_inits > self.record_steps:
            raise ValueError(f"attractor_inits: {self.attractor_inits} exceeds record_steps ({self.record_steps})")
        if self.expansion_points > self.record_steps:
            raise ValueError(f"expansion_points: {self.expansion_points} exceeds record_steps ({self.record_steps})")


class NetworkReport(NamedTuple):
    """What `analyse_network` measures on one frozen learner."""

    h: Array  # (T, N) recorded hidden states
    obs: Array  # (T, O) recorded observations
    x_star: Array  # (I,) the clamped input of the fixed-point and attractor analyses
    fp_points: Array  # (K, N) optimised candidates
    fp_keep: Array  # (K,) a unique fixed point, not an outlier
    fp_stable: Array  # (K,) kept and all |lambda| < 1
    fp_unstable: Array  # (K,) kept, eigenvalues computed, some |lambda| >= 1 (points without a spectrum: neither)
    tau: Array  # (k,) mean top-k timescales over the expansion points (steps)
    unstable_modes: Array  # mean number of eigenvalues with |lambda| >= 1 at the expansion points
    lyapunov: Array  # largest Lyapunov exponent of the closed loop, per step
    lyapunov_open: Array  # (2,) leading exponents of the network driven by the recorded inputs, per step
    classes: Array  # (attractor_inits,) attractor class codes


def recorded_timescales(F: Callable[[Array, Array], Array], h0: Array, rec: Recording, n_points: int,
                        k: int) -> tuple[Array, Array]:
    """Top-k integration timescales tau_i = |1/ln|lambda_i|| of dF/dh at `n_points` recorded points
    (h_{t-1}, x_t) spread evenly over the recording (h0 before an episode's first step), averaged over the
    points (Huang et al. 2024: 1,000 steps); and the mean count of unstable eigenvalues (|lambda| >= 1)."""
    idx = jnp.linspace(1, rec.h.shape[0] - 1, n_points).astype(jnp.int32)
    h_prev = jnp.where(rec.start[idx, None], h0, rec.h[idx - 1])
    spectra = jax.lax.map(lambda a: eigen_spectrum(jacobians(F, a[0], a[1])[0]), (h_prev, rec.x[idx]))
    ts = timescales(spectra, min(k, rec.h.shape[1]))
    return jnp.nanmean(ts.tau, axis=0), jnp.mean(ts.n_unstable.astype(ts.tau.dtype))


def analyse_network(spec: EnvSpec, loop: ClosedLoop, key: Array, opts: AnalyseOptions) -> NetworkReport:
    """The measurements of the module doc on one frozen learner (pure; vmap over learners and keys)."""
    k_rec, k_fp, k_lyap, k_att = jax.random.split(key, 4)
    F, h0 = flat_step(loop)
    rec = record(k_rec, spec, loop, opts.record_steps)
    f64 = rec.h.dtype == jnp.float64

    tau, unstable = recorded_timescales(F, h0, rec, opts.expansion_points, opts.n_timescales)

    x_star = jnp.mean(rec.x, axis=0) if opts.input == "mean" else jnp.zeros_like(rec.x[0])
    fp = find_fixed_points(F, x_star, rec.h, k_fp, opts.candidates, tol_q=1e-12 if f64 else 1e-9,
                           tol_slow=1e-6 if f64 else 1e-5)
    keep = fp.unique & fp.is_fixed & ~fp.outlier

    starts = rec.h[jax.random.choice(k_att, opts.record_steps, (opts.attractor_inits,), replace=False)]
    classes = jax.lax.map(lambda h: classify_attractor(lambda z: F(z, x_star), h, transient=opts.attractor_steps // 4,
                                                       n_lyapunov=opts.attractor_steps, n_spectrum=1024).code, starts)
    lyap = closed_loop_lyapunov(k_lyap, spec, loop, 1e-6 if f64 else 1e-4, opts.lyapunov_steps,
                                opts.lyapunov_segments).exponent
    k = min(2, rec.h.shape[1])
    open_loop = driven_lyapunov_spectrum(F, h0, rec.x, k, transient=min(100, opts.record_steps // 2),
                                         starts=rec.start, settle=5).exponents
    return NetworkReport(h=rec.h, obs=rec.obs, x_star=x_star, fp_points=fp.points, fp_keep=keep,
                         fp_stable=fp.stable & keep, fp_unstable=keep & fp.has_eig & ~fp.stable, tau=tau, unstable_modes=unstable,
                         lyapunov=lyap, lyapunov_open=jnp.pad(open_loop, (0, 2 - k), constant_values=jnp.nan),
                         classes=classes)


def _rows(unit: SnapshotUnit, step: int, diverged: np.ndarray, r: NetworkReport) -> list[dict[str, Any]]:
    rows = []
    for i, (cid, seed) in enumerate(zip(unit.config_ids, unit.seeds)):
        keep, stable = np.asarray(r.fp_keep[i]), np.asarray(r.fp_stable[i])
        row = {"program": unit.program.index, "config": int(cid), "label": unit.labels[int(cid)], "seed": int(seed),
               "step": step, "diverged": int(diverged[i]), "n_fixed": int(keep.sum()), "n_stable": int(stable.sum()),
               "n_unstable": int(np.asarray(r.fp_unstable[i]).sum()), "lyapunov": float(r.lyapunov[i]),
               "lyapunov_open_1": float(r.lyapunov_open[i][0]), "lyapunov_open_2": float(r.lyapunov_open[i][1]),
               "unstable_modes": float(r.unstable_modes[i])}
        row |= {f"tau_{j + 1}": float(t) for j, t in enumerate(np.asarray(r.tau[i]))}
        codes = np.asarray(r.classes[i])
        row |= {f"share_{name}": float(np.mean(codes == c)) for c, name in enumerate(CLASS_NAMES)}
        rows.append(row)
    return rows


def analyse_run(run_dir: str | Path, out: str | Path | None = None, opts: AnalyseOptions = AnalyseOptions(),
                log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> list[dict[str, Any]]:
    """Analyse every snapshot of the run in `run_dir` (see the module doc); returns the rows of analysis.csv."""
    opts.validate()
    algo, units = snapshot_units(run_dir)
    out = Path(out) if out is not None else Path(run_dir) / "analysis"
    (out / "plots").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    pca_views = []
    for u, unit in enumerate(units):
        with jax.enable_x64(ALGORITHMS[algo].float64):
            learner = make_unit_learner(algo, unit)
            if not hasattr(learner, "closed_loop"):
                raise ValueError(f"algo: {algo} learners expose no closed loop to analyse")
            run = jax.jit(jax.vmap(lambda s, k: analyse_network(learner.spec, learner.closed_loop(s), k, opts)))
            keys = jax.random.split(jax.random.key(opts.seed), len(unit.seeds))
            views = []
            for chunk, step in zip(unit.chunks, unit.steps):
                t0 = time.perf_counter()
                state = load_snapshot(learner, unit, chunk)
                report = jax.device_get(run(state, keys))
                rows += _rows(unit, step, np.asarray(state.diverged_at) >= 0, report)
                views.append((step, jax.tree.map(lambda a: np.asarray(a[0]), report)))
                log(f"[dynjax] analysed {unit.directory.name} step {step}: "
                    f"{len(unit.seeds)} learners in {time.perf_counter() - t0:.1f}s")
            pca_views.append((f"{u}-{unit.labels[int(unit.config_ids[0])]}", int(unit.seeds[0]), views))
    _write_csv(out / "analysis.csv", rows)
    (out / "summary.md").write_text(summary_table(rows, opts.n_timescales))
    _plots(out / "plots", rows, pca_views, opts.n_timescales)
    log(f"[dynjax] analysis of {len(rows)} learner snapshots in {out}")
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _median(rows: list[dict[str, Any]], key: str) -> float:
    vals = np.asarray([r[key] for r in rows if not r["diverged"]], float)
    vals = vals[np.isfinite(vals)]
    return float(np.median(vals)) if vals.size else float("nan")


def _groups(rows: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["label"], r["step"]), []).append(r)
    return groups


def summary_table(rows: list[dict[str, Any]], n_timescales: int) -> str:
    """Markdown: per configuration and snapshot step, medians over the learners that had not diverged."""
    head = (["config", "step", "learners", "diverged", "fixed points", "stable", "lyapunov", "open-loop LE_1"]
            + [f"tau_{j + 1}" for j in range(n_timescales)] + [f"{n} share" for n in CLASS_NAMES])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (label, step), g in sorted(_groups(rows).items()):
        cells = [label, f"{step:,}", str(len(g)), str(sum(r["diverged"] for r in g)),
                 f"{_median(g, 'n_fixed'):.0f}", f"{_median(g, 'n_stable'):.0f}", f"{_median(g, 'lyapunov'):.4f}",
                 f"{_median(g, 'lyapunov_open_1'):.4f}"]
        cells += [f"{_median(g, f'tau_{j + 1}'):.2f}" for j in range(n_timescales)]
        cells += [f"{np.mean([r[f'share_{n}'] for r in g]):.2f}" for n in CLASS_NAMES]
        lines.append("| " + " | ".join(cells) + " |")
    note = ("\nMedians over learners (diverged ones excluded); attractor shares are means over learners of the "
            "share of initial states reaching each class. tau in steps; lyapunov: closed loop, open-loop LE_1: driven "
            "by the recorded inputs, both per step.\n")
    return "\n".join(lines) + "\n" + note


def _plots(plots: Path, rows: list[dict[str, Any]], pca_views: list, n_timescales: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dynjax.analysis.pca import pca

    groups = _groups(rows)
    labels = sorted({label for label, _ in groups})
    steps_of = {lab: sorted(s for lb, s in groups if lb == lab) for lab in labels}

    fig, axes = plt.subplots(1, len(labels), figsize=(5 * len(labels), 3.6), squeeze=False)
    for ax, lab in zip(axes[0], labels):
        for j in range(n_timescales):
            ax.plot(steps_of[lab], [_median(groups[(lab, s)], f"tau_{j + 1}") for s in steps_of[lab]], marker="o",
                    label=f"tau_{j + 1}")
        ax.set(title=lab, xlabel="training step", ylabel="integration timescale (steps)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "timescales.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for lab in labels:
        ax.plot(steps_of[lab], [_median(groups[(lab, s)], "lyapunov") for s in steps_of[lab]], marker="o",
                label=f"{lab}: closed loop")
        ax.plot(steps_of[lab], [_median(groups[(lab, s)], "lyapunov_open_1") for s in steps_of[lab]], marker="s",
                ls="--", label=f"{lab}: open loop (recorded inputs)")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set(xlabel="training step", ylabel="largest Lyapunov exponent (per step)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "lyapunov.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(labels), figsize=(5 * len(labels), 3.6), squeeze=False)
    for ax, lab in zip(axes[0], labels):
        bottom = np.zeros(len(steps_of[lab]))
        for name in CLASS_NAMES:
            share = np.asarray([np.mean([r[f"share_{name}"] for r in groups[(lab, s)]]) for s in steps_of[lab]])
            ax.bar(range(len(share)), share, bottom=bottom, label=name)
            bottom += share
        ax.set_xticks(range(len(steps_of[lab])), [f"{s:,}" for s in steps_of[lab]], rotation=45, fontsize=7)
        ax.set(title=lab, xlabel="training step", ylabel="share of attractors")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "attractors.png", dpi=110)
    plt.close(fig)

    for name, seed, views in pca_views:
        shown = [views[i] for i in np.unique(np.linspace(0, len(views) - 1, min(6, len(views))).astype(int))]
        fig, axes = plt.subplots(1, len(shown), figsize=(3.4 * len(shown), 3.2), squeeze=False)
        for ax, (step, r) in zip(axes[0], shown):
            p = pca(r.h, 2)
            z = np.asarray(p.project(r.h))
            sc = ax.scatter(z[:, 0], z[:, 1], c=r.obs[:, 0], s=3, cmap="viridis")
            fps = np.asarray(p.project(r.fp_points[r.fp_keep]))
            stable = r.fp_stable[r.fp_keep]
            ax.scatter(fps[stable, 0], fps[stable, 1], marker="o", s=60, facecolors="none", edgecolors="green",
                       linewidths=2, label="stable FP")
            ax.scatter(fps[~stable, 0], fps[~stable, 1], marker="x", s=60, color="red", label="unstable FP")
            ax.set(title=f"step {step:,}", xlabel="PC 1", ylabel="PC 2")
        axes[0][0].legend(fontsize=7)
        fig.colorbar(sc, ax=axes[0][-1], label="observation[0]")
        fig.suptitle(f"{name}, seed {seed}: recorded states, fixed points at x*")
        fig.tight_layout()
        fig.savefig(plots / f"pca-{name.replace(' ', '').replace('/', '-').replace(';', '_')}.png", dpi=110)
        plt.close(fig)

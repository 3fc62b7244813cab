"""Study 1: learning dynamics and geometry of recurrent Pendulum controllers (Huang, Singh & Rajan 2024).

Agents: `ppo-rnn --preset huang` (64-unit vanilla tanh RNN, 64-unit tanh policy and value heads, PPO, 100
updates of 1,024 environment steps), fully observable (cos theta, sin theta, theta_dot) and angle-only
(cos theta, sin theta), S seeds each vmapped in one program; the sweep runner keeps every learner's state
at every evaluation point (every 10 updates: 11 snapshots with the initial one). Per snapshot and seed, with
learning frozen (dynjax.analysis, the agent's greedy closed loop `learner.closed_loop`):

- recording: 1,000 closed-loop steps (5 episodes) from a fresh episode, as in the paper;
- policy landscape: the greedy torque (clipped to +-2) averaged in bins of the visited (theta, theta_dot) (the
  recurrent policy depends on its history, so the landscape is read off the closed loop); the figure pools the
  seeds at four training points; sharpness, per seed = mean over its visited bins of |torque| / 2 (1: bang-bang);
- fixed points of the RNN at the input of the upright, resting pendulum x_up (theta = 0, theta_dot = 0; what
  the network sees while balancing) and of the hanging one x_down (theta = pi), from 128 recorded states
  (Sussillo & Barak; tol_q 1e-9 in float32); the stable point at x_up is "the stable FP";
- its distance to the goal: d = |FP_up(checkpoint) - FP_up(final)| (the paper's "proximity of the FP to its
  final state"; nan where either is missing) against reward-to-go = R(final) - R(checkpoint) (R: the
  evaluation return at that point; the final checkpoint, where both are 0 by construction, is left out);
- top-5 integration timescales tau_i = |1 / ln|lambda_i|| of dF/dh averaged over 100 points of the recording
  (dynjax.apps.analyse.recorded_timescales);
- ring: PCA of the recorded states (top 2 components), phi = angle in that plane; ring score =
  max(|mean exp(i(phi - theta))|, |mean exp(i(phi + theta))|) (1: the plane codes theta as a circle).

Statistics (dynjax.results.stats; a seed is the unit, checkpoints of one network are never pooled): the learning curve
of each seed (its run's metrics.csv) gives final (mean of the last 10% of evaluations), best excluding step 0
and AUC; every per-seed measure is shown as IQM (95% bootstrap CI) · median [IQR] over seeds. The paper's
claims are tested across seeds: a correlation claim by one correlation per seed (Pearson r of d against
reward-to-go over that seed's checkpoints) and a two-sided Wilcoxon signed-rank test of the per-seed r against
0; "rise then fall" by the per-seed Spearman trend of tau_1 over the first and over the second half of training
(Wilcoxon signed-rank of the per-seed trends against 0); changes from the first to the last snapshot by the
paired Wilcoxon signed-rank test; the order of appearance of the fixed points by a sign test over seeds; the two
variants against each other by the Mann-Whitney U test of their per-seed values.

Outputs: benchmarks/results/huang_pendulum.md (tables, the paper's claims beside ours),
benchmarks/results/huang_pendulum/*.png, <variant>.csv (every per-seed, per-snapshot number the tables use)
and the run directories (metrics, learning curves) under benchmarks/results/huang_pendulum/<variant>/. The
snapshots (checkpoints/) are not kept in git: where a variant's <variant>.csv exists and its snapshots do not
(a fresh checkout), or with --from-saved, the tables, the summaries and the figures that need no recording
(timescales.png; fp_distance_vs_reward_to_go.png when the CSV holds the distances) are regenerated from the
saved files without training or analysing anything.

    python benchmarks/huang_pendulum.py               # 8 seeds x 102,400 steps per variant (or the saved results)
    python benchmarks/huang_pendulum.py --from-saved  # the tables from the saved CSVs only
    python benchmarks/huang_pendulum.py --quick       # 2 seeds, 3 snapshots of a short run: a pipeline check
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

from common import run_cell
from dynjax.apps.analyse import recorded_timescales
from dynjax.analysis import find_fixed_points, pca
from dynjax.analysis.closed_loop import flat_step, record
from dynjax.results.metrics import diverged_mask, read_metrics, summarize
from dynjax.results.stats import aggregate, compare, final_points, format_p, format_stats
from dynjax.sweep import spec_from_dict
from dynjax.sweep.report import write_report
from dynjax.sweep.snapshots import load_snapshot, make_unit_learner, snapshot_units

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = {"fully-observed": "none", "angle-only": "0,1"}
RECORD_STEPS, EXPANSION_POINTS, N_TAU, CANDIDATES = 1000, 100, 5, 128
TORQUE, BINS, MAX_SPEED = 2.0, 24, 8.0


def study_network(learner, state, key):
    """Per learner and snapshot (pure; vmapped over seeds): recording, timescales, fixed points at x_up/x_down."""
    loop = learner.closed_loop(state)
    F, h0 = flat_step(loop)
    k_rec, k_up, k_down = jax.random.split(key, 3)
    rec = record(k_rec, learner.spec, loop, RECORD_STEPS)
    tau, _ = recorded_timescales(F, h0, rec, EXPANSION_POINTS, N_TAU)
    n_obs = learner.spec.obs_dim

    def fixed(obs, k):
        x = loop.inputs(jnp.asarray(obs, rec.obs.dtype)[:n_obs], loop.null_action, jnp.zeros(()))
        fp = find_fixed_points(F, x, rec.h, k, CANDIDATES, tol_q=1e-9, tol_slow=1e-5)
        keep = fp.unique & fp.is_fixed & ~fp.outlier
        return fp, keep

    up, keep_up = fixed([1.0, 0.0, 0.0], k_up)
    stable_up = keep_up & up.stable
    best = jnp.argmin(jnp.where(stable_up, up.q, jnp.inf))
    down, keep_down = fixed([-1.0, 0.0, 0.0], k_down)
    best_down = jnp.argmin(jnp.where(keep_down, down.q, jnp.inf))
    theta = jnp.arctan2(jnp.sin(rec.env_state.theta), jnp.cos(rec.env_state.theta))  # in (-pi, pi], 0 upright
    return {"h": rec.h, "theta": theta, "theta_dot": rec.env_state.theta_dot,
            "torque": jnp.clip(rec.action[..., 0], -TORQUE, TORQUE), "tau": tau,
            "fp_up": up.points[best], "fp_up_found": stable_up.any(), "n_up_stable": stable_up.sum(),
            "n_up_unstable": (keep_up & up.has_eig & ~up.stable).sum(), "fp_down": down.points[best_down],
            "n_down_stable": (keep_down & down.stable).sum(),
            "n_down_unstable": (keep_down & down.has_eig & ~down.stable).sum()}


def ring_score(h: np.ndarray, theta: np.ndarray) -> tuple[float, float]:
    """(ring score, variance share of the top two PCs) of recorded states h (T, N) against theta (T,)."""
    p = pca(jnp.asarray(h), 2)
    z = np.asarray(p.project(jnp.asarray(h)))
    phi = np.arctan2(z[:, 1], z[:, 0])
    score = max(abs(np.mean(np.exp(1j * (phi - theta)))), abs(np.mean(np.exp(1j * (phi + theta)))))
    return float(score), float(np.sum(p.explained_variance_ratio))


def landscape(theta: np.ndarray, theta_dot: np.ndarray, torque: np.ndarray) -> np.ndarray:
    """Mean torque in BINS x BINS bins of (theta_dot, theta) (nan where not visited)."""
    edges = (np.linspace(-MAX_SPEED, MAX_SPEED, BINS + 1), np.linspace(-np.pi, np.pi, BINS + 1))
    total, _, _ = np.histogram2d(theta_dot.ravel(), theta.ravel(), edges, weights=torque.ravel())
    count, _, _ = np.histogram2d(theta_dot.ravel(), theta.ravel(), edges)
    with np.errstate(invalid="ignore"):
        return total / np.where(count > 0, count, np.nan)


COLUMNS = ("eval_return", "fp_up_found", "n_up_stable", "n_up_unstable", "n_down_stable", "n_down_unstable",
           "fp_distance", "sharpness", "ring", "pc2_var") + tuple(f"tau_{k + 1}" for k in range(N_TAU))
FORMATS = {"eval_return": ".2f", "fp_distance": ".4f", "sharpness": ".4f", "ring": ".4f", "pc2_var": ".4f"}
NEEDS_RECORDINGS = {"fp_distance": "the stable FP's distance to its final position",
                    "sharpness": "the per-seed policy sharpness"}  # columns older CSVs lack


def sharpness(theta: np.ndarray, theta_dot: np.ndarray, torque: np.ndarray) -> float:
    """Mean over the visited bins of |mean torque| / 2 of one recording (1: bang-bang)."""
    return float(np.nanmean(np.abs(landscape(theta, theta_dot, torque))) / TORQUE)


def analyse_variant(out: Path, seeds: int) -> dict:
    """Run the study's measurements over every snapshot of one variant's run: per snapshot, the recordings and
    the per-seed numbers of the variant's CSV."""
    algo, (unit,) = snapshot_units(out)
    learner = make_unit_learner(algo, unit)
    run = jax.jit(jax.vmap(lambda s, k: study_network(learner, s, k)))
    keys = jax.random.split(jax.random.key(1), seeds)
    m = read_metrics(out / "metrics.csv")
    eval_steps = list(m["step"][0])
    snaps = []
    for chunk, step in zip(unit.chunks, unit.steps):
        r = jax.device_get(run(load_snapshot(learner, unit, chunk), keys))
        r["ring"], r["pc2_var"] = np.asarray([ring_score(r["h"][i], r["theta"][i]) for i in range(seeds)]).T
        r["sharpness"] = np.asarray([sharpness(r["theta"][i], r["theta_dot"][i], r["torque"][i]) for i in range(seeds)])
        r["eval_return"] = m["eval_return"][:, eval_steps.index(step)]
        snaps.append(r)
    final = snaps[-1]
    for r in snaps:
        both = r["fp_up_found"] & final["fp_up_found"]
        r["fp_distance"] = np.where(both, np.linalg.norm(r["fp_up"] - final["fp_up"], axis=-1), np.nan)
    return {"steps": unit.steps, "snaps": snaps}


def write_csv(path: Path, name: str, v: dict) -> None:
    """One row per (snapshot, seed): the COLUMNS."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "seed", "step", *COLUMNS])
        for step, r in zip(v["steps"], v["snaps"]):
            cols = {k: r[k] for k in COLUMNS if not k.startswith("tau_")}
            cols |= {f"tau_{k + 1}": r["tau"][:, k] for k in range(N_TAU)}
            for i in range(len(r["eval_return"])):
                w.writerow([name, i, step] + [f"{cols[k][i]:{'.3f' if k.startswith('tau_') else FORMATS[k]}}"
                                              if k.startswith("tau_") or k in FORMATS else int(cols[k][i])
                                              for k in COLUMNS])


def read_variant(root: Path, name: str) -> dict:
    """A variant's saved results: every CSV column as an array (seeds, snapshots) (tau: (seeds, snapshots, 5);
    columns the CSV lacks are nan and listed under "missing"), the snapshot steps, and its run's metrics."""
    with (root / f"{name}.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    steps = sorted({int(r["step"]) for r in rows})
    seeds = sorted({int(r["seed"]) for r in rows})
    t = {k: np.full((len(seeds), len(steps)), np.nan) for k in COLUMNS}
    for r in rows:
        for k in COLUMNS:
            if k in r:
                t[k][seeds.index(int(r["seed"])), steps.index(int(r["step"]))] = float(r[k])
    t["tau"] = np.stack([t.pop(f"tau_{k + 1}") for k in range(N_TAU)], axis=-1)
    m = read_metrics(root / name / "metrics.csv")
    return t | {"steps": steps, "metrics": m, "diverged": diverged_mask(m), "missing": [k for k in COLUMNS
                                                                                       if k not in rows[0]]}


def rewrite_summary(out: Path) -> None:
    """The run directory's summary (summary.json/.md, learning-curve plot) from its metrics.csv, keeping the
    training timing it recorded: nothing is trained."""
    record = json.loads((out / "sweep.json").read_text())
    old = out / "summary.json"
    timing = json.loads(old.read_text()).get("timing", {}) if old.exists() else {}
    write_report(out, read_metrics(out / "metrics.csv"), record["grid"], timing)


# ----------------------------------------------------------------------------------------------- statistics

def signed_rank(x: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of per-seed values x against 0 (nan with fewer than 2 nonzero ones)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x) & (x != 0)]
    return float(stats.wilcoxon(x).pvalue) if x.size >= 2 else float("nan")


def fp_vs_reward(t: dict) -> dict:
    """Per seed that did not diverge: Pearson r (and Spearman rho) of the FP distance d against reward-to-go over
    its checkpoints (the final one left out, checkpoints without a stable FP left out, at least 3 left), and the
    Wilcoxon signed-rank test of the per-seed r against 0. The checkpoints of a seed are never pooled with
    another seed's."""
    r, rho, pairs = [], [], []
    for i in np.flatnonzero(~t["diverged"]):
        d = t["fp_distance"][i, :-1]
        rtg = t["eval_return"][i, -1] - t["eval_return"][i, :-1]
        keep = np.isfinite(d)
        if keep.sum() < 3 or np.ptp(d[keep]) == 0 or np.ptp(rtg[keep]) == 0:
            continue
        r.append(stats.pearsonr(d[keep], rtg[keep]).statistic)
        rho.append(stats.spearmanr(d[keep], rtg[keep]).statistic)
        pairs.append(int(keep.sum()))
    r = np.asarray(r)
    return {"r": r, "rho": np.asarray(rho), "pairs": pairs, "p": signed_rank(r)}


def tau_trends(t: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per seed that did not diverge: the Spearman rho of tau_1 against the step over the first half of the
    snapshots (up to the middle one) and over the second half (from it); nan with fewer than 3 points."""
    steps = np.asarray(t["steps"], dtype=float)
    mid = len(steps) // 2
    halves = []
    for part in (slice(0, mid + 1), slice(mid, None)):
        rho = []
        for i in np.flatnonzero(~t["diverged"]):
            y = t["tau"][i, part, 0]
            ok = np.isfinite(y)
            enough = ok.sum() >= 3 and np.ptp(y[ok]) > 0
            rho.append(stats.spearmanr(steps[part][ok], y[ok]).statistic if enough else np.nan)
        halves.append(np.asarray(rho))
    return halves[0], halves[1]


def rise_then_fall(t: dict) -> tuple[int, int]:
    """(seeds whose tau_1 peaks strictly inside training and ends below 80% of the peak, seeds counted)."""
    tau1 = t["tau"][~t["diverged"], :, 0]
    tau1 = tau1[~np.all(np.isnan(tau1), axis=1)]
    hits = 0
    for row in tau1:
        k = int(np.nanargmax(row))
        hits += 0 < k < len(row) - 1 and row[-1] < 0.8 * row[k]
    return hits, len(tau1)


def fp_order(t: dict) -> dict:
    """First snapshot index with a stable FP at x_up and with an unstable FP at x_down per seed (inf: never),
    and the sign test of 'the stable one first' over the seeds where the two differ."""
    ok = ~t["diverged"]

    def first(flags: np.ndarray) -> np.ndarray:
        return np.asarray([np.argmax(f) if f.any() else np.inf for f in flags[ok]], dtype=float)

    up, down = first(t["fp_up_found"] > 0), first(t["n_down_unstable"] > 0)
    before, after = int(np.sum(up < down)), int(np.sum(up > down))
    p = stats.binomtest(before, before + after).pvalue if before + after else float("nan")
    return {"up": up, "down": down, "before": before, "after": after, "p": float(p)}


def paired_change(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-seed change from the first to the last snapshot of x (seeds, snapshots) and its Wilcoxon p."""
    change = x[:, -1] - x[:, 0]
    return change, signed_rank(change)


def stat(x: np.ndarray, fmt: str = ".2f") -> str:
    """IQM (95% CI) · median [IQR] over the seeds (dynjax.results.stats)."""
    return format_stats(aggregate(x), fmt)


def med(x: np.ndarray, fmt: str = ".2f") -> str:
    x = np.asarray(x, dtype=float)
    return f"{np.median(x[np.isfinite(x)]):{fmt}}" if np.isfinite(x).any() else "n/a"


# ----------------------------------------------------------------------------------------------- figures

def figures(root: Path, tables: dict, recordings: dict) -> list[str]:
    """timescales.png and (when the CSVs hold the distances) fp_distance_vs_reward_to_go.png from the saved
    numbers; policy_landscape.png and pca_ring.png from the recordings of this invocation's analysis (none when
    the tables come from the saved results). The names of the figures written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, written = list(tables), []
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        t = tables[name]
        tau = t["tau"][~t["diverged"]]
        for k in range(N_TAU):
            ax.plot(t["steps"], np.nanmedian(tau[:, :, k], axis=0), marker="o", label=f"tau_{k + 1}")
            lo, hi = np.nanpercentile(tau[:, :, k], [25, 75], axis=0)
            ax.fill_between(t["steps"], lo, hi, alpha=0.15)
        ax.set(title=name, xlabel="training step", ylabel="integration timescale (steps; median, IQR)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(root / "timescales.png", dpi=110)
    plt.close(fig)
    written.append("timescales.png")

    if all(np.isfinite(tables[n]["fp_distance"]).any() for n in names):
        fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
        for ax, name in zip(axes[0], names):
            t = tables[name]
            for i in np.flatnonzero(~t["diverged"]):
                ax.plot(t["fp_distance"][i, :-1], t["eval_return"][i, -1] - t["eval_return"][i, :-1], "o-", ms=3,
                        lw=0.6, label=f"seed {i}")
            c = fp_vs_reward(t)
            ax.set(title=f"{name}: per-seed r median {med(c['r'])}, Wilcoxon p = {format_p(c['p'])}", xlabel=
                   "|FP_up - final FP_up|", ylabel="reward-to-go")
            ax.title.set_fontsize(8)
            ax.legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(root / "fp_distance_vs_reward_to_go.png", dpi=110)
        plt.close(fig)
        written.append("fp_distance_vs_reward_to_go.png")

    if not recordings:
        return written
    v0 = recordings[names[0]]
    shown = sorted(set(np.linspace(0, len(v0["steps"]) - 1, 4).astype(int)))
    fig, axes = plt.subplots(len(names), len(shown), figsize=(3.2 * len(shown), 3.0 * len(names)), squeeze=False)
    for a, name in enumerate(names):
        v = recordings[name]
        for b, j in enumerate(shown):
            r = v["snaps"][j]
            im = axes[a][b].imshow(landscape(r["theta"], r["theta_dot"], r["torque"]), origin="lower", aspect="auto",
                                   extent=(-np.pi, np.pi, -MAX_SPEED, MAX_SPEED), cmap="coolwarm", vmin=-2, vmax=2)
            axes[a][b].set(title=f"{name}, step {v['steps'][j]:,}", xlabel="theta", ylabel="theta_dot")
    fig.colorbar(im, ax=axes, label="mean greedy torque (seeds pooled)")
    fig.savefig(root / "policy_landscape.png", dpi=110)
    plt.close(fig)

    v = recordings[names[-1]]
    fig, axes = plt.subplots(1, len(shown), figsize=(3.4 * len(shown), 3.2), squeeze=False)
    for ax, j in zip(axes[0], shown):
        r = v["snaps"][j]
        p = pca(jnp.asarray(r["h"][0]), 2)
        z = np.asarray(p.project(jnp.asarray(r["h"][0])))
        sc = ax.scatter(z[:, 0], z[:, 1], c=r["theta"][0], cmap="twilight", s=3, vmin=-np.pi, vmax=np.pi)
        if r["fp_up_found"][0]:
            f = np.asarray(p.project(jnp.asarray(r["fp_up"][0])))
            ax.scatter([f[0]], [f[1]], marker="o", s=80, facecolors="none", edgecolors="green", linewidths=2,
                       label="stable FP at x_up")
        f = np.asarray(p.project(jnp.asarray(r["fp_down"][0])))
        ax.scatter([f[0]], [f[1]], marker="x", s=60, color="red", label="FP at x_down")
        ax.set(title=f"step {v['steps'][j]:,}: ring {r['ring'][0]:.2f}", xlabel="PC 1", ylabel="PC 2")
    axes[0][0].legend(fontsize=7)
    fig.colorbar(sc, ax=axes[0][-1], label="theta")
    fig.suptitle(f"{names[-1]}, seed 0: recorded states in the top two PCs")
    fig.tight_layout()
    fig.savefig(root / "pca_ring.png", dpi=110)
    plt.close(fig)
    return written + ["policy_landscape.png", "pca_ring.png"]


# ----------------------------------------------------------------------------------------------- report

def learning_table(tables: dict) -> list[str]:
    """Final / best excluding step 0 / AUC of the evaluation return per variant, and the variants compared."""
    summ = {name: summarize(t["metrics"]) for name, t in tables.items()}
    keys = ("final", "best_excl_step0", "auc")
    lines = ["| variant | seeds | final (last 10% of evaluations) | best (excl. step 0) | AUC (mean return over "
             "training) | diverged |", "|---|---|---|---|---|---|"]
    for name, s in summ.items():
        div = ", ".join(f"seed {d['seed']} at {d['step']:,}" for d in s["diverged"]) or "0"
        lines.append(f"| {name} | {s['seeds']} | " + " | ".join(format_stats(s[k], ".0f") for k in keys)
                     + f" | {div} |")
    if len(summ) == 2:
        (a, sa), (b, sb) = summ.items()
        lines.append(f"| {a} (A) vs {b} (B) | | " + " | ".join(
            compare(sa["per_seed"][k], sb["per_seed"][k]).describe()
            for k in ("final", "best", "auc")) + " | |")
    return lines


def claims(tables: dict) -> list[str]:
    """The paper's claims, our numbers per seed, and the test across seeds."""
    lines = ["| claim (Huang et al.) | ours (per seed) | test across seeds |", "|---|---|---|"]
    for name, t in tables.items():
        ok = ~t["diverged"]
        n = int(ok.sum())
        c = fp_vs_reward(t)
        if c["r"].size:
            ours = (f"per-seed Pearson r of d vs reward-to-go (over {min(c['pairs'])}-{max(c['pairs'])} checkpoints "
                    f"each): median {med(c['r'])} [{np.percentile(c['r'], 25):.2f}, {np.percentile(c['r'], 75):.2f}],"
                    f" > 0 in {int(np.sum(c['r'] > 0))}/{c['r'].size} seeds; per-seed Spearman rho median "
                    f"{med(c['rho'])}")
            test = f"Wilcoxon signed-rank, per-seed r vs 0: p = {format_p(c['p'])} ({c['r'].size} seeds)"
        elif "fp_distance" in t["missing"]:
            ours = ("per-seed Pearson r: not in the saved results (this CSV predates the per-checkpoint FP "
                    "distances; they need the snapshots, i.e. a new training run)")
            test = "n/a"
        else:
            ours, test = "per-seed Pearson r: n/a (fewer than 3 checkpoints with a stable FP per seed)", "n/a"
        lines.append(f"| {name}: the stable FP's proximity to the goal correlates with reward-to-go (significant, "
                     f"5 seeds) | {ours} | {test} |")

        rise, fall = tau_trends(t)
        hits, counted = rise_then_fall(t)
        tau1 = np.nanmedian(t["tau"][ok, :, 0], axis=0)
        mid = len(t["steps"]) // 2
        lines.append(
            f"| {name}: top-5 timescales first rise, then fall (explore then compress) | median tau_1 "
            f"{tau1[0]:.2f} at step 0, {tau1[mid]:.2f} at step {t['steps'][mid]:,}, {tau1[-1]:.2f} at step "
            f"{t['steps'][-1]:,}; per-seed Spearman trend of tau_1: first half median {med(rise, '+.2f')}, second "
            f"half median {med(fall, '+.2f')}; tau_1 peaks inside training and ends below 80% of its peak in "
            f"{hits}/{counted} seeds | Wilcoxon signed-rank of the per-seed trends vs 0: first half p = "
            f"{format_p(signed_rank(rise))}, second half p = {format_p(signed_rank(fall))} |")

        o = fp_order(t)
        down = ", ".join("never" if not np.isfinite(k) else f"{t['steps'][int(k)]:,}" for k in o["down"])
        lines.append(
            f"| {name}: a stable FP (upright) emerges first, an unstable FP (hanging) later | stable FP at x_up "
            f"already at step 0 in {int(np.sum(o['up'] == 0))}/{n} seeds; first snapshot with an unstable FP at "
            f"x_down: {down} | sign test, stable FP first in {o['before']} of the {o['before'] + o['after']} seeds "
            f"where the two differ: p = {format_p(o['p'])} |")
        if name == "angle-only":
            ring, p_ring = paired_change(t["ring"][ok])
            var2, p_var = paired_change(t["pc2_var"][ok])
            lines.append(
                f"| angle-only: training prunes the dynamics into a ring coding theta | median ring score "
                f"{med(t['ring'][ok, 0])} at step 0 -> {med(t['ring'][ok, -1])} at the end (the cos/sin input makes "
                f"the top-2 PC plane a ring from the start), per-seed change median {med(ring, '+.2f')}; variance "
                f"share of that plane {med(t['pc2_var'][ok, 0])} -> {med(t['pc2_var'][ok, -1])}, per-seed change "
                f"median {med(var2, '+.2f')} | Wilcoxon signed-rank, end vs start: ring score p = "
                f"{format_p(p_ring)}, variance share p = {format_p(p_var)} |")

    claim = "| training sharpens the policy landscape, more for fully observed | "
    if any("sharpness" in t["missing"] for t in tables.values()):
        lines.append(claim + "per-seed sharpness: not in the saved results (this CSV predates it; it needs the "
                             "recordings, i.e. a new training run) | n/a |")
    else:
        change = {name: paired_change(t["sharpness"][~t["diverged"]]) for name, t in tables.items()}
        ours = "; ".join(f"{name}: median {med(t['sharpness'][~t['diverged'], 0])} -> "
                         f"{med(t['sharpness'][~t['diverged'], -1])}" for name, t in tables.items())
        test = "; ".join(f"{name} end vs start: Wilcoxon p = {format_p(p)}" for name, (_, p) in change.items())
        if len(change) == 2:
            (a, (ca, _)), (b, (cb, _)) = change.items()
            test += f"; change, {a} (A) vs {b} (B): {compare(ca, cb).describe()}"
        lines.append(claim + f"policy sharpness (mean abs(torque) / 2 over the visited bins, per seed) {ours} | "
                             f"{test} |")
    return lines


def report(tables: dict, saved: list[str], wall: float) -> str:
    t0 = next(iter(tables.values()))
    seeds, steps = t0["eval_return"].shape[0], t0["steps"][-1]
    n_points = t0["metrics"]["eval_return"].shape[1]
    k = final_points(n_points)
    source = (f"Regenerated from the saved per-seed results of {', '.join(saved)} (<variant>.csv and "
              "<variant>/metrics.csv): nothing was trained or analysed in this invocation; policy_landscape.png "
              "and pca_ring.png need the recordings and are those of the last analysis." if saved else
              "Trained (or reused finished runs) and analysed in this invocation.")
    missing = sorted({k for t in tables.values() for k in t["missing"]})
    if missing:
        source += (" The saved CSVs predate " + " and ".join(NEEDS_RECORDINGS[k] for k in missing)
                   + ", which need the snapshots (not kept in git, so a new training run): those entries read n/a.")
    lines = ["# Study 1: learning dynamics of recurrent Pendulum controllers (Huang, Singh & Rajan 2024)", "",
             f"`ppo-rnn --preset huang`, {seeds} seeds per variant, {steps:,} environment steps (100 updates of "
             f"1,024 steps in the full run), a snapshot every 10 updates; 1,000-step closed-loop recordings (greedy "
             f"policy). {source} {wall:.0f} s wall for this invocation on {os.cpu_count()} CPU core(s), JAX "
             f"{jax.__version__} ({jax.default_backend()}). Per-seed numbers: huang_pendulum/*.csv. Method details "
             "and the tests: benchmarks/huang_pendulum.py.", "",
             "## Learning curves", "",
             f"Evaluation return per seed ({n_points} evaluations with step 0): final = mean of the last 10% of the "
             f"evaluations after step 0 (here the last {k}, from step {t0['metrics']['step'][0, -k]:,}), best = the "
             "best evaluation excluding the untrained step 0 (what papers report), AUC = mean return over training "
             "(trapezoid). "
             "Each cell: IQM (95% bootstrap CI) · median [q25, q75] over the seeds. The last row compares the "
             "variants by the Mann-Whitney U test of the per-seed scores (P(A > B): probability of improvement).", ""]
    lines += learning_table(tables)
    lines += ["", "## Over training", "",
              "Per snapshot: IQM (95% bootstrap CI) · median [q25, q75] over the seeds; FP rows: seeds with such a "
              "fixed point. Policy sharpness: mean abs(torque) / 2 over the visited bins of each seed's recording; "
              "FP distance: |FP_up - final FP_up|.", "",
              "| variant | step | eval return | stable FP at x_up | unstable FP at x_down | tau_1 | tau_5 | "
              "ring score | top-2 PC variance | policy sharpness | FP distance |", "|---" * 11 + "|"]
    for name, t in tables.items():
        ok = ~t["diverged"]
        n = int(ok.sum())
        for j, step in enumerate(t["steps"]):
            lines.append(f"| {name} | {step:,} | {stat(t['eval_return'][ok, j], '.0f')} | "
                         f"{int(np.sum(t['fp_up_found'][ok, j] > 0))}/{n} | "
                         f"{int(np.sum(t['n_down_unstable'][ok, j] > 0))}/{n} | {stat(t['tau'][ok, j, 0])} | "
                         f"{stat(t['tau'][ok, j, -1])} | {stat(t['ring'][ok, j])} | {stat(t['pc2_var'][ok, j])} | "
                         f"{stat(t['sharpness'][ok, j])} | {stat(t['fp_distance'][ok, j])} |")
    lines += ["", "## Claims of the paper beside ours", "",
              "Seeds are the unit of every test (never the pooled checkpoints of one network); two-sided tests.", ""]
    lines += claims(tables) + [""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--from-saved", action="store_true",
                    help="regenerate the tables from the saved <variant>.csv and metrics.csv only (no training)")
    ap.add_argument("--out", type=Path, default=None, help="results root (default benchmarks/results/huang_pendulum)")
    args = ap.parse_args()
    seeds = 2 if args.quick else args.seeds
    root = args.out or RESULTS / ("huang_pendulum_quick" if args.quick else "huang_pendulum")
    root.mkdir(parents=True, exist_ok=True)
    config = dict(total_steps=4096, eval_every=2048, num_envs=4, num_steps=64) if args.quick else {}
    t0 = time.perf_counter()
    tables, recordings, saved = {}, {}, []
    for name in args.variants:
        out, csv_path = root / name, root / f"{name}.csv"
        if args.from_saved or (csv_path.exists() and not (out / "checkpoints").exists()):
            if not csv_path.exists():
                raise SystemExit(f"--from-saved: {csv_path} does not exist")
            rewrite_summary(out)
            saved.append(name)
        else:
            spec = spec_from_dict({"algo": "ppo-rnn", "preset": "huang", "seeds": seeds,
                                   "config": dict(config, obs_mask=VARIANTS[name])})
            run_cell(spec, out, snapshot_every=1)
            recordings[name] = analyse_variant(out, seeds)
            write_csv(csv_path, name, recordings[name])
        tables[name] = read_variant(root, name)
        print(f"[huang] {name} done at {time.perf_counter() - t0:.0f}s ({'saved' if name in saved else 'analysed'})",
              flush=True)
    figures(root, tables, recordings if len(recordings) == len(tables) else {})
    md = report(tables, saved, time.perf_counter() - t0)
    (root.parent / f"{root.name}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()

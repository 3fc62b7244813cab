"""Study 1: learning dynamics and geometry of recurrent Pendulum controllers (Huang, Singh & Rajan 2024).

Agents: `ppo-rnn --preset huang` (64-unit vanilla tanh RNN, 64-unit tanh policy and value heads, PPO, 100
updates of 1,024 environment steps), fully observable (cos theta, sin theta, theta_dot) and angle-only
(cos theta, sin theta), S seeds each vmapped in one program; the sweep runner keeps every learner's state
at every evaluation point (every 10 updates: 11 snapshots with the initial one). Per snapshot and seed, with
learning frozen (dynjax.analysis, the agent's greedy closed loop `learner.closed_loop`):

- recording: 1,000 closed-loop steps (5 episodes) from a fresh episode, as in the paper;
- policy landscape: the greedy torque (clipped to +-2) averaged in bins of the visited (theta, theta_dot), pooled
  over seeds (the recurrent policy depends on its history, so the landscape is read off the closed loop), at
  four training points; sharpness = mean over visited bins of |torque| / 2 (1: bang-bang);
- fixed points of the RNN at the input of the upright, resting pendulum x_up (theta = 0, theta_dot = 0; what
  the network sees while balancing) and of the hanging one x_down (theta = pi), from 128 recorded states
  (Sussillo & Barak; tol_q 1e-9 in float32); the stable point at x_up is "the stable FP";
- its distance to the goal: d = |FP_up(checkpoint) - FP_up(final)| (the paper's "proximity of the FP to its
  final state"; pairs where either is missing are left out) against reward-to-go = R(final) - R(checkpoint)
  (R: the evaluation return at that point; the final checkpoint itself, where both are 0 by construction, is
  left out), Pearson r with its p-value over all (seed, checkpoint) pairs, and the per-seed Spearman rho;
- top-5 integration timescales tau_i = |1 / ln|lambda_i|| of dF/dh averaged over 100 points of the recording
  (dynjax.analyse.recorded_timescales); "rise then fall": tau_1 peaks strictly inside training and ends
  below 80% of its peak;
- ring: PCA of the recorded states (top 2 components), phi = angle in that plane; ring score =
  max(|mean exp(i(phi - theta))|, |mean exp(i(phi + theta))|) (1: the plane codes theta as a circle).

Outputs: benchmarks/results/huang_pendulum.md (tables, the paper's claims beside ours),
benchmarks/results/huang_pendulum/*.png and <variant>.csv (raw numbers per seed and snapshot), and the run directories
(metrics, learning curves) under benchmarks/results/huang_pendulum/<variant>/.

    python benchmarks/huang_pendulum.py             # 8 seeds x 102,400 steps per variant
    python benchmarks/huang_pendulum.py --quick     # 2 seeds, 3 snapshots of a short run: a pipeline check
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from common import quartiles, run_cell
from dynjax.analyse import recorded_timescales
from dynjax.analysis import find_fixed_points, pca
from dynjax.analysis.closed_loop import flat_step, record
from dynjax.results import read_metrics
from dynjax.sweep import spec_from_dict
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


def analyse_variant(out: Path, seeds: int) -> dict:
    """Run the study's measurements over every snapshot of one variant's run."""
    algo, (unit,) = snapshot_units(out)
    learner = make_unit_learner(algo, unit)
    run = jax.jit(jax.vmap(lambda s, k: study_network(learner, s, k)))
    keys = jax.random.split(jax.random.key(1), seeds)
    snaps = []
    for chunk, step in zip(unit.chunks, unit.steps):
        r = jax.device_get(run(load_snapshot(learner, unit, chunk), keys))
        r["ring"], r["pc2_var"] = np.asarray([ring_score(r["h"][i], r["theta"][i]) for i in range(seeds)]).T
        snaps.append((step, r))
    m = read_metrics(out / "metrics.csv")
    steps = list(m["step"][0])
    ret = np.stack([m["eval_return"][:, steps.index(s)] for s, _ in snaps], axis=1)  # (seeds, snapshots)
    return {"steps": [s for s, _ in snaps], "snaps": [r for _, r in snaps], "ret": ret,
            "diverged": m["diverged"][:, -1].astype(bool)}


def fp_vs_reward(v: dict) -> dict:
    """Distance of the stable FP at x_up to its final position vs reward-to-go (see the module doc)."""
    final = v["snaps"][-1]
    d, rtg, seed_rho = [], [], []
    for i in range(v["ret"].shape[0]):
        if not final["fp_up_found"][i] or v["diverged"][i]:
            continue
        di, ri = [], []
        for j, r in enumerate(v["snaps"][:-1]):
            if r["fp_up_found"][i]:
                di.append(float(np.linalg.norm(r["fp_up"][i] - final["fp_up"][i])))
                ri.append(float(v["ret"][i, -1] - v["ret"][i, j]))
        d += di
        rtg += ri
        if len(di) >= 3:
            seed_rho.append(stats.spearmanr(di, ri).statistic)
    out = {"pairs": len(d), "d": np.asarray(d), "rtg": np.asarray(rtg), "seed_rho": np.asarray(seed_rho)}
    out["r"], out["p"] = stats.pearsonr(d, rtg) if len(d) >= 3 else (np.nan, np.nan)
    return out


def rise_then_fall(v: dict) -> tuple[int, int, list[float]]:
    """(seeds whose tau_1 peaks strictly inside training and ends below 80% of the peak, seeds, peak steps)."""
    tau1 = np.stack([r["tau"][:, 0] for r in v["snaps"]], axis=1)
    hits, peaks = 0, []
    for row in tau1[~v["diverged"] & ~np.all(np.isnan(tau1), axis=1)]:
        k = int(np.nanargmax(row))
        peaks.append(v["steps"][k])
        hits += 0 < k < len(row) - 1 and row[-1] < 0.8 * row[k]
    return hits, len(tau1), peaks


def write_csv(path: Path, name: str, v: dict) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "seed", "step", "eval_return", "fp_up_found", "n_up_stable", "n_up_unstable",
                    "n_down_stable", "n_down_unstable", "ring", "pc2_var"] + [f"tau_{k + 1}" for k in range(N_TAU)])
        for j, (step, r) in enumerate(zip(v["steps"], v["snaps"])):
            for i in range(v["ret"].shape[0]):
                w.writerow([name, i, step, f"{v['ret'][i, j]:.2f}", int(r["fp_up_found"][i]), int(r["n_up_stable"][i]),
                            int(r["n_up_unstable"][i]), int(r["n_down_stable"][i]), int(r["n_down_unstable"][i]),
                            f"{r['ring'][i]:.4f}", f"{r['pc2_var'][i]:.4f}"] + [f"{t:.3f}" for t in r["tau"][i]])


def figures(root: Path, results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    v0 = results[names[0]]
    shown = sorted(set(np.linspace(0, len(v0["steps"]) - 1, 4).astype(int)))
    fig, axes = plt.subplots(len(names), len(shown), figsize=(3.2 * len(shown), 3.0 * len(names)), squeeze=False)
    for a, name in enumerate(names):
        v = results[name]
        for b, j in enumerate(shown):
            r = v["snaps"][j]
            im = axes[a][b].imshow(landscape(r["theta"], r["theta_dot"], r["torque"]), origin="lower", aspect="auto",
                                   extent=(-np.pi, np.pi, -MAX_SPEED, MAX_SPEED), cmap="coolwarm", vmin=-2, vmax=2)
            axes[a][b].set(title=f"{name}, step {v['steps'][j]:,}", xlabel="theta", ylabel="theta_dot")
    fig.colorbar(im, ax=axes, label="mean greedy torque")
    fig.savefig(root / "policy_landscape.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        c = fp_vs_reward(results[name])
        ax.scatter(c["d"], c["rtg"], s=12)
        ax.set(title=f"{name}: r = {c['r']:.2f} (p = {c['p']:.1e})", xlabel="|FP_up - final FP_up|",
               ylabel="reward-to-go")
    fig.tight_layout()
    fig.savefig(root / "fp_distance_vs_reward_to_go.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        v = results[name]
        tau = np.stack([r["tau"] for r in v["snaps"]], axis=1)  # (seeds, snapshots, 5)
        for k in range(N_TAU):
            med = np.nanmedian(tau[:, :, k], axis=0)
            lo, hi = np.nanpercentile(tau[:, :, k], [25, 75], axis=0)
            ax.plot(v["steps"], med, marker="o", label=f"tau_{k + 1}")
            ax.fill_between(v["steps"], lo, hi, alpha=0.15)
        ax.set(title=name, xlabel="training step", ylabel="integration timescale (steps)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(root / "timescales.png", dpi=110)
    plt.close(fig)

    v = results[names[-1]]
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


def report(results: dict, seeds: int, steps: int, wall: float) -> str:
    lines = ["# Study 1: learning dynamics of recurrent Pendulum controllers (Huang, Singh & Rajan 2024)", "",
             f"`ppo-rnn --preset huang`, {seeds} seeds per variant, {steps:,} environment steps (100 updates of "
             f"1,024 steps in the full run), a snapshot every 10 updates; 1,000-step closed-loop recordings (greedy "
             f"policy); {wall / 60:.1f} min wall for this invocation (finished training runs are reused) on "
             f"{os.cpu_count()} CPU core(s), JAX {jax.__version__} ({jax.default_backend()}). Per-seed numbers: "
             "huang_pendulum/*.csv. "
             "Method details: benchmarks/huang_pendulum.py.", "",
             "## Over training (median [IQR] over seeds)", "",
             "| variant | step | eval return | stable FP at x_up | unstable FP at x_down | tau_1 | tau_5 | "
             "ring score | top-2 PC variance | policy sharpness |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, v in results.items():
        for j, (step, r) in enumerate(zip(v["steps"], v["snaps"])):
            sharp = np.nanmean(np.abs(landscape(r["theta"], r["theta_dot"], r["torque"]))) / TORQUE
            lines.append(f"| {name} | {step:,} | {quartiles(v['ret'][:, j], '.0f')} | "
                         f"{int(np.sum(r['fp_up_found']))}/{seeds} | {int(np.sum(r['n_down_unstable'] > 0))}/{seeds} | "
                         f"{quartiles(r['tau'][:, 0], '.2f')} | {quartiles(r['tau'][:, -1], '.2f')} | "
                         f"{quartiles(r['ring'], '.2f')} | {quartiles(r['pc2_var'], '.2f')} | {sharp:.2f} |")
    lines += ["", "## Claims of the paper beside ours", "",
              "| claim (Huang et al.) | ours |", "|---|---|"]
    sharp = {name: [np.nanmean(np.abs(landscape(r["theta"], r["theta_dot"], r["torque"]))) / TORQUE
                    for r in v["snaps"]] for name, v in results.items()}
    for name, v in results.items():
        c = fp_vs_reward(v)
        hits, n, peaks = rise_then_fall(v)
        tau1 = [float(np.nanmedian(r["tau"][:, 0])) for r in v["snaps"]]
        k = int(np.argmax(tau1))
        first_up = [next((s for s, r in zip(v["steps"], v["snaps"]) if r["fp_up_found"][i]), None) for i in range(n)]
        first_down = [next((s for s, r in zip(v["steps"], v["snaps"]) if r["n_down_unstable"][i] > 0), None)
                      for i in range(n)]
        lines += [
            f"| {name}: the stable FP's proximity to the goal correlates with reward-to-go (significant, 5 seeds) | "
            f"Pearson r = {c['r']:.2f}, p = {c['p']:.2g} over {c['pairs']} (seed, checkpoint) pairs; per-seed Spearman "
            f"rho median {np.median(c['seed_rho']) if c['seed_rho'].size else float('nan'):.2f} |",
            f"| {name}: top-5 timescales first rise, then fall (explore then compress) | median tau_1 {tau1[0]:.2f} at "
            f"the start, {min(tau1):.2f} at its lowest, peak {tau1[k]:.2f} at step {v['steps'][k]:,}, {tau1[-1]:.2f} at the "
            f"end; per seed, tau_1 peaks inside training and ends below 80% of its peak in {hits}/{n} seeds (peak steps "
            f"{', '.join(f'{p:,}' for p in peaks)}) |",
            f"| {name}: a stable FP (upright) emerges first, an unstable FP (hanging) later | first snapshot with a "
            f"stable FP at x_up: {', '.join('never' if s is None else f'{s:,}' for s in first_up)}; with an unstable "
            f"FP at x_down: {', '.join('never' if s is None else f'{s:,}' for s in first_down)} |"]
        if name == "angle-only":
            ring = [float(np.median(r["ring"])) for r in v["snaps"]]
            var2 = [float(np.median(r["pc2_var"])) for r in v["snaps"]]
            lines.append(f"| angle-only: training prunes the dynamics into a ring coding theta | median ring score "
                         f"{ring[0]:.2f} -> {ring[-1]:.2f} (the cos/sin input makes the top-2 PC plane a ring from the "
                         f"start); variance share of that plane {var2[0]:.2f} -> {var2[-1]:.2f}; pca_ring.png |")
    lines += ["| training sharpens the policy landscape, more for fully observed | policy sharpness (mean abs(torque) / 2 "
              "over visited bins) " + "; ".join(f"{k}: {s[0]:.2f} -> {s[-1]:.2f}" for k, s in sharp.items())
              + "; policy_landscape.png |", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="results root (default benchmarks/results/huang_pendulum)")
    args = ap.parse_args()
    seeds = 2 if args.quick else args.seeds
    root = args.out or RESULTS / ("huang_pendulum_quick" if args.quick else "huang_pendulum")
    root.mkdir(parents=True, exist_ok=True)
    config = dict(total_steps=4096, eval_every=2048, num_envs=4, num_steps=64) if args.quick else {}
    t0 = time.perf_counter()
    results = {}
    for name in args.variants:
        mask = VARIANTS[name]
        spec = spec_from_dict({"algo": "ppo-rnn", "preset": "huang", "seeds": seeds,
                               "config": dict(config, obs_mask=mask)})
        out = root / name
        run_cell(spec, out, snapshot_every=1)
        results[name] = analyse_variant(out, seeds)
        write_csv(root / f"{name}.csv", name, results[name])
        print(f"[huang] {name} done at {time.perf_counter() - t0:.0f}s", flush=True)
    figures(root, results)
    steps = results[next(iter(results))]["steps"][-1]
    md = report(results, seeds, steps, time.perf_counter() - t0)
    (root.parent / f"{root.name}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()

"""Does a local sensitivity change move the global Lyapunov exponent? Claim (7) of the Dynamic RL table.

The seed of Dynamic RL (Shibata 2025, arXiv 2502.10200; Shibata et al. 2021 for sensitivity) rests on the
premise that the per-neuron sensitivity s_j = f'(U_j) ||w_j|| is a local handle on the chaos of the whole
agent-environment loop: raising it (SAL, or SRL after a negative TD error) should raise the loop's largest
Lyapunov exponent (explore), lowering it (SRL after a positive TD error) should lower it (converge). This
study measures that directly. From each of S freshly initialised actors (the table's 200 + 100 MTRNN, at
spectral radius 3.0 and 1.5), a *sensitivity step of scale c* is

    T steps of the agent in its task, every actor neuron j (outputs included) updated each step by
        w_j += c * eta * grad_w s_j,  b_j += c * eta * d s_j / d b_j        (SAL's rule with its gate open)

i.e. SAL with s_th = inf on every layer, eta_SAL = c * eta (eta = the table's 1e-3), SRL and the output
regulariser off, the critic untouched. c > 0 raises every neuron's sensitivity (SAL's direction), c < 0
lowers it (SRL's direction for a positive TD error), c = 0 leaves the actor as initialised. Then, with
learning frozen, the closed loop's exploration exponent (the agent's own probe: the finite-time largest
Lyapunov exponent of actor + environment, float64, from a fresh episode; the same episode for every c of a
network) and the layers' log-RMS sensitivities along it.

Reported (benchmarks/results/dynamic_rl_sensitivity_scale.md; in the folder of that name summary.json, read
by the Dynamic RL table, and exponent_vs_scale.png): per
radius and scale the median [q25, q75] over the networks of the exponent and of the mean log-RMS sensitivity;
per network the Spearman correlation rho of the exponent with c (is the exponent monotone in the step?); and
the test, networks as the unit: the Wilcoxon signed-rank test of the networks' rho against 0
(dynjax.results.stats.paired_change). Reproduced when rho is significantly positive at both radii; the
exponent at the smallest, zero and largest scale are quoted beside it, so a curve that rises on one side of
c = 0 only is visible.

    python benchmarks/dynamic_rl_sensitivity_scale.py            # 16 networks x 11 scales x 2 radii, T = 1,000
    python benchmarks/dynamic_rl_sensitivity_scale.py --quick    # tiny networks: a pipeline check only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX

import jax
import jax.numpy as jnp
import numpy as np

from common import median_iqr_errorbar, pyplot, save_figure, write_table
from dynjax.agents import ALGORITHMS
from dynjax.agents.dynamic_rl import LAYERS, DynamicRLConfig, make_learner
from dynjax.results.stats import aggregate, format_p, paired_change

RESULTS = Path(__file__).resolve().parent / "results"
SCALES = (-1.0, -0.3, -0.1, -0.03, -0.01, 0.0, 0.01, 0.03, 0.1, 0.3, 1.0)  # log-spaced on both sides of 0
RADII = (3.0, 1.5)
ETA = 1e-3  # the table's eta_SAL
QUICK_FIELDS = dict(n_lower=12, n_upper=6, critic_hidden=8, exponent_segments=5)


def measure(config: DynamicRLConfig, radius: float, scales: np.ndarray, networks: int, steps: int,
            seed: int) -> dict[str, np.ndarray]:
    """Exponent and mean log-RMS sensitivity, shape (networks, scales), after a sensitivity step of each scale
    from each network's initialisation (one vmapped program over networks x scales)."""
    learner = make_learner(config)
    base = config.hparams._replace(radius=radius, s_th=jnp.inf, eta_srl=0.0, eta_reg=0.0)

    def one(key, c):
        s = learner.init(key, base._replace(eta_sal=c * ETA))
        s = jax.lax.fori_loop(0, steps, lambda _, st: learner.step(st)[0], s)
        d = learner.diagnostics(s)
        return d["exploration_exponent"], jnp.mean(jnp.stack([d[f"log_rms_s_{n}"] for n in LAYERS]))

    keys = jax.random.split(jax.random.key(seed), networks)
    run = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None)))
    exponent, log_s = jax.block_until_ready(run(keys, jnp.asarray(scales)))
    return {"exponent": np.asarray(exponent, float), "log_rms_s": np.asarray(log_s, float)}


def spearman_per_network(scales: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row of y (networks, scales): Spearman's rho of y with the scales (nan for a constant row)."""
    from scipy.stats import spearmanr

    return np.array([spearmanr(scales, row).statistic if np.ptp(row) > 0 else np.nan for row in y])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1_000, help="T: the steps of one sensitivity step")
    ap.add_argument("--task", default="slider-crank")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    networks, steps = (2, 64) if args.quick else (args.networks, args.steps)
    root = args.out or RESULTS / ("dynamic_rl_sensitivity_scale_quick" if args.quick else "dynamic_rl_sensitivity_scale")
    scales = np.asarray(SCALES)
    config = dataclasses.replace(DynamicRLConfig(env_id=args.task, sal=True, sal_output=True),
                                 **(QUICK_FIELDS if args.quick else {}))
    t0 = time.time()
    with jax.enable_x64(ALGORITHMS["dynamic-rl"].float64):
        results = {r: measure(config, r, scales, networks, steps, args.seed) for r in RADII}

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    rows = ["| radius | scale c | exponent | mean log-RMS sensitivity |", "|---|---|---|---|"]
    tests, summary = [], {}
    for r, res in results.items():
        ex, ls = res["exponent"], res["log_rms_s"]
        st_e = [aggregate(ex[:, k]) for k in range(len(scales))]
        st_s = [aggregate(ls[:, k]) for k in range(len(scales))]
        median_iqr_errorbar(axes[0], scales, st_s, f"radius {r:g}")
        median_iqr_errorbar(axes[1], scales, st_e, f"radius {r:g}")
        rows += [f"| {r:g} | {c:g} | {e['median']:.4f} [{e['q25']:.4f}, {e['q75']:.4f}] | "
                 f"{s_['median']:.3f} [{s_['q25']:.3f}, {s_['q75']:.3f}] |" for c, e, s_ in zip(scales, st_e, st_s)]
        rho = spearman_per_network(scales, ex)
        pc = paired_change(np.zeros_like(rho), rho)
        tests.append((r, pc, rho))
        summary[str(r)] = {"exponent": ex.round(6).tolist(), "log_rms_s": ls.round(5).tolist(),
                           "rho": [None if not np.isfinite(x) else round(float(x), 4) for x in rho],
                           "p_value": pc.p_value, "median_change": pc.median, "verdict": pc.verdict()}
    axes[0].set(xlabel="scale c of the sensitivity step", ylabel="mean log-RMS sensitivity (local)")
    axes[1].set(xlabel="scale c of the sensitivity step", ylabel="exploration exponent (global, per step)")
    axes[1].axhline(0.0, color="grey", lw=0.8)
    for ax in axes:
        ax.set_xscale("symlog", linthresh=0.01)  # the scales are log-spaced on both sides of 0
        ax.legend()
    fig.suptitle(f"{args.task}: a sensitivity step of scale c (T = {steps:,} steps) from initialisation, "
                 f"{networks} networks")
    save_figure(fig, root / "exponent_vs_scale.png")

    zero = int(np.argmin(np.abs(scales)))

    def at(r, k):
        return np.median(np.asarray(summary[str(r)]["exponent"])[:, k])

    def peak(r):
        med = np.median(np.asarray(summary[str(r)]["exponent"]), axis=0)
        return scales[int(np.argmax(med))], float(med.max())

    evidence = "; ".join(f"radius {r:g}: median exponent {at(r, 0):.4f} at c = {scales[0]:g}, {at(r, zero):.4f} at "
                         f"0, {at(r, -1):.4f} at c = {scales[-1]:g}, highest ({peak(r)[1]:.4f}) at c = {peak(r)[0]:g}; "
                         f"per-network Spearman rho (exponent, c) median {np.nanmedian(rho):.2f}" for r, _, rho in tests)
    test = "; ".join(f"radius {r:g}: Wilcoxon signed-rank of rho against 0, {pc.n} networks, p = "
                     f"{format_p(pc.p_value)}" for r, pc, _ in tests)
    reproduced = all(pc.verdict() == "rises" for _, pc, _ in tests)
    word = {"rises": "rho > 0", "falls": "rho < 0", "no significant change": "rho ~ 0"}
    verdict = "reproduced" if reproduced else "not reproduced (" + ", ".join(
        f"radius {r:g}: {word[pc.verdict()]}" for r, pc, _ in tests) + ")"
    record = {"task": args.task, "networks": networks, "steps": steps, "scales": list(scales), "eta": ETA,
              "evidence": evidence, "test": test, "verdict": verdict, "radii": summary}
    (root / "summary.json").write_text(json.dumps(record, indent=1) + "\n")
    title = "# Dynamic RL: a local sensitivity step and the global Lyapunov exponent" + (
        " (quick pipeline check, not a result)" if args.quick else "")
    lines = [title, "", f"{args.task}; {networks} freshly initialised {config.n_lower} + {config.n_upper} MTRNN actors per radius (seeds "
             f"{args.seed}..); a sensitivity step of scale c = T = {steps:,} steps of SAL with its gate open on "
             f"every neuron at eta_SAL = c x {ETA:g}, SRL and the regulariser off; then the closed loop's "
             "exploration exponent with learning frozen (benchmarks/dynamic_rl_sensitivity_scale.py). Median "
             "[q25, q75] over the networks.", "", *rows, "",
             f"**Verdict: {verdict}.** {evidence}. Test: {test} (networks as the unit).", "", f"![exponent vs scale]({root.name}/exponent_vs_scale.png)", "",
             f"Wall time: {time.time() - t0:.0f} s."]
    write_table(root, lines)


if __name__ == "__main__":
    main()

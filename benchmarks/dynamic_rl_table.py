"""Dynamic RL vs conventional BPTT RL on sequential navigation and slider-crank: the paper's claims tested.

Shibata (2025, arXiv 2502.10200) claims that Dynamic RL (a chaotic MTRNN actor trained through sensitivity:
SAL + TD-error-driven SRL, no BPTT, no exploration noise) reaches comparable or better success than the same
actor trained by BPTT with exploration noise, recovers faster when the two action channels are swapped
mid-training, over-converges without SAL, and needs the chaotic start (spectral radius 3.0 vs 1.5). This script
runs, per task, S seeds (vmapped, one program per agent) of:

    Dynamic RL               dynjax train dynamic-rl (defaults: 200 + 100 neurons, radius 3.0, SAL on; constants
                             from benchmarks/dynamic_rl_search.py, on seeds the table does not use)
    Dynamic RL, no SAL       --no-sal (the paper's condition A-2)
    Dynamic RL, no SRL       --eta-srl 0 (the seed's next check: SAL alone, no TD-driven change)
    Dynamic RL, radius r     --radius r for r in 1.0, 1.5, 2.0 (with the default 3.0: the chaos curve)
    MTRNN-BPTT               dynjax train mtrnn-bptt: the paper's comparator, the same MTRNN actor and critic,
                             exploration noise on the outputs, the output pulled toward the taken action by
                             the TD error, gradients by truncated BPTT (constants: benchmarks/dynamic_rl_search.py)
    PPO-MTRNN (BPTT)         dynjax train ppo-rnn --preset dynamic-rl (the same MTRNN, linear heads, Gaussian
                             noise): an extra column, not the paper's comparator

The ablations run on --ablation-tasks (slider-crank by default, where Dynamic RL learns), PPO-MTRNN on
--extra-tasks (slider-crank by default). For the output swap (on --swap-tasks, slider-crank by default: the
swap needs a learned skill to disrupt), Dynamic RL and MTRNN-BPTT (PPO-MTRNN too when named in --swap-agents)
train --swap-steps (default: --steps) before hparams.swap_at and as many after it, all at a constant learning
rate (PPO's annealing is off in a swap cell: it would reach zero over the doubled run and learn after the
swap at under half strength). On this 2-core CPU a 1M-step cell of 16 seeds takes about 4 min for Dynamic RL
and 15-20 min for MTRNN-BPTT and PPO-MTRNN (BPTT through the 300-neuron MTRNN).

Reported (benchmarks/results/dynamic_rl_table.md, figures in benchmarks/results/dynamic_rl/): per seed, then
over the seeds that did not diverge as IQM (95% bootstrap CI) · median [q25, q75] (dynjax.results.stats):
- the paper's claims (1)-(7), each with its evidence, a stated test (seeds as the unit) and a verdict computed
  from them (`claims`; (7) from benchmarks/dynamic_rl_sensitivity_scale.py's results beside this table);
- success (the share of 10 evaluation episodes that complete the task; Dynamic RL acts deterministically, PPO
  samples): final success = mean of the last 10% of the evaluations after step 0; the steps until the first
  evaluation after step 0 with any success and with >= 50% success (over the seeds that reach it, counted);
- evaluation return: final (last 10%), best excluding the untrained step 0, and the area under the learning
  curve (AUC: the mean return over training);
- sensitivity-trained variants: the exploration exponent and the fraction of saturated outputs at step 0 and
  final (last 10%) (their curves are plotted too);
- output swap: success before the swap (mean of the last two evaluations before swap_at; the evaluation at
  swap_at already acts swapped), final success, and the recovery: steps from swap_at until an evaluation's
  success is back to 80% of the pre-swap level (seeds with no pre-swap success are not counted);
- comparisons, seeds as the unit: every variant against Dynamic RL on the same task, and the swap cells:
  two-sided Mann-Whitney U test (p, not corrected for the number of comparisons) and the probability of
  improvement P(A > B) (dynjax.results.stats.compare);
- the throughput of Dynamic RL's 300-neuron actor in seed-steps/s beside RTRRL (32-unit CT-RNN, RFLO) and
  PPO-MTRNN (--keep-throughput copies the rows of the existing table instead of measuring again).

    python benchmarks/dynamic_rl_table.py                 # 16 seeds x 1M steps per cell (swap: 1M + 1M)
    python benchmarks/dynamic_rl_table.py --quick --tasks slider-crank   # tiny nets, 2 seeds: pipeline check only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from functools import partial
from pathlib import Path

import jax
import numpy as np

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

from common import run_cell, slug
from dynjax.agents import ALGORITHMS, driver
from dynjax.results.metrics import diverged_mask, plot_learning_curves, read_metrics
from dynjax.results.stats import (aggregate, compare, curve_scores, final_points, format_p, format_stats, paired_change,
                                  steps_to_reach)
from dynjax.sweep import resolve, spec_from_dict

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = ("slider-crank", "seq-nav")
AGENTS = {  # label -> (algorithm, preset, config fields, hparams)
    "Dynamic RL": ("dynamic-rl", None, {"exponent_segments": 50}, {}),
    "Dynamic RL, no SAL": ("dynamic-rl", None, {"sal": False, "exponent_segments": 50}, {}),
    "Dynamic RL, no SRL": ("dynamic-rl", None, {"exponent_segments": 50}, {"eta_srl": 0.0}),
    "Dynamic RL, radius 1.0": ("dynamic-rl", None, {"exponent_segments": 50}, {"radius": 1.0}),
    "Dynamic RL, radius 1.5": ("dynamic-rl", None, {"exponent_segments": 50}, {"radius": 1.5}),
    "Dynamic RL, radius 2.0": ("dynamic-rl", None, {"exponent_segments": 50}, {"radius": 2.0}),
    "MTRNN-BPTT (the paper's comparator)": ("mtrnn-bptt", None, {"exponent_segments": 50}, {}),
    "PPO-MTRNN (BPTT)": ("ppo-rnn", "dynamic-rl", {}, {}),
}
SWAP_AGENTS = ("Dynamic RL", "MTRNN-BPTT (the paper's comparator)", "PPO-MTRNN (BPTT)")
DEFAULT_SWAP_AGENTS = SWAP_AGENTS[:2]  # the paper's pair; PPO's swap cell (--swap-agents) costs about 40 min here
EXTRA = ("PPO-MTRNN (BPTT)",)  # not the paper's comparator: run on --extra-tasks only
CONSTANT_LR = {"ppo-rnn": {"anneal_lr": 0.0}}  # in a swap cell every agent learns at a constant rate
ABLATIONS = ("Dynamic RL, no SAL", "Dynamic RL, no SRL", "Dynamic RL, radius 1.0", "Dynamic RL, radius 1.5",
             "Dynamic RL, radius 2.0")
RADII = {"Dynamic RL, radius 1.0": 1.0, "Dynamic RL, radius 1.5": 1.5, "Dynamic RL, radius 2.0": 2.0, "Dynamic RL": 3.0}
COMPARATOR = "MTRNN-BPTT (the paper's comparator)"
RETURNS = ("final return", "best return", "return AUC")
EXPLORATION = ("exponent at step 0", "final exponent", "saturation at step 0", "final saturation")
REFERENCE = "Dynamic RL"  # every other agent on a task is compared with it
COMPARED = ("final success", "final return", "return AUC", "final exponent")
SWAP_COMPARED = ("success before swap", "final success", "recovered", "recovery (censored)")
THROUGHPUT = "## Throughput (this machine, steady state, evaluation excluded)"
# --quick: small networks and short exponent runs, so the pipeline check compiles and runs in seconds
QUICK_FIELDS = {"dynamic-rl": dict(n_lower=12, n_upper=6, critic_hidden=8, exponent_segments=5),
                "mtrnn-bptt": dict(n_lower=12, n_upper=6, critic_hidden=8, exponent_segments=5),
                "ppo-rnn": dict(hidden_size=18), "rtrrl": {}}


def budget(algo: str, steps: int, n_evals: int) -> tuple[int, int]:
    """(total_steps, eval_every) rounded to the algorithm's unit (critic window 32, PPO update 1,024 steps)."""
    unit = 1024 if algo == "ppo-rnn" else 32
    every = max(unit, round(steps / n_evals / unit) * unit)
    return every * n_evals, every


def cell(task: str, label: str, seeds: int, steps: int, n_evals: int, root: Path, quick: bool,
         swap: bool = False, agent: tuple | None = None) -> dict:
    """Run (or reuse, when finished) one agent's cell (AGENTS[label], or `agent` in that form); its metrics, those
    of the seeds that did not diverge ("ok"), the count of diverged seeds and the swap step (None without a
    swap)."""
    algo, preset, fields, hparams = agent or AGENTS[label]
    total, every = budget(algo, steps, n_evals)
    config = dict(fields, **(QUICK_FIELDS[algo] if quick else {}), env_id=task,
                  total_steps=2 * total if swap else total, eval_every=every)
    hp = dict(hparams, swap_at=total, **CONSTANT_LR.get(algo, {})) if swap else dict(hparams)
    spec = spec_from_dict({"algo": algo, "preset": preset, "seeds": seeds, "config": config, "hparams": hp})
    out = root / f"{slug(task)}--{slug(label)}{'--swap' if swap else ''}"
    t0 = time.perf_counter()
    run_cell(spec, out)
    m = read_metrics(out / "metrics.csv")
    bad = diverged_mask(m)
    return {"metrics": m, "ok": {k: (v[~bad] if np.ndim(v) == 2 else v) for k, v in m.items()},
            "diverged": int(bad.sum()), "swap_at": total if swap else None, "wall_s": time.perf_counter() - t0}


def first_step(success: np.ndarray, steps: np.ndarray, level: float) -> np.ndarray:
    """Per seed: the first evaluation step after step 0 with success >= level (> 0 for level 0); nan if never."""
    return steps_to_reach(success, steps, level, strictly=level == 0)


def pre_swap(success: np.ndarray, steps: np.ndarray, swap_at: int) -> np.ndarray:
    """Per seed: the mean success of the last two evaluations after step 0 and before swap_at (the evaluation at
    swap_at already acts with swapped channels: dynjax.envs.change swaps from step >= swap_at)."""
    return success[:, (steps > 0) & (steps < swap_at)][:, -2:].mean(axis=1)


def recovery(success: np.ndarray, steps: np.ndarray, swap_at: int) -> tuple[np.ndarray, np.ndarray]:
    """Per seed: the steps from swap_at to the first evaluation at or after it whose success is >= 0.8 x the
    pre-swap success (nan: not within the budget, or no pre-swap success to recover), and which seeds had
    pre-swap success."""
    pre = pre_swap(success, steps, swap_at)
    after = steps >= swap_at
    hit = success[:, after] >= 0.8 * pre[:, None]
    rec = np.where(hit.any(axis=1) & (pre > 0), steps[after][np.argmax(hit, axis=1)] - swap_at, np.nan)
    return rec, pre > 0


def measures(c: dict) -> dict[str, np.ndarray]:
    """Per-seed measures of a cell's seeds that did not diverge: final success, steps to the first success and to
    50% success, the return's final / best excluding step 0 / AUC (dynjax.results.stats.curve_scores), and for Dynamic
    RL the exploration exponent at step 0 and final and the final share of saturated outputs; a swap cell adds
    its success before the swap, the recovery steps, whether each seed with pre-swap success recovered (1/0; nan
    for the others) and the recovery with a seed that never recovered counted as twice the post-swap budget
    (ranked slowest, for the U test)."""
    ok, steps = c["ok"], np.asarray(c["metrics"]["step"])[0]
    success = np.asarray(ok["eval_success"], float)
    ret = curve_scores(np.asarray(ok["eval_return"], float), steps)
    out = {"final success": curve_scores(success, steps).final, "first success": first_step(success, steps, 0),
           "50% success": first_step(success, steps, 0.5), "final return": ret.final, "best return": ret.best,
           "return AUC": ret.auc}
    if "exploration_exponent" in ok:
        exponent = np.asarray(ok["exploration_exponent"], float)
        saturation = np.asarray(ok["saturated_outputs"], float)
        out |= {"exponent at step 0": exponent[:, 0], "final exponent": curve_scores(exponent, steps).final,
                "saturation at step 0": saturation[:, 0], "final saturation": curve_scores(saturation, steps).final}
    if c["swap_at"] is not None:
        rec, had = recovery(success, steps, c["swap_at"])
        censored = np.where(had & ~np.isfinite(rec), 2 * (steps[-1] - c["swap_at"]), rec)
        out |= {"success before swap": pre_swap(success, steps, c["swap_at"]), "recovery": rec,
                "recovered": np.where(had, np.isfinite(rec), np.nan), "recovery (censored)": censored}
    return out


def stats(x: np.ndarray, fmt: str = ".3g") -> str:
    """'IQM (95% CI) · median [q25, q75]' over the finite per-seed values of x."""
    return format_stats(aggregate(x), fmt)


def reached(x: np.ndarray) -> str:
    """'k/n': seeds with a finite value (an event reached) out of all."""
    return f"{int(np.isfinite(x).sum())}/{len(x)}"


def comparison(task: str, a: str, b: str, measure: str, x: np.ndarray, y: np.ndarray) -> str:
    """A table row comparing per-seed values x of agent a with y of agent b (dynjax.results.stats.compare)."""
    c = compare(x, y)
    return (f"| {task} | {a} vs {b} | {measure} | {c.n_a} vs {c.n_b} | {format_p(c.p_value)} | "
            f"{c.prob_improvement:.2f} | {c.verdict(a, b)} |")


def _medians(a: np.ndarray, b: np.ndarray, fmt: str = ".2f") -> str:
    return f"median {np.nanmedian(a):{fmt}} vs {np.nanmedian(b):{fmt}}"


def _versus(a_label: str, b_label: str, a: np.ndarray, b: np.ndarray, better: str, fmt: str = ".2f"):
    """(evidence, test, outcome) of A vs B on per-seed values, outcome in {"A better", "B better", "~"} where
    `better` says whether "higher" or "lower" values are better."""
    c = compare(a, b)
    sig = c.p_value < 0.05
    higher = c.prob_improvement > 0.5
    outcome = "~" if not sig else ("A better" if higher == (better == "higher") else "B better")
    evidence = f"{a_label} vs {b_label}: {_medians(a, b, fmt)}, P(A > B) = {c.prob_improvement:.2f}"
    return evidence, f"U test, {c.n_a} vs {c.n_b} seeds, p = {format_p(c.p_value)}", outcome


def claims(scores: dict[str, dict], swaps: dict[str, dict], scale: dict | None) -> list[str]:
    """The paper's claims, one row per claim and task: the evidence (per-seed statistics), the test and a verdict
    computed from them (p < 0.05, seeds as the unit). `scores[task][label]` and `swaps[task][label]` are
    `measures` of the cells run; `scale` the sensitivity-scale study's summary (None: not run)."""
    from scipy.stats import spearmanr

    rows = ["| claim (paper) | task | evidence | test | verdict |", "|---|---|---|---|---|"]
    for task, v in scores.items():
        drl = v.get(REFERENCE)
        if drl is None:
            continue
        if COMPARATOR in v:
            ev, test, out = _versus("Dynamic RL", "MTRNN-BPTT", drl["final success"], v[COMPARATOR]["final success"],
                                    "higher")
            verdict = {"A better": "reproduced (better)", "~": "reproduced (comparable: no significant difference)",
                       "B better": "not reproduced (worse)"}[out]
            rows.append(f"| (1) Dynamic RL reaches comparable or better success than the same MTRNN trained by "
                        f"BPTT | {task} | final success: {ev} | {test} | {verdict} |")
        radii = [(RADII[lbl], v[lbl]["final success"]) for lbl in RADII if lbl in v]
        if "Dynamic RL, radius 1.5" in v:
            ev, test, out = _versus("radius 3.0", "radius 1.5", drl["final success"],
                                    v["Dynamic RL, radius 1.5"]["final success"], "higher")
            verdict = "reproduced" if out == "A better" else "not reproduced" + (" (1.5 better)" if out == "B better" else "")
            rows.append(f"| (2) chaos is needed: spectral radius 3.0 beats 1.5 | {task} | final success: {ev} | "
                        f"{test} | {verdict} |")
        if len(radii) > 2:
            x = np.concatenate([np.full(len(y), r) for r, y in radii])
            y = np.concatenate([y for _, y in radii])
            keep = np.isfinite(y)
            rho = spearmanr(x[keep], y[keep]) if len(set(y[keep])) > 1 else None
            med = ", ".join(f"{r:g}: {np.nanmedian(y):.2f}" for r, y in radii)
            test = (f"Spearman, {int(keep.sum())} seeds, rho = {rho.statistic:.2f}, p = {format_p(rho.pvalue)}"
                    if rho else "no spread: no test")
            verdict = ("reproduced (success rises with the radius)" if rho and rho.pvalue < 0.05 and rho.statistic > 0
                       else "not reproduced" + (" (success falls with the radius)" if rho and rho.pvalue < 0.05 else ""))
            rows.append(f"| (2) chaos: the curve over the initial spectral radius | {task} | median final success "
                        f"by radius: {med} | {test} | {verdict} |")
        if "Dynamic RL, no SAL" in v:
            ns = v["Dynamic RL, no SAL"]
            ev, test, out = _versus("no SAL", "Dynamic RL", ns["final exponent"], drl["final exponent"], "higher", ".3g")
            ev_s = _medians(ns["final success"], drl["final success"])
            verdict = "reproduced" if out == "B better" else "not reproduced"
            rows.append(f"| (3) without SAL the dynamics over-converge (a lower exploration exponent) | {task} | final "
                        f"exponent: {ev}; final success {ev_s} | {test} | {verdict} |")
        if "Dynamic RL, no SRL" in v:
            ev, test, out = _versus("Dynamic RL", "no SRL", drl["final success"], v["Dynamic RL, no SRL"]["final success"],
                                    "higher")
            verdict = "reproduced" if out == "A better" else "not reproduced"
            rows.append(f"| (3) SRL does the learning: without it success is lower | {task} | final success: {ev} | "
                        f"{test} | {verdict} |")
        for n, measure, first, claim, want in (
                ("(5)", "exponent", "exponent at step 0", "the exploration exponent falls over training", "falls"),
                ("(6)", "saturation", "saturation at step 0", "the outputs saturate over training", "rises")):
            last = first.replace("at step 0", "").strip()
            pc = paired_change(drl[first], drl[f"final {last}"])
            verdict = "reproduced" if pc.verdict() == want else f"not reproduced ({pc.verdict()})"
            rows.append(f"| {n} {claim} | {task} | Dynamic RL, step 0 -> final: median {np.nanmedian(drl[first]):.3g} "
                        f"-> {np.nanmedian(drl[f'final {last}']):.3g} (median change {pc.median:+.3g}) | Wilcoxon "
                        f"signed-rank, {pc.n} seeds, p = {format_p(pc.p_value)} | {verdict} |")
    for task, v in swaps.items():
        if REFERENCE in v and COMPARATOR in v:
            ev, test, out = _versus("Dynamic RL", "MTRNN-BPTT", v[REFERENCE]["recovery (censored)"],
                                    v[COMPARATOR]["recovery (censored)"], "lower", ",.0f")
            n_rec = [f"{int(np.nansum(v[a]['recovered']))}/{int(np.isfinite(v[a]['recovered']).sum())}"
                     for a in (REFERENCE, COMPARATOR)]
            verdict = {"A better": "reproduced", "~": "not reproduced (no significant difference)",
                       "B better": "not reproduced (the comparator recovers faster)"}[out]
            rows.append(f"| (4) after the output swap Dynamic RL recovers faster (to 80% of its pre-swap success) | "
                        f"{task} | steps to recover (never: counted as twice the post-swap budget): {ev}; recovered "
                        f"{n_rec[0]} vs {n_rec[1]} | {test} | {verdict} |")
    if scale is not None:
        rows.append(f"| (7) scaling a sensitivity step moves the closed loop's Lyapunov exponent | {scale['task']} | "
                    f"{scale['evidence']} | {scale['test']} | {scale['verdict']} |")
    return rows


def throughput(seeds: int, steps: int, quick: bool) -> list[str]:
    """Steady-state seed-steps/s of one segment (compile excluded) for Dynamic RL, RTRRL and PPO-MTRNN."""
    rows = []
    for name, algo, preset, config in [
        ("Dynamic RL (MTRNN 200+100, BPTT critic 64)", "dynamic-rl", None, {"env_id": "seq-nav"}),
        ("RTRRL (CT-RNN 32, RFLO)", "rtrrl", None, {"env_id": "CartPole-v1"}),
        ("PPO-MTRNN (300, BPTT, 8 envs x 128)", "ppo-rnn", "dynamic-rl", {"env_id": "seq-nav"}),
    ][:1 if quick else 3]:
        config = config | (QUICK_FIELDS[algo] if quick else {})
        program = resolve(spec_from_dict({"algo": algo, "preset": preset, "seeds": seeds, "config": config}))[0]
        unit = 1024 if algo == "ppo-rnn" else 32
        every = max(unit, steps // unit * unit)
        cfg = dataclasses.replace(program.config, eval_every=every, total_steps=every)
        with jax.enable_x64(ALGORITHMS[algo].float64):
            learner = ALGORITHMS[algo].make_learner(cfg)
            keys = jax.random.split(jax.random.key(0), seeds)
            state = jax.jit(jax.vmap(learner.init))(keys)
            seg = jax.jit(jax.vmap(lambda s: driver.segment(learner, s)[0]))
            ev = jax.jit(jax.vmap(partial(driver.evaluate, learner)))
            jax.block_until_ready(ev(state))
            t_eval = min(_timed(lambda: ev(state)) for _ in range(2))
            state = seg(state)  # compile
            jax.block_until_ready(state)
            t = min(_timed(lambda: seg(state)) for _ in range(2))
        rate = seeds * every / max(t - t_eval, 1e-9)
        rows.append(f"| {name} | {seeds} | {every:,} | {rate:,.0f} |")
    return rows


def _timed(f) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(f())
    return time.perf_counter() - t0


def kept_throughput(md: Path) -> list[str] | None:
    """The rows of the throughput table in an earlier table file `md` (None if there is none)."""
    lines = md.read_text().splitlines() if md.exists() else []
    if THROUGHPUT not in lines:
        return None
    rows = []
    for line in lines[lines.index(THROUGHPUT) + 1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return rows[2:] or None


def table(rows: list[str], note: str = "Not run in this invocation.") -> list[str]:
    """A markdown table (header, separator, rows), or `note` when it has no row."""
    return rows if len(rows) > 2 else [note]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1_000_000, help="budget per cell")
    ap.add_argument("--evals", type=int, default=20, help="evaluation points per budget (after step 0)")
    ap.add_argument("--swap-steps", type=int, default=None,
                    help="steps before the swap (and as many after it) in the swap cells; default --steps")
    ap.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--swap-tasks", nargs="*", default=["slider-crank"], choices=list(TASKS))
    ap.add_argument("--ablation-tasks", nargs="*", default=["slider-crank"], choices=list(TASKS),
                    help="tasks on which the ablations (no SAL, no SRL, radius 1.0 / 1.5 / 2.0) run")
    ap.add_argument("--agents", nargs="*", default=None, choices=list(AGENTS), help="subset of agents")
    ap.add_argument("--swap-agents", nargs="*", default=list(DEFAULT_SWAP_AGENTS), choices=list(SWAP_AGENTS))
    ap.add_argument("--extra-tasks", nargs="*", default=["slider-crank"], choices=list(TASKS),
                    help="tasks on which the extra PPO-MTRNN column runs (about 15 min per 1M-step cell here)")
    ap.add_argument("--keep-throughput", action="store_true",
                    help="copy the throughput rows of the existing table instead of measuring them again")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    seeds, steps, n_evals = (2, 2_048, 2) if args.quick else (args.seeds, args.steps, args.evals)
    swap_steps = args.swap_steps or steps
    agents = args.agents or (["Dynamic RL"] if args.quick else list(AGENTS))
    root = args.out or RESULTS / ("dynamic_rl_quick" if args.quick else "dynamic_rl")
    md = root.parent / f"{root.name.replace('dynamic_rl', 'dynamic_rl_table')}.md"
    kept = kept_throughput(md) if args.keep_throughput else None
    t0 = time.time()
    success_rows = ["| task | agent | final success | first success after step 0 (steps) | >= 50% success (steps) "
                    "| reached 50% | diverged |", "|---|---|---|---|---|---|---|"]
    return_rows = ["| task | agent | final return | best return (excl. step 0) | return AUC |", "|---|---|---|---|---|"]
    exponent_rows = ["| task | agent | exploration exponent at step 0 | exploration exponent, final "
                     "| saturated outputs at step 0 | saturated outputs, final |", "|---|---|---|---|---|---|"]
    swap_rows = ["| task | agent | success before swap | final success | recovery to 80% (steps) | recovered "
                 "| diverged |", "|---|---|---|---|---|---|---|"]
    comparison_rows = ["| task | A vs B | measure | seeds | p (U test) | P(A > B) | verdict (p < 0.05) |",
                       "|---|---|---|---|---|---|---|"]
    figures, all_scores, all_swaps = [], {}, {}
    for task in args.tasks:
        curves, scores = [], {}
        for label in [a for a in agents if (a not in ABLATIONS or task in args.ablation_tasks)
                      and (a not in EXTRA or task in args.extra_tasks)]:
            c = cell(task, label, seeds, steps, n_evals, root, args.quick)
            v = scores[label] = measures(c)
            success_rows.append(f"| {task} | {label} | {stats(v['final success'], '.2f')} | "
                                f"{stats(v['first success'], ',.0f')} | {stats(v['50% success'], ',.0f')} | "
                                f"{reached(v['50% success'])} | {c['diverged']} |")
            return_rows.append(f"| {task} | {label} | " + " | ".join(stats(v[k]) for k in RETURNS) + " |")
            if "final exponent" in v:
                exponent_rows.append(f"| {task} | {label} | " + " | ".join(stats(v[k]) for k in EXPLORATION) + " |")
            curves.append((label, c["metrics"]))
        comparison_rows += [comparison(task, label, REFERENCE, k, v[k], scores[REFERENCE][k])
                            for label, v in scores.items() if label != REFERENCE and REFERENCE in scores
                            for k in COMPARED if k in v]
        swaps, swap_scores = [], {}
        for label in [a for a in args.swap_agents if a in agents] if task in args.swap_tasks else ():
            c = cell(task, label, seeds, swap_steps, n_evals, root, args.quick, swap=True)
            v = swap_scores[label] = measures(c)
            rec = v["recovered"]
            swap_rows.append(f"| {task} | {label} | {stats(v['success before swap'], '.2f')} | "
                             f"{stats(v['final success'], '.2f')} | {stats(v['recovery'], ',.0f')} | "
                             f"{int(np.nansum(rec))}/{int(np.isfinite(rec).sum())} | {c['diverged']} |")
            swaps.append((label, c["metrics"]))
        comparison_rows += [comparison(f"{task}, swap", a, REFERENCE, k, v[k], swap_scores[REFERENCE][k])
                            for a, v in swap_scores.items() if a != REFERENCE and REFERENCE in swap_scores
                            for k in SWAP_COMPARED]
        all_scores[task], all_swaps[task] = scores, swap_scores
        name = slug(task)
        plot_learning_curves(curves, root / f"{name}-success.png", f"{task}: success rate ({seeds} seeds)",
                             metric="eval_success", ylabel="evaluation success rate")
        if swaps:
            plot_learning_curves(swaps, root / f"{name}-swap.png", f"{task}: output channels swapped at the middle",
                                 metric="eval_success", ylabel="evaluation success rate")
        drl = [(lbl, m) for lbl, m in curves if lbl.startswith("Dynamic RL")]
        plot_learning_curves(drl, root / f"{name}-exponent.png", f"{task}: exploration exponent (closed loop)",
                             metric="exploration_exponent", ylabel="exploration exponent (per step)")
        plot_learning_curves(drl, root / f"{name}-saturation.png", f"{task}: saturated outputs (|o| > 0.95)",
                             metric="saturated_outputs", ylabel="fraction of saturated outputs")
        figures += [f"![{task} {kind}]({root.name}/{name}-{kind}.png)"
                    for kind in ("success", "swap", "exponent", "saturation") if kind != "swap" or swaps]
    title = "# Dynamic RL vs BPTT on the MTRNN actor" + (" (quick pipeline check, not a result)" if args.quick else "")
    budget_note = (
        f"{seeds} seeds per cell, about {steps:,} environment steps per seed ({n_evals} evaluations of 10 episodes "
        "after the untrained one at step 0; Dynamic RL acts deterministically, PPO samples); swap cells: about "
        f"{swap_steps:,} steps before the swap and as many after it ({2 * n_evals} evaluations).")
    stats_note = (
        "Every cell: IQM (95% bootstrap CI) · median [q25, q75] over the seeds that did not diverge "
        "(dynjax.results.stats). Per seed, final = mean of the last 10% of the evaluations after step 0 (here the last "
        f"{final_points(n_evals + 1)}; swap cells: the last {final_points(2 * n_evals + 1)}), best = the best "
        "evaluation excluding step 0, AUC = the mean over training (area under the learning curve / steps). Steps "
        "to an event: over the seeds that reach it (counted beside it).")
    swap_note = (
        "Success before the swap: mean of the last two evaluations before swap_at (the evaluation at swap_at "
        "already acts swapped). Recovery: steps from swap_at until an evaluation's success is back to 80% of that "
        "level; recovered: seeds that do, out of the seeds with success before the swap.")
    comparison_note = (
        "Seeds as the unit: two-sided Mann-Whitney U test (p, not corrected for the number of comparisons in this "
        "table) and P(A > B), the probability that a seed of A scores above one of B (ties count half); the "
        "verdict names a difference only where p < 0.05.")
    scale_path = root.parent / "dynamic_rl_sensitivity_scale" / "summary.json"
    scale = json.loads(scale_path.read_text()) if scale_path.exists() and not args.quick else None
    claims_note = (
        "Each of the paper's claims (../shared/reference/dynamic_rl.md) on the cells above, seeds as the unit, "
        "decided at p < 0.05 by the test named in its row. 'Comparable' is the absence of a significant difference "
        f"at {seeds} seeds, not a proof of equality. Claim (7) comes from benchmarks/dynamic_rl_sensitivity_scale.py"
        + ("." if scale else " (not run: no dynamic_rl_sensitivity_scale/summary.json beside this table)."))
    throughput_rows = ["| agent | seeds | steps per segment | seed-steps/s |", "|---|---|---|---|",
                       *(kept or throughput(seeds, 2_048 if args.quick else 8_192, args.quick))]
    kept_note = ["Rows kept from the previous table (--keep-throughput), not measured by this invocation.", ""]
    lines = [title, "", budget_note, "", stats_note, "",
             "## The paper's claims", "", claims_note, "",
             *table(claims(all_scores, all_swaps, scale), "No claim could be tested by the cells run."), "",
             "## Success", "", *table(success_rows), "",
             "## Evaluation return", "", *table(return_rows), "",
             "## Exploration (Dynamic RL variants)", "", *table(exponent_rows), "",
             "## Output swap", "", swap_note, "", *table(swap_rows), "",
             "## Comparisons", "", comparison_note, "", *table(comparison_rows, "No comparison was run."), "",
             THROUGHPUT, "", *(kept_note if kept else []), *throughput_rows, "",
             "## Figures", "", *figures, *(["![sensitivity scale](dynamic_rl_sensitivity_scale/exponent_vs_scale.png)"] if scale else []), "",
             f"Wall time of this invocation: {time.time() - t0:.0f} s (finished cells are reused)."]
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

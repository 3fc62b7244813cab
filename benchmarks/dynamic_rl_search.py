"""Dynamic RL's constants, and its BPTT comparator's, found by a documented search on seeds the table does not use.

The paper (Shibata 2025, arXiv 2502.10200; ../shared/reference/dynamic_rl.md) names SAL's threshold s_th, the
SAL and SRL learning rates and SRL's dependence on the TD error's sign, but its body with the values is not
available to us. The table (benchmarks/dynamic_rl_table.py) runs seeds 0-15; this search runs seeds from
SEARCH_SEED on, so the table's numbers are not the ones the constants were chosen on. Every stage is a set of
dynjax sweeps, one per task and program, each hyperparameter grid vmapped in one program; finished sweeps are
reused, an interrupted one resumes.

    stage 1, Dynamic RL     td_transform in {raw, sign} (two programs), each with the grid
                            s_th in {0.25, 0.5, 1.0} x eta_SRL in {1e-4, 1e-3, 1e-2} (eta_SAL = 1e-3: the
                            ratio eta_SRL / eta_SAL in {0.1, 1, 10}); SAL on every layer
    stage 2, Dynamic RL     at stage 1's choice of td_transform, s_th and eta_SRL: SAL on the output
                            neurons or not (sal_output, two programs) x eta_SAL in {1e-4, 1e-3, 1e-2}
    comparator (mtrnn-bptt) lr_actor in {3e-5, 1e-4, 3e-4, 1e-3} x noise_std in {0.1, 0.3, 0.5}

Score of a configuration: the mean over the two tasks (sequential navigation, slider-crank) of the mean over
its seeds of the final success (the mean of the last 10% of its evaluations after step 0, at least the last
one); ties (within 0.01) are broken by the mean success over training (AUC). A seed that diverges scores 0.

    python benchmarks/dynamic_rl_search.py                  # every stage, 3 seeds x 128k steps per configuration
    python benchmarks/dynamic_rl_search.py --stages comparator
    python benchmarks/dynamic_rl_search.py --quick          # tiny networks, 2 seeds x 2k steps: a pipeline check
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import numpy as np

from common import run_cell, slug, write_table
from dynjax.results.metrics import diverged_mask, read_metrics
from dynjax.results.stats import curve_scores
from dynjax.sweep import spec_from_dict

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = ("seq-nav", "slider-crank")
SEARCH_SEED = 1000  # the table's seeds are 0..15
TIE = 0.01
ETA_SAL = 1e-3
# The defaults the search started from (before it chose s_th = 0.5 and no SAL on the outputs): what a stage
# does not set is pinned to them, so the search stays the one that was run when the defaults move.
PRE_SEARCH_FIELDS = {"sal_output": True}
PRE_SEARCH_HPARAMS = {"s_th": 1.0}
TD_TRANSFORMS = ("raw", "sign")
GRIDS = {"stage1": {"s_th": [0.25, 0.5, 1.0], "eta_srl": [1e-4, 1e-3, 1e-2]}, "stage2": {"eta_sal": [1e-4, 1e-3, 1e-2]},
         "comparator": {"lr_actor": [3e-5, 1e-4, 3e-4, 1e-3], "noise_std": [0.1, 0.3, 0.5]}}
QUICK_GRIDS = {"stage1": {"s_th": [0.5, 1.0], "eta_srl": [1e-3]}, "stage2": {"eta_sal": [1e-3]},
               "comparator": {"lr_actor": [1e-4], "noise_std": [0.3]}}
QUICK_FIELDS = dict(n_lower=12, n_upper=6, critic_hidden=8, exponent_segments=5)


def sweep(task: str, algo: str, name: str, fields: dict, hparams: dict, grid: dict, seeds: int, steps: int,
          n_evals: int, root: Path, quick: bool) -> list[dict]:
    """One sweep (a program: static `fields`, the `grid` vmapped); per configuration its hyperparameters and
    the per-seed final success and success AUC (a diverged seed scores 0)."""
    every = max(32, round(steps / n_evals / 32) * 32)
    config = {"exponent_segments": 20, **PRE_SEARCH_FIELDS, **fields, **(QUICK_FIELDS if quick else {}), "env_id": task,
              "total_steps": every * n_evals, "eval_every": every}
    spec = spec_from_dict({"algo": algo, "seeds": seeds, "seed": SEARCH_SEED, "config": config,
                           "hparams": PRE_SEARCH_HPARAMS | hparams, "grid": grid})
    out = root / f"{slug(task)}--{name}"
    summary = run_cell(spec, out)
    m = read_metrics(out / "metrics.csv")
    steps_ = np.asarray(m["step"])[0]
    bad = diverged_mask(m)
    rows = []
    for c in summary["configs"]:
        sel = np.asarray(m["config"]) == c["config"]
        success = np.asarray(m["eval_success"], float)[sel]
        scores = curve_scores(np.nan_to_num(success), steps_)
        ok = ~bad[sel]
        rows.append({"hparams": {k: c["hparams"][k] for k in grid} | hparams, "fields": fields,
                     "final": np.where(ok, scores.final, 0.0), "auc": np.where(ok, scores.auc, 0.0),
                     "diverged": int((~ok).sum())})
    return rows


def stage(name: str, algo: str, programs: list[tuple[str, dict]], hparams: dict, grid: dict, args, root: Path):
    """Every task's sweeps of a stage; the configurations with their per-task seed means and the score."""
    per_task = {t: [r for prog, fields in programs
                    for r in sweep(t, algo, f"{name}--{prog}", fields, hparams, grid, args.seeds, args.steps,
                                   args.evals, root, args.quick)]
                for t in TASKS}
    configs = []
    for i, r in enumerate(per_task[TASKS[0]]):
        rs = [per_task[t][i] for t in TASKS]
        configs.append({"fields": r["fields"], "hparams": r["hparams"],
                        "final": {t: float(x["final"].mean()) for t, x in zip(TASKS, rs)},
                        "auc": {t: float(x["auc"].mean()) for t, x in zip(TASKS, rs)},
                        "per_seed_final": {t: x["final"].round(4).tolist() for t, x in zip(TASKS, rs)},
                        "diverged": sum(x["diverged"] for x in rs)})
        configs[-1]["score"] = float(np.mean(list(configs[-1]["final"].values())))
        configs[-1]["score_auc"] = float(np.mean(list(configs[-1]["auc"].values())))
    return configs


def choose(configs: list[dict]) -> dict:
    """The best score; within TIE of it, the best AUC."""
    top = max(c["score"] for c in configs)
    return max((c for c in configs if c["score"] >= top - TIE), key=lambda c: c["score_auc"])


def describe(c: dict) -> str:
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in (c["fields"] | c["hparams"]).items())


def rows(configs: list[dict], chosen: dict) -> list[str]:
    out = ["| configuration | " + " | ".join(f"{t} final success" for t in TASKS) + " | score | success AUC (mean) "
           "| diverged |", "|---|" + "---|" * (len(TASKS) + 3)]
    for c in sorted(configs, key=lambda c: (-c["score"], -c["score_auc"])):
        mark = " **(chosen)**" if c is chosen else ""
        out.append(f"| {describe(c)}{mark} | " + " | ".join(
            f"{c['final'][t]:.2f} ({', '.join(f'{x:.2f}' for x in c['per_seed_final'][t])})" for t in TASKS)
                   + f" | {c['score']:.3f} | {c['score_auc']:.3f} | {c['diverged']} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=128_000)
    ap.add_argument("--evals", type=int, default=8)
    ap.add_argument("--stages", nargs="*", default=["1", "2", "comparator"], choices=["1", "2", "comparator"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.steps, args.evals = 2, 2_048, 2
    grids = QUICK_GRIDS if args.quick else GRIDS
    root = args.out or RESULTS / ("dynamic_rl_search_quick" if args.quick else "dynamic_rl_search")
    chosen_path = root / "chosen.json"
    chosen = json.loads(chosen_path.read_text()) if chosen_path.exists() else {}
    t0 = time.time()
    sections = []
    if "1" in args.stages or "2" in args.stages:
        programs = [(f"td-{t}", {"td_transform": t}) for t in TD_TRANSFORMS]
        s1 = stage("stage1", "dynamic-rl", programs, {"eta_sal": ETA_SAL}, grids["stage1"], args, root)
        best1 = choose(s1)
        chosen["stage1"] = {"fields": best1["fields"], "hparams": best1["hparams"]}
        sections += ["## Stage 1: TD transform x s_th x eta_SRL (eta_SAL = 1e-3)", "", *rows(s1, best1), ""]
    if "2" in args.stages:
        fields1, hp1 = chosen["stage1"]["fields"], chosen["stage1"]["hparams"]
        programs = [(f"sal-output-{str(v).lower()}", fields1 | {"sal_output": v}) for v in (True, False)]
        s2 = stage("stage2", "dynamic-rl", programs, {"s_th": hp1["s_th"], "eta_srl": hp1["eta_srl"]},
                   grids["stage2"], args, root)
        best2 = choose(s2)
        chosen["stage2"] = {"fields": best2["fields"], "hparams": best2["hparams"]}
        sections += [f"## Stage 2: SAL on the output neurons x eta_SAL (s_th = {hp1['s_th']:g}, eta_SRL = "
                     f"{hp1['eta_srl']:g})", "", *rows(s2, best2), ""]
    if "comparator" in args.stages:
        sc = stage("comparator", "mtrnn-bptt", [("bptt", {})], {}, grids["comparator"], args, root)
        bestc = choose(sc)
        chosen["comparator"] = {"fields": bestc["fields"], "hparams": bestc["hparams"]}
        sections += ["## The comparator (mtrnn-bptt): lr_actor x noise_std", "", *rows(sc, bestc), ""]
    root.mkdir(parents=True, exist_ok=True)
    chosen_path.write_text(json.dumps(chosen, indent=1) + "\n")
    title = "# Dynamic RL: the constants' search" + (" (quick pipeline check, not a result)" if args.quick else "")
    lines = [title, "", f"{args.seeds} seeds per configuration (seeds {SEARCH_SEED}-{SEARCH_SEED + args.seeds - 1}, "
             f"none of the table's), about {args.steps:,} steps each, {args.evals} evaluations of 10 episodes after "
             "step 0; the 200 + 100-neuron MTRNN and the 64-unit BPTT critic throughout. Per configuration and task: "
             "the mean final success over the seeds (each seed's in brackets); score = the mean over the tasks; the "
             f"choice is the best score, ties within {TIE} broken by the mean success over training. "
             "benchmarks/dynamic_rl_search.py.", "", *sections,
             "## Chosen", "", *[f"- {k}: {describe(v)}" for k, v in chosen.items()], "",
             f"Wall time of this invocation: {time.time() - t0:.0f} s (finished sweeps are reused)."]
    write_table(root, lines)


if __name__ == "__main__":
    main()

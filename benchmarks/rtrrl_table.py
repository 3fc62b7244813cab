"""RTRRL appendix Table 2 rows on this machine: RTRRL-RFLO, RTRRL-RTRL, linear TD(lambda) and PPO with BPTT.

The PPO column trains the same 32-unit CT-RNN with linear heads and the same Meta-RL input (`ppo-rnn --preset
rtrrl`) by BPTT at the RFLO column's budgets (8 envs x 125 steps per update, so every budget is a whole number
of updates), so the comparison isolates the learning rule.

Every (task, algorithm) cell is one `dynjax train` run (seeds vmapped in one program) whose run directory
(config, per-seed metrics, summary, learning curve) is kept under benchmarks/results/rtrrl_table/. A cell
whose metrics.csv already holds every seed's last evaluation is not run again, so an interrupted benchmark
resumes and a fresh checkout regenerates the table from the committed per-seed results. The table reports,
per seed, the final performance (mean of the last 10% of evaluations), the best evaluation excluding step 0
and the area under the learning curve, as IQM (95% bootstrap CI) and median [IQR] over seeds, with the
paper's numbers (median of best over 5 runs, budgets up to 50M steps with early stopping) beside ours, and
tests the paper's ordering of the algorithms on each task with seeds as the unit.

    python benchmarks/rtrrl_table.py              # budgets below, 5 seeds (about 45 minutes on 2 CPU cores)
    python benchmarks/rtrrl_table.py --quick      # 2 seeds, tiny budgets: checks the pipeline only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import numpy as np

import reference_rtrrl
from common import run_cell, slug
from dynjax.results.metrics import read_metrics
from dynjax.results.stats import compare, format_p, format_stats, late_trend, steps_to_reach
from dynjax.sweep import spec_from_dict

RESULTS = Path(__file__).resolve().parent / "results"

# task -> (config fields, steps per seed for RFLO / linear / PPO, steps per seed for exact RTRL)
def _memory_chain(length: int) -> dict:
    return dict(env_id="MemoryChain-bsuite", env_args=(("memory_length", str(length)),), obs_mask=None)


TASKS = {
    "CartPole, velocities only": (dict(env_id="CartPole-v1", obs_mask="odd"), 1_000_000, 500_000),
    "CartPole, positions only": (dict(env_id="CartPole-v1", obs_mask="even"), 10_000_000, 500_000),
    "MountainCarContinuous": (dict(env_id="MountainCarContinuous-v0", obs_mask=None), 1_000_000, 500_000),
    "MemoryChain-4": (_memory_chain(4), 300_000, 300_000),
    "MemoryChain-8": (_memory_chain(8), 300_000, 300_000),
    "MemoryChain-16": (_memory_chain(16), 1_000_000, 500_000),
    "MemoryChain-32": (_memory_chain(32), 1_000_000, 500_000),
    "MemoryChain-64": (_memory_chain(64), 1_000_000, 500_000),
    # gymnax <= 0.0.8, the paper's (and the authors' pinned) version, maps action 1 to "right" in every cell
    # (randomize_actions=False); gymnax 1.0 draws bsuite's fixed random map per cell by default
    "DeepSea-16": (dict(env_id="DeepSea-bsuite", env_args=(("size", "16"), ("randomize_actions", "False")),
                        obs_mask=None), 500_000, 200_000),
    "DeepSea-16, randomised actions": (dict(env_id="DeepSea-bsuite", env_args=(("size", "16"),), obs_mask=None),
                                       500_000, 200_000),
    "UmbrellaChain": (dict(env_id="UmbrellaChain-bsuite", obs_mask=None), 500_000, 500_000),
    "MetaMaze": (dict(env_id="MetaMaze-misc", obs_mask=None), 1_000_000, 500_000),
    "StatelessCartPole (POPGym Easy)": (dict(env_id="StatelessCartPoleEasy-popgym", obs_mask=None), 1_000_000, 500_000),
    "Acrobot-v1": (dict(env_id="Acrobot-v1", obs_mask=None), 500_000, 500_000),
}
ALGOS = {"RTRRL-RFLO": "rflo", "RTRRL-RTRL": "rtrl", "linear TD(lambda)": "linear", "PPO CT-RNN (BPTT)": "ppo"}
PPO = dict(num_envs=8, num_steps=125, num_minibatches=4)
# The paper's numbers (appendix Table 2: median of best evaluation over 5 runs, 32 neurons; StatelessCartPole from
# Table 3, POPGym's normalised return, no RTRL column; Acrobot-v1 only as a curve, appendix Fig. 10): reference
# values printed beside ours, never used as results.
PAPER = {
    "CartPole, velocities only": {"linear TD(lambda)": 454.6, "RTRRL-RTRL": 500, "RTRRL-RFLO": 500,
                                  "PPO CT-RNN (BPTT)": 112.1},
    "CartPole, positions only": {"linear TD(lambda)": 57.5, "RTRRL-RTRL": 178.6, "RTRRL-RFLO": 500,
                                 "PPO CT-RNN (BPTT)": 70.8},
    "MountainCarContinuous": {"linear TD(lambda)": -30.0, "RTRRL-RTRL": -40.0, "RTRRL-RFLO": -0.03,
                              "PPO CT-RNN (BPTT)": -1104.7},
    "MemoryChain-4": {"linear TD(lambda)": 0.07, "RTRRL-RTRL": 1.00, "RTRRL-RFLO": 1.00, "PPO CT-RNN (BPTT)": 1.00},
    "MemoryChain-8": {"linear TD(lambda)": 0.07, "RTRRL-RTRL": 0.90, "RTRRL-RFLO": 1.00, "PPO CT-RNN (BPTT)": 1.00},
    "MemoryChain-16": {"linear TD(lambda)": 0.12, "RTRRL-RTRL": 0.61, "RTRRL-RFLO": 1.00, "PPO CT-RNN (BPTT)": 1.00},
    "MemoryChain-32": {"linear TD(lambda)": 0.17, "RTRRL-RTRL": 0.56, "RTRRL-RFLO": 0.77, "PPO CT-RNN (BPTT)": 1.00},
    "MemoryChain-64": {"linear TD(lambda)": 0.26, "RTRRL-RTRL": 0.61, "RTRRL-RFLO": 0.32, "PPO CT-RNN (BPTT)": 1.00},
    "DeepSea-16": {"linear TD(lambda)": -0.00, "RTRRL-RTRL": 0.99, "RTRRL-RFLO": 0.99, "PPO CT-RNN (BPTT)": 0.00},
    "DeepSea-16, randomised actions": dict.fromkeys(ALGOS),
    "UmbrellaChain": {"linear TD(lambda)": 0.79, "RTRRL-RTRL": 0.99, "RTRRL-RFLO": 1.29, "PPO CT-RNN (BPTT)": 1.04},
    "MetaMaze": {"linear TD(lambda)": 28.0, "RTRRL-RTRL": 34.0, "RTRRL-RFLO": 40.0, "PPO CT-RNN (BPTT)": 10.8},
    "StatelessCartPole (POPGym Easy)": {"linear TD(lambda)": 0.72, "RTRRL-RTRL": None, "RTRRL-RFLO": 1.00,
                                        "PPO CT-RNN (BPTT)": 0.99},
    "Acrobot-v1": {"linear TD(lambda)": None, "RTRRL-RTRL": None, "RTRRL-RFLO": None, "PPO CT-RNN (BPTT)": None},
}


# The authors' code on each task: its flags, and options its CLI reads only from a YAML file. Its episode cap
# (max_ep_length, default 1,000 for every task) is set to gymnax's for the task, so that its returns are on our
# scale (CartPole 500 not 1,000; MetaMaze 200, whose goal respawns the agent without ending the episode).
def _authors_chain(length: int) -> tuple[list[str], dict]:
    return [], {"env_params": {"env_name": "MemoryChain-bsuite", "env_kwargs": {"memory_length": length}}}


AUTHORS_TASKS: dict[str, tuple[list[str], dict | None]] = {
    "CartPole, velocities only": (["--env_name", "CartPole-v1", "--obs_mask", "odd", "--max_ep_length", "500"], None),
    "CartPole, positions only": (["--env_name", "CartPole-v1", "--obs_mask", "even", "--max_ep_length", "500"], None),
    "MountainCarContinuous": (["--env_name", "MountainCarContinuous-v0", "--max_ep_length", "999"], None),
    **{f"MemoryChain-{m}": _authors_chain(m) for m in (4, 8, 16, 32, 64)},
    "DeepSea-16": ([], {"env_params": {"env_name": "DeepSea-bsuite", "init_kwargs": {"size": 16}}}),
    "UmbrellaChain": (["--env_name", "UmbrellaChain-bsuite"], None),
    "MetaMaze": (["--env_name", "MetaMaze-misc", "--max_ep_length", "200"], None),
    "Acrobot-v1": (["--env_name", "Acrobot-v1", "--max_ep_length", "500"], None),
}  # StatelessCartPole: POPGym comes from popjym, which the pinned environment cannot install
AUTHORS_MODES = {"RTRRL-RFLO": ["--gradient_mode", "rflo"], "RTRRL-RTRL": ["--gradient_mode", "rtrl"],
                 "linear TD(lambda)": ["--rnn_model"]}  # a bare --rnn_model is None: no RNN
AUTHORS_SEEDS = 5
AUTHORS_MAX_STEPS = {"RTRRL-RFLO": 1_000_000, "linear TD(lambda)": 1_000_000, "RTRRL-RTRL": 200_000}


def table_cell(task: str, algo: str, seeds: int, steps: int, eval_every: int, root: Path, name: str | None = None,
               config: dict | None = None, hparams: dict | None = None) -> dict:
    """One table cell as a `dynjax` sweep of one configuration, in root/<name> (default <task>--<algo>); a
    finished or interrupted cell with the same spec is reused / resumed by the sweep runner, a cell from another
    budget is removed first. `config` and `hparams` change fields of the task's configuration (the studies of
    benchmarks/rtrrl_lambda.py and rtrrl_scale.py)."""
    fields, _, _ = TASKS[task]
    fields = dict(fields)
    env_args = dict(fields.pop("env_args", ()))
    rule = ALGOS[algo]
    config = fields | {"total_steps": steps, "eval_every": eval_every} | (config or {})
    if rule == "ppo":
        spec = {"algo": "ppo-rnn", "preset": "rtrrl", "config": config | PPO}
    elif rule == "linear":
        spec = {"algo": "linear-td", "config": config}
    else:
        spec = {"algo": "rtrrl", "config": config | {"rule": rule}}
    spec = spec_from_dict(spec | {"seeds": seeds, "env_args": env_args} | ({"hparams": hparams} if hparams else {}))
    return run_cell(spec, root / (name or f"{slug(task)}--{slug(algo)}"))


def budget(task: str, algo: str, quick: bool) -> int:
    """Steps per seed of a cell."""
    _, steps, rtrl_steps = TASKS[task]
    return 20_000 if quick else (rtrl_steps if ALGOS[algo] == "rtrl" else steps)


def paper_order(task: str, a: str, b: str) -> str | None:
    """The paper's ordering of two algorithms on a task, from its Table 2 (best evaluation); None where the paper
    has no number for one of them."""
    pa, pb = PAPER[task][a], PAPER[task][b]
    if pa is None or pb is None:
        return None
    return f"{a} > {b}" if pa > pb else f"{a} < {b}" if pa < pb else f"{a} = {b}"


def verdict(task: str, a: str, b: str, sa: dict, sb: dict, score: str) -> tuple[str, str]:
    """(our result with its test, whether the paper's ordering holds) for one pair, on one per-seed score."""
    c = compare(sa["per_seed"][score], sb["per_seed"][score])
    ours = c.verdict(a, b)
    paper = paper_order(task, a, b)
    if paper is None:
        holds = "no paper number"
    elif " ~ " in ours or "=" in paper:
        holds = "not resolved" if "=" not in paper else ("holds" if " ~ " in ours else "does not hold")
    else:
        holds = "holds" if ours == paper else "reversed"
    return f"{ours} (p = {format_p(c.p_value)}, P(>) = {c.prob_improvement:.2f})", holds


def row_verdict(holds: list[str]) -> str:
    """One word for a task's row from its pairwise verdicts on best: the paper's ordering holds where every
    resolved pair agrees with it, does not hold where one is reversed, is partly resolved otherwise."""
    judged = [h for h in holds if h != "no paper number"]
    if not judged:
        return "no paper ordering"
    if any(h in ("reversed", "does not hold") for h in judged):
        return "does not hold"
    return "holds" if all(h == "holds" for h in judged) else "holds where resolved"


def curves(root: Path, task: str, algo: str) -> dict[str, np.ndarray]:
    """The cell's per-seed learning curves: eval_return (seeds, points) and step (points,)."""
    m = read_metrics(root / f"{slug(task)}--{slug(algo)}" / "metrics.csv")
    return {"eval_return": np.asarray(m["eval_return"], float), "step": np.asarray(m["step"])[0]}


def authors_cell(task: str, algo: str, seeds: int, steps: int, root: Path, run_missing: bool) -> dict | None:
    """The authors' code on this cell (reference_rtrrl.run, one cached JSON per seed under root/authors/):
    {"best", "final": per-seed arrays, "steps", "seeds"}; None where it has no such mode or nothing is cached
    and run_missing is off."""
    if algo not in AUTHORS_MODES or task not in AUTHORS_TASKS:
        return None
    flags, config = AUTHORS_TASKS[task]
    args = flags + AUTHORS_MODES[algo]
    runs = []
    for seed in range(1, seeds + 1):  # the authors' code draws a random seed for 0
        cache = root / "authors" / f"{slug(task)}--{slug(algo)}" / f"seed{seed}.json"
        if not cache.exists() and not (run_missing and reference_rtrrl.available()):
            continue
        runs.append(reference_rtrrl.run(seed, steps, args, cache, eval_every_steps=max(steps // 20, 1000),
                                        config=config))
    if not runs:
        return None
    return {"best": np.array([r["best"] for r in runs]), "final": np.array([r["final"] for r in runs]),
            "steps": steps, "seeds": len(runs)}


def format_authors(a: dict | None) -> str:
    if a is None:
        return "not run"
    return (f"best {np.median(a['best']):.4g} [{np.percentile(a['best'], 25):.4g}, "
            f"{np.percentile(a['best'], 75):.4g}] · final {np.median(a['final']):.4g} ({a['seeds']} seeds, "
            f"{a['steps']:,} steps)")


def against_authors(root: Path, task: str, algo: str, a: dict | None) -> str:
    """dynjax's cell against the authors' code at the authors' budget: per dynjax seed, its best evaluation up to
    that many steps (step 0 excluded), against the authors' per-seed best; two-sided U test, seeds as the unit."""
    if a is None:
        return "-"
    c = curves(root, task, algo)
    upto = (c["step"] > 0) & (c["step"] <= a["steps"])
    ours = np.nanmax(np.where(upto[None, :], c["eval_return"], np.nan), axis=1)
    cmp = compare(ours, a["best"])
    return (f"dynjax best {np.median(ours):.4g} at {a['steps']:,}: {cmp.verdict('dynjax', 'authors')} "
            f"(p = {format_p(cmp.p_value)})")


def format_trend(t) -> str:
    if not np.isfinite(t.p_value):
        return "n/a"
    word = "still rising" if t.rising else "no"
    return f"{word} (median change {np.nanmedian(t.change):+.3g}, p = {format_p(t.p_value)})"


COMPARED = [("RTRRL-RFLO", "linear TD(lambda)"), ("RTRRL-RFLO", "PPO CT-RNN (BPTT)"), ("RTRRL-RFLO", "RTRRL-RTRL")]
ACROBOT_LEVEL = -100.0  # appendix Fig. 10: RFLO reaches about -100 within ~50k steps, PPO takes 250-400k


def acrobot_claim(root: Path, budget: int) -> list[str]:
    """Steps to reach an evaluation return of -100 on Acrobot-v1 per seed, RFLO against PPO (the paper's Fig. 10
    claim: RFLO gets there 5-8x sooner). A seed that never reaches it counts as 2 x the budget in the U test."""
    rows = []
    reach = {}
    for algo in ("RTRRL-RFLO", "PPO CT-RNN (BPTT)", "RTRRL-RTRL", "linear TD(lambda)"):
        try:
            c = curves(root, "Acrobot-v1", algo)
        except FileNotFoundError:
            continue
        t = steps_to_reach(c["eval_return"], c["step"], ACROBOT_LEVEL)
        reach[algo] = t
        ok = t[np.isfinite(t)]
        med = f"{np.median(ok):,.0f}" if ok.size else "never"
        rows.append(f"| {algo} | {ok.size} / {t.size} | {med} |")
    if "RTRRL-RFLO" in reach and "PPO CT-RNN (BPTT)" in reach:
        a, b = (np.where(np.isfinite(x), x, 2 * budget) for x in (reach["RTRRL-RFLO"], reach["PPO CT-RNN (BPTT)"]))
        c = compare(-a, -b)  # fewer steps is better
        ours = c.verdict("RTRRL-RFLO faster", "PPO")
        rows.append(f"| RFLO vs PPO (U test on steps, never = 2 x budget) | {ours} | p = {format_p(c.p_value)}, "
                    f"P(RFLO sooner) = {c.prob_improvement:.2f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="2 seeds, 20k steps: a pipeline check, not a result")
    ap.add_argument("--tasks", nargs="*", default=list(TASKS), help="subset of task names")
    ap.add_argument("--algos", nargs="*", default=list(ALGOS), help="subset of algorithm names")
    ap.add_argument("--authors", action="store_true",
                    help="also run the authors' code where its cells are not cached (../shared/anchors builds it; "
                         f"{AUTHORS_SEEDS} seeds, the cell's budget up to {AUTHORS_MAX_STEPS})")
    ap.add_argument("--authors-only", action="store_true",
                    help="run only the authors' cells missing from the cache (beside a running dynjax sweep), no table")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or (RESULTS / ("rtrrl_table_quick" if args.quick else "rtrrl_table"))
    seeds = 2 if args.quick else args.seeds
    cells, authors, trends, t0 = {}, {}, {}, time.time()
    if args.authors_only:
        for task in args.tasks:
            for algo in args.algos:
                steps = min(budget(task, algo, args.quick), AUTHORS_MAX_STEPS.get(algo, 0))
                a = authors_cell(task, algo, AUTHORS_SEEDS, steps, root, True)
                print(f"authors' code {task:28s} {algo:18s} {format_authors(a)}", flush=True)
        return
    for task in args.tasks:
        for algo in args.algos:
            steps = budget(task, algo, args.quick)
            eval_every = max(min(steps // 20, 100_000), 1_000)  # the paper evaluates every 100k steps
            s = table_cell(task, algo, seeds, steps, eval_every, root)
            cells[task, algo] = (steps, s)
            trends[task, algo] = late_trend(curves(root, task, algo)["eval_return"])
            print(f"{task:28s} {algo:18s} final {format_stats(s['final'])}  best (excl. step 0) "
                  f"{format_stats(s['best_excl_step0'])}", flush=True)
    for task in args.tasks:
        for algo in args.algos:
            steps = min(cells[task, algo][0], AUTHORS_MAX_STEPS.get(algo, 0))
            authors[task, algo] = authors_cell(task, algo, AUTHORS_SEEDS, steps, root,
                                               args.authors and not args.quick)
    lines = [
        "# RTRRL appendix Table 2 on a 2-core CPU" + (" (quick pipeline check, not a result)" if args.quick else ""),
        "",
        f"{seeds} seeds per cell (vmapped), N=32, paper defaults (no update clipping, see RTRRLConfig); evaluation "
        "every 5% of the budget (at most every 100k steps, the paper's cadence) on 10 episodes with sampled actions. "
        "Per seed: final = mean of the last 10% of the evaluations (the last 2 of 20), best = best evaluation "
        "excluding the untrained step 0 (what the paper reports), AUC = mean evaluation return over training. Each "
        "cell: IQM (95% bootstrap CI) · median [q25, q75] over the seeds; diverged seeds are excluded and counted. "
        "Still rising: the last 10% of the evaluations against the 10% before them, per seed, Wilcoxon "
        "signed-rank test over seeds (the budget, not the method, may be the limit where it says so). "
        "Paper: median of best over 5 runs, budgets up to 50M steps with early stopping. "
        "PPO CT-RNN (BPTT): `ppo-rnn --preset rtrrl` (the same 32-unit CT-RNN, linear heads and Meta-RL input), "
        "8 envs x 125 steps per update, PureJaxRL's PPO settings otherwise (4 epochs x 4 minibatches, lr 2.5e-4 "
        "annealed, GAE 0.95, clip 0.2, entropy 0.01). "
        "Authors' code: github.com/FranzKnut/RTRRL-AAAI25 as published, run here with its defaults (reward "
        f"normalisation, feedback alignment) on the same task with gymnax's episode cap, {AUTHORS_SEEDS} seeds, "
        "the cell's budget up to 1M steps (200k for its RTRL, ~10x slower); median [q25, q75] of its best and median of its final evaluation, on its own "
        "metric (first-episode return of 10 environments; benchmarks/reference_rtrrl.py). It has no PPO. "
        "dynjax vs authors' code: dynjax's per-seed best evaluation up to the authors' budget against the authors' "
        "per-seed best, two-sided U test (16 vs 5 seeds).",
        "",
        "| task | algorithm | steps/seed | final | best (excl. step 0) | AUC | still rising | diverged | paper best "
        "| authors' code | dynjax vs authors' code |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (task, algo), (steps, s) in cells.items():
        paper = PAPER[task][algo]
        lines.append(f"| {task} | {algo} | {steps:,} | {format_stats(s['final'])} | "
                     f"{format_stats(s['best_excl_step0'])} | {format_stats(s['auc'])} | "
                     f"{format_trend(trends[task, algo])} | {len(s['diverged'])} | "
                     f"{'-' if paper is None else paper} | {format_authors(authors[task, algo])} | "
                     f"{against_authors(root, task, algo, authors[task, algo])} |")
    lines += ["", "The paper's ordering of RTRRL-RFLO against each other column (from its best evaluations), tested on "
              "ours with seeds as the unit: two-sided Mann-Whitney U test at 0.05 on the per-seed final and best "
              "(excl. step 0) scores; P(>) = probability that a seed of the first beats one of the second; "
              "'reversed' means the opposite ordering is significant, 'not resolved' that the test finds no "
              f"difference at this number of seeds ({seeds} per column). Budgets differ between columns where the "
              "steps differ (exact RTRL runs fewer steps). Row: 'holds' where every pair agrees with the paper on "
              "best, 'holds where resolved' where none is reversed, 'does not hold' where one is.", "",
              "| task | paper | ours on final | holds (final) | ours on best (excl. step 0) | holds (best) |",
              "|---|---|---|---|---|---|"]
    rows = {}
    for task in args.tasks:
        for a, b in COMPARED:
            if (task, a) not in cells or (task, b) not in cells:
                continue
            sa, sb = cells[task, a][1], cells[task, b][1]
            final, holds_final = verdict(task, a, b, sa, sb, "final")
            best, holds_best = verdict(task, a, b, sa, sb, "best")
            rows.setdefault(task, []).append(holds_best)
            lines.append(f"| {task} | {paper_order(task, a, b) or 'no number'} | {final} | {holds_final} | {best} "
                         f"| {holds_best} |")
    lines += ["", "| task | the paper's ordering (best) |", "|---|---|"]
    lines += [f"| {task} | {row_verdict(h)} |" for task, h in rows.items()]
    if "Acrobot-v1" in args.tasks:
        lines += ["", f"Acrobot-v1 (appendix Fig. 10 has no table: RFLO reaches about {ACROBOT_LEVEL:.0f} within "
                  "~50k steps, PPO with a CT-RNN or LSTM takes 250-400k): per seed, the first evaluation step with a "
                  f"return >= {ACROBOT_LEVEL:.0f}.", "", "| algorithm | seeds that reach it | median steps (of those) |",
                  "|---|---|---|"]
        lines += acrobot_claim(root, TASKS["Acrobot-v1"][1] if not args.quick else 20_000)
    lines += ["", f"Wall time of this invocation: {time.time() - t0:.0f} s (cells already finished are reused)."]
    out_md = root.parent / (root.name + ".md")
    out_md.write_text("\n".join(lines) + "\n")
    print(f"wrote {out_md}")


if __name__ == "__main__":
    main()

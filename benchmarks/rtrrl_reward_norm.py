"""The authors' reward normalisation, measured: their code with and without it, and dynjax's options beside it.

The RTRRL authors' code normalises rewards by default (`normalize_reward`: running mean and standard deviation of
the reward, (r - mean) / std). Read from their rtrrl.py: the running statistics are updated every training step,
but the normalised reward is used only in the evaluation's Meta-RL input (the reference's defect 4). Training's
TD error and RNN input see the raw reward, so the option changes nothing in learning; at evaluation the network
sees a reward input it was never trained on (on CartPole, whose reward is a constant +1, the standardised reward
is 0). dynjax's `reward_norm` applies one normalisation wherever the reward enters (TD error and input), in
training and, with frozen moments, in evaluation: `standardize` (the authors' definition) or `scale` (r divided
by the running std of the discounted return). Side by side on CartPole with positions only, 1M steps:

- dynjax RTRRL-RFLO, 16 seeds vmapped: reward_norm none (the default) | standardize | scale;
- the authors' code, 5 seeds (1..5): normalize_reward True (its default) | False. Their episodes are capped at
  gymnax's 500 (--max_ep_length 500), their metric is theirs (first-episode return of 10 environments).

    python benchmarks/rtrrl_reward_norm.py           # ~10 min dynjax + ~10 min authors on 2 cores
    python benchmarks/rtrrl_reward_norm.py --quick   # 2 seeds x 4,000 steps, dynjax only: a pipeline check
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import reference_rtrrl
from option_study import dynjax_arm, reference_arm, row, test_rows

RESULTS = Path(__file__).resolve().parent / "results"
TASK = dict(env_id="CartPole-v1", obs_mask="even")
REFERENCE_TASK = ["--env_name", "CartPole-v1", "--obs_mask", "even", "--max_ep_length", "500"]
DYNJAX_ARMS = {"reward_norm none (default)": ({}, {}),
               "reward_norm standardize": ({"reward_norm": "standardize"}, {}),
               "reward_norm scale": ({"reward_norm": "scale"}, {})}
REFERENCE_ARMS = {"normalize_reward True (its default)": [],
                  "normalize_reward False": ["--normalize_reward", "False"]}
LEARNED = 400.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16, help="dynjax seeds per arm (vmapped)")
    ap.add_argument("--reference-seeds", type=int, default=5, help="seeds of the authors' code per arm (1..n)")
    ap.add_argument("--steps", type=int, default=1_000_000, help="environment steps per seed")
    ap.add_argument("--quick", action="store_true", help="2 seeds x 4,000 steps, dynjax only: a pipeline check")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or RESULTS / ("rtrrl_reward_norm_quick" if args.quick else "rtrrl_reward_norm")
    seeds, steps = (2, 4000) if args.quick else (args.seeds, args.steps)
    t0 = time.time()
    ours = {arm: dynjax_arm(arm, TASK, *DYNJAX_ARMS[arm], seeds, steps, root) for arm in DYNJAX_ARMS}
    theirs = {}
    if not args.quick and reference_rtrrl.available():
        theirs = {arm: reference_arm(arm, REFERENCE_TASK + REFERENCE_ARMS[arm], args.reference_seeds, steps, root)
                  for arm in REFERENCE_ARMS}
    lines = [f"# RTRRL with reward normalisation: dynjax beside the authors' code"
             + (" (quick pipeline check, not a result)" if args.quick else ""), "",
             f"CartPole-v1, positions only, RFLO, N=32, the paper's other defaults; {steps:,} steps per seed. "
             f"dynjax: {seeds} seeds vmapped, evaluation every {max(steps // 20, 1000):,} steps on 10 episodes. "
             f"Authors' code: seeds 1..{args.reference_seeds}, episodes capped at 500, its own metric. Per seed: "
             f"best evaluation (step 0 excluded) and final (mean of the last 10% of evaluations); 'learned' = best "
             f">= {LEARNED:.0f}. Cells: IQM (95% bootstrap CI) · median [q25, q75] over seeds. "
             "benchmarks/rtrrl_reward_norm.py says what each arm normalises.", "",
             "| implementation | arm | seeds | learned | best | final |", "|---|---|---|---|---|---|"]
    lines += [row("dynjax", arm, s["per_seed"], LEARNED) for arm, s in ours.items()]
    lines += [row("authors' code", arm, s["per_seed"], LEARNED) for arm, s in theirs.items()]
    if not theirs:
        lines.append("| authors' code | not run | | | | |")
    lines += ["", "Two-sided Mann-Whitney U tests between the arms of one implementation (seeds as the unit); "
              "P(>) = probability that a seed of the first arm beats one of the second.", "",
              "| implementation | arms | score | result | p | P(>) |", "|---|---|---|---|---|---|"]
    lines += test_rows("dynjax", ours) + (test_rows("authors' code", theirs) if theirs else [])
    lines += ["", f"Wall time of this invocation: {time.time() - t0:.0f} s (finished cells and runs are reused)."]
    out_md = root.parent / (root.name + ".md")
    out_md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out_md}")


if __name__ == "__main__":
    main()

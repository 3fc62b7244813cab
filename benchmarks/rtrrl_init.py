"""Does the initialisation explain where dynjax and the authors' code differ? RTRRL-RFLO with dynjax's and with
the authors' initialisation, on the rows where the two codes differ most at the same budget.

The paper does not state its initialisation; the authors' code initialises the CT-RNN's W LeCun-normal over the
whole fan-in (bias column included) and the heads and feedback matrices Glorot-normal, so its initial policy is far
from uniform and its critic is not zero; dynjax's default draws each block of W with variance 1/fan (zero bias),
a near-uniform policy and a zero critic (RTRRLConfig.param_init: "dynjax" | "authors"). Everything else is the same code.
Tasks: MetaMaze (authors' code best above dynjax's in Table 2's cells) and CartPole with positions only, 1M steps,
16 seeds per arm vmapped. Per seed: best evaluation (step 0 excluded) and final; U tests between the arms.

    python benchmarks/rtrrl_init.py          # ~15 min on 2 cores
    python benchmarks/rtrrl_init.py --quick  # 2 seeds x 4,000 steps: a pipeline check
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

from common import slug, write_table
from option_study import RESULTS, dynjax_arm, row, test_rows

TASKS = {"MetaMaze": dict(env_id="MetaMaze-misc", obs_mask=None),
         "CartPole, positions only": dict(env_id="CartPole-v1", obs_mask="even")}
ARMS = {"dynjax init (default)": ({}, {}), "authors' init": ({"param_init": "authors"}, {})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="2 seeds x 4,000 steps: a pipeline check")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or RESULTS / ("rtrrl_init_quick" if args.quick else "rtrrl_init")
    seeds, steps = (2, 4000) if args.quick else (args.seeds, args.steps)
    t0 = time.time()
    lines = ["# RTRRL-RFLO: dynjax's initialisation against the authors'" + (" (quick pipeline check, not a result)"
                                                                            if args.quick else ""), "",
             f"{steps:,} steps per seed, {seeds} seeds per arm (vmapped), N = 32, the paper's defaults otherwise; "
             "evaluation every 5% of the budget on 10 episodes. 'learned' = best >= 400 (CartPole) or >= 10 "
             "(MetaMaze). Cells: IQM (95% bootstrap CI) · median [q25, q75] over seeds. benchmarks/rtrrl_init.py.",
             "", "| task | arm | seeds | learned | best | final |", "|---|---|---|---|---|---|"]
    tests = ["", "Two-sided Mann-Whitney U tests between the arms (seeds as the unit).", "",
             "| task | arms | score | result | p | P(>) |", "|---|---|---|---|---|---|"]
    for task, fields in TASKS.items():
        arms = {arm: dynjax_arm(arm, fields, *ARMS[arm], seeds, steps, root / slug(task)) for arm in ARMS}
        learned = 10.0 if task == "MetaMaze" else 400.0
        lines += [row(task, arm, s["per_seed"], learned) for arm, s in arms.items()]
        tests += test_rows(task, arms)
    lines += tests + ["", f"Wall time of this invocation: {time.time() - t0:.0f} s (finished cells are reused)."]
    write_table(root, lines)


if __name__ == "__main__":
    main()

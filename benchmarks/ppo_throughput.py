"""PPO-RNN throughput: dynjax's recurrent PPO vs a plain single-file PureJaxRL-style implementation.

Same configuration for both, measured in the same process, alternating (reference, dynjax) so that load drifts
affect both: CartPole-v1, GRU with 128 units, one 128-unit tanh layer in the actor and critic heads, 64 envs x
128 steps per update, 4 epochs x 4 minibatches of whole sequences, 16 seeds vmapped in one program.
Throughput is environment steps per second of all seeds together, updates included, compilation excluded
(reported separately). dynjax's run also evaluates at its start and end (one episode each); the reference does
not evaluate. The reference is benchmarks/ppo_reference.py (flax.linen GRUCell, optax, gymnax, written for this
benchmark in the PureJaxRL design; not part of dynjax).

    python benchmarks/ppo_throughput.py                  # writes benchmarks/results/ppo_throughput.md
    python benchmarks/ppo_throughput.py --quick          # tiny budget: a pipeline check only
    python benchmarks/ppo_throughput.py --anchor         # dynjax at shared/anchors/purejaxrl_driver.py's
                                                         # settings (1 seed x 1e5 and 8 seeds x 5e4 steps,
                                                         # 4 envs), to set beside run_purejaxrl.sh's output
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import numpy as np

from dynjax.agents.ppo import PPOConfig, make_train

try:
    from ppo_reference import time_reference
except ImportError:  # run from the repository root
    from benchmarks.ppo_reference import time_reference

RESULTS = Path(__file__).resolve().parent / "results"


def time_dynjax(n_seeds: int, num_envs: int, total_steps: int, hidden: int, num_steps: int) -> dict:
    cfg = PPOConfig(env_id="CartPole-v1", cell="gru", hidden_size=hidden, head_hidden=hidden, num_envs=num_envs,
                    num_steps=num_steps, total_steps=total_steps, eval_every=total_steps, eval_episodes=1)
    keys = jax.random.split(jax.random.key(0), n_seeds)
    t0 = time.perf_counter()
    compiled = jax.jit(jax.vmap(make_train(cfg))).lower(keys).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    state, metrics = compiled(keys)
    jax.block_until_ready(metrics)
    run_s = time.perf_counter() - t0
    return {"env_steps_per_s": n_seeds * total_steps / run_s, "compile_s": compile_s, "run_s": run_s,
            "train_return": float(np.nanmedian(np.asarray(metrics.train_return)[:, -1]))}


def main() -> None:
    from dynjax import startup

    startup.enable()  # time what `dynjax train` runs: its Threefry lowering (dynjax.startup), before any lowering
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--envs", type=int, default=64)
    ap.add_argument("--updates", type=int, default=12, help="PPO updates per seed per timed run")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=2, help="alternating (reference, dynjax) pairs")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--anchor", action="store_true", help="time dynjax at the anchor driver's settings only")
    args = ap.parse_args()
    if args.anchor:
        for seeds, steps in ((1, 99_840), (8, 49_664)):  # whole updates of 4 x 128 steps, as PureJaxRL rounds
            r = time_dynjax(seeds, 4, steps, 128, 128)
            print(f"| dynjax S={seeds} envs=4 steps/seed={steps} | compile {r['compile_s']:.1f} s | run {r['run_s']:.1f} s "
                  f"| {r['env_steps_per_s']:,.0f} env-steps/s |", flush=True)
        return
    if args.quick:
        args.seeds, args.envs, args.updates, args.hidden, args.repeats = 2, 4, 2, 16, 1
    num_steps = 128
    total = args.updates * args.envs * num_steps
    rows = []
    for r in range(args.repeats):
        ref = time_reference(n_seeds=args.seeds, num_envs=args.envs, total_timesteps=total, hidden=args.hidden,
                             head_hidden=args.hidden, num_steps=num_steps)
        ours = time_dynjax(args.seeds, args.envs, total, args.hidden, num_steps)
        rows.append((ref, ours))
        print(json.dumps({"repeat": r, "reference": ref, "dynjax": ours}), flush=True)
    ref_rate = max(r["env_steps_per_s"] for r, _ in rows)
    our_rate = max(o["env_steps_per_s"] for _, o in rows)
    lines = [
        "# PPO-RNN throughput: dynjax vs a single-file PureJaxRL-style implementation" +
        (" (quick pipeline check, not a result)" if args.quick else ""),
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, JAX {jax.__version__} "
        f"({jax.devices()[0].platform}); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Config: CartPole-v1, GRU {args.hidden}, heads 1 x {args.hidden} tanh, {args.seeds} seeds x {args.envs} envs "
        f"x {num_steps} steps per update, 4 epochs x 4 minibatches, {args.updates} updates per seed "
        f"({total:,} env steps per seed). Env steps/s over all seeds, updates included, compile excluded; "
        f"{args.repeats} alternating pairs in one process, best of each reported.",
        "",
        "| run | reference env-steps/s | dynjax env-steps/s | ratio (dynjax / reference) | reference compile s | dynjax compile s |",
        "|---|---|---|---|---|---|",
    ]
    for i, (ref, ours) in enumerate(rows):
        lines.append(f"| {i} | {ref['env_steps_per_s']:,.0f} | {ours['env_steps_per_s']:,.0f} | "
                     f"{ours['env_steps_per_s'] / ref['env_steps_per_s']:.2f} | {ref['compile_s']:.1f} | "
                     f"{ours['compile_s']:.1f} |")
    lines += ["", f"Best: reference {ref_rate:,.0f}, dynjax {our_rate:,.0f} env-steps/s: ratio {our_rate / ref_rate:.2f} "
              "(target >= 1.0)."]
    out = args.out or RESULTS / ("ppo_throughput_quick.md" if args.quick else "ppo_throughput.md")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

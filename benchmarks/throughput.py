"""Throughput of the RTRRL core: seed-steps per second against seeds S, hidden size N and rule.

Each cell runs in its own process (so peak memory is that cell's own) and reports:
  - train rate: seed-steps/s of the jitted, scanned online update (median of 3 repeats, compile excluded);
  - eval cost: seconds for one evaluation (10 episodes per seed, learning frozen);
  - effective rate at the default cadence (evaluate every 10,000 steps): S * 10,000 / (t_train + t_eval);
  - XLA cost analysis of one update step: flops and bytes accessed per seed-step;
  - compile time and peak resident memory of the process.
S = 1 uses the plain (un-vmapped) single-learner program; S > 1 uses jit(vmap(...)).

    python benchmarks/throughput.py                # issue grid, writes benchmarks/results/throughput.md
    python benchmarks/throughput.py --quick        # a few cells, seconds
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CADENCE = 10_000


def measure(S: int, N: int, rule: str, env_id: str, mask: str) -> dict:
    import jax
    import numpy as np

    from dynjax import RTRRLConfig, make_learner

    steps = int(min(CADENCE, max(500, 4_000_000 // (S * max(1, (N // 32) ** 2) * (16 if rule == "rtrl" else 1)))))
    cfg = RTRRLConfig(env_id=env_id, obs_mask=mask, hidden_size=N, rule=rule, total_steps=steps, eval_every=steps)
    learner = make_learner(cfg)

    def train_chunk(s):
        return jax.lax.scan(lambda c, _: (learner.step(c)[0], None), s, None, length=steps)[0]

    if S == 1:
        init, chunk, evaluate, step = (jax.jit(learner.init), jax.jit(train_chunk, donate_argnums=0),
                                       jax.jit(learner.evaluate), learner.step)
        state = init(jax.random.key(0))
    else:
        init, chunk, evaluate = (jax.jit(jax.vmap(learner.init)), jax.jit(jax.vmap(train_chunk), donate_argnums=0),
                                 jax.jit(jax.vmap(learner.evaluate)))
        step = jax.vmap(learner.step)
        state = init(jax.random.split(jax.random.key(0), S))
    t0 = time.perf_counter()
    compiled = chunk.lower(state).compile()
    compile_s = time.perf_counter() - t0
    cost = jax.jit(step).lower(state).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    state = compiled(state)
    jax.block_until_ready(state)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        state = compiled(state)
        jax.block_until_ready(state)
        times.append(time.perf_counter() - t)
    m = evaluate(state)
    jax.block_until_ready(m)
    t = time.perf_counter()
    jax.block_until_ready(evaluate(state))
    eval_s = time.perf_counter() - t
    train_rate = S * steps / float(np.median(times))
    t_seg = S * CADENCE / train_rate + eval_s
    return {
        "S": S, "N": N, "rule": rule, "steps_timed": steps, "train_rate": train_rate, "eval_s": eval_s,
        "effective_rate": S * CADENCE / t_seg, "compile_s": compile_s,
        "flops_per_seed_step": float(cost.get("flops", float("nan"))) / S,
        "bytes_per_seed_step": float(cost.get("bytes accessed", float("nan"))) / S,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "devices": str(jax.devices()[0].platform), "jax": jax.__version__,
    }


def run_cell(S: int, N: int, rule: str, args) -> dict:
    cmd = [sys.executable, __file__, "--one", f"{S},{N},{rule}", "--env", args.env, "--mask", args.mask]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode != 0:
        return {"S": S, "N": N, "rule": rule, "error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def grid(quick: bool, full: bool) -> list[tuple[int, int, str]]:
    if quick:
        return [(1, 32, "rflo"), (16, 32, "rflo"), (1, 16, "rtrl")]
    cells = [(S, N, "rflo") for N in (32, 64, 128) for S in (1, 16, 256, 1024)]
    cells += [(S, N, "rtrl") for N in (16, 32) for S in (1, 16)]
    if full:
        cells = sorted({*cells, *[(S, N, "rflo") for N in (16, 32, 64, 128) for S in (1, 4, 16, 64, 256, 1024, 4096)]})
    return cells


def growth_exponents(rows: list[dict]) -> list[str]:
    """Fitted exponent p of per-seed-step cost ~ N^p between consecutive N at fixed S and rule."""
    lines = []
    by = {}
    for r in rows:
        if "error" not in r:
            by.setdefault((r["rule"], r["S"]), []).append(r)
    for (rule, S), rs in sorted(by.items()):
        rs = sorted(rs, key=lambda r: r["N"])
        for a, b in zip(rs, rs[1:]):
            p = math.log(a["train_rate"] / b["train_rate"]) / math.log(b["N"] / a["N"])
            lines.append(f"| {rule} | {S} | {a['N']} -> {b['N']} | {p:.2f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--mask", default="even")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true", help="the S x N cost-model grid (S up to 4096, N 16..128)")
    ap.add_argument("--out", type=Path, default=RESULTS / "throughput.md")
    args = ap.parse_args()
    if args.one:
        S, N, rule = args.one.split(",")
        print(json.dumps(measure(int(S), int(N), rule, args.env, args.mask)))
        return
    rows = []
    for S, N, rule in grid(args.quick, args.full):
        r = run_cell(S, N, rule, args)
        rows.append(r)
        if "error" in r:
            print(f"S={S:5d} N={N:4d} {rule}: ERROR {r['error']}", flush=True)
        else:
            print(f"S={S:5d} N={N:4d} {rule}: train {r['train_rate']:>12,.0f}  effective {r['effective_rate']:>12,.0f} "
                  f"seed-steps/s  compile {r['compile_s']:.1f}s  rss {r['peak_rss_mb']:.0f} MB", flush=True)
    ok = [r for r in rows if "error" not in r]
    lines = [
        f"# RTRRL throughput ({args.env}, mask={args.mask})", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {ok[0]['devices'] if ok else '?'}; "
        f"JAX {ok[0]['jax'] if ok else '?'}. Median of 3 timed repeats after a warm-up; compile excluded.",
        "Effective rate = S x 10,000 / (time of 10,000 training steps + one evaluation of 10 episodes per seed).", "",
        "| rule | S | N | train seed-steps/s | effective seed-steps/s | eval s | compile s | flops/seed-step | bytes/seed-step | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['rule']} | {r['S']} | {r['N']} | error: {r['error']} | | | | | | |")
            continue
        lines.append(
            f"| {r['rule']} | {r['S']} | {r['N']} | {r['train_rate']:,.0f} | {r['effective_rate']:,.0f} | "
            f"{r['eval_s']:.3f} | {r['compile_s']:.1f} | {r['flops_per_seed_step']:,.0f} | "
            f"{r['bytes_per_seed_step']:,.0f} | {r['peak_rss_mb']:.0f} |")
    lines += ["", "Growth of cost per seed-step with N (cost ~ N^p):", "", "| rule | S | N | p |", "|---|---|---|---|"]
    lines += growth_exponents(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    (args.out.with_suffix(".json")).write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

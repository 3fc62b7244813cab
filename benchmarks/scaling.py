"""Scaling of the sweep runner (dynjax.sweep): seeds, (virtual) devices, chunking overhead, host memory.

Everything runs through `run_sweep`, the code path of `dynjax train` and `dynjax sweep`, on RTRRL-RFLO, N=32,
CartPole with the velocities hidden. Each measurement is its own process (device count and peak memory are
per process). Writes benchmarks/results/scaling.md.

  1. seed-steps/s against the number of seeds S (1 ... 4096), one device;
  2. weak scaling over D virtual CPU devices (XLA_FLAGS=--xla_force_host_platform_device_count=D) with
     256 learners per device: efficiency = rate(D) / (D x rate(1)). On a CPU, virtual devices share the
     same cores, so this measures the sharding machinery's overhead, not extra hardware;
  3. overhead of chunking (host loop, metrics, orbax checkpoints) as a share of the run, chunks of 10,000 steps;
  4. peak host memory (the 4096-seed row is the 4096 x N=32 sweep).

    python benchmarks/scaling.py            # about 12 minutes on 2 CPU cores
    python benchmarks/scaling.py --quick    # a pipeline check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def one(seeds: int, steps: int, eval_every: int, chunk_evals: int) -> dict:
    """Run one sweep in this process; rate from the chunk programs' own time (compile excluded)."""
    import jax

    from dynjax.sweep import run_sweep, spec_from_dict

    spec = spec_from_dict({"algo": "rtrrl", "seeds": seeds, "config": {
        "env_id": "CartPole-v1", "obs_mask": "even", "hidden_size": 32, "total_steps": steps,
        "eval_every": eval_every, "eval_episodes": 10}})
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        summary = run_sweep(spec, Path(d) / "run", chunk_evals=chunk_evals, log=lambda _m: None)
        wall = time.perf_counter() - t0
    t = summary["timing"]
    return {"seeds": seeds, "devices": jax.device_count(), "steps": steps, "wall_s": wall,
            "compute_s": t["compute_s"], "io_s": t["io_s"], "rate": seeds * steps / t["compute_s"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run(seeds: int, steps: int, eval_every: int, devices: int = 1, chunk_evals: int = 1) -> dict:
    env = os.environ.copy() | {"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
                               "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, __file__, "--one", f"{seeds},{steps},{eval_every},{chunk_evals}"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def budget(seeds: int, quick: bool) -> int:
    """Steps per seed: about 2M seed-steps per measurement (at least 2 chunks), a multiple of the chunk."""
    if quick:
        return 2 * CHUNK_QUICK
    return max(20_000, 2_000_000 // seeds // 10_000 * 10_000)


CHUNK_QUICK = 500


def main() -> None:
    from dynjax import startup

    startup.enable()  # time what `dynjax train` runs (dynjax.startup); each cell's process runs main too
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "scaling.md")
    args = ap.parse_args()
    if args.one:
        s, st, ev, ce = map(int, args.one.split(","))
        print(json.dumps(one(s, st, ev, ce)))
        return
    seeds_axis = [16] if args.quick else [1, 16, 256, 1024, 4096]
    dev_axis = [1, 2] if args.quick else [1, 2, 4, 8]
    per_dev = 8 if args.quick else 128
    chunk = CHUNK_QUICK if args.quick else 10_000
    lines = ["# Sweep-runner scaling (RTRRL-RFLO, N=32, CartPole velocities hidden)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs. Rates are seed-steps/s of the chunk programs "
             f"(compile excluded; evaluation of 10 episodes every {chunk:,} steps included). Chunk overhead = time "
             "between chunk programs (gathering metrics, appending metrics.csv, orbax checkpoints: after a chunk "
             "once 10 s have passed, the default) as a share of the run.", "",
             "## Seeds (one device)", "",
             "| seeds | steps/seed | chunks | seed-steps/s | chunk overhead | wall s (incl. compile) | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for S in seeds_axis:
        st = budget(S, args.quick)
        r = run(S, st, chunk)
        lines.append(f"| {S} | {st:,} | {st // chunk} | {r['rate']:,.0f} | "
                     f"{r['io_s'] / (r['compute_s'] + r['io_s']):.1%} | {r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} |")
        print(lines[-1], flush=True)
    lines += ["", f"## Weak scaling over virtual devices ({per_dev} learners per device)", "",
              "| devices | learners | seed-steps/s | efficiency vs 1 device |", "|---|---|---|---|"]
    base = None
    for D in dev_axis:
        r = run(per_dev * D, budget(per_dev * D, args.quick), chunk, devices=D)
        base = base or r["rate"]
        lines.append(f"| {D} | {per_dev * D} | {r['rate']:,.0f} | {r['rate'] / (D * base):.0%} |")
        print(lines[-1], flush=True)
    lines += ["", "(2 physical cores: D virtual devices share them, so ideal weak scaling here is about 2/D "
              "beyond D = 2; the column shows the cost of the sharded layout, not added hardware.)"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

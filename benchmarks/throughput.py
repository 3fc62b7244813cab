"""Throughput of the learners: seed-steps per second against seeds S, hidden size N and rule or algorithm.

Each cell runs in its own process (so peak memory is that cell's own) and reports:
  - train rate: seed-steps/s of the jitted, scanned updates (median of 5 repeats, compile excluded);
  - eval cost: seconds for one evaluation (10 episodes per seed, learning frozen; Dynamic RL adds its probe);
  - effective rate at the default cadence (evaluate every 10,000 steps): S * 10,000 / (t_train + t_eval);
  - XLA cost analysis of one learner's update: flops and bytes accessed per seed-step;
  - compile time and peak resident memory of the process.
Cells: RTRRL (rflo, rtrl) at hidden size N, Dynamic RL (drl: float32 training, drl:float64), PPO-RNN (ppo: GRU).
The learners are laid out as `dynjax train` lays them out: sharded over one CPU device per core (at least two
learners per device; --devices to choose), vmapped in blocks of --seed-block within a device (0: sized to the
cache, dynjax.sweep.batching); one learner runs the plain (un-vmapped) program.

    python benchmarks/throughput.py                # issue grid, writes benchmarks/results/throughput.md
    python benchmarks/throughput.py --quick        # a few cells
    python benchmarks/throughput.py --compare ../old-checkout --out benchmarks/results/throughput_speedup.md
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
REPEATS = 5  # timed chunks per cell (median): a one-learner chunk lasts ~0.1 s, and this VM's speed wanders
ENV_AT_START = dict(os.environ)  # a cell's process starts from this (not from what this process's enable() set)


# Cells: (algorithm, S, N, variant). RTRRL's variant is its rule; Dynamic RL's its train_dtype (N = 300: its
# 200 + 100 MTRNN); PPO-RNN's its cell (GRU, N = 128, CartPole, 4 environments per learner).
ALGOS = {"rflo": "rtrrl", "rtrl": "rtrrl", "drl": "dynamic-rl", "ppo": "ppo-rnn"}


def cell_config(algo: str, N: int, variant: str, env_id: str, mask: str, steps: int) -> object:
    """The configuration a cell times: its updates cover about `steps` environment steps per learner."""
    from dynjax.agents import ALGORITHMS

    cls = ALGORITHMS[algo].config_cls
    if algo == "rtrrl":
        return cls(env_id=env_id, obs_mask=mask, hidden_size=N, rule=variant, total_steps=steps, eval_every=steps)
    if algo == "dynamic-rl":
        unit = cls().critic_window
        steps = max(unit, steps // unit * unit)
        extra = {"train_dtype": variant} if "train_dtype" in cls.__dataclass_fields__ else {}  # older checkouts
        return cls(total_steps=steps, eval_every=steps, **extra)
    unit = cls().steps_per_update
    steps = max(unit, steps // unit * unit)
    return cls(cell=variant, hidden_size=N, total_steps=steps, eval_every=steps)


def measure(S: int, N: int, rule: str, env_id: str, mask: str, block: int, devices: int = 0) -> dict:
    """One cell, in this process: `devices` CPU devices (0: what `dynjax train --seeds S` uses) with the
    learners sharded over them as the sweep runner does, vmapped in blocks of `block` (0: sized to the cache)."""
    import jax

    if devices:
        jax.config.update("jax_num_cpu_devices", devices)
    from dynjax import startup

    try:  # time what `dynjax train --seeds S` runs (dynjax.startup); before any JAX operation
        startup.enable(learners=S)
    except TypeError:  # a checkout older than the learner-count device choice (--compare)
        startup.enable()
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    from dynjax.agents import ALGORITHMS, driver
    from dynjax.sweep.batching import block_size_for, state_bytes
    from dynjax.sweep.devices import sharded

    algo = ALGOS[rule] if rule in ALGOS else "rtrrl"
    variant = {"drl": "float32", "ppo": "gru"}.get(rule, rule)
    if ":" in rule:  # drl:float64, ppo:mtrnn
        rule, variant = rule.split(":")
        algo = ALGOS[rule]
    work = {"rtrl": 16, "drl": 24, "ppo": 8}.get(rule, 1) * max(1, (N // 32) ** 2 if algo == "rtrrl" else 1)
    steps = int(min(CADENCE, max(100, 4_000_000 // (S * work))))
    A = ALGORITHMS[algo]
    with jax.enable_x64(A.float64):
        cfg = cell_config(algo, N, variant, env_id, mask, steps)
        learner = A.make_learner(cfg)
        unit = cfg.eval_unit
        updates = cfg.total_steps // unit
        one_state = jax.eval_shape(learner.init, jax.random.key(0))
        per_learner = state_bytes(one_state)
        n_dev = min(jax.device_count(), max(1, S // 2) if S > 1 else 1)
        mesh = Mesh(np.asarray(jax.devices()[:n_dev]), ("learners",))
        per_device = S // n_dev
        if block <= 0:
            block = block_size_for(per_device, max(2, (8 << 20) // n_dev // per_learner))

        def train_chunk(s):
            return jax.lax.scan(lambda c, _: (learner.update(c)[0], None), s, None, length=updates)[0]

        layout = NamedSharding(mesh, PartitionSpec("learners"))
        keys = jax.random.split(jax.random.key(0), S)
        # init on one device (dynjax.sweep.devices.first_device: LAPACK's eig at the MTRNN's init can hang when
        # two CPU devices run it at once), then laid out over the mesh
        state = jax.device_put(jax.jit(jax.vmap(learner.init))(keys), layout)
        chunk = sharded(train_chunk, mesh, S, block, donate=True)
        evaluate = sharded(lambda s: driver.evaluate(learner, s), mesh, S, block)
        t0 = time.perf_counter()
        compiled = chunk.lower(state).compile()
        compile_s = time.perf_counter() - t0
        one = jax.jit(learner.init)(jax.random.key(0))
        cost = jax.jit(learner.update).lower(one).compile().cost_analysis()  # ONE learner's update
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        state = jax.device_put(compiled(state), layout)
        jax.block_until_ready(state)
        times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            state = jax.device_put(compiled(state), layout)
            jax.block_until_ready(state)
            times.append(time.perf_counter() - t)
        jax.block_until_ready(evaluate(state))
        t = time.perf_counter()
        jax.block_until_ready(evaluate(state))
        eval_s = time.perf_counter() - t
    seed_steps = updates * unit
    train_rate = S * seed_steps / float(np.median(times))
    t_seg = S * CADENCE / train_rate + eval_s
    return {
        "algo": algo, "rule": rule, "variant": variant, "S": S, "N": N, "devices": n_dev, "steps_timed": seed_steps,
        "block": block, "train_rate": train_rate, "eval_s": eval_s, "effective_rate": S * CADENCE / t_seg,
        "compile_s": compile_s, "flops_per_seed_step": float(cost.get("flops", float("nan"))) / unit,
        "bytes_per_seed_step": float(cost.get("bytes accessed", float("nan"))) / unit,
        "state_bytes": per_learner,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "platform": str(jax.devices()[0].platform), "jax": jax.__version__,
    }


def machine_limits() -> dict:
    """Main-memory bandwidth (streaming a*x+y over 256 MB) and matmul flop rate, measured now."""
    import jax
    import jax.numpy as jnp

    def best_of(f, *a, reps=5):
        jax.block_until_ready(f(*a))
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            jax.block_until_ready(f(*a))
            ts.append(time.perf_counter() - t)
        return min(ts)

    n = 32 * 1024 * 1024
    x, y = jnp.ones(n), jnp.ones(n)
    bw = 3 * 4 * n / best_of(jax.jit(lambda x, y: 1.5 * x + y), x, y)
    a = jnp.ones((2048, 2048))
    flops = 2 * 2048**3 / best_of(jax.jit(lambda a: a @ a), a)
    return {"bandwidth_Bps": bw, "flops_per_s": flops}


LLC_BYTES = 32 << 20  # last-level cache of this machine's CPU (lscpu: L3 32 MB)


def regime(r: dict, lim: dict) -> str:
    """What bounds a cell. XLA's 'bytes accessed' counts every operand of every op (mostly cache hits), so
    main-memory traffic is estimated from the working set instead: once a block of learners' state no longer
    fits the last-level cache, every step streams it in and out (2 x state bytes per seed-step).

    - dispatch/op-count: few learners per step; the time is the per-op cost of the step's ~hundreds of small
      kernels, nearly independent of S (per-step time is shown);
    - bandwidth: the block's state exceeds the cache; fraction of measured stream bandwidth shown;
    - compute/cache: state cache-resident, many learners per kernel; flop rate against matmul peak shown
      (the step is element-wise and matrix-vector work, so tens of percent of matmul peak is its ceiling)."""
    step_us = r["S"] / r["train_rate"] * 1e6
    working = r["block"] * r["state_bytes"]
    fl_frac = r["train_rate"] * r["flops_per_seed_step"] / lim["flops_per_s"]
    if r["block"] <= 4:
        return f"dispatch/op-count ({step_us:.0f} us/step)"
    if working > LLC_BYTES:
        dram = r["train_rate"] * 2 * r["state_bytes"] / lim["bandwidth_Bps"]
        return f"bandwidth ({dram:.0%} of stream, block {working / 2**20:.0f} MB)"
    return f"compute/cache ({fl_frac:.0%} of matmul peak, block {working / 2**20:.1f} MB)"


def kernels_per_step(env_id: str, mask: str, N: int = 32) -> int:
    """Kernels XLA runs for one learner's step: fusions, copies and dots of the compiled entry computation."""
    import re

    import jax

    from dynjax import RTRRLConfig, make_learner

    learner = make_learner(RTRRLConfig(env_id=env_id, obs_mask=mask, hidden_size=N))
    text = jax.jit(learner.step).lower(jax.jit(learner.init)(jax.random.key(0))).compile().as_text()
    entry = text[text.index("ENTRY"):]
    entry = entry[:entry.index("\n}")]
    return len(re.findall(r"= \S+ (?:fusion|copy|dot|custom-call|while|conditional)\(", entry))


def regime_notes(rows: list[dict], lim: dict, kernels: int) -> list[str]:
    """A few lines on what bounds each regime, computed from this run's cells (RFLO, N=32 where present)."""
    by = {(r["rule"], r["S"], r["N"]): r for r in rows if "error" not in r}
    one, four = by.get(("rflo", 1, 32)), by.get(("rflo", 4, 32))
    sat = max((r for r in rows if "error" not in r and r["rule"] == "rflo" and r["N"] == 32),
              key=lambda r: r["train_rate"], default=None)
    big = by.get(("rflo", 4096, 32)) or by.get(("rflo", 1024, 32))
    if not (one and sat):
        return []
    gflops = lambda r: r["train_rate"] * r["flops_per_seed_step"] / 1e9  # noqa: E731
    lines = ["", "What bounds each regime (RFLO, N=32):", ""]
    step1 = 1e6 / one["train_rate"]
    lines.append(f"- dispatch/op-count (S <= 4): one learner's step takes {step1:.1f} us for "
                 f"{one['flops_per_seed_step']:,.0f} flops ({gflops(one):.1f} GFLOP/s, "
                 f"{gflops(one) * 1e9 / lim['flops_per_s']:.0%} of matmul peak)"
                 + (f"; 4 learners take {4e6 / four['train_rate']:.1f} us per step, so most of a step is the fixed "
                    "cost of running its few hundred small XLA kernels, not arithmetic" if four else "")
                 + ". The next speed-up needs fewer, larger kernels per step (a hand-fused step), or more learners.")
    lines.append(f"- compute/cache (S >= 16): the rate saturates at {sat['train_rate']:,.0f} seed-steps/s "
                 f"(S={sat['S']}), {1e6 * 2 / sat['train_rate']:.1f} core-us per seed-step, {gflops(sat):.0f} GFLOP/s "
                 f"= {gflops(sat) * 1e9 / lim['flops_per_s']:.0%} of matmul peak, with a block of learners' state "
                 "resident in the last-level cache. The step is matrix-vector products and element-wise passes over "
                 "~7k floats per learner, vectorised across the block; the next speed-up needs the seed axis as the "
                 "minor (SIMD) dimension so the N x N products become real matrix-matrix products, and fewer passes "
                 "over the state (traces, TD(lambda), Adam).")
    cap = lim["bandwidth_Bps"] / (2 * sat["state_bytes"])
    lines.append(f"- bandwidth: a block larger than the cache streams 2 x {sat['state_bytes'] / 1e3:.1f} kB per "
                 f"seed-step from memory: at {lim['bandwidth_Bps'] / 1e9:.1f} GB/s that caps N=32 at {cap:,.0f} "
                 "seed-steps/s, which is why blocks are sized to the cache (dynjax.sweep.batching.auto_block) and no cell "
                 "above is in this regime.")
    if big and big is not sat:
        lines.append(f"- S={big['S']} keeps {big['train_rate'] / sat['train_rate']:.0%} of the best per-seed rate "
                     f"(blocks of {big['block']} run one after another).")
    return lines


STARTUP_TITLE = "Start-up of `dynjax train rtrrl` (defaults) to its first training step"
# The phases the runner logs on its "first training step" line (dynjax.sweep.runner).
STARTUP_PHASES = {"before": r"before this batch ([\d.]+)s", "tracing": r"tracing ([\d.]+)s",
                  "step0": r"step 0 ([\d.]+)s", "waited": r"waited ([\d.]+)s",
                  "chunk_compile": r"compiled in ([\d.]+)s"}


def _proc_cpu_s(pid: int) -> float:
    """user + sys seconds of a running process, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_step(cache: str, out: str) -> dict:
    """One `dynjax train rtrrl` with defaults: wall and CPU seconds from launch to the runner's "first training
    step" line, the phases that line reports, and the wall seconds of the first chunk (10,000 steps and an
    evaluation, up to the first progress line); the process is killed there."""
    import re
    import signal

    # Python's default bytecode caching, as on a user's machine (a sandbox may switch it off).
    env = {k: v for k, v in ENV_AT_START.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"DYNJAX_CACHE_DIR": cache}
    cmd = [sys.executable, "-m", "dynjax", "train", "rtrrl", "--out", out]
    load = float(Path("/proc/loadavg").read_text().split()[0])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[1])
    r: dict = {"load": load}
    for line in proc.stderr:
        if "first training step" in line:
            r["wall"], r["cpu"] = time.perf_counter() - t0, _proc_cpu_s(proc.pid)
            r |= {k: float(m.group(1)) for k, pat in STARTUP_PHASES.items() if (m := re.search(pat, line))}
        elif "wall" in r and line.startswith("  step"):
            r["first_chunk"] = time.perf_counter() - t0 - r["wall"]
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return r


def startup(args) -> list[str]:
    """Start-up of `dynjax train rtrrl` (defaults), cold (empty persistent compilation cache) and warm (a
    second identical run), `args.startup_repeats` times each: medians of wall and CPU seconds to the first
    training step, and of the phases the runner logs."""
    import statistics
    import tempfile

    runs: dict[str, list[dict]] = {"cold": [], "warm": []}
    for _ in range(args.startup_repeats):
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
            for label in runs:
                runs[label].append(first_step(cache, f"{out}/{label}"))
    med = lambda rs, k: statistics.median(r[k] for r in rs) if all(k in r for r in rs) else float("nan")  # noqa: E731
    lines = [f"{STARTUP_TITLE} (median of {args.startup_repeats} runs; targets <= 10 s cold, <= 3 s warm).", "",
             "Wall: launch to the runner's \"first training step\" line (Python's default bytecode caching on); "
             "CPU: the process's user + sys seconds (all "
             "threads) at that line, which the machine's load (1-minute load average when each run started) "
             "affects less. Phases as the runner logs them: before the batch (interpreter, imports, argument "
             "parsing, environment and learner), tracing (tracing and lowering the step-0 and chunk programs), "
             "step 0 (waiting for the step-0 program, which compiles in a worker thread meanwhile, running it: "
             "init and evaluation, and writing its metrics), waiting for the chunk program (compiling in another "
             "worker thread since the tracing); its compile time on its own; the first chunk (10,000 steps and "
             "an evaluation) after the first training step.", "",
             "| cache | first training step: wall s | CPU s | wall s of each run | load | before the batch s | "
             "tracing s | step 0 s | waited for chunk s | chunk compile s | first chunk s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, rs in runs.items():
        if not all("wall" in r for r in rs):
            lines.append(f"| {label} | failed | | | | | | | | | |")
            continue
        walls, loads = (", ".join(f"{r[k]:.1f}" for r in rs) for k in ("wall", "load"))
        lines.append(f"| {label} | {med(rs, 'wall'):.2f} | {med(rs, 'cpu'):.2f} | {walls} | {loads} | "
                     + " | ".join(f"{med(rs, k):.1f}" for k in ("before", "tracing", "step0", "waited", "chunk_compile",
                                                                "first_chunk")) + " |")
    return lines


def compile_programs() -> dict:
    """Compile the two programs of `dynjax train rtrrl` (defaults), built as the runner builds them, one after
    the other with nothing else running and no persistent cache: wall and CPU seconds of each compile and the
    kernels (fusions) in each compiled program."""
    import jax
    import numpy as np

    from dynjax.agents import ALGORITHMS
    from dynjax.sweep.batching import auto_block, state_bytes
    from dynjax.apps.cli import build_parser, spec_from_args
    from dynjax.sweep.devices import first_device, global_array, learner_mesh
    from dynjax.sweep.programs import batch_programs
    from dynjax.sweep.spec import resolve

    spec = spec_from_args(build_parser().parse_args(["train", "rtrrl"]))
    program = resolve(spec)[0]
    learner = ALGORITHMS[spec.algo].make_learner(program.config)
    n = spec.seeds
    mesh = learner_mesh(n)
    probe = jax.eval_shape(learner.init, jax.random.key(0))
    start, chunk, like = batch_programs(learner, probe, mesh, n, auto_block(state_bytes(probe), n // mesh.size), 1)
    seeds = global_array(np.arange(n, dtype=np.uint32), first_device(mesh))
    hp = type(program.config.hparams)(**{k: global_array(np.full(n, float(v), np.float32), first_device(mesh))
                                         for k, v in program.config.hparams._asdict().items()})
    out = {}
    for name, lowered in (("step-0", start.lower(seeds, hp)), ("chunk", chunk.lower(like))):
        cpu, t = time.process_time(), time.perf_counter()
        text = lowered.compile().as_text()
        out[name] = {"wall": time.perf_counter() - t, "cpu": time.process_time() - cpu,
                     "kernels": text.count(" fusion(")}
    return out


def compile_split(repeats: int) -> list[str]:
    """`compile_programs` under JAX's own threefry lowering and under dynjax's (dynjax.startup.threefry), alternating,
    each in a fresh process: a markdown table of medians."""
    import statistics

    runs: dict[str, list[dict]] = {"1": [], "0": []}
    for _ in range(repeats):
        for stock in runs:
            env = dict(ENV_AT_START) | {"DYNJAX_STOCK_THREEFRY": stock}
            out = subprocess.run([sys.executable, __file__, "--one-compile"], capture_output=True, text=True,
                                 env=env, check=True)
            runs[stock].append(json.loads(out.stdout.strip().splitlines()[-1]))
    lines = ["| program | threefry lowering | compile wall s | compile CPU s | kernels |", "|---|---|---|---|---|"]
    for name in ("step-0", "chunk"):
        for stock, label in (("1", "JAX's (rolled loop)"), ("0", "dynjax's (straight line)")):
            med = lambda k: statistics.median(r[name][k] for r in runs[stock])  # noqa: E731
            lines.append(f"| {name} | {label} | {med('wall'):.2f} | {med('cpu'):.2f} | {med('kernels'):.0f} |")
    return lines


def replace_startup_section(path: Path, lines: list[str]) -> None:
    """Put a fresh start-up section into an existing results file, in place of the old one (or at its end)."""
    old = path.read_text().splitlines() if path.exists() else []
    begin = next((i for i, l in enumerate(old) if l.startswith("Start-up of `dynjax train rtrrl`")), None)
    if begin is None:
        new = old + ["", *lines]
    else:
        end = next((i for i in range(begin + 1, len(old)) if old[i].startswith("Sweep wall-clock")), len(old))
        new = old[:begin] + lines + ([""] if end < len(old) else []) + old[end:]
    path.write_text("\n".join(new) + "\n")


def sweep(args) -> list[str]:
    """256 seeds x 100,000 steps at N=32 in one command, against 256 single-learner runs of the reference."""
    import tempfile

    with tempfile.TemporaryDirectory() as runs:
        cmd = [sys.executable, "-m", "dynjax", "train", "rtrrl", "--seeds", "256", "--steps", "100000",
               "--out", f"{runs}/sweep", "--no-compile-cache"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
    ref = 256 * (100_000 / args.ref_rate + args.ref_startup)
    return [
        f"| dynjax, one command, 256 seeds x 100,000 steps (start-up and compile included) | {wall:,.0f} s |",
        f"| reference, 256 runs x (100,000 / {args.ref_rate:,.0f} steps/s + {args.ref_startup:.1f} s start-up) "
        f"| {ref:,.0f} s |",
        f"| ratio | {ref / wall:.1f}x |",
    ]


def run_cell(S: int, N: int, rule: str, args, checkout: Path | None = None, devices: int = 0) -> dict:
    """One cell in a fresh process, against the dynjax of `checkout` (default: this one) on `devices` CPU
    devices (0: one per core, as `dynjax train`)."""
    cmd = [sys.executable, __file__, "--one", f"{S},{N},{rule}", "--env", args.env, "--mask", args.mask,
           "--seed-block", str(args.seed_block), "--devices", str(devices)]
    env = ENV_AT_START | {"PYTHONPATH": str(checkout or Path(__file__).resolve().parents[1])}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"S": S, "N": N, "rule": rule, "error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def cell_label(r: dict) -> str:
    """RTRRL cells by their rule (rflo, rtrl), the others as algorithm (variant)."""
    return r["rule"] if r["algo"] == "rtrrl" else f"{r['algo']} ({r['variant']})"


# Issue 19's targets: (S, N, cell, what, target seed-steps/s or None for "not slower").
TARGETS = [(16, 32, "rtrl", "exact RTRL N=32, S=16", 40_000),
           (64, 300, "drl", "Dynamic RL, S=64 (float32 training)", 40_000),
           (64, 300, "drl:float64", "Dynamic RL, S=64 (float64 training)", None),
           (1024, 32, "rflo", "RFLO N=32, S=1024", 600_000),
           (1, 32, "rflo", "RFLO N=32, S=1", None),
           (64, 128, "ppo", "PPO-RNN (GRU 128), S=64", None)]


def compare(args) -> list[str]:
    """The target cells under another checkout (one device, as `dynjax train` ran before issue 19) and under
    this one (one device, and one per core), alternating cell by cell in one window."""
    import statistics

    base = subprocess.run(["git", "-C", str(args.compare), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or str(args.compare)
    arms = {"before": dict(checkout=args.compare, devices=1), "after, 1 device": dict(devices=1),
            "after": dict(devices=0)}
    rates: dict[tuple, dict[str, list[float]]] = {}
    devices = {}
    chosen = [t for t in TARGETS if not args.targets or t[2] in args.targets.split(",")]
    for _ in range(args.compare_repeats):
        for S, N, rule, _what, _target in chosen:
            for arm, kw in arms.items():
                r = run_cell(S, N, rule, args, **kw)
                print(S, N, rule, arm, r.get("train_rate", r.get("error")), flush=True)
                if "error" not in r:
                    rates.setdefault((S, N, rule), {}).setdefault(arm, []).append(r["train_rate"])
                    if arm == "after":
                        devices[(S, N, rule)] = r["devices"]
    lines = [f"# Issue 19: the slow paths before and after ({args.env}, mask={args.mask} for RTRRL)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs. Train seed-steps/s (median of {REPEATS} timed chunks "
             f"after a warm-up, compile excluded), each cell in a fresh process, the three arms run one after another "
             f"for each cell ({args.compare_repeats} round(s); median over rounds). before = commit {base} on one "
             "device (what `dynjax train` ran); after = this code, on one device, and as `dynjax train --seeds S` "
             "runs it now (one CPU device per core, at most one per two learners: `devices`). Dynamic RL before "
             "trained in float64 (its only precision then).", "",
             "| path | before | after, 1 device | after | devices | after / before | target | met |",
             "|---|---|---|---|---|---|---|---|"]
    for S, N, rule, what, target in chosen:
        got = rates.get((S, N, rule), {})
        med = {arm: statistics.median(v) for arm, v in got.items()}
        if "before" not in med or "after" not in med:
            lines.append(f"| {what} | {med.get('before', float('nan')):,.0f} | | | | | | failed |")
            continue
        ratio = med["after"] / med["before"]
        goal = f">= {target:,}" if target else "not slower"
        met = (med["after"] >= target) if target else ratio >= 0.97
        lines.append(f"| {what} | {med['before']:,.0f} | {med.get('after, 1 device', float('nan')):,.0f} | "
                     f"{med['after']:,.0f} | {devices.get((S, N, rule), '?')} | {ratio:.2f}x | {goal} | "
                     f"{'yes' if met else 'no'} |")
    return lines


def grid(quick: bool, full: bool) -> list[tuple[int, int, str]]:
    if quick:
        return [(16, 32, "rflo"), (4, 300, "drl"), (4, 32, "ppo")]
    cells = [(S, 32, "rflo") for S in (1, 16, 256, 1024)] + [(S, 32, "rtrl") for S in (1, 16)]
    cells += [(S, 300, "drl") for S in (1, 16, 64, 256)] + [(S, 128, "ppo") for S in (1, 16, 64, 256)]
    if full:
        cells = sorted({*cells, *[(S, N, "rflo") for N in (16, 32, 64, 128) for S in (1, 4, 16, 64, 256, 1024, 4096)],
                        *[(S, N, "rtrl") for N in (16, 32) for S in (1, 16)]})
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
    ap.add_argument("--devices", type=int, default=0,
                    help="CPU devices of a cell's process; 0 = one per core, as `dynjax train` (dynjax.startup)")
    ap.add_argument("--compare", type=Path, default=None, metavar="CHECKOUT",
                    help="time the issue-19 target cells against another checkout of dynjax (on one device, as it "
                         "ran) in the same window, alternating, and write --out")
    ap.add_argument("--compare-repeats", type=int, default=1, help="rounds of --compare (median over rounds)")
    ap.add_argument("--targets", default="", help="--compare only these cells (comma-separated, e.g. rflo,drl)")
    ap.add_argument("--seed-block", type=int, default=0,
                    help="seeds vmapped per block; 0 = sized to the cache as `dynjax train` does (dynjax.sweep.batching)")
    ap.add_argument("--full", action="store_true", help="the S x N cost-model grid (S up to 4096, N 16..128)")
    ap.add_argument("--out", type=Path, default=RESULTS / "throughput.md")
    ap.add_argument("--sweep", action="store_true", help="also time a 256-seed x 100k-step run end to end")
    ap.add_argument("--startup", action="store_true", help="also time start-up, cold and warm cache")
    ap.add_argument("--startup-only", action="store_true",
                    help="only time start-up and replace that section of --out (the other sections stay)")
    ap.add_argument("--startup-repeats", type=int, default=3, help="start-up runs per cache state (median)")
    ap.add_argument("--compile-split", action="store_true",
                    help="only print the compile time of the default run's two programs under JAX's and dynjax's "
                         "threefry lowering")
    ap.add_argument("--one-compile", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ref-rate", type=float, default=30_000.0,
                    help="reference RTRRL code's env-steps/s (one learner, N=32), measured beside this run")
    ap.add_argument("--ref-startup", type=float, default=8.5, help="reference code's start-up + compile, s")
    ap.add_argument("--reference-table", type=Path, default=None,
                    help="markdown table printed by shared/anchors/run_rtrrl.sh throughput in the same window")
    args = ap.parse_args()
    if not args.one:  # a cell's process sets its device count first (measure), then enables the rest
        import dynjax.startup  # (not `from dynjax import startup`: this module's startup() times start-up)

        dynjax.startup.enable()  # time what `dynjax train` runs (dynjax.startup)
    if args.reference_table:  # take the reference's own RFLO N=32 median rate from its table
        for row in args.reference_table.read_text().splitlines():
            if row.startswith("| rflo N=32"):
                args.ref_rate = float(row.split("|")[3].strip())
    if args.one_compile:
        print(json.dumps(compile_programs()))
        return
    if args.compile_split:
        print("\n".join(compile_split(args.startup_repeats)))
        return
    if args.startup_only:
        replace_startup_section(args.out, startup(args))
        print(f"wrote the start-up section of {args.out}")
        return
    if args.one:
        S, N, rule = args.one.split(",")
        print(json.dumps(measure(int(S), int(N), rule, args.env, args.mask, args.seed_block, args.devices)))
        return
    if args.compare:
        args.out.write_text("\n".join(compare(args)) + "\n")
        print(f"wrote {args.out}")
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
    lim = machine_limits()
    lines = [
        f"# Throughput of the learners ({args.env}, mask={args.mask} for RTRRL)", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {ok[0]['platform'] if ok else '?'}; "
        f"JAX {ok[0]['jax'] if ok else '?'}. Median of {REPEATS} timed repeats after a warm-up; compile excluded.",
        "Effective rate = S x 10,000 / (time of 10,000 training steps + one evaluation of 10 episodes per seed). "
        "Learners sharded over `devices` CPU devices as `dynjax train` does (one per core, at least two learners per "
        "device), vmapped in blocks of `block` within a device. Dynamic RL: the 200 + 100 MTRNN actor with its BPTT "
        "critic on seq-nav (N = 300), float32 training; PPO-RNN: GRU 128 on CartPole, 4 environments per learner "
        "(seed-steps = environment steps of all of a learner's environments).", "",
        f"Machine limits measured in the same run: stream bandwidth {lim['bandwidth_Bps'] / 1e9:.1f} GB/s, "
        f"matmul {lim['flops_per_s'] / 1e9:.0f} GFLOP/s. flops and bytes per seed-step: XLA's cost analysis of one "
        "learner's step (bytes = operands of every op, mostly cache traffic); state = one learner's carried state.",
        "",
        "| cell | S | N | devices | block | train seed-steps/s | effective seed-steps/s | eval s | compile s | "
        "flops/seed-step | bytes/seed-step | state kB | peak RSS MB | regime |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['rule']} | {r['S']} | {r['N']} | | | error: {r['error']} | | | | | | | | |")
            continue
        lines.append(
            f"| {cell_label(r)} | {r['S']} | {r['N']} | {r['devices']} | {r['block']} | {r['train_rate']:,.0f} | "
            f"{r['effective_rate']:,.0f} | "
            f"{r['eval_s']:.3f} | {r['compile_s']:.1f} | {r['flops_per_seed_step']:,.0f} | "
            f"{r['bytes_per_seed_step']:,.0f} | {r['state_bytes'] / 1e3:.1f} | {r['peak_rss_mb']:.0f} | {regime(r, lim)} |")
    lines += regime_notes(rows, lim, kernels_per_step(args.env, args.mask))
    growth = growth_exponents(rows)
    if growth:  # only a grid with several hidden sizes (--full) has them
        lines += ["", "Growth of cost per seed-step with N (cost ~ N^p):", "", "| rule | S | N | p |", "|---|---|---|---|"]
        lines += growth
    if args.reference_table:
        lines += ["", "Reference RTRRL code (authors', JAX 0.4.38, one learner per process), same window:", "",
                  args.reference_table.read_text().strip()]
    if args.startup:
        lines += [""] + startup(args)
    if args.sweep:
        lines += ["", "Sweep wall-clock:", "", "| what | wall-clock |", "|---|---|"] + sweep(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    (args.out.with_suffix(".json")).write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""The RTRRL authors' code (github.com/FranzKnut/RTRRL-AAAI25), run on this machine beside dynjax.

../shared/anchors builds it (run_rtrrl.sh: a pinned virtual environment with JAX 0.4.38, on which it runs, and
the minimal patches it needs, listed there). This module only calls it: one learner per process, its own
command-line flags, its own evaluation, and reads what it prints. Each run's result is cached as JSON, so a
table that shows the authors' column is rebuilt from the cache and an interrupted sweep loses at most one run.

What it reports is the authors' own metric, which is not dynjax's: every `eval_every` iterations of `steps`
(default 1,000) environment steps it runs 10 fresh environments for 1,000 steps and reports the mean over them of
the return of each one's first episode (its environments cap an episode at 1,000 steps, not gymnax's 500 for
CartPole). Known defects of that code (truncation treated as termination, dt missing from RFLO's recursion,
reward normalisation applied only at evaluation) are listed in ../shared/reference/rtrrl.md; they stay as they
are here: this is the code as its authors published it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

ANCHORS = Path(__file__).resolve().parents[1].parent / "shared" / "anchors"
SOURCE = ANCHORS / ".work" / "rtrrl"
PYTHON = ANCHORS / ".work" / "venv-rtrrl-pinned" / "bin" / "python"
EVAL_LINE = re.compile(r"Eval reward: (-?[0-9.]+|nan|-?inf)")


def available() -> bool:
    """Whether the authors' code has been built here (../shared/anchors/run_rtrrl.sh)."""
    return PYTHON.exists() and (SOURCE / "rtrrl.py").exists()


def yaml_text(config: dict, indent: int = 0) -> str:
    """A nested dict of scalars as YAML: the authors' CLI (simple-parsing) reads dict-valued options such as
    env_params.env_kwargs only from a --config_path file, never from a flag."""
    lines = []
    for k, v in config.items():
        if isinstance(v, dict):
            lines.append(" " * indent + f"{k}:")
            lines.append(yaml_text(v, indent + 2))
        else:
            lines.append(" " * indent + f"{k}: {json.dumps(v)}")
    return "\n".join(lines)


def run(seed: int, steps: int, args: list[str], cache: Path, eval_every_steps: int = 10_000,
        timeout_s: float = 3600.0, config: dict | None = None) -> dict:
    """One run of the authors' rtrrl.py for `steps` environment steps (whole iterations of 1,000), with `args`
    (its flags, e.g. ["--env_name", "CartPole-v1", "--obs_mask", "even"]) and `config` (options its CLI takes
    only from a YAML file, e.g. {"env_params": {"env_kwargs": {"memory_length": 32}}}), cached in `cache` (JSON).

    Returns {"seed", "steps", "args", "evals": [[env steps, eval reward], ...], "best", "final", "wall_s"}: it
    evaluates after its training iterations i = 0, every, 2 every, ... and the last, i.e. after (i + 1) x 1,000
    steps (never untrained, so every evaluation counts for best); final = the mean of the last 10% of them."""
    if seed < 1:
        raise ValueError(f"seed: {seed}; the authors' rtrrl.py draws a random seed for 0 (`args.seed or "
                         "np.random.randint(1e6)`), so its runs are numbered from 1")
    if cache.exists():
        done = json.loads(cache.read_text())
        if (done.get("args") == args and done.get("steps") == steps and done.get("seed") == seed
                and done.get("config") == config):
            return done
    if not available():
        raise FileNotFoundError(f"the authors' RTRRL code is not built under {ANCHORS} (run its run_rtrrl.sh)")
    iterations, every = max(1, steps // 1000), max(1, eval_every_steps // 1000)
    cmd = [str(PYTHON), "rtrrl.py", "--seed", str(seed), "--episodes", str(iterations), "--eval_every", str(every),
           "--patience", "0", *args]
    if config:
        cache.parent.mkdir(parents=True, exist_ok=True)
        path = cache.with_suffix(".yml")
        path.write_text(yaml_text(config) + "\n")
        cmd += ["--config_path", str(path)]
    env = os.environ | {"PYTHONPATH": f"{ANCHORS / 'patches' / 'stubs'}:{SOURCE}", "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)  # dynjax's XLA options are not the reference's
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=SOURCE, env=env, capture_output=True, text=True, timeout=timeout_s)
    if out.returncode != 0:
        raise RuntimeError(f"authors' code failed (seed {seed}): {out.stderr.strip().splitlines()[-1:]}")
    rewards = [float(m.group(1)) for m in EVAL_LINE.finditer(out.stdout + out.stderr)]
    at = [(i + 1) * 1000 for i in range(iterations) if i % every == 0 or i == iterations - 1]
    if not rewards or len(rewards) != len(at):
        raise RuntimeError(f"authors' code (seed {seed}): {len(rewards)} evaluations printed, {len(at)} expected")
    tail = rewards[-max(1, len(rewards) // 10):]
    result = {"seed": seed, "steps": steps, "args": args, "config": config, "evals": [list(p) for p in zip(at, rewards)],
              "best": max(rewards), "final": sum(tail) / len(tail), "wall_s": time.perf_counter() - t0}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result

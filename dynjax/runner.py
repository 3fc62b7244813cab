"""Host loop of a training run: S vmapped learners advanced in jitted chunks, with progress and incremental
results in a run directory (config.json, metrics.csv, summary.json, plots/learning_curve.png)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from dynjax import START
from dynjax.agents.rtrrl import RTRRLConfig, make_learner
from dynjax.batching import auto_block, blocked_vmap, state_bytes
from dynjax.config import check_positive_int
from dynjax.results import append_metrics, plot_learning_curve, read_metrics, summarize, write_json


def enable_compilation_cache(cache_dir: str | None = None) -> str:
    """Turn on JAX's persistent compilation cache (default: ~/.cache/dynjax/jax, or $DYNJAX_CACHE_DIR)."""
    path = cache_dir or os.environ.get("DYNJAX_CACHE_DIR") or str(Path.home() / ".cache" / "dynjax" / "jax")
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def config_to_json(config: RTRRLConfig) -> dict[str, Any]:
    d = dataclasses.asdict(config)
    d["hparams"] = {k: float(v) for k, v in config.hparams._asdict().items()}
    d["env_args"] = dict(config.env_args)
    if isinstance(config.obs_mask, (tuple, list)):
        d["obs_mask"] = list(config.obs_mask)
    return d


def prepare_run_dir(out: Path, record: dict[str, Any]) -> None:
    """Create `out`, or reuse it only if it holds a run of exactly the same command (nothing else is touched)."""
    cfg_path = out / "config.json"
    if out.exists() and any(out.iterdir()):
        if not cfg_path.exists():
            raise ValueError(f"out: {out} exists and is not a dynjax run directory; choose another --out")
        old = json.loads(cfg_path.read_text())
        if old != json.loads(json.dumps(record)):
            raise ValueError(f"out: {out} holds a run with a different configuration; choose another --out")
        for name in ("metrics.csv", "summary.json"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    write_json(cfg_path, record)


def _fmt_time(sec: float) -> str:
    sec = int(max(sec, 0))
    return f"{sec // 3600:d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"


def train_run(
    config: RTRRLConfig,
    n_seeds: int,
    out: Path,
    seed: int = 0,
    algo: str = "rtrrl",
    seed_block: int | None = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> dict[str, Any]:
    """Train `n_seeds` independent learners (seeds seed, seed+1, ...) and write the run directory.

    Seeds are vmapped in blocks of `seed_block` (default: sized to the cache by dynjax.batching.auto_block);
    results do not depend on it."""
    check_positive_int("seeds", n_seeds)
    learner = make_learner(config)  # validates the config before anything compiles
    record = {"algo": algo, "seeds": n_seeds, "seed": seed, "config": config_to_json(config)}
    out = Path(out)
    prepare_run_dir(out, record)
    n_segments = config.total_steps // config.eval_every
    seed_ids = list(range(seed, seed + n_seeds))
    keys = jax.vmap(jax.random.key)(jnp.asarray(seed_ids, jnp.uint32))
    if seed_block is None:
        seed_block = auto_block(state_bytes(jax.eval_shape(learner.init, keys[0])), n_seeds)

    t0 = time.perf_counter()
    init = jax.jit(blocked_vmap(learner.init, n_seeds, None))
    evaluate = jax.jit(blocked_vmap(learner.evaluate, n_seeds, seed_block))
    state = init(keys)
    m0 = jax.device_get(evaluate(state))
    append_metrics(out / "metrics.csv", {k: np.asarray(v)[:, None] for k, v in m0._asdict().items()}, seed_ids)
    segment = jax.jit(blocked_vmap(learner.segment, n_seeds, seed_block), donate_argnums=0).lower(state).compile()
    log(f"[dynjax] {algo} on {config.env_id} (mask={config.obs_mask}), {n_seeds} seeds x {config.total_steps} steps; "
        f"compiled in {time.perf_counter() - t0:.1f}s, first training step at {time.perf_counter() - START:.1f}s "
        f"after start")
    t_start, steps_done = time.perf_counter(), 0
    for k in range(n_segments):
        state, m = segment(state)
        m = jax.device_get(m)
        append_metrics(out / "metrics.csv", {f: np.asarray(v)[:, None] for f, v in m._asdict().items()}, seed_ids)
        steps_done += config.eval_every
        elapsed = time.perf_counter() - t_start
        rate = steps_done * n_seeds / max(elapsed, 1e-9)
        eta = elapsed / (k + 1) * (n_segments - k - 1)
        finite = np.asarray(m.eval_return)[~np.asarray(m.diverged)]
        med = f"{np.median(finite):.1f}" if finite.size else "n/a"
        log(f"  step {steps_done:>9d}/{config.total_steps}  {rate:,.0f} seed-steps/s  ETA {_fmt_time(eta)}  "
            f"median eval return {med}  diverged {int(np.asarray(m.diverged).sum())}/{n_seeds}")
    metrics = read_metrics(out / "metrics.csv")
    summary = summarize(metrics) | {"algo": algo, "env_id": config.env_id, "wall_seconds": time.perf_counter() - t0}
    write_json(out / "summary.json", summary)
    plot_learning_curve(metrics, out / "plots" / "learning_curve.png",
                        f"{algo} ({config.rule}) on {config.env_id}, mask={config.obs_mask}")
    return summary

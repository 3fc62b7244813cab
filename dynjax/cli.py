"""Command line: `dynjax train <algo> [options]`.

    dynjax train rtrrl --env CartPole-v1 --obs-mask even --seeds 16 --steps 300000 --out runs/x
    dynjax train rtrrl --rule rtrl --hidden 16 ...           exact RTRL instead of RFLO
    dynjax train linear-td --env MemoryChain-bsuite --env-arg memory_length=8
    dynjax sweep examples/gain_sweep.toml --out runs/gain  a config grid x seeds (see dynjax.sweep.spec)

Running a command again with the same --out resumes it from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dynjax.sweep.spec import SweepSpec

ALGOS = ("rtrrl", "linear-td")


def _mask(value: str):
    return None if value in ("none", "all", "") else value


def build_parser() -> argparse.ArgumentParser:
    from dynjax.agents.rtrrl import RTRRLHParams

    p = argparse.ArgumentParser(prog="dynjax", description="Recurrent RL agents whose dynamics are studied.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train S seeds of an agent in one jitted program")
    t.add_argument("algo", choices=ALGOS)
    t.add_argument("--env", default="CartPole-v1", help="gymnax environment id")
    t.add_argument("--env-arg", action="append", default=[], metavar="NAME=VALUE",
                   help="environment parameter or constructor argument, e.g. memory_length=16 (repeatable)")
    t.add_argument("--obs-mask", default="even", type=_mask,
                   help="observation indices kept: 'even', 'odd', '0,2', or 'none' (default: even)")
    t.add_argument("--rule", default="rflo", choices=("rflo", "rtrl"), help="online gradient rule (rtrrl)")
    t.add_argument("--hidden", type=int, default=32, help="hidden units N")
    t.add_argument("--seeds", type=int, default=8, help="independent learners S")
    t.add_argument("--seed", type=int, default=0, help="first seed")
    t.add_argument("--steps", type=int, default=300_000, help="environment steps per seed")
    t.add_argument("--eval-every", type=int, default=10_000, help="steps between evaluations")
    t.add_argument("--eval-episodes", type=int, default=10)
    t.add_argument("--eval-greedy", action="store_true", help="evaluate the greedy policy")
    t.add_argument("--no-fa", action="store_true", help="exact feedback (W_A^T, w_C) instead of fixed random B")
    t.add_argument("--no-meta-rl", action="store_true", help="do not feed previous action and reward")
    t.add_argument("--critic-trace", default="accumulating", choices=("accumulating", "dutch"))
    for name, default in RTRRLHParams()._asdict().items():
        t.add_argument(f"--{name.replace('_', '-')}", type=float, default=default, help=f"(default {default})")
    _add_run_options(t)
    w = sub.add_parser("sweep", help="run a sweep spec (TOML): config grid x seeds, sharded, resumable")
    w.add_argument("spec", help="path of the sweep spec, e.g. examples/gain_sweep.toml")
    _add_run_options(w)
    return p


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `train` and `sweep`: output, chunking, memory, compile cache, multi-host."""
    p.add_argument("--out", type=Path, default=None, help="run directory")
    p.add_argument("--chunk-evals", type=int, default=1,
                   help="evaluations per jitted chunk; progress, metrics and a checkpoint after each chunk")
    p.add_argument("--checkpoint-every-s", type=float, default=10.0,
                   help="seconds between checkpoints (0: after every chunk); a resumed run redoes at most that much")
    p.add_argument("--max-seeds-per-batch", type=int, default=None,
                   help="run at most this many learners at once (larger sweeps run in batches)")
    p.add_argument("--memory-budget-gb", type=float, default=None,
                   help="size learner batches so that their carried state fits this many GB")
    p.add_argument("--no-compile-cache", action="store_true", help="disable JAX's persistent compilation cache")
    p.add_argument("--coordinator", default=None, help="multi-host: coordinator address host:port")
    p.add_argument("--num-processes", type=int, default=None, help="multi-host: number of processes")
    p.add_argument("--process-id", type=int, default=None, help="multi-host: this process's id")


def spec_from_args(args: argparse.Namespace) -> SweepSpec:
    """A one-configuration sweep from `dynjax train` options."""
    from dynjax.agents.rtrrl import RTRRLHParams
    from dynjax.envs import parse_env_args
    from dynjax.sweep.spec import spec_from_dict

    config = dict(env_id=args.env, obs_mask=args.obs_mask, hidden_size=args.hidden,
                  feedback_alignment=not args.no_fa, meta_rl=not args.no_meta_rl, critic_trace=args.critic_trace,
                  total_steps=args.steps, eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                  eval_greedy=args.eval_greedy)
    if args.algo == "rtrrl":
        config["rule"] = args.rule
    return spec_from_dict({"algo": args.algo, "seeds": args.seeds, "seed": args.seed, "config": config,
                           "env_args": parse_env_args(args.env_arg),
                           "hparams": {name: getattr(args, name) for name in RTRRLHParams._fields}})


def enable_compilation_cache(cache_dir: str | None = None) -> str:
    """Turn on JAX's persistent compilation cache (default: ~/.cache/dynjax/jax, or $DYNJAX_CACHE_DIR)."""
    import jax

    path = cache_dir or os.environ.get("DYNJAX_CACHE_DIR") or str(Path.home() / ".cache" / "dynjax" / "jax")
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def _join_distributed(argv: list[str] | None) -> None:
    """Join a multi-process run before anything (gymnax's import included) initialises a JAX backend."""
    from dynjax.distributed import initialize_distributed

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--coordinator", default=None)
    pre.add_argument("--num-processes", type=int, default=None)
    pre.add_argument("--process-id", type=int, default=None)
    known, _ = pre.parse_known_args(argv)
    initialize_distributed(known.coordinator, known.num_processes, known.process_id)


def main(argv: list[str] | None = None) -> int:
    try:
        _join_distributed(argv)
    except ValueError as e:
        print(f"dynjax: error: {e}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    from dynjax.sweep import load_spec, run_sweep

    try:
        spec = load_spec(args.spec) if args.command == "sweep" else spec_from_args(args)
        out = args.out or (Path(spec.out) if spec.out else Path("runs") / (
            Path(args.spec).stem if args.command == "sweep" else f"{args.algo}-{args.env}"))
        if args.memory_budget_gb is not None and not args.memory_budget_gb > 0:
            raise ValueError(f"memory_budget_gb: must be > 0, got {args.memory_budget_gb}")
        if not args.no_compile_cache:
            enable_compilation_cache()
        budget = None if args.memory_budget_gb is None else int(args.memory_budget_gb * 2**30)
        summary = run_sweep(spec, out, chunk_evals=args.chunk_evals, max_learners_per_batch=args.max_seeds_per_batch,
                            memory_budget_bytes=budget, checkpoint_every_s=args.checkpoint_every_s)
    except ValueError as e:
        print(f"dynjax: error: {e}", file=sys.stderr)
        return 2
    if summary:
        if "final_eval" in summary:
            print(json.dumps({k: summary[k] for k in ("final_eval", "best_eval", "diverged")}, indent=2))
        else:
            print((out / "summary.md").read_text())
        print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

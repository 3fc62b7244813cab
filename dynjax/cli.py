"""Command line: `dynjax train <algo> [options]`.

    dynjax train rtrrl --env CartPole-v1 --obs-mask even --seeds 16 --steps 300000 --out runs/x
    dynjax train rtrrl --rule rtrl --hidden 16 ...           exact RTRL instead of RFLO
    dynjax train linear-td --env MemoryChain-bsuite --env-arg memory_length=8
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dynjax.agents.rtrrl import RTRRLConfig, RTRRLHParams

ALGOS = ("rtrrl", "linear-td")


def _mask(value: str):
    return None if value in ("none", "all", "") else value


def build_parser() -> argparse.ArgumentParser:
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
    t.add_argument("--out", type=Path, default=None, help="run directory (default runs/<algo>-<env>)")
    t.add_argument("--no-compile-cache", action="store_true", help="disable JAX's persistent compilation cache")
    return p


def config_from_args(args: argparse.Namespace) -> RTRRLConfig:
    from dynjax.envs import parse_env_args

    hp = RTRRLHParams(**{name: getattr(args, name) for name in RTRRLHParams._fields})
    return RTRRLConfig(
        env_id=args.env,
        env_args=tuple(sorted(parse_env_args(args.env_arg).items())),
        obs_mask=args.obs_mask,
        hidden_size=args.hidden,
        rule="linear" if args.algo == "linear-td" else args.rule,
        feedback_alignment=not args.no_fa,
        meta_rl=not args.no_meta_rl,
        critic_trace=args.critic_trace,
        total_steps=args.steps,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        eval_greedy=args.eval_greedy,
        hparams=hp,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dynjax.runner import enable_compilation_cache, train_run

    try:
        config = config_from_args(args)
        config.validate()
        if not args.no_compile_cache:
            enable_compilation_cache()
        out = args.out or Path("runs") / f"{args.algo}-{args.env}"
        summary = train_run(config, args.seeds, out, seed=args.seed, algo=args.algo)
    except ValueError as e:
        print(f"dynjax: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: summary[k] for k in ("final_eval", "best_eval", "diverged")}, indent=2))
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: `dynjax train <algo> [options]` and `dynjax sweep <spec.toml>`.

    dynjax train rtrrl --env CartPole-v1 --obs-mask even --seeds 16 --steps 300000 --out runs/x   positions only
    dynjax train rtrrl --rule rtrl --hidden 16 ...           exact RTRL instead of RFLO
    dynjax train linear-td --env MemoryChain-bsuite --env-arg memory_length=8
    dynjax train ppo-rnn --cell gru --env CartPole-v1 --obs-mask even
    dynjax train ppo-rnn --preset huang --obs-mask 0,1        Huang et al.'s Pendulum agent, angle only
    dynjax train rd-ppo --gamma 0.05 --cell mlp              PPO guided by fixed reaction-diffusion dynamics
    dynjax train dynamic-rl --env seq-nav --radius 3.0       chaotic MTRNN actor trained by sensitivity (SAL/SRL)
    dynjax sweep benchmarks/sweeps/gain_sweep.toml           a config grid x seeds (see dynjax.sweep.spec)
    dynjax train ppo-rnn --preset huang --snapshot-every 1 --out runs/h && dynjax analyse runs/h
                                                             fixed points, timescales, Lyapunov, attractors
    dynjax reproduce huang-pendulum [--quick]                one benchmark table of benchmarks/results/ (--list)

Every static field of the algorithm's configuration is a flag (`--hidden-size`/`--hidden`, `--cell`, ...),
every numeric hyperparameter too (`--lr-actor`, `--discount`, ...); a flag left out keeps the preset's value,
else the configuration's default; the observation is whole unless --obs-mask names what is kept, and without
--eval-every the algorithm's cadence is used, or the nearest interval that divides --steps. Running a command
again with the same --out resumes it; its config.json records every resolved field, the command, the versions
and the devices of every invocation. `dynjax --version` prints dynjax's version and git commit.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tomllib
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynjax.sweep.spec import SweepSpec

# Short names kept for the flags people type most.
ALIASES = {"env_id": ["--env"], "hidden_size": ["--hidden"], "total_steps": ["--steps"], "feedback_alignment": ["--fa"]}
RUN_DEFAULTS = {"seeds": 8}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_algorithm_options(t: argparse.ArgumentParser, algo: Any) -> None:
    """One flag per static configuration field and per offered hyperparameter (default None: not given)."""
    from dynjax.agents import hparams_class

    t.add_argument("--seeds", type=int, default=RUN_DEFAULTS["seeds"], help="independent learners S")
    t.add_argument("--seed", type=int, default=0, help="first seed")
    t.add_argument("--env-arg", action="append", default=[], metavar="NAME=VALUE",
                   help="environment parameter or constructor argument, e.g. memory_length=16 (repeatable)")
    if algo.presets:
        t.add_argument("--preset", choices=tuple(algo.presets), default=None,
                       help="a configuration from a paper: " + "; ".join(
                           f"{k}: {', '.join(f'{a}={b}' for a, b in v.items() if a != 'hparams')}"
                           for k, v in algo.presets.items()))
    hints = typing.get_type_hints(algo.config_cls)
    defaults = algo.config_cls()
    for f in dataclasses.fields(algo.config_cls):
        if f.name in ("hparams", "env_args") or f.name in algo.fixed:
            continue
        names = [_flag(f.name)] + ALIASES.get(f.name, [])
        default = getattr(defaults, f.name)
        helptext = f"(default {default})"
        if "help" in f.metadata:  # the configuration's own description of the field
            helptext = f"{f.metadata['help']} {helptext}"
        if hints[f.name] is bool:
            t.add_argument(*names, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=helptext)
        else:
            t.add_argument(*names, dest=f.name, type=hints[f.name] if hints[f.name] in (int, str, float) else str,
                           default=None, help=helptext)
    hp_defaults = hparams_class(algo)()
    for name in algo.flag_hparams:
        t.add_argument(_flag(name), dest=f"hp_{name}", type=float, default=None, metavar="X",
                       help=f"(default {getattr(hp_defaults, name)})")


def build_parser() -> argparse.ArgumentParser:
    from dynjax.agents import ALGORITHMS

    p = argparse.ArgumentParser(prog="dynjax", description="Recurrent RL agents whose dynamics are studied.")
    p.add_argument("--version", action="store_true", help="print the versions of dynjax (and its git commit), JAX "
                                                          "and Python, and exit")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train S seeds of an agent in one jitted program")
    algos = t.add_subparsers(dest="algo", required=True, metavar="ALGO")
    for algo in ALGORITHMS.values():
        a = algos.add_parser(algo.name, help=algo.summary, description=algo.summary)
        _add_algorithm_options(a, algo)
        _add_run_options(a)
    w = sub.add_parser("sweep", help="run a sweep spec (TOML): config grid x seeds, sharded, resumable")
    w.add_argument("spec", help="path of the sweep spec, e.g. benchmarks/sweeps/gain_sweep.toml")
    _add_run_options(w)
    a = sub.add_parser("analyse", help="dynamics of every snapshot of a run (trained with --snapshot-every)")
    a.add_argument("run_dir", type=Path, help="a run directory of `dynjax train` or `dynjax sweep`")
    a.add_argument("--out", type=Path, default=None, help="output directory (default <run_dir>/analysis)")
    from dynjax.apps.analyse import AnalyseOptions

    for f in dataclasses.fields(AnalyseOptions):
        a.add_argument(_flag(f.name), dest=f.name, type=type(f.default), default=f.default,
                       help=f"(default {f.default})")
    a.add_argument("--no-compile-cache", action="store_true", help="disable JAX's persistent compilation cache")
    sub.add_parser("reproduce", add_help=False, help="regenerate a benchmark table (dynjax reproduce --help)")
    return p


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `train` and `sweep`: output, chunking, memory, compile cache, multi-host."""
    p.add_argument("--out", type=Path, default=None, help="run directory")
    p.add_argument("--chunk-evals", type=int, default=1,
                   help="evaluations per jitted chunk; progress, metrics and a checkpoint after each chunk")
    p.add_argument("--checkpoint-every-s", type=float, default=10.0,
                   help="seconds between checkpoints (0: after every chunk); a resumed run redoes at most that much")
    p.add_argument("--snapshot-every", type=int, default=None, metavar="K",
                   help="keep the learners' state at every K-th evaluation point for `dynjax analyse`")
    p.add_argument("--max-seeds-per-batch", type=int, default=None,
                   help="run at most this many learners at once (larger sweeps run in batches)")
    p.add_argument("--memory-budget-gb", type=float, default=None,
                   help="size learner batches so that their carried state fits this many GB")
    p.add_argument("--no-compile-cache", action="store_true", help="disable JAX's persistent compilation cache")
    p.add_argument("--coordinator", default=None, help="multi-host: coordinator address host:port")
    p.add_argument("--num-processes", type=int, default=None, help="multi-host: number of processes")
    p.add_argument("--process-id", type=int, default=None, help="multi-host: this process's id")


def spec_from_args(args: argparse.Namespace) -> SweepSpec:
    """A one-configuration sweep from `dynjax train` options (only the flags given; a preset fills the rest)."""
    from dynjax.agents import ALGORITHMS
    from dynjax.envs import parse_env_args
    from dynjax.sweep.spec import spec_from_dict, static_field_types

    algo = ALGORITHMS[args.algo]
    config = {name: getattr(args, name) for name in static_field_types(algo) if getattr(args, name) is not None}
    hparams = {name: getattr(args, f"hp_{name}") for name in algo.flag_hparams if getattr(args, f"hp_{name}") is not None}
    return spec_from_dict({"algo": args.algo, "preset": getattr(args, "preset", None), "seeds": args.seeds,
                           "seed": args.seed, "config": config, "env_args": parse_env_args(args.env_arg),
                           "hparams": hparams})


def enable_compilation_cache(cache_dir: str | None = None) -> str:
    """Turn on JAX's persistent compilation cache (default: $DYNJAX_CACHE_DIR, else dynjax/jax in the user's
    cache directory, $XDG_CACHE_HOME or ~/.cache). Every program is cached, however quick its compile: a
    second identical run then loads all of them instead of compiling."""
    import jax

    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = cache_dir or os.environ.get("DYNJAX_CACHE_DIR") or str(user_cache / "dynjax" / "jax")
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def _join_distributed(argv: list[str] | None) -> None:
    """Join a multi-process run before anything (gymnax's import included) initialises a JAX backend."""
    from dynjax.startup.distributed import initialize_distributed

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--coordinator", default=None)
    pre.add_argument("--num-processes", type=int, default=None)
    pre.add_argument("--process-id", type=int, default=None)
    known, _ = pre.parse_known_args(argv)
    initialize_distributed(known.coordinator, known.num_processes, known.process_id)


def learners_at_once(argv: list[str]) -> int | None:
    """The fewest learners a `train` or `sweep` command runs in one program, read from the arguments (and the
    spec's TOML) without JAX, so that the CPU devices can be chosen before JAX starts (dynjax.startup.cpu_devices):
    `train`: --seeds; `sweep`: the spec's seeds (a program also vmaps its hyperparameter grid, which only adds);
    either capped by --max-seeds-per-batch. None where unknown (another command, or arguments the real parser
    will reject)."""
    class Quiet(argparse.ArgumentParser):  # the real parser reports bad arguments, once
        def error(self, message: str) -> typing.NoReturn:
            raise ValueError(message)

    pre = Quiet(add_help=False, allow_abbrev=False)
    pre.add_argument("command", nargs="?")
    pre.add_argument("target", nargs="?")
    pre.add_argument("--seeds", type=int, default=RUN_DEFAULTS["seeds"])
    pre.add_argument("--max-seeds-per-batch", type=int, default=None)
    try:
        known, _ = pre.parse_known_args(argv)
        if known.command == "train":
            n = known.seeds
        elif known.command == "sweep":
            with open(known.target, "rb") as f:
                n = int(tomllib.load(f).get("seeds", 1))
        else:
            return None
    except (OSError, TypeError, ValueError):  # tomllib.TOMLDecodeError is a ValueError
        return None
    cap = known.max_seeds_per_batch
    return min(n, cap) if cap and cap > 0 else n


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--version"]:
        from dynjax.results.run_record import version_line

        print(version_line())
        return 0
    if argv[:1] == ["reproduce"]:
        from dynjax.apps.reproduce import main as reproduce

        return reproduce(argv[1:])
    from dynjax import startup

    # the CLI's start-up speed-ups, before gymnax or any agent is imported (dynjax.startup)
    startup.enable(learners=learners_at_once(argv))
    try:
        _join_distributed(argv)
    except ValueError as e:
        print(f"dynjax: error: {e}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    if args.command == "analyse":
        return _analyse(args)
    from dynjax.sweep import load_spec, resolve, run_sweep

    try:
        spec = load_spec(args.spec) if args.command == "sweep" else spec_from_args(args)
        env_id = resolve(spec)[0].config.env_id  # every field validated before JAX's compile cache is touched
        out = args.out or (Path(spec.out) if spec.out else Path("runs") / (
            Path(args.spec).stem if args.command == "sweep" else f"{args.algo}-{env_id}"))
        if args.memory_budget_gb is not None and not args.memory_budget_gb > 0:
            raise ValueError(f"memory_budget_gb: must be > 0, got {args.memory_budget_gb}")
        if not args.no_compile_cache:
            enable_compilation_cache()
        budget = None if args.memory_budget_gb is None else int(args.memory_budget_gb * 2**30)
        summary = run_sweep(spec, out, chunk_evals=args.chunk_evals, max_learners_per_batch=args.max_seeds_per_batch,
                            memory_budget_bytes=budget, checkpoint_every_s=args.checkpoint_every_s,
                            snapshot_every=args.snapshot_every, command=["dynjax", *argv])
    except ValueError as e:
        print(f"dynjax: error: {e}", file=sys.stderr)
        return 2
    if summary:
        print((out / "summary.md").read_text())
        print(f"results in {out}")
    return 0


def _analyse(args: argparse.Namespace) -> int:
    from dynjax.apps.analyse import AnalyseOptions, analyse_run

    opts = AnalyseOptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(AnalyseOptions)})
    try:
        if not args.no_compile_cache:
            enable_compilation_cache()
        out = args.out or args.run_dir / "analysis"
        analyse_run(args.run_dir, out, opts)
    except ValueError as e:
        print(f"dynjax: error: {e}", file=sys.stderr)
        return 2
    print((out / "summary.md").read_text())
    print(f"analysis in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

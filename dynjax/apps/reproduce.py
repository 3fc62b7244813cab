"""`dynjax reproduce <name>`: regenerate one benchmark table of benchmarks/results/ with one command.

Each table is produced by one script of benchmarks/ (in a source checkout: they are not part of the installed
package; from an installed wheel the command says how to get one, see find_checkout) that trains its seeds vmapped, writes a markdown table with the papers' numbers beside ours, its
figures and the raw per-seed results, and takes `--quick` (a pipeline check in minutes on a laptop CPU; its
numbers are not results) and `--out`. This module names the tables, runs their scripts, and keeps the README's
copies of the tables identical to the files (`dynjax reproduce --sync-readme`; tests/test_readme.py checks it).

The scripts run as subprocesses, so this command does not turn on the CLI's start-up speed-ups
(dynjax.startup.enable) for them: each script decides. The timing benchmarks (throughput, scaling,
ppo-throughput) call it, to time what `dynjax train` runs; the others run with JAX's own lowerings (the same
random bits; rl-vs-sl must, its supervised program compiles for over 20 minutes under dynjax's Threefry lowering).

    dynjax reproduce --list
    dynjax reproduce huang-pendulum                  # full budget, into benchmarks/results/ (as checked in)
    dynjax reproduce rtrrl --quick                   # into runs/reproduce-quick/
    dynjax reproduce dynamic-rl -- --seeds 4         # arguments after -- go to the script
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import dynjax

PACKAGE_PARENT = Path(dynjax.__file__).resolve().parents[1]  # the checkout, when dynjax is imported from one


def is_checkout(path: Path) -> bool:
    """Whether `path` is the top of a dynjax source checkout (its pyproject.toml and benchmark scripts)."""
    pyproject = path / "pyproject.toml"
    return ((path / "benchmarks" / "rtrrl_table.py").exists() and pyproject.exists()
            and 'name = "dynjax"' in pyproject.read_text())


def find_checkout() -> Path:
    """The source checkout whose benchmark scripts `dynjax reproduce` runs: $DYNJAX_CHECKOUT, else the checkout
    dynjax is imported from (an editable install), else the current directory or one above it. An installed
    wheel holds no benchmarks: then a ValueError says what to do."""
    env = os.environ.get("DYNJAX_CHECKOUT")
    if env:
        if not is_checkout(Path(env)):
            raise ValueError(f"DYNJAX_CHECKOUT: {env} is not a dynjax source checkout (no pyproject.toml naming "
                             "dynjax beside benchmarks/rtrrl_table.py)")
        return Path(env).resolve()
    for path in (PACKAGE_PARENT, Path.cwd().resolve(), *Path.cwd().resolve().parents):
        if is_checkout(path):
            return path
    raise ValueError("dynjax reproduce runs the benchmark scripts of a source checkout of dynjax, which an "
                     "installed package does not contain. Clone dynjax's repository, install it from there "
                     "(pip install -e .) and run `dynjax reproduce` inside the checkout, or point "
                     "DYNJAX_CHECKOUT at a checkout.")


ROOT = PACKAGE_PARENT  # the checkout dynjax is imported from, when it is one (tests, README sync)
RESULTS = ROOT / "benchmarks" / "results"


class Table(NamedTuple):
    script: str  # in benchmarks/
    stem: str  # the table is <out>/<stem>.md; its figures and raw results are in <out>/<folder>/ (dir_out)
    dir_out: bool  # the script's --out is the results folder (True) or the markdown file (False)
    what: str
    folder: str | None = None  # the results folder's name when it is not the stem


TABLES: dict[str, Table] = {
    "rtrrl": Table("rtrrl_table.py", "rtrrl_table", True,
                   "RTRRL Table 2 (Lemmel & Grosu 2025): RFLO / RTRL / BPTT / linear TD on the paper's tasks"),
    "rtrrl-clip": Table("rtrrl_clip.py", "rtrrl_clip", True,
                        "RTRRL under the paper's gradient clip: global vs per-group clip, beside the authors' code"),
    "rtrrl-reward-norm": Table("rtrrl_reward_norm.py", "rtrrl_reward_norm", True,
                               "RTRRL with reward normalisation (none / standardize / scale) beside the authors' "
                               "normalize_reward True / False"),
    "rtrrl-init": Table("rtrrl_init.py", "rtrrl_init", True,
                        "RTRRL-RFLO with dynjax's and with the authors' initialisation (MetaMaze, CartPole "
                        "positions-only)"),
    "rtrrl-differential": Table("rtrrl_differential.py", "rtrrl_differential", False,
                                "RTRRL step by step against a recording of the authors' code (h, TD error, "
                                "parameters; their RTRL's contraction)"),
    "rtrrl-lambda": Table("rtrrl_lambda.py", "rtrrl_lambda", True,
                          "RTRRL's memory length on MemoryChain against the trace decay lambda (0.5-0.99)"),
    "rtrrl-gradients": Table("rtrrl_gradients.py", "rtrrl_gradients", True,
                             "RTRRL's online updates over training: RFLO and RTRL (with FA) against the true "
                             "gradient, cosines and noise"),
    "rtrrl-scale": Table("rtrrl_scale.py", "rtrrl_scale", True,
                         "RTRRL with hidden size N = 8-256 on MemoryChain-32 and CartPole positions-only"),
    "dynamic-rl": Table("dynamic_rl_table.py", "dynamic_rl_table", True,
                        "Dynamic RL (Shibata): the paper's claims on seq-nav and slider-crank, its BPTT comparator, "
                        "ablations, output swap, exploration exponent",
                        folder="dynamic_rl"),
    "dynamic-rl-search": Table("dynamic_rl_search.py", "dynamic_rl_search", True,
                               "Dynamic RL's and its BPTT comparator's constants, searched on seeds 1000+ (not the "
                               "table's)"),
    "dynamic-rl-sensitivity-scale": Table("dynamic_rl_sensitivity_scale.py", "dynamic_rl_sensitivity_scale", True,
                                          "Dynamic RL: the closed loop's Lyapunov exponent against the scale of a "
                                          "sensitivity step"),
    "dynamic-rl-precision": Table("dynamic_rl_precision.py", "dynamic_rl_precision", True,
                                  "Dynamic RL trained in float32 vs float64: learning curves, exploration exponent"),
    "blind-dynamics": Table("blind_dynamics.py", "blind_dynamics", True,
                            "PPO guided by fixed reaction-diffusion dynamics vs plain PPO on CartPole"),
    "huang-pendulum": Table("huang_pendulum.py", "huang_pendulum", True,
                            "Study 1 (Huang, Singh & Rajan): fixed points, timescales, ring, policy over training"),
    "rl-vs-sl": Table("rl_vs_sl.py", "rl_vs_sl", True,
                      "Study 2 (Kononov et al.): hybrid attractors and population balance, RL vs SL"),
    "throughput": Table("throughput.py", "throughput", False,
                        "seed-steps/s of every learner over seeds (x hidden size for RTRRL), cost model, vs the RTRRL "
                        "authors' code"),
    "scaling": Table("scaling.py", "scaling", False, "weak and strong scaling over devices, chunk overhead"),
    "ppo-throughput": Table("ppo_throughput.py", "ppo_throughput", False,
                            "PPO-RNN env-steps/s vs a single-file PureJaxRL-style reference"),
    "fixed-points": Table("fixed_points.py", "fixed_points", False,
                          "batched fixed-point finder vs a per-candidate scipy loop"),
}


def command(name: str, quick: bool = False, out: Path | None = None, extra: list[str] = ()) -> list[str]:
    """The script invocation of table `name` writing into folder `out` (default: benchmarks/results for the
    full budget, runs/reproduce-quick for --quick)."""
    if name not in TABLES:
        raise ValueError(f"name: unknown table {name!r}; one of {', '.join(TABLES)}")
    t = TABLES[name]
    root = find_checkout()
    script = root / "benchmarks" / t.script
    out = Path(out) if out is not None else (Path("runs") / "reproduce-quick" if quick else root / "benchmarks" / "results")
    target = out / (t.folder or t.stem) if t.dir_out else out / f"{t.stem}.md"
    return [sys.executable, str(script), *(["--quick"] if quick else []), "--out", str(target), *extra]


def run(name: str, quick: bool = False, out: Path | None = None, extra: list[str] = ()) -> int:
    """Run the table's script (output streams through); its exit status."""
    cmd = command(name, quick, out, extra)
    Path(cmd[cmd.index("--out") + 1]).parent.mkdir(parents=True, exist_ok=True)
    root = str(find_checkout())
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    print("[dynjax] " + " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, env=env).returncode


README_BLOCK = re.compile(r"(<!-- results: (?P<file>[\w./#-]+) -->\n)(?P<body>.*?)(<!-- end results -->)", re.S)


def readme_tables(readme: str) -> list[tuple[str, str]]:
    """(results file relative to benchmarks/results, the README's copy) of every marked block."""
    return [(m["file"], m["body"]) for m in README_BLOCK.finditer(readme)]


def table_text(file: str, results: Path = RESULTS) -> str:
    """What the README's block for `file` must hold: the markdown tables of the results file (lines starting
    with '|'), separated by a blank line; `name.md#k` selects the k-th table (from 1) only."""
    file, _, k = file.partition("#")
    lines = (results / file).read_text().splitlines()
    blocks, current = [], []
    for line in lines + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if k:
        if not 1 <= int(k) <= len(blocks):
            raise ValueError(f"README: {file} has {len(blocks)} tables, no table {k}")
        blocks = [blocks[int(k) - 1]]
    return "\n\n".join(blocks) + "\n"


def sync_readme(readme_path: Path | None = None, results: Path | None = None) -> bool:
    """Rewrite every marked block of the checkout's README from its results files; whether anything changed."""
    root = find_checkout() if readme_path is None or results is None else None
    readme_path = readme_path or root / "README.md"
    results = results or root / "benchmarks" / "results"
    text = readme_path.read_text()
    new = README_BLOCK.sub(lambda m: m.group(1) + table_text(m["file"], results) + m.group(4), text)
    if new != text:
        readme_path.write_text(new)
    return new != text


def main(argv: list[str]) -> int:
    import argparse

    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    p = argparse.ArgumentParser(prog="dynjax reproduce", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", choices=list(TABLES), help="the table")
    p.add_argument("--quick", action="store_true", help="a pipeline check in minutes (its numbers are no result)")
    p.add_argument("--out", type=Path, default=None,
                   help="results folder (default benchmarks/results, or runs/reproduce-quick with --quick)")
    p.add_argument("--list", action="store_true", help="list the tables")
    p.add_argument("--sync-readme", action="store_true", help="copy the results tables into README.md's blocks")
    args = p.parse_args(argv)
    if args.list:
        for name, t in TABLES.items():
            print(f"{name:16s} {t.what}  (benchmarks/{t.script} -> benchmarks/results/{t.stem}.md)")
        return 0
    if args.name is None and not args.sync_readme:
        p.error("name the table to reproduce (or --list)")
    try:
        if args.sync_readme:
            print("README.md updated" if sync_readme() else "README.md already matches the results files")
            return 0
        return run(args.name, args.quick, args.out, extra)
    except ValueError as e:
        print(f"dynjax: error: {e}", file=sys.stderr)
        return 2

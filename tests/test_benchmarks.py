"""Smoke versions of the benchmark scripts: they run end to end on tiny budgets and write their tables."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from dynjax.results.metrics import read_metrics
from dynjax.results.stats import aggregate, curve_scores, format_stats

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ.copy() | {"PYTHONPATH": str(ROOT)}  # the checkout, installed or not


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    """Run benchmarks/<name>.py with `args` from the checkout (its stdout captured, its stderr left to pytest's
    capture); fails the test on a non-zero exit."""
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *args], check=True, cwd=ROOT,
                          env=ENV, stdout=subprocess.PIPE, text=True)


def test_rtrrl_table_quick(tmp_path):
    out = tmp_path / "table"
    run_script("rtrrl_table", "--quick", "--out", str(out), "--tasks", "MemoryChain-4", "--algos", "RTRRL-RFLO",
               "PPO CT-RNN (BPTT)")
    table = (tmp_path / "table.md").read_text()
    cell = out / "memorychain-4--rtrrl-rflo"
    assert (cell / "plots" / "learning_curve.png").exists()
    # the table's columns are the statistics of the cell's own per-seed curves (not the paper's column)
    m = read_metrics(cell / "metrics.csv")
    scores = curve_scores(m["eval_return"], m["step"])
    row = next(r for r in table.splitlines() if r.startswith("| MemoryChain-4 | RTRRL-RFLO | 20,000 |"))
    cols = [c.strip() for c in row.split("|")[1:-1]]
    assert cols[3:6] == [format_stats(aggregate(x)) for x in (scores.final, scores.best, scores.auc)]
    assert "| MemoryChain-4 | PPO CT-RNN (BPTT) | 20,000 |" in table
    assert "| MemoryChain-4 | RTRRL-RFLO = PPO CT-RNN (BPTT) | RTRRL-RFLO" in table and "(p = " in table


def test_throughput_quick(tmp_path):
    out = tmp_path / "tp.md"
    run_script("throughput", "--quick", "--out", str(out))
    text = out.read_text()
    assert "| rflo | 16 | 32 |" in text and "regime" in text
    assert "| dynamic-rl (float32) | 4 | 300 |" in text and "| ppo-rnn (gru) | 4 | 32 |" in text


def test_dynamic_rl_precision_quick(tmp_path):
    run_script("dynamic_rl_precision", "--quick", "--tasks", "seq-nav", "--out", str(tmp_path / "p"))
    text = (tmp_path / "p.md").read_text()
    assert "| seq-nav | float32 |" in text and "| seq-nav | float64 |" in text
    assert "| seq-nav | float32 vs float64 | final exponent |" in text


def test_compile_split_counts_fewer_kernels_with_straight_line_threefry():
    """Both programs of the default run compile to fewer kernels under dynjax's Threefry lowering than under
    JAX's (a count, not a timing)."""
    out = run_script("throughput", "--compile-split", "--startup-repeats", "1")
    rows = [r.split("|")[1:-1] for r in out.stdout.splitlines() if r.startswith(("| step-0", "| chunk"))]
    kernels = {(r[0].strip(), r[1].strip().split()[0]): int(r[4]) for r in rows}
    for program in ("step-0", "chunk"):
        assert kernels[(program, "dynjax's")] < kernels[(program, "JAX's")], kernels


def test_scaling_quick(tmp_path):
    out = tmp_path / "scaling.md"
    run_script("scaling", "--quick", "--out", str(out))
    text = out.read_text()
    assert "## Weak scaling" in text and "| 2 | 16 |" in text and "chunk overhead" in text


def test_blind_dynamics_quick(tmp_path):
    out = tmp_path / "blind"
    run_script("blind_dynamics", "--quick", "--out", str(out), "--envs", "CartPole-v1")
    table = (tmp_path / "blind.md").read_text()
    assert "| CartPole-v1 | PPO |" in table and "| CartPole-v1 | RD-PPO gamma=0.1 |" in table
    assert (out / "cartpole-v1.png").exists()


def test_ppo_throughput_quick(tmp_path):
    out = tmp_path / "ppo.md"
    run_script("ppo_throughput", "--quick", "--out", str(out))
    assert "ratio (dynjax / reference)" in out.read_text()


def test_dynamic_rl_table_quick(tmp_path):
    out = tmp_path / "drl"
    run_script("dynamic_rl_table", "--quick", "--out", str(out), "--tasks", "slider-crank")
    table = (tmp_path / "drl.md").read_text()
    assert "| slider-crank | Dynamic RL |" in table and "## Output swap" in table and "seed-steps/s" in table
    assert (out / "slider-crank-exponent.png").exists() and (out / "slider-crank-swap.png").exists()
    # the claims' verdicts are computed from the cells' per-seed curves: (5) the exponent, step 0 -> final
    from dynjax.results.stats import format_p, paired_change

    m = read_metrics(out / "slider-crank--dynamic-rl" / "metrics.csv")
    exponent = np.asarray(m["exploration_exponent"], float)
    pc = paired_change(exponent[:, 0], curve_scores(exponent, m["step"][0]).final)
    row = next(r for r in table.splitlines() if r.startswith("| (5) the exploration exponent falls"))
    cols = [c.strip() for c in row.split("|")[1:-1]]
    assert cols[1] == "slider-crank" and f"p = {format_p(pc.p_value)}" in cols[3]
    assert cols[4] == ("reproduced" if pc.verdict() == "falls" else f"not reproduced ({pc.verdict()})")
    assert "| (6) the outputs saturate over training | slider-crank |" in table


def test_dynamic_rl_sensitivity_scale_quick(tmp_path):
    import json

    run_script("dynamic_rl_sensitivity_scale", "--quick", "--out", str(tmp_path / "scale"))
    record = json.loads((tmp_path / "scale" / "summary.json").read_text())
    assert (tmp_path / "scale" / "exponent_vs_scale.png").exists() and (tmp_path / "scale.md").exists()
    for radius in ("3.0", "1.5"):
        ex = np.asarray(record["radii"][radius]["exponent"])
        assert ex.shape == (2, len(record["scales"])) and np.isfinite(ex).all()
        # with two networks no change is significant: the verdict must say so, not claim a trend
        assert record["radii"][radius]["verdict"] == "no significant change"  # of rho against 0
    assert record["verdict"].startswith("not reproduced")


def test_huang_pendulum_quick(tmp_path):
    out = tmp_path / "huang"
    run_script("huang_pendulum", "--quick", "--out", str(out), "--variants", "angle-only")
    text = (tmp_path / "huang.md").read_text()
    assert "| angle-only | 4,096 |" in text and "Pearson r" in text
    for name in ("pca_ring.png", "policy_landscape.png", "timescales.png", "angle-only.csv"):
        assert (out / name).exists()


def test_rl_vs_sl_quick(tmp_path):
    import csv

    out = tmp_path / "rvs"
    run_script("rl_vs_sl", "--quick", "--out", str(out))
    table = (tmp_path / "rvs.md").read_text()
    assert "## The seed paper's claims beside ours" in table and "## Population balance" in table
    assert (out / "hybrid_share.png").exists() and (out / "learning_curves.png").exists()
    # each cell trained through the sweep runner: seeds 0..1, its learning curve in the run's metrics.csv
    m = read_metrics(out / "rl--perceptual--g1" / "metrics.csv")
    assert list(m["seed"]) == [0, 1] and (out / "sl--perceptual--g2" / "metrics.csv").exists()
    with (out / "rl--perceptual--g1.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["seed"]) for r in rows] == [0, 1]
    # the performance row holds the statistics of the cell's per-network analysis and of its own curves
    scores = curve_scores(m["eval_return"], m["step"])
    accuracy = [float(r["accuracy"]) for r in rows]
    row = next(r for r in table.splitlines() if r.startswith("| perceptual | 1 | RL |"))
    cols = [c.strip() for c in row.split("|")[1:-1]]
    assert cols[3] == format_stats(aggregate(accuracy), ".2f")
    assert cols[5:8] == [format_stats(aggregate(x), ".2f") for x in (scores.final, scores.best, scores.auc)]
    # the hybrid-share table counts the CSV's flags
    stable = sum(r["has_stable_fp"] == "True" for r in rows)
    row = next(r for r in table.splitlines() if r.startswith("| perceptual | 1 | RL | ") and "/2 = " in r)
    assert row.split("|")[4].strip().startswith(f"{stable}/2 = ")
    assert "| perceptual | 2 | SL |" in table and (out / "untrained--perceptual--g2.csv").exists()
    # a second invocation regenerates the same table from the saved CSVs and metrics (nothing trained)
    first = table.split("## Performance")[1]
    run_script("rl_vs_sl", "--quick", "--out", str(out), "--from-saved")
    assert (tmp_path / "rvs.md").read_text().split("## Performance")[1] == first

def test_rtrrl_clip_quick(tmp_path):
    """The clip study's pipeline: three dynjax arms (no clip, global, per group) and their tests."""
    run_script("rtrrl_clip", "--quick", "--out", str(tmp_path / "c"))
    text = (tmp_path / "c.md").read_text()
    for arm in ("no clip (default)", "clip 1.0, global norm", "clip 1.0, per group"):
        assert f"| dynjax | {arm} | 2 |" in text, arm
    assert "| dynjax | clip 1.0, global norm vs clip 1.0, per group | final |" in text


def test_rtrrl_differential_quick(tmp_path):
    """From the checked-in 40-step recordings of the authors' code: the table, its CSV and figure."""
    run_script("rtrrl_differential", "--quick", "--out", str(tmp_path / "d.md"))
    text = (tmp_path / "d.md").read_text()
    assert "| RFLO: dynjax's pieces in the authors' order | max abs h | " in text
    assert "(float32 rounding)" in text and "defect 2" in text
    assert (tmp_path / "d.csv").exists() and (tmp_path / "d.png").exists()


def test_rtrrl_lambda_quick(tmp_path):
    run_script("rtrrl_lambda", "--quick", "--out", str(tmp_path / "lam"))
    text = (tmp_path / "lam.md").read_text()
    assert "| 4 | 20,000 |" in text and "| 8 | 20,000 |" in text and "Spearman" in text
    assert "| 0.5 | " in text and (tmp_path / "lam" / "memory_vs_lambda.png").exists()


def test_rtrrl_scale_quick(tmp_path):
    run_script("rtrrl_scale", "--quick", "--out", str(tmp_path / "sc"))
    text = (tmp_path / "sc.md").read_text()
    for task in ("MemoryChain-32", "CartPole, positions only"):
        for rule in ("RTRRL-RFLO", "RTRRL-RTRL"):
            assert f"| {task} | {rule} | 8 | 20,000 |" in text and f"| {task} | {rule} | 16 | 20,000 |" in text
    assert (tmp_path / "sc" / "performance_vs_n.png").exists()


def test_rtrrl_gradients_quick(tmp_path):
    """The gradient-quality probe: its exact-RTRL update equals autodiff through the recorded window (the check
    column), and RFLO with the exact signal points along the true update (it only drops the recurrent term)."""
    run_script("rtrrl_gradients", "--quick", "--out", str(tmp_path / "g"))
    rows = [r for r in (tmp_path / "g.md").read_text().splitlines() if r.startswith("| 2,000 |")]
    cols = [c.strip() for c in rows[0].split("|")[1:-1]]
    assert float(cols[2]) < 1e-4  # autodiff check
    assert float(cols[4].split()[0]) > 0.5  # RFLO exact: step cos
    assert (tmp_path / "g" / "per_learner.csv").exists() and (tmp_path / "g" / "gradient_quality.png").exists()


def test_rtrrl_reward_norm_quick(tmp_path):
    run_script("rtrrl_reward_norm", "--quick", "--out", str(tmp_path / "rn"))
    text = (tmp_path / "rn.md").read_text()
    for arm in ("reward_norm none (default)", "reward_norm standardize", "reward_norm scale"):
        assert f"| dynjax | {arm} | 2 |" in text, arm


def test_rtrrl_init_quick(tmp_path):
    run_script("rtrrl_init", "--quick", "--out", str(tmp_path / "i"))
    text = (tmp_path / "i.md").read_text()
    for task in ("MetaMaze", "CartPole, positions only"):
        for arm in ("dynjax init (default)", "authors' init"):
            assert f"| {task} | {arm} | 2 |" in text, (task, arm)

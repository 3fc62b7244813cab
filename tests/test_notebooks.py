"""The notebooks run top to bottom (tiny budgets), so they cannot rot."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_tour_runs():
    env = os.environ.copy() | {"DYNJAX_TOUR_STEPS": "2000", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "notebooks" / "tour.py")], check=True, capture_output=True,
                         text=True, env=env, cwd=ROOT)
    assert "RTRL: relative error vs BPTT" in out.stdout
    rtrl_err = float(out.stdout.split("RTRL: relative error vs BPTT ")[1].split(",")[0])
    assert rtrl_err < 1e-8
    # 2,000 steps, an evaluation every 200: 11 medians over the seeds, each a CartPole return (1 to 500)
    medians = np.array(out.stdout.split("median return over seeds: [")[1].split("]")[0].split(), float)
    assert medians.shape == (11,) and np.all((medians >= 1) & (medians <= 500)), medians


def test_dynamics_notebook_runs():
    env = os.environ.copy() | {"DYNJAX_TOUR_STEPS": "4096", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "notebooks" / "dynamics.py")], check=True, capture_output=True,
                         text=True, env=env, cwd=ROOT)
    before, after = (float(x) for x in out.stdout.split("largest Lyapunov exponent: ")[1].split(" per step")[0]
                     .split(" -> "))
    assert before < -0.3 and abs(after) < 0.15  # SAL brings an ordered network to the edge of chaos
    origin = next(line for line in out.stdout.splitlines() if line.startswith("fixed point |h| = 0.000"))
    assert origin.endswith("unstable") and 1.3 < float(origin.split("= ")[2].split(":")[0]) < 1.7  # ~ g = 1.5
    assert "| base | 4,096 | 4 | 0 |" in out.stdout and "pca-0-base.png" in out.stdout


def test_new_agent_example_runs_under_the_driver(tmp_path):
    """README's "adding an algorithm": the one-file agent trains, is evaluated by the driver (its untrained greedy
    policy pushes one way: CartPole ends after ~9.5 steps), and, registered, runs as a sweep algorithm."""
    env = os.environ.copy() | {"DYNJAX_TOUR_STEPS": "10000", "PYTHONPATH": str(ROOT),
                               "DYNJAX_EXAMPLE_OUT": str(tmp_path / "run")}
    out = subprocess.run([sys.executable, str(ROOT / "notebooks" / "new_agent.py")], check=True, capture_output=True,
                         text=True, env=env, cwd=ROOT)
    medians = np.array(out.stdout.split("over 8 seeds: [")[1].split("]")[0].split(), float)
    assert medians.shape == (11,) and 9 <= medians[0] <= 10 and np.all(medians <= 500), medians
    assert "| lr_actor=0.001 | 8 |" in out.stdout and "| lr_actor=0.003 | 8 |" in out.stdout
    assert (tmp_path / "run" / "metrics.csv").read_text().count("\n") == 1 + 16 * 2  # 16 learners x 2 points

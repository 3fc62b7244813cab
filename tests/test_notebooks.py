"""The notebooks run top to bottom (tiny budgets), so they cannot rot."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tour_runs():
    env = os.environ.copy() | {"DYNJAX_TOUR_STEPS": "2000", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "notebooks" / "tour.py")], check=True, capture_output=True,
                         text=True, env=env, cwd=ROOT)
    assert "RTRL: relative error vs BPTT" in out.stdout
    rtrl_err = float(out.stdout.split("RTRL: relative error vs BPTT ")[1].split(",")[0])
    assert rtrl_err < 1e-8
    assert "median return over seeds" in out.stdout

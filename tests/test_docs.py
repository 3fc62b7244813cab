"""The API reference (docs/build.sh: pdoc over the docstrings) builds without warnings."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_builds_without_warnings(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pdoc", "dynjax", "--docformat", "markdown", "-o", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Warn" not in out.stdout + out.stderr, out.stdout + out.stderr
    for page in ("dynjax.html", "dynjax/agents.html", "dynjax/analysis.html", "dynjax/apps/analyse.html", "dynjax/sweep.html", "dynjax/results/stats.html"):
        assert (tmp_path / page).exists(), page

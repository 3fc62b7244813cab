"""dynjax's RTRRL against a recording of the authors' code (tests/data/rtrrl_authors_*.npz: the first 40 steps of
benchmarks/rtrrl_differential.py's recordings, CartPole positions-only, seed 1), checked where their code is not
built: dynjax's pieces in the authors' order of operations reproduce the recording to float32 rounding, and the
authors' RTRL is the mis-contracted gradient of the reference's defect 2, not dynjax's exact one."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
differential = pytest.importorskip("rtrrl_differential")
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def recordings():
    return {mode: differential.load(DATA / f"rtrrl_authors_{mode}.npz") for mode in ("rflo", "rtrl")}


def test_the_recordings_hold_episode_ends(recordings):
    for rec in recordings.values():
        assert rec.h.shape == (40, 32) and 1 <= int(rec.done.sum()) < 20


def test_rflo_emulation_reproduces_the_authors_step_by_step(recordings):
    d = differential.differences(recordings["rflo"], differential.emulate(recordings["rflo"], "rflo"))
    assert d["h"].max() < 1e-5 and d["delta"].max() < 1e-5 and d["theta_rel"].max() < 1e-3, d


def test_authors_rtrl_is_the_mis_contracted_gradient(recordings):
    rec = recordings["rtrl"]
    ours = differential.differences(rec, differential.emulate(rec, "rtrl"))
    theirs = differential.differences(rec, differential.emulate(rec, "rtrl", grads=differential.authors_contraction))
    assert theirs["h"].max() < 1e-5 and theirs["theta_rel"].max() < 1e-3, theirs
    assert ours["theta_rel"].max() > 0.1  # exact RTRL moves the parameters elsewhere


def test_dynjax_learner_differs_only_by_the_order_of_operations(recordings):
    """Its own learner on the same stream: the first step agrees to rounding (same parameters, same state), then
    the one-update-fresher v and psi move it away slowly (no blow-up within 40 steps)."""
    rec = recordings["rflo"]
    d = differential.differences(rec, differential.dynjax_replay(rec, "rflo"))
    assert d["h"][0] < 1e-5 and d["delta"][0] < 1e-5
    assert 1e-5 < d["h"].max() < 0.1 and d["delta"].max() < 0.1

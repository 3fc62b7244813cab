"""The sweep runner: grids, equality with single runs, resume after a kill, device and host independence,
seed batches, divergence isolation, and clear errors for bad specs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import chex
import jax
import numpy as np
import pytest

from dynjax import RTRRLConfig, RTRRLHParams, make_train
from dynjax.results.metrics import read_metrics
from dynjax.sweep import RunDirectoryMismatch, resolve, run_sweep, spec_from_dict
from dynjax.sweep.snapshots import load_snapshot, make_unit_learner, snapshot_units

ROOT = Path(__file__).resolve().parents[1]
BASE = {"env_id": "CartPole-v1", "obs_mask": "even", "hidden_size": 8, "total_steps": 400, "eval_every": 100,
        "eval_episodes": 2}


def tiny_spec(**kw):
    d = {"algo": "rtrrl", "seeds": 2, "config": dict(BASE), "grid": {}} | kw
    return spec_from_dict(d)


def quiet(_msg):
    pass


def metrics_table(out: Path) -> str:
    return (out / "metrics.csv").read_text()


def final_states(out: Path) -> list:
    """The last checkpointed learner states of every unit of the run in `out` (keys as their raw data)."""
    algo, units = snapshot_units(out)
    states = [load_snapshot(make_unit_learner(algo, u), u, u.chunks[-1]) for u in units]
    is_key = lambda x: jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)  # noqa: E731
    return jax.tree.map(lambda x: jax.random.key_data(x) if is_key(x) else x, states)


def test_grid_resolves_into_vmapped_and_separate_programs():
    spec = tiny_spec(grid={"gain": [0.5, 1.5, 3.0], "hidden_size": [8, 16]})
    programs = resolve(spec)
    assert [p.config.hidden_size for p in programs] == [8, 16]
    assert [c["gain"] for c in programs[1].hparams] == [0.5, 1.5, 3.0]
    assert programs[1].config_ids == [3, 4, 5]


def test_sweep_equals_single_runs(tmp_path):
    """Every (config, seed) learner of a sweep equals `make_train` run alone with that seed and hparams."""
    out = tmp_path / "s"
    run_sweep(tiny_spec(grid={"lr_actor": [1e-3, 3e-3]}), out, log=quiet)
    m = read_metrics(out / "metrics.csv")
    for i, (cid, seed) in enumerate(zip(m["config"], m["seed"])):
        hp = RTRRLHParams(lr_actor=[1e-3, 3e-3][cid])
        _, single = jax.jit(make_train(RTRRLConfig(**BASE)))(jax.random.key(int(seed)), hp)
        np.testing.assert_allclose(m["eval_return"][i], np.asarray(single.eval_return), rtol=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert [c["hparams"] for c in summary["configs"]] == [{"lr_actor": 1e-3}, {"lr_actor": 3e-3}]
    for c, cid in zip(summary["configs"], (0, 1)):
        curves = m["eval_return"][m["config"] == cid]
        np.testing.assert_allclose(sorted(c["per_seed"]["final"]), sorted(curves[:, -1]), rtol=1e-5)
        assert c["final"]["n"] == 2 and c["final"]["iqm_ci95"][0] <= c["final"]["iqm"] <= c["final"]["iqm_ci95"][1]
    assert (out / "plots" / "learning_curve.png").exists() and (out / "plots" / "final_vs_lr_actor.png").exists()


def test_interrupted_sweep_resumes_to_identical_results(tmp_path):
    """Stopped after two chunks and run again: the same metrics and the same final learner states."""
    spec = tiny_spec(grid={"gain": [1.0, 2.0]})
    run_sweep(spec, tmp_path / "whole", log=quiet)
    assert run_sweep(spec, tmp_path / "cut", log=quiet, stop_after_chunks=2, checkpoint_every_s=0) == {}
    assert len(read_metrics(tmp_path / "cut" / "metrics.csv")["step"][0]) == 3  # step 0 and two chunks
    run_sweep(spec, tmp_path / "cut", log=quiet)
    assert metrics_table(tmp_path / "cut") == metrics_table(tmp_path / "whole")
    chex.assert_trees_all_equal(final_states(tmp_path / "cut"), final_states(tmp_path / "whole"))


def test_rd_ppo_sweep_resumes_to_identical_results(tmp_path):
    """The baselines go through the same runner: a gamma grid vmapped in one program, checkpoints holding a
    feedforward cell's empty recurrent block, resume after a stop (equality with make_train per learner is
    the runner's, tested above with RTRRL)."""
    config = {"cell": "mlp", "hidden_size": 8, "head_hidden": 8, "num_envs": 2, "num_steps": 8,
              "num_minibatches": 2, "update_epochs": 1, "total_steps": 64, "eval_every": 16, "eval_episodes": 2}
    spec = spec_from_dict({"algo": "rd-ppo", "seeds": 2, "config": config, "grid": {"gamma": [0.0, 0.1]}})
    run_sweep(spec, tmp_path / "whole", log=quiet)
    run_sweep(spec, tmp_path / "cut", log=quiet, stop_after_chunks=2, checkpoint_every_s=0)
    run_sweep(spec, tmp_path / "cut", log=quiet)
    assert metrics_table(tmp_path / "cut") == metrics_table(tmp_path / "whole")
    m = read_metrics(tmp_path / "whole" / "metrics.csv")
    assert m["eval_return"].shape == (4, 5) and list(m["config"]) == [0, 0, 1, 1]


def test_finished_run_is_reused_from_its_metrics_without_checkpoints(tmp_path):
    """A finished run copied without its checkpoints (as benchmark results are committed) is summarised again,
    not retrained; a run with a learner missing its last evaluation trains that batch again."""
    import shutil

    spec = tiny_spec()
    out = tmp_path / "s"
    run_sweep(spec, out, log=quiet)
    before = metrics_table(out)
    shutil.rmtree(out / "checkpoints")
    summary = run_sweep(spec, out, log=quiet)
    assert metrics_table(out) == before and summary["final"]["n"] == 2
    record = json.loads((out / "config.json").read_text())
    assert [i["seed_steps_trained"] for i in record["invocations"]] == [800, 0]
    rows = before.splitlines()
    (out / "metrics.csv").write_text("\n".join(r for r in rows if not r.startswith("0,1,400,")) + "\n")
    run_sweep(spec, out, log=quiet)
    assert metrics_table(out) == before
    assert json.loads((out / "config.json").read_text())["invocations"][-1]["seed_steps_trained"] == 800


def test_seed_batches_equal_one_batch(tmp_path):
    spec = tiny_spec(seeds=4)
    run_sweep(spec, tmp_path / "one", log=quiet)
    run_sweep(spec, tmp_path / "batched", log=quiet, max_learners_per_batch=2)
    chex.assert_trees_all_equal(read_metrics(tmp_path / "one" / "metrics.csv"),
                                read_metrics(tmp_path / "batched" / "metrics.csv"))


def test_diverging_learner_is_frozen_flagged_and_isolated(tmp_path):
    """dt = 1e30 makes the CT-RNN overflow: that configuration is flagged with its step, the other is unchanged."""
    run_sweep(tiny_spec(grid={"dt": [1.0, 1e30]}), tmp_path / "mixed", log=quiet)
    run_sweep(tiny_spec(), tmp_path / "healthy", log=quiet)
    mixed = read_metrics(tmp_path / "mixed" / "metrics.csv")
    healthy = read_metrics(tmp_path / "healthy" / "metrics.csv")
    chex.assert_trees_all_equal({k: v[mixed["config"] == 0] for k, v in mixed.items()}, healthy)  # every column
    bad = mixed["config"] == 1
    assert (mixed["diverged"][bad][:, -1] == 1).all()
    summary = json.loads((tmp_path / "mixed" / "summary.json").read_text())
    div = summary["configs"][1]["diverged"]
    assert len(div) == 2 and all(0 < d["step"] <= 100 for d in div)
    assert summary["configs"][1]["final"]["n"] == 0 and summary["configs"][0]["final"]["n"] == 2


def test_bad_specs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown name 'learning_rate'"):
        tiny_spec(grid={"learning_rate": [1e-3]})
    with pytest.raises(ValueError, match="gain must be a number"):
        tiny_spec(grid={"gain": ["big"]})
    with pytest.raises(ValueError, match="hidden_size must be int"):
        tiny_spec(grid={"hidden_size": [8.5]})
    with pytest.raises(ValueError, match="lr_rnn"):
        resolve(tiny_spec(grid={"lr_rnn": [1e-3, float("nan")]}))
    out = tmp_path / "s"
    run_sweep(tiny_spec(), out, log=quiet)
    before = metrics_table(out)
    with pytest.raises(RunDirectoryMismatch, match="different sweep"):
        run_sweep(tiny_spec(seeds=3), out, log=quiet)
    assert metrics_table(out) == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not a run\n")
    with pytest.raises(RunDirectoryMismatch, match="not a dynjax run directory"):
        run_sweep(tiny_spec(), other, log=quiet)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_example_spec_file_loads():
    from dynjax.sweep import load_spec

    programs = resolve(load_spec(ROOT / "benchmarks" / "sweeps" / "gain_sweep.toml"))
    assert len(programs) == 1 and len(programs[0].hparams) == 6


def _cli(args, env=None, **kw):
    env = os.environ.copy() | {"PYTHONPATH": str(ROOT)} | (env or {})
    return subprocess.Popen([sys.executable, "-m", "dynjax", *args], env=env, cwd=ROOT, **kw)


TRAIN = ["train", "rtrrl", "--seeds", "4", "--hidden", "8", "--steps", "3000", "--eval-every", "100",
         "--eval-episodes", "2", "--no-compile-cache", "--checkpoint-every-s", "0"]


def test_killed_process_resumes_exactly(tmp_path):
    """SIGKILL in the middle of a run; the same command again finishes it with the uninterrupted results."""
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _cli(TRAIN + ["--out", str(whole)], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL).wait() == 0
    proc = _cli(TRAIN + ["--out", str(cut)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:
        if "step" in line and "/3000" in line and int(line.split()[1].split("/")[0]) >= 500:
            break
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (cut / "summary.json").exists()
    assert _cli(TRAIN + ["--out", str(cut)], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL).wait() == 0
    assert metrics_table(cut) == metrics_table(whole)


def test_eight_devices_equal_one_device(tmp_path):
    """The learner axis sharded over 8 (CPU) devices gives bit-identical metrics to 1 device."""
    args = ["train", "rtrrl", "--seeds", "8", "--hidden", "8", "--steps", "300", "--eval-every", "100",
            "--eval-episodes", "2", "--no-compile-cache"]
    for n in (1, 8):
        env = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={n}"}
        assert _cli(args + ["--out", str(tmp_path / f"d{n}")], env=env, stdout=subprocess.DEVNULL).wait() == 0
    assert metrics_table(tmp_path / "d1") == metrics_table(tmp_path / "d8")


def test_two_processes_equal_one(tmp_path):
    """jax.distributed on localhost: 2 processes (2 CPU devices each) own half the learners each; process 0
    writes the merged results, equal to a single-process run."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["train", "rtrrl", "--seeds", "8", "--hidden", "8", "--steps", "300", "--eval-every", "100",
            "--eval-episodes", "2", "--no-compile-cache"]
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    procs = [_cli(args + ["--out", str(tmp_path / "multi"), "--coordinator", f"127.0.0.1:{port}",
                          "--num-processes", "2", "--process-id", str(i)], env=env, stdout=subprocess.DEVNULL)
             for i in range(2)]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    env4 = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    assert _cli(args + ["--out", str(tmp_path / "single")], env=env4, stdout=subprocess.DEVNULL).wait() == 0
    assert metrics_table(tmp_path / "multi") == metrics_table(tmp_path / "single")

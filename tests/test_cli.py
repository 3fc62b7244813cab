"""The command line: a real (tiny) run writes the run directory; bad input fails before compiling."""

import json

import numpy as np

from dynjax.cli import main
from dynjax.results import read_metrics, summarize


def test_train_writes_run_directory(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "rtrrl", "--seeds", "2", "--steps", "600", "--eval-every", "300", "--eval-episodes", "2",
            "--hidden", "8", "--out", str(out), "--no-compile-cache"]
    assert main(argv) == 0
    for name in ("sweep.json", "metrics.csv", "summary.json", "summary.md", "plots/learning_curve.png"):
        assert (out / name).exists(), name
    m = read_metrics(out / "metrics.csv")
    assert m["eval_return"].shape == (2, 3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final_eval"]["n"] == 2 and summary["diverged"] == []
    # the same command again finds the run finished (nothing recomputed, same metrics); a different one is refused
    before = (out / "metrics.csv").read_text()
    assert main(argv) == 0
    assert (out / "metrics.csv").read_text() == before
    assert main(argv[:-3] + ["--hidden", "9", "--out", str(out), "--no-compile-cache"]) == 2


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "rtrrl", "--env", "Nope-v0", "--out", str(tmp_path / "a")]) == 2
    assert "env_id" in capsys.readouterr().err
    assert main(["train", "rtrrl", "--obs-mask", "7", "--out", str(tmp_path / "b")]) == 2
    assert "obs_mask" in capsys.readouterr().err
    assert main(["train", "rtrrl", "--lr-actor", "nan", "--out", str(tmp_path / "c")]) == 2
    assert "lr_actor" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_diverged_seeds_are_flagged_and_excluded():
    m = {
        "step": np.array([[0, 10], [0, 10], [0, 10]]),
        "eval_return": np.array([[1.0, 5.0], [2.0, np.nan], [3.0, 7.0]]),
        "train_return": np.zeros((3, 2)),
        "diverged": np.array([[0, 0], [0, 1], [0, 0]]),
        "seed": np.array([0, 1, 2]),
    }
    s = summarize(m)
    assert s["diverged"] == [{"seed": 1, "step": 10}]
    assert s["final_eval"]["n"] == 2 and s["final_eval"]["median"] == 6.0


def test_every_algorithm_has_a_command_with_its_fields_presets_and_hyperparameters():
    from dynjax.cli import build_parser, spec_from_args
    from dynjax.sweep import resolve

    def config_of(*argv):
        return resolve(spec_from_args(build_parser().parse_args(["train", *argv])))[0].config

    c = config_of("ppo-rnn", "--preset", "rtrrl", "--cell", "gru", "--obs-mask", "even", "--lr", "1e-3")
    assert (c.cell, c.hidden_size, c.head_hidden, c.meta_rl, c.obs_mask, c.guide) == ("gru", 32, 0, True, "even", False)
    assert c.hparams.lr == 1e-3
    c = config_of("ppo-rnn", "--preset", "huang", "--obs-mask", "0,1")
    assert (c.env_id, c.cell, c.hidden_size, c.head_hidden, c.steps_per_update, c.total_steps // c.steps_per_update) \
        == ("Pendulum-v1", "rnn", 64, 64, 1024, 100)
    assert (c.hparams.lr, c.hparams.reward_scale, c.obs_mask) == (1e-3, 0.1, "0,1")
    assert config_of("ppo-rnn", "--preset", "huang", "--lr", "3e-4").hparams.lr == 3e-4  # a flag beats the preset
    c = config_of("rd-ppo", "--gamma", "0.05", "--cell", "mlp")
    assert c.guide and c.hparams.gamma == 0.05 and c.cell == "mlp"
    c = config_of("supervised", "--cell", "gru", "--env", "ContextDecision-dynjax", "--gain", "1.5")
    assert (c.cell, c.env_id, c.hparams.gain) == ("gru", "ContextDecision-dynjax", 1.5)
    c = config_of("linear-td", "--env", "CartPole-v1", "--obs-mask", "odd")
    assert c.rule == "linear" and c.obs_mask == "odd"
    c = config_of("rtrrl", "--no-fa", "--hidden", "16")
    assert not c.feedback_alignment and c.hidden_size == 16


def test_algorithm_specific_errors(tmp_path, capsys):
    assert main(["train", "ppo-rnn", "--cell", "lstm", "--out", str(tmp_path / "a")]) == 2
    assert "cell" in capsys.readouterr().err
    assert main(["train", "rd-ppo", "--env", "Pendulum-v1", "--out", str(tmp_path / "b")]) == 2
    assert "guide" in capsys.readouterr().err
    assert main(["train", "supervised", "--env", "CartPole-v1", "--out", str(tmp_path / "c")]) == 2
    assert "env_id" in capsys.readouterr().err


def test_every_default_and_preset_is_a_valid_configuration():
    """Defaults and papers' presets of every algorithm pass validation (budgets divide, fields in range)."""
    from dynjax.agents import ALGORITHMS
    from dynjax.sweep import resolve, spec_from_dict

    for algo in ALGORITHMS.values():
        for preset in [None, *algo.presets]:
            programs = resolve(spec_from_dict({"algo": algo.name, "preset": preset, "seeds": 1}))
            assert len(programs) == 1, (algo.name, preset)

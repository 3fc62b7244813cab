"""The command line: a real (tiny) run writes the run directory; bad input fails before compiling."""

import json

import numpy as np

from dynjax.apps.cli import main
from dynjax.results.metrics import read_metrics, summarize


def test_train_writes_run_directory(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "rtrrl", "--seeds", "2", "--steps", "600", "--eval-every", "300", "--eval-episodes", "2",
            "--hidden", "8", "--out", str(out), "--no-compile-cache"]
    assert main(argv) == 0
    for name in ("sweep.json", "config.json", "metrics.csv", "summary.json", "summary.md", "plots/learning_curve.png"):
        assert (out / name).exists(), name
    m = read_metrics(out / "metrics.csv")
    assert m["eval_return"].shape == (2, 3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final"]["n"] == 2 and summary["diverged"] == []
    # the summary's per-seed scores are those of the curves in metrics.csv (final: the last 10% = last point)
    np.testing.assert_allclose(sorted(summary["per_seed"]["final"]), sorted(m["eval_return"][:, -1]), rtol=1e-5)
    np.testing.assert_allclose(sorted(summary["per_seed"]["best"]), sorted(m["eval_return"][:, 1:].max(1)), rtol=1e-5)
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
    assert s["final"]["n"] == 2 and s["final"]["median"] == 6.0 and s["per_seed"]["seed"] == [0, 2]


def test_every_algorithm_has_a_command_with_its_fields_presets_and_hyperparameters():
    from dynjax.apps.cli import build_parser, spec_from_args
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


def test_config_json_records_every_resolved_field_and_the_environment(tmp_path):
    """config.json holds every field of the configuration as resolved (defaults applied), the command line,
    the versions, the devices and the invocation's times, so a later change of defaults changes nothing."""
    import dataclasses

    from dynjax import RTRRLConfig, RTRRLHParams

    out = tmp_path / "run"
    argv = ["train", "rtrrl", "--seeds", "1", "--steps", "300", "--eval-every", "300", "--eval-episodes", "1",
            "--hidden", "4", "--lr-actor", "0.002", "--out", str(out), "--no-compile-cache"]
    assert main(argv) == 0
    record = json.loads((out / "config.json").read_text())
    (config,) = record["configs"]
    assert set(config["fields"]) == {f.name for f in dataclasses.fields(RTRRLConfig)} - {"hparams"}
    assert set(config["hparams"]) == set(RTRRLHParams._fields)
    assert config["fields"]["obs_mask"] is None and config["fields"]["hidden_size"] == 4
    assert config["fields"]["meta_rl"] is True and config["fields"]["env_id"] == "CartPole-v1"  # defaults, resolved
    assert config["hparams"]["lr_actor"] == 0.002 and config["hparams"]["gamma"] == RTRRLHParams().gamma
    (inv,) = record["invocations"]
    assert inv["command"] == ["dynjax", *argv]
    assert inv["status"] == "finished" and inv["seed_steps_trained"] == 300 and inv["started"] <= inv["ended"]
    import jax

    assert inv["packages"]["jax"] == jax.__version__ and inv["python"].count(".") == 2
    assert all(inv["packages"][k] for k in ("jaxlib", "gymnax", "flax", "optax", "orbax-checkpoint", "numpy"))
    assert inv["devices"] and inv["devices"][0]["platform"] == "cpu"
    assert inv["dynjax"]["version"] and record["mixed_versions"] is False


def test_resume_with_other_versions_is_flagged_and_changed_defaults_are_refused(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "rtrrl", "--seeds", "1", "--steps", "600", "--eval-every", "300", "--eval-episodes", "1",
            "--hidden", "4", "--out", str(out), "--no-compile-cache"]
    assert main(argv) == 0
    path = out / "config.json"
    record = json.loads(path.read_text())
    record["invocations"][0]["packages"]["jax"] = "0.4.1"  # as if the run had started under another JAX
    record["invocations"][0]["dynjax"]["version"] = "0.0.9"
    path.write_text(json.dumps(record))
    assert main(argv) == 0
    record = json.loads(path.read_text())
    assert record["mixed_versions"] is True and len(record["invocations"]) == 2
    differs = record["invocations"][1]["differs_from_first"]
    assert differs["jax"][0] == "0.4.1" and differs["dynjax"][0] == "0.0.9"
    assert record["invocations"][1]["seed_steps_trained"] == 0  # finished: only summarised again
    assert "other versions" in capsys.readouterr().err
    # a run whose configuration now resolves differently (a default changed since it started) is refused
    record["configs"][0]["fields"]["eval_episodes"] = 7
    path.write_text(json.dumps(record))
    assert main(argv) == 2
    assert "eval_episodes: 7 -> 1" in capsys.readouterr().err


def test_defaults_do_not_surprise():
    """The whole observation unless a mask is named; a budget that the default cadence does not divide runs."""
    from dynjax.apps.cli import build_parser, spec_from_args
    from dynjax.sweep import resolve

    def config_of(*argv):
        return resolve(spec_from_args(build_parser().parse_args(["train", *argv])))[0].config

    c = config_of("rtrrl", "--env", "Acrobot-v1")
    assert c.obs_mask is None and c.validate().obs_dim == 6
    assert config_of("rtrrl", "--obs-mask", "even").validate().obs_dim == 2
    assert config_of("rtrrl", "--steps", "2000").eval_every == 2000  # one evaluation, at the end
    assert config_of("rtrrl", "--steps", "25000").eval_every == 6250
    assert config_of("rtrrl", "--steps", "300000").eval_every == 10_000
    assert config_of("ppo-rnn", "--steps", "5120").eval_every == 5120  # whole updates of 4 x 128
    assert config_of("rtrrl", "--steps", "25000", "--eval-every", "5000").eval_every == 5000


def test_every_invalid_field_is_named_at_once(tmp_path, capsys):
    argv = ["train", "rtrrl", "--env", "Nope-v0", "--steps", "2500", "--eval-every", "1000", "--hidden", "0",
            "--out", str(tmp_path / "a")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "3 invalid fields" in err and "env_id" in err and "Nope-v0" in err and "total_steps" in err
    assert "hidden_size" in err and not (tmp_path / "a").exists()
    assert main(["train", "ppo-rnn", "--steps", "1000", "--out", str(tmp_path / "b")]) == 2
    assert "num_envs x num_steps" in capsys.readouterr().err


def test_version(capsys):
    import dynjax

    assert main(["--version"]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"dynjax {dynjax.__version__} (") and "jax " in line

"""Analysis over training: the closed loop every agent exposes, snapshots kept by the sweep runner, and
`dynjax analyse` measuring a system whose answers are known in closed form."""

import csv
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dynjax.agents import ALGORITHMS
from dynjax.apps.analyse import AnalyseOptions, analyse_network
from dynjax.analysis.attractors import FIXED_POINT
from dynjax.analysis.closed_loop import ClosedLoop, flat_step, record
from dynjax.apps.cli import main
from dynjax.envs import make_env
from dynjax.sweep import run_sweep, spec_from_dict
from dynjax.sweep.snapshots import load_snapshot, make_unit_learner, snapshot_units

TINY = {"env_id": "CartPole-v1", "obs_mask": "even", "hidden_size": 8, "total_steps": 800, "eval_every": 100,
        "eval_episodes": 2}


def quiet(_msg):
    pass


@pytest.mark.parametrize("algo,config", [
    ("rtrrl", {"env_id": "CartPole-v1", "obs_mask": "even", "hidden_size": 8}),
    ("ppo-rnn", {"env_id": "Pendulum-v1", "cell": "rnn", "hidden_size": 8, "num_envs": 4, "num_steps": 8}),
    ("supervised", {"hidden_size": 8}),
    ("dynamic-rl", {"env_id": "seq-nav", "n_lower": 6, "n_upper": 4, "critic_hidden": 4}),
])
def test_recorded_closed_loop_obeys_its_equations(algo, config):
    """h_t = F(h_{t-1}, x_t) (F(h0, x_t) at an episode start) and x_t = inputs(obs_t, a_{t-1}, r_{t-1}),
    with the null action and zero reward at an episode start, along a recording across episode ends."""
    a = ALGORITHMS[algo]
    cfg = a.config_cls(**config)
    with jax.enable_x64(a.float64):
        learner = a.make_learner(cfg)
        loop = learner.closed_loop(learner.init(jax.random.key(0)))
        rec = jax.jit(lambda k: record(k, learner.spec, loop, 300))(jax.random.key(1))
        F, h0 = flat_step(loop)
        prev_h = jnp.where(rec.start[1:, None], h0, rec.h[:-1])
        np.testing.assert_allclose(jax.vmap(F)(prev_h, rec.x[1:]), rec.h[1:], rtol=1e-5, atol=1e-6)
        null = jnp.broadcast_to(loop.null_action, rec.action[1:].shape)
        prev_a = jnp.where(rec.start[1:].reshape((-1,) + (1,) * (rec.action.ndim - 1)), null, rec.action[:-1])
        prev_r = jnp.where(rec.start[1:], 0.0, rec.reward[:-1])
        np.testing.assert_allclose(jax.vmap(loop.inputs)(rec.obs[1:], prev_a, prev_r), rec.x[1:], rtol=1e-6)
    assert bool(rec.start[0]) and int(rec.start.sum()) >= 2  # the recording crosses an episode end


def test_analysis_of_a_known_linear_system():
    """F(h, x) = A h + B x with A = 0.8 R(0.3) (both eigenvalues of modulus 0.8): one stable fixed point
    (I - A)^-1 B x*, timescales 1 / |ln 0.8| = 4.48 steps, a fixed-point attractor, and a closed-loop
    exponent ln 0.8 (the action is constant, so only h is perturbed and every step shrinks it by 0.8)."""
    spec = make_env("CartPole-v1")
    c, s = math.cos(0.3), math.sin(0.3)
    A = 0.8 * jnp.array([[c, -s], [s, c]])
    B = jnp.array([[1.0, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, -0.5]])
    loop = ClosedLoop(h0=jnp.zeros(2), step=lambda h, x: A @ h + B @ x, inputs=lambda obs, a, r: obs,
                      act=lambda h, key: jnp.zeros((), jnp.int32), null_action=jnp.zeros((), jnp.int32))
    opts = AnalyseOptions(record_steps=200, expansion_points=10, candidates=32, attractor_inits=2,
                          attractor_steps=400, lyapunov_segments=100, lyapunov_steps=5)
    r = jax.jit(lambda k: analyse_network(spec, loop, k, opts))(jax.random.key(0))
    assert int(r.fp_keep.sum()) == 1 and int(r.fp_stable.sum()) == 1
    expected = jnp.linalg.solve(jnp.eye(2) - A, B @ r.x_star)
    np.testing.assert_allclose(r.fp_points[jnp.argmax(r.fp_keep)], expected, atol=1e-4)
    np.testing.assert_allclose(r.tau[:2], 1 / abs(math.log(0.8)), rtol=1e-4)
    assert np.all(np.asarray(r.classes) == FIXED_POINT)
    # two float32 trajectories 1e-4 apart shrink to 3e-5 in a segment of 5 steps, where rounding (~1e-7) is a
    # few 1e-3 of their distance: over 64 keys x 4 CPU vector widths the error was up to 2.2e-3 relative with
    # 100 segments (5.6e-3 with 10; 2.3e-3 with 10 on the test's key under AVX code, where rtol 1e-3 failed)
    np.testing.assert_allclose(float(r.lyapunov), math.log(0.8), rtol=1e-2)
    np.testing.assert_allclose(r.lyapunov_open, [math.log(0.8)] * 2, rtol=1e-4)  # driven: the same A at every step


def test_snapshots_are_kept_and_analysed(tmp_path, capsys):
    """Every 2nd evaluation point's state is kept (the resume checkpoints are not), it restores to the very
    state the learner started from, and `dynjax analyse` writes one row per learner and snapshot, the table
    and the figures."""
    spec = spec_from_dict({"algo": "rtrrl", "seeds": 2, "config": TINY, "grid": {"gain": [0.5, 1.5]}})
    run_sweep(spec, tmp_path / "run", snapshot_every=2, checkpoint_every_s=0.0, log=quiet)
    algo, units = snapshot_units(tmp_path / "run")
    (unit,) = units
    assert unit.steps == [0, 200, 400, 600, 800]
    assert unit.config_ids.tolist() == [0, 0, 1, 1] and unit.seeds.tolist() == [0, 1, 0, 1]
    learner = make_unit_learner(algo, unit)
    state = load_snapshot(learner, unit, 0)
    hp = learner.config.hparams._replace(gain=1.5)
    fresh = learner.init(jax.random.key(1), hp)
    for a, b in zip(jax.tree.leaves(state.theta), jax.tree.leaves(fresh.theta)):  # jitted vs eager init
        np.testing.assert_allclose(a[3], b, rtol=1e-6, atol=1e-7)

    code = main(["analyse", str(tmp_path / "run"), "--record-steps", "100", "--expansion-points", "5",
                 "--candidates", "16", "--attractor-inits", "2", "--attractor-steps", "200",
                 "--lyapunov-segments", "5", "--no-compile-cache"])
    assert code == 0
    assert "| gain=0.5 | 200 | 2 | 0 |" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "run" / "analysis" / "analysis.csv").open()))
    assert len(rows) == 4 * 5 and {r["step"] for r in rows} == {"0", "200", "400", "600", "800"}
    for name in ("timescales", "lyapunov", "attractors"):
        assert (tmp_path / "run" / "analysis" / "plots" / f"{name}.png").exists()
    assert len(list((tmp_path / "run" / "analysis" / "plots").glob("pca-*.png"))) == 1


def test_analyse_errors_name_the_problem(tmp_path, capsys):
    # --no-compile-cache: main turns JAX's persistent cache on (process-wide) before it finds the error
    assert main(["analyse", str(tmp_path), "--no-compile-cache"]) == 2
    assert "no sweep.json" in capsys.readouterr().err
    spec = spec_from_dict({"algo": "rtrrl", "seeds": 1, "config": TINY})
    with pytest.raises(ValueError, match="snapshot_every"):
        run_sweep(spec, tmp_path / "bad", chunk_evals=2, snapshot_every=3, log=quiet)
    assert main(["analyse", str(tmp_path), "--input", "median", "--no-compile-cache"]) == 2
    assert "input" in capsys.readouterr().err


def test_closed_loop_spectrum_of_a_known_loop():
    """The linear network above with a constant action on Pendulum: the loop's tangent space splits into the
    network's (A = 0.8 R: two exponents ln 0.8) and the pendulum's, which the network does not feed back into;
    the QR spectrum holds the pendulum's (about 0: frictionless), the network's two (ln 0.8) and -inf for the
    directions the step annihilates (the previous action, the observation's redundant coordinates)."""
    from dynjax.analysis import closed_loop_spectrum

    c, s = math.cos(0.3), math.sin(0.3)
    with jax.enable_x64(True):
        A = 0.8 * jnp.array([[c, -s], [s, c]])
        spec = make_env("Pendulum-v1")
        loop = ClosedLoop(h0=jnp.zeros(2), step=lambda h, x: A @ h + 0.1 * x[:2], inputs=lambda obs, a, r: obs,
                          act=lambda h, key: jnp.zeros((1,)), null_action=jnp.zeros((1,)))
        full = jax.jit(lambda k: closed_loop_spectrum(k, spec, loop, k=6, n_steps=150, transient=20))(jax.random.key(0))
        ex = np.sort(np.asarray(full.exponents))
        assert int(full.blocks) > 0
        np.testing.assert_allclose(ex[np.argsort(np.abs(ex - math.log(0.8)))[:2]], [math.log(0.8)] * 2, rtol=1e-6)

"""RL vs SL: do reinforcement-trained RNNs find hybrid attractors that supervised ones do not? (Kononov et al.)

Kononov et al. (2025, arXiv 2510.11162) train the same recurrent network on the same decision tasks by RL (PPO)
and by SL (cross-entropy on the correct answer) and report that (1) RL networks combine stable fixed points with
quasi-periodic attractors ("hybrid") much more often, SL networks being almost only fixed-point networks; (2)
the share of hybrid networks depends on the initialisation width; (3) it goes with better performance, more so
on harder tasks; (4) RL populations are more balanced (less heterogeneous selectivity and weight norms). This
script repeats the comparison on dynjax's decision tasks.

Grid (method x task complexity x initialisation gain; each cell is one sweep of dynjax's sweep runner, trained
through benchmarks/common.py run_cell, its S seeds vmapped in one program):

  method       RL: dynjax.agents.ppo (ppo-rnn), SL: dynjax.agents.supervised, both with the same cell: the
               vanilla tanh RNN h' = tanh(W_x x + W_h h + b) ("rnn"), 64 units (Kononov: 250 ReLU units; 64
               tanh units fit this 2-core CPU), and a linear readout to the 3 actions (PPO with head_hidden=0:
               its actor is one linear layer as SL's readout; its critic is linear too).
  complexity   "perceptual": PerceptualDecision-dynjax (one noisy stream, 2AFC) and "context":
               ContextDecision-dynjax (two streams and a context cue that says which one counts), both with
               fixation 5, stimulus 10, delay 5 and decision 3 steps (T = 23), noise sigma = 0.5, coherences
               {0.05, 0.1, 0.2, 0.4}, reward +1 correct, 0 wrong, -0.1 for breaking fixation. The ideal observer
               of the relevant stream is right on ~81% of the trials (reported per cell). A third level (context,
               delay 15) was tried: PPO stayed at chance within this budget, so it is not in the grid.
  gain         g in {0.5, 1.0, 2.0}: recurrent weights N(0, g^2 / N) (ordered, edge of chaos, chaotic at init;
               Kononov sweep the width of a uniform init instead).
  seeds        0..31 per cell (full run): learner s starts from jax.random.key(s), the runner's keys, in every
               cell, so RL and SL of a (complexity, gain) cell share their seeds (common random numbers).

Training budgets (fixed, not "stop at 95%": with noise 0.5 and these coherences 95% is out of reach for any
observer; the budgets were chosen in pilot runs so that both methods reach a plateau near the ideal observer on
most seeds): RL 262,144 environment steps (32 envs x 32 steps per update, 4 epochs x 4 minibatches, Adam lr 1e-3
constant, entropy 0.01, gamma 0.99, GAE 0.95: about 11k trials); SL 512 Adam updates (lr 1e-3) on batches of
64 fresh trials (32,768 trials), loss on every step (fixate, then choose). Both are evaluated 8 times during
training by the agents' own evaluation (200 greedy episodes), which the runner writes to the cell's
metrics.csv: the learning curves come from there.

Analysis of each trained network (float64, vmapped over networks, delay inputs and initial states):

  performance  accuracy of the greedy network on 512 fresh test trials: holds fixation (argmax = fixate)
               before the decision window, then its first non-fixate action in the window is the correct
               choice. This is what the environment rewards, trial by trial (the env's observations while
               fixating are the dataset's); abort rate beside it.
  input        clamped at the delay-period input x* (fixation cue on, stimuli off, context cue k for k = 0..K-1
               in the context task: two autonomous systems per network there).
  fixed points dynjax.analysis.find_fixed_points at x*: 128 candidates from the network's own test-trial
               states (+ N(0, 0.01^2)), q = 1/2 |F(h) - h|^2 < 1e-12, unique within 1e-3, outliers dropped,
               stable when all |eig J| < 1 (spectra of the 16 lowest-q unique points).
  attractors   dynjax.analysis.classify_attractor from 16 initial states per x* (test-trial states
               + N(0, 0.1^2)): 500 transient steps, 2,000 steps of the two leading Lyapunov exponents, a
               1,024-sample spectrum. Classes (attractors.py): fixed point, limit cycle, quasi-periodic
               (LE_1 = LE_2 = 0: an invariant torus), chaotic. For a map an attracting invariant circle with an
               irrational rotation number has exponents (0, <0) and is a "limit cycle" there; map-dynamics texts
               (and, we believe, Kononov et al., whose networks are discrete-time maps) call that motion
               quasi-periodic. We split the limit-cycle class by LE_1: "periodic" (LE_1 < -0.01, a stable
               periodic orbit) and "invariant circle" (|LE_1| <= 0.01). A run whose mean step length |F(h) - h|
               at the end (a 256-step window after the Lyapunov run) is below 1e-6, or, for a limit-cycle or
               quasi-periodic run, below 0.1 times its value right after the transient, is a fixed-point run
               (`reclassify`: |LE_1| <= 0.01 counts as zero, so a slow spiral into a weakly stable fixed point,
               |lambda| in (0.99, 1), would otherwise pass for an invariant circle).
  hybrid       a network is hybrid when, for one delay input x*, it has a stable fixed point (found by the
               finder, or reached by a run) AND
                 strict:     a run classified quasi-periodic (the issue's definition, library class 2);
                 map-sense:  a run on an invariant circle or torus (quasi-periodic as for maps);
                 loose:      any oscillatory run (limit cycle or quasi-periodic, chaos not counted).
  population   at the last delay step (test trials): per-neuron choice selectivity d' and eta^2
               (dynjax.analysis.population), the Gini and CV of |d'|, the preference balance
               1 - |n_+ - n_-| / (n_+ + n_-) over neurons with |d'| > 0.5, and the CV and Gini of per-neuron
               weight norms (input rows, recurrent rows and columns, readout columns), at the end of training
               and at initialisation (CV and Gini are scale-free, so the two methods' different readout init
               scales do not enter).

Statistics (a network is the unit; dynjax.results.stats): per-network measures (accuracy, learning-curve scores: final
= mean of the last 10% of the evaluations after step 0, best excluding step 0, AUC; population measures, ...)
as IQM (95% bootstrap CI) · median [IQR] over the networks, RL vs SL by the two-sided Mann-Whitney U test with
the probability of improvement P(RL > SL) (dynjax.results.stats.compare); hybrid shares with Wilson 95% intervals, RL vs
SL per cell by Fisher's exact test; the dependence on gain by a chi-square test over the three gains per
(method, complexity); hybrid (0/1) vs accuracy by the point-biserial correlation (per cell and pooled over
gains), and the difference of two such correlations by Fisher's z test.

Outputs: benchmarks/results/rl_vs_sl.md (tables, the seed paper's claims beside ours), and in
benchmarks/results/rl_vs_sl/: per cell the sweep's run directory <method>--<complexity>--g<gain>/ (metrics.csv
with every network's learning curve, sweep.json, summary; its checkpoints/ are ignored by git) and one CSV of
per-network analysis results <method>--<complexity>--g<gain>.csv; untrained--*.csv: the same analysis of RL's
initial networks; timings.json and the figures (PNG). The runner keeps each learner's initial and final state
(snapshots, dynjax.sweep.snapshots), from which the analysis reads the networks. A cell whose CSV and
metrics.csv exist is read from them: a fresh checkout regenerates the tables and figures without training or
analysing anything. A missing CSV is recomputed from the checkpoints (the run is trained again when they are
gone); an interrupted run resumes where its checkpoints left it.

    PYTHONPATH=. python benchmarks/rl_vs_sl.py            # full grid: 2 x 2 x 3 cells x 32 networks
    PYTHONPATH=. python benchmarks/rl_vs_sl.py --from-saved   # the tables from the saved files only
    PYTHONPATH=. python benchmarks/rl_vs_sl.py --quick    # 2 seeds, one complexity: a pipeline check only
"""

from __future__ import annotations

import os
import sys

if "--quick" in sys.argv:  # the pipeline check spends most of its time compiling: compile with less optimisation
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import argparse  # noqa: E402
import csv  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from common import run_cell  # noqa: E402
from dynjax.analysis import (CHAOTIC, FIXED_POINT, LIMIT_CYCLE, QUASI_PERIODIC, classify_attractor,  # noqa: E402
                             coefficient_of_variation, find_fixed_points, gini, neuron_weight_norms,
                             preference_balance, sample_candidates, selectivity_dprime, selectivity_eta2)
from dynjax.analysis.attractors import LE_EPS  # noqa: E402
from dynjax.apps.cli import enable_compilation_cache  # noqa: E402
from dynjax.cells import CELLS  # noqa: E402
from dynjax.cells.gated import DenseRNNParams  # noqa: E402
from dynjax.envs.adapter import make_env  # noqa: E402
from dynjax.envs.decision import make_dataset  # noqa: E402
from dynjax.results.metrics import diverged_mask, finished_learners, read_metrics  # noqa: E402
from dynjax.results.stats import aggregate, compare, curve_scores, format_p, format_stats  # noqa: E402
from dynjax.sweep import spec_from_dict  # noqa: E402
from dynjax.sweep.run_dir import RECORD  # noqa: E402
from dynjax.sweep.snapshots import load_snapshot, make_unit_learner, snapshot_units  # noqa: E402
from dynjax.sweep.spec import SweepSpec  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CELL, HIDDEN = "rnn", 64
TASK_ARGS = (("delay_steps", 5), ("noise", 0.5))
COMPLEXITIES = {"perceptual": "PerceptualDecision-dynjax", "context": "ContextDecision-dynjax"}
GAINS = (0.5, 1.0, 2.0)
METHODS = ("RL", "SL")
ALGOS = {"RL": "ppo-rnn", "SL": "supervised"}
NET_BATCH = 8  # networks analysed at once (vmapped), the cell's networks in sequence of such batches (memory)
SETTLED = 1e-6  # mean step length |F(h) - h| at the end of a run below which it is at rest
DECAYED = 0.1  # late / early mean step length below which an oscillating run is a slow spiral into a fixed point
LEARNED = 0.7  # test accuracy above which a network counts as having learned the task (ideal observer ~0.81)
SELECTIVE = 0.5  # |d'| above which a neuron counts as choice-selective (preference balance)


@dataclasses.dataclass(frozen=True)
class Budget:
    seeds: int = 32
    rl_steps: int = 262_144
    rl_envs: int = 32
    rl_rollout: int = 32
    sl_updates: int = 512
    sl_batch: int = 64
    n_evals: int = 8
    eval_episodes: int = 200
    test_trials: int = 512
    fp_candidates: int = 128
    fp_max_eig: int = 16
    n_init: int = 16
    transient: int = 500
    n_lyapunov: int = 2_000
    n_spectrum: int = 1_024
    window: int = 256  # steps of the speed windows (run_speeds)


FULL = Budget()
QUICK = Budget(seeds=2, rl_steps=2_048, sl_updates=8, n_evals=2, eval_episodes=16, test_trials=32, fp_candidates=16,
               fp_max_eig=4, n_init=4, transient=20, n_lyapunov=64, n_spectrum=64, window=16)


# ----------------------------------------------------------------------------------------------- training

def sweep_spec(method: str, complexity: str, gain: float, b: Budget) -> SweepSpec:
    """The sweep of one (method, complexity, gain) cell: seeds 0..S-1 (learner s starts from
    jax.random.key(s), for RL and SL alike), the agent's evaluation b.n_evals times over the budget."""
    config = {"env_id": COMPLEXITIES[complexity], "cell": CELL, "hidden_size": HIDDEN,
              "eval_episodes": b.eval_episodes, "eval_greedy": True}
    if method == "RL":
        config |= {"head_hidden": 0, "num_envs": b.rl_envs, "num_steps": b.rl_rollout, "num_minibatches": 4,
                   "update_epochs": 4, "total_steps": b.rl_steps, "eval_every": b.rl_steps // b.n_evals}
        hparams = {"lr": 1e-3, "anneal_lr": 0.0, "ent_coef": 0.01}
    else:
        config |= {"loss_on": "all", "batch_size": b.sl_batch, "total_steps": b.sl_updates,
                   "eval_every": b.sl_updates // b.n_evals}
        hparams = {"lr": 1e-3}
    return spec_from_dict({"algo": ALGOS[method], "seeds": b.seeds, "config": config, "env_args": dict(TASK_ARGS),
                           "hparams": hparams | {"gain": float(gain)}})


def snapshots_ready(run_dir: Path, b: Budget) -> bool:
    """Whether the run kept the initial (chunk 0) and the final (chunk b.n_evals) state of its learners."""
    try:
        _, units = snapshot_units(run_dir)
    except ValueError:
        return False
    return all({0, b.n_evals} <= set(u.chunks) for u in units)


def train(spec: SweepSpec, run_dir: Path, b: Budget, need_snapshots: bool) -> float:
    """Train the cell's sweep into run_dir, or resume it, or reuse it when finished (and, if need_snapshots, its
    checkpoints are still there: a fresh checkout has the metrics only, and is trained again for the analysis);
    returns the seconds spent training here (0: reused)."""
    metrics = run_dir / "metrics.csv"
    record = run_dir / RECORD
    same = record.exists() and json.loads(record.read_text())["spec"] == json.loads(json.dumps(spec.to_json()))
    done = same and finished_learners(metrics, dict(spec.config)["total_steps"]) >= {(0, s) for s in range(spec.seeds)}
    if done and (not need_snapshots or snapshots_ready(run_dir, b)):
        return 0.0
    if done:
        shutil.rmtree(run_dir)
    t0 = time.perf_counter()
    run_cell(spec, run_dir, snapshot_every=b.n_evals)  # snapshots: chunk 0 (initial state) and the final chunk
    return time.perf_counter() - t0


def network_arrays(method: str, params) -> dict[str, np.ndarray]:
    """Cell and linear readout of a (batched) agent parameter tree as numpy arrays."""
    W, c = params.actor[0] if method == "RL" else (params.W, params.b)
    arrays = {"W_x": params.cell.W_x, "W_h": params.cell.W_h, "b_h": params.cell.b, "W_out": W, "b_out": c}
    return {k: np.asarray(v, np.float32) for k, v in arrays.items()}


def load_networks(method: str, run_dir: Path, chunk: int) -> dict[str, np.ndarray]:
    """The cell's networks (learners in seed order) from the runner's snapshot after `chunk` chunks, with
    "seed": the seed ids."""
    algo, units = snapshot_units(run_dir)
    parts = []
    for unit in units:
        state = load_snapshot(make_unit_learner(algo, unit), unit, chunk)
        parts.append(network_arrays(method, state.params) | {"seed": np.asarray(unit.seeds)})
    order = np.argsort(np.concatenate([p["seed"] for p in parts]))
    return {k: np.concatenate([p[k] for p in parts])[order] for k in parts[0]}


def analysis_key(complexity: str, gain: float) -> jax.Array:
    """The key of a (complexity, gain) cell's analysis draws: the same for RL, SL and the untrained networks."""
    return jax.random.key(1000 * list(COMPLEXITIES).index(complexity) + round(100 * gain))


# ----------------------------------------------------------------------------------------------- analysis

def delay_inputs(obs_dim: int, n_streams: int) -> np.ndarray:
    """x* of the delay period, one per context: fixation cue 1, stimuli 0, context one-hot (K >= 2)."""
    n_ctx = n_streams if n_streams >= 2 else 1
    x = np.zeros((n_ctx, obs_dim), np.float64)
    x[:, 0] = 1.0
    if n_streams >= 2:
        x[np.arange(n_ctx), 1 + n_streams + np.arange(n_ctx)] = 1.0
    return x


def greedy_performance(logits: jax.Array, choice: jax.Array, decision_steps: int) -> tuple[jax.Array, jax.Array]:
    """(correct, aborted) of one trial under the greedy policy: logits (T, 3); the trial is correct when the
    argmax is "fixate" before the decision window and the first non-fixate argmax inside it is the choice."""
    act = jnp.argmax(logits, axis=-1)
    T = act.shape[0]
    window = jnp.arange(T) >= T - decision_steps
    aborted = jnp.any((act != 0) & ~window)
    acted = (act != 0) & window
    first = jnp.argmax(acted)
    correct = ~aborted & jnp.any(acted) & (act[first] == choice)
    return correct, aborted


def run_speeds(G, h0: jax.Array, b: Budget) -> tuple[jax.Array, jax.Array]:
    """Mean speed |G(h) - h| of the autonomous run h_{t+1} = G(h_t) from h0 over a window of b.window steps
    right after the transient and over one at the end of the Lyapunov run (steps transient + n_lyapunov on)."""
    def advance(h, n):
        return jax.lax.fori_loop(0, n, lambda _, h: G(h), h)

    def window(h):
        def body(h, _):
            h2 = G(h)
            return h2, jnp.sqrt(jnp.sum((h2 - h) ** 2))
        h, v = jax.lax.scan(body, h, None, length=b.window)
        return h, jnp.mean(v)

    h, early = window(advance(h0, b.transient))
    _, late = window(advance(h, b.n_lyapunov - b.window))
    return early, late


def reclassify(code: jax.Array, early: jax.Array, late: jax.Array) -> jax.Array:
    """Runs that end at rest are fixed-point runs whatever their exponents say. classify_attractor counts
    |LE_1| <= 0.01 as zero, so a spiral into a weakly stable fixed point (|lambda| in (0.99, 1)) looks like an
    invariant circle; we call a limit-cycle or quasi-periodic run a fixed-point run when its speed at the end
    is below SETTLED, or below DECAYED times its speed after the transient (an orbit keeps its speed: on a
    circle the window means agree to within the orbit's speed variation; a spiral with |lambda| = 0.995
    slows by 0.995^2000 ~ 5e-5 over the Lyapunov run)."""
    settled = late < SETTLED
    decayed = (late < DECAYED * early) & ((code == LIMIT_CYCLE) | (code == QUASI_PERIODIC))
    return jnp.where(settled | decayed, FIXED_POINT, code).astype(code.dtype)


def make_analysis(b: Budget, decision_steps: int):
    """The per-network analysis (see the module doc) as a function vmappable over networks."""
    step = CELLS[CELL].step

    def analyse(net: dict, trials, xs: jax.Array, key: jax.Array) -> dict:
        p = DenseRNNParams(W_x=net["W_x"], W_h=net["W_h"], b=net["b_h"])
        F = lambda h, x: step(p, h, x, None)  # noqa: E731  (the vanilla RNN's step ignores hp)

        def run(inputs):
            return jax.lax.scan(lambda h, x: (F(h, x),) * 2, jnp.zeros_like(p.b), inputs)[1]

        hs = jax.vmap(run)(trials.inputs)  # (n, T, H)
        logits = hs @ net["W_out"].T + net["b_out"]
        correct, aborted = jax.vmap(greedy_performance, (0, 0, None))(logits, trials.choice, decision_steps)

        def per_input(x, k):
            k_fp, k_x0 = jax.random.split(k)
            fp = find_fixed_points(F, x, hs, k_fp, b.fp_candidates, max_eig=b.fp_max_eig)
            good = fp.unique & fp.is_fixed & ~fp.outlier
            x0 = sample_candidates(k_x0, hs, b.n_init, 0.1)
            rep = jax.vmap(lambda h0: classify_attractor(lambda h: F(h, x), h0, transient=b.transient,
                                                         n_lyapunov=b.n_lyapunov, n_spectrum=b.n_spectrum))(x0)
            early, late = jax.vmap(lambda h0: run_speeds(lambda h: F(h, x), h0, b))(x0)
            code = reclassify(rep.code, early, late)
            return {"n_fp": jnp.sum(good), "n_stable": jnp.sum(good & fp.stable), "code": code,
                    "reclassified": code != rep.code, "le1": rep.exponents[:, 0], "le2": rep.exponents[:, 1],
                    "spectral": rep.spectral_code}

        att = jax.vmap(per_input)(xs, jax.random.split(key, xs.shape[0]))
        h_delay = hs[:, -decision_steps - 1]  # the last delay step
        choice = (trials.choice == 2).astype(jnp.int32)
        d = selectivity_dprime(h_delay, choice)
        n_ctx = xs.shape[0]
        pop = {"sel_gini": gini(jnp.abs(d)), "sel_cv": coefficient_of_variation(jnp.abs(d)),
               "pref_balance": preference_balance(d, SELECTIVE), "n_selective": jnp.sum(jnp.abs(d) > SELECTIVE),
               "choice_eta2": jnp.mean(selectivity_eta2(h_delay, choice, 2)),
               "context_eta2": (jnp.mean(selectivity_eta2(h_delay, trials.context, n_ctx)) if n_ctx > 1
                                else jnp.full((), jnp.nan))}
        for prefix in ("", "init_"):
            norms = neuron_weight_norms(net[prefix + "W_x"], net[prefix + "W_h"], net[prefix + "W_out"])
            for name, v in norms._asdict().items():
                pop[f"{prefix}{name}_cv"] = coefficient_of_variation(v)
                pop[f"{prefix}{name}_gini"] = gini(v)
        return {"accuracy": jnp.mean(correct), "abort": jnp.mean(aborted), **att, **pop}

    return analyse


_ANALYSES: dict = {}


def analyse_cell(nets: dict, complexity: str, b: Budget, key: jax.Array) -> tuple[list[dict], float]:
    """Per-network rows of one cell (float64 analysis), and the seconds it took."""
    spec = make_env(COMPLEXITIES[complexity], dict(TASK_ARGS))
    n_streams = spec.env.n_streams
    D = int(spec.params.decision_steps)
    t0 = time.perf_counter()
    with jax.enable_x64(True):
        trials = make_dataset(jax.random.key(12345), spec.params, n_streams, b.test_trials)
        trials = trials._replace(inputs=trials.inputs.astype(jnp.float64))
        xs = jnp.asarray(delay_inputs(spec.obs_dim, n_streams))
        fields = ("W_x", "W_h", "b_h", "W_out", "b_out", "init_W_x", "init_W_h", "init_W_out")
        net = {k: jnp.asarray(nets[k], jnp.float64) for k in fields}
        if (complexity, b) not in _ANALYSES:
            one = make_analysis(b, D)
            _ANALYSES[(complexity, b)] = jax.jit(lambda net, trials, xs, keys: jax.lax.map(
                lambda a: one(a[0], trials, xs, a[1]), (net, keys), batch_size=NET_BATCH))
        S = net["W_h"].shape[0]
        res = jax.tree.map(np.asarray, _ANALYSES[(complexity, b)](net, trials, xs, jax.random.split(key, S)))
    ideal = ideal_observer(np.asarray(trials.inputs), np.asarray(trials.choice), np.asarray(trials.context),
                           n_streams, spec.params)
    rows = [network_row(res, i, nets, ideal) for i in range(S)]
    return rows, time.perf_counter() - t0


def ideal_observer(inputs: np.ndarray, choice: np.ndarray, context: np.ndarray, n_streams: int, params) -> float:
    """Accuracy of the observer that sums the relevant stream over the stimulus period and answers its sign."""
    F, S = int(params.fixation_steps), int(params.stimulus_steps)
    evidence = inputs[np.arange(len(choice)), F:F + S, 1 + context].sum(axis=1)
    return float(np.mean(np.where(evidence > 0, 2, 1) == choice))


def network_row(res: dict, i: int, nets: dict, ideal: float) -> dict:
    """One CSV row: performance on the test trials, fixed points, attractor runs (pooled over delay inputs),
    hybrid flags, population measures (the learning curve is in the cell's metrics.csv)."""
    code, le1 = res["code"][i], res["le1"][i]  # (C, n_init)
    n_stable = res["n_stable"][i]  # (C,)
    fp_run = code == FIXED_POINT
    circle = (code == LIMIT_CYCLE) & (np.abs(le1) <= LE_EPS)
    periodic = (code == LIMIT_CYCLE) & ~circle
    qp = code == QUASI_PERIODIC
    stable = (n_stable > 0) | fp_run.any(axis=1)  # per delay input
    row = {"seed": int(nets["seed"][i]), "accuracy": float(res["accuracy"][i]), "abort": float(res["abort"][i]),
           "ideal_accuracy": ideal,
           "n_fp": int(res["n_fp"][i].sum()), "n_stable_fp": int(n_stable.sum()),
           "runs": int(code.size), "runs_fixed_point": int(fp_run.sum()), "runs_periodic": int(periodic.sum()),
           "runs_invariant_circle": int(circle.sum()), "runs_quasi_periodic": int(qp.sum()),
           "runs_chaotic": int((code == CHAOTIC).sum()), "runs_reclassified": int(res["reclassified"][i].sum()),
           "spectral_agree": float(np.mean(res["spectral"][i] == code)),
           "le1_max": float(np.max(le1)), "le1_median": float(np.median(le1)),
           "has_stable_fp": bool(stable.any()),
           "hybrid_strict": bool((stable & qp.any(axis=1)).any()),
           "hybrid_map": bool((stable & (qp | circle).any(axis=1)).any()),
           "hybrid_loose": bool((stable & (qp | circle | periodic).any(axis=1)).any()),
           "fp_only": bool(fp_run.all())}
    for k in ("sel_gini", "sel_cv", "pref_balance", "n_selective", "choice_eta2", "context_eta2"):
        row[k] = float(res[k][i])
    for k, w in (("rec_change", "W_h"), ("input_change", "W_x")):  # ||W - W_init||_F / ||W_init||_F
        row[k] = float(np.linalg.norm(nets[w][i] - nets[f"init_{w}"][i]) / np.linalg.norm(nets[f"init_{w}"][i]))
    for prefix in ("", "init_"):
        for name in ("input", "rec_in", "rec_out", "output"):
            for kind in ("cv", "gini"):
                row[f"{prefix}{name}_{kind}"] = float(res[f"{prefix}{name}_{kind}"][i])
    return row


# ----------------------------------------------------------------------------------------------- statistics

def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval of a binomial share k / n (Wilson 1927)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def share(flags: np.ndarray) -> str:
    k, n = int(np.sum(flags)), len(flags)
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.2f} [{lo:.2f}, {hi:.2f}]" if n else "n/a"


def fisher_p(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import fisher_exact
    table = [[int(a.sum()), len(a) - int(a.sum())], [int(b.sum()), len(b) - int(b.sum())]]
    return float(fisher_exact(table)[1])


def gain_p(groups: list[np.ndarray]) -> float:
    """p of a chi-square test of equal shares over the gains (nan when no network or every network is hybrid)."""
    from scipy.stats import chi2_contingency
    table = np.array([[g.sum(), len(g) - g.sum()] for g in groups], float)
    if (table.sum(axis=0) == 0).any():
        return float("nan")
    return float(chi2_contingency(table)[1])


def point_biserial(flags: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(r, p) of the point-biserial correlation (nan when the flag or y is constant)."""
    from scipy.stats import pointbiserialr
    flags, y = np.asarray(flags, float), np.asarray(y, float)
    if len(flags) < 3 or flags.min() == flags.max() or y.min() == y.max():
        return float("nan"), float("nan")
    r, p = pointbiserialr(flags, y)
    return float(r), float(p)


def u_test(a: np.ndarray, b: np.ndarray) -> float:
    """p of the two-sided Mann-Whitney U test of per-network values (dynjax.results.stats.compare)."""
    return compare(a, b).p_value


def r_difference_p(r1: float, n1: int, r2: float, n2: int) -> float:
    """Two-sided p that two correlations from independent samples differ (Fisher z test)."""
    from scipy.stats import norm
    if not (np.isfinite(r1) and np.isfinite(r2)) or min(n1, n2) < 4:
        return float("nan")
    z = (np.arctanh(r2) - np.arctanh(r1)) / np.sqrt(1 / (n1 - 3) + 1 / (n2 - 3))
    return float(2 * norm.sf(abs(z)))


def rl_vs_sl(a: np.ndarray, b: np.ndarray) -> str:
    """'RL < SL: p = 1.1e-07 (U test, 96 vs 96 networks), P(RL > SL) = 0.28' for per-network values a (RL), b (SL)."""
    c = compare(a, b)
    return (f"{c.verdict('RL', 'SL')}: p = {format_p(c.p_value)} (U test, {c.n_a} vs {c.n_b} networks), "
            f"P(RL > SL) = {c.prob_improvement:.2f}")


def stat(x: np.ndarray, fmt: str = ".2f") -> str:
    """IQM (95% bootstrap CI) · median [q25, q75] over the networks (dynjax.results.stats)."""
    return format_stats(aggregate(x), fmt)


def fmt_r(rp: tuple[float, float]) -> str:
    r, p = rp
    return "n/a" if not np.isfinite(r) else f"{r:+.2f} (p {format_p(p)})"


# ----------------------------------------------------------------------------------------------- I/O

def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def read_rows(path: Path) -> dict[str, np.ndarray]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    out = {}
    for k in rows[0]:
        vals = [r[k] for r in rows]
        out[k] = (np.array([v == "True" for v in vals]) if vals[0] in ("True", "False")
                  else np.array([float(v) for v in vals]))
    return out


def cell_name(method: str, complexity: str, gain: float) -> str:
    return f"{method.lower()}--{complexity}--g{gain:g}"


# ----------------------------------------------------------------------------------------------- report

HYBRID_KINDS = {"hybrid_strict": "strict (FP + torus)", "hybrid_map": "map-sense (FP + invariant circle or torus)",
                "hybrid_loose": "loose (FP + any oscillation)"}
POP_MEASURES = {"sel_gini": "Gini of |d'| (choice)", "sel_cv": "CV of |d'| (choice)",
                "pref_balance": "preference balance (|d'| > 0.5)", "choice_eta2": "mean choice eta^2",
                "context_eta2": "mean context eta^2", "input_cv": "CV of input-weight norms",
                "rec_in_cv": "CV of recurrent row norms", "rec_out_cv": "CV of recurrent column norms",
                "output_cv": "CV of readout column norms", "input_gini": "Gini of input-weight norms",
                "rec_in_gini": "Gini of recurrent row norms", "output_gini": "Gini of readout column norms"}


def read_cell(csv_path: Path, run_dir: Path | None) -> dict[str, np.ndarray]:
    """A cell's per-network results: its analysis CSV and, for a trained cell, its learning curves from the
    run's metrics.csv ("curve": (networks, points) evaluation returns at "curve_steps"; final = mean of the last
    10% of the evaluations after step 0, best excluding step 0, AUC: dynjax.results.stats.curve_scores; the last
    evaluation return and whether the learner diverged), networks matched by seed."""
    d = read_rows(csv_path)
    d["complex"] = ~d["fp_only"]
    if run_dir is not None:
        m = read_metrics(run_dir / "metrics.csv")
        if not np.array_equal(np.asarray(m["seed"]), d["seed"]):
            raise SystemExit(f"{csv_path}: its seeds differ from those of {run_dir / 'metrics.csv'}: delete the CSV "
                             "to analyse the run again")
        ev, steps = np.asarray(m["eval_return"], float), np.asarray(m["step"])[0]
        d |= curve_scores(ev, steps)._asdict()
        d |= {"eval_return": ev[:, -1], "diverged": diverged_mask(m), "curve": ev, "curve_steps": steps}
    return d


def performance_table(data: dict, complexities: list[str], gains: list[float], b: Budget) -> list[str]:
    """Test accuracy, abort rate and learning-curve scores per cell, RL vs SL by the U test over networks."""
    keys = ("accuracy", "abort", "final", "best", "auc")
    L = ["## Performance", "",
         f"Per network: greedy accuracy and abort rate on the {b.test_trials} test trials; the agent's own "
         f"evaluation return ({b.eval_episodes} greedy episodes at {b.n_evals + 1} points, step 0 included): "
         "final = mean of the last 10% of the evaluations after step 0, best = the best evaluation excluding the "
         "untrained step 0, AUC = mean return over training (trapezoid over each method's own budget). Each cell: "
         "IQM (95% bootstrap CI) · median [q25, q75] over the networks. RL vs SL: two-sided Mann-Whitney U test "
         "(networks as the unit; p) and the probability that an RL network scores higher, P(RL > SL).", "",
         "| complexity | gain | method | test accuracy | abort | eval return: final | best (excl. step 0) | AUC "
         "| ideal |", "|---|---|---|---|---|---|---|---|---|"]
    for cx in complexities:
        for g in gains:
            vals = {m: {k: data[(m, cx, g)][k] for k in keys} for m in METHODS}
            for m in METHODS:
                L.append(f"| {cx} | {g:g} | {m} | " + " | ".join(stat(vals[m][k]) for k in keys)
                         + f" | {data[(m, cx, g)]['ideal_accuracy'][0]:.2f} |")
            cells = []
            for k in keys:
                c = compare(vals["RL"][k], vals["SL"][k])
                cells.append("n/a" if not np.isfinite(c.p_value) else
                             f"p {format_p(c.p_value)}, P(RL > SL) {c.prob_improvement:.2f}")
            L.append(f"| {cx} | {g:g} | RL vs SL | " + " | ".join(cells) + " | |")
    return L + [""]


def figures(data: dict, complexities: list[str], gains: list[float], root: Path, seeds: int) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"RL": "tab:red", "SL": "tab:blue"}
    names = []
    # 1. hybrid share vs gain
    fig, axes = plt.subplots(len(HYBRID_KINDS), len(complexities), figsize=(4.2 * len(complexities), 8.4),
                             squeeze=False, sharey=True)
    for r, (kind, label) in enumerate(HYBRID_KINDS.items()):
        for c, cx in enumerate(complexities):
            ax = axes[r, c]
            for j, m in enumerate(METHODS):
                ks = [data[(m, cx, g)][kind] for g in gains]
                p = np.array([k.mean() for k in ks])
                ci = np.array([wilson(int(k.sum()), len(k)) for k in ks])
                x = np.arange(len(gains)) + (j - 0.5) * 0.08
                ax.errorbar(x, p, yerr=[p - ci[:, 0], ci[:, 1] - p], marker="o", capsize=3, color=colors[m], label=m)
            if all(("init", cx, g) in data for g in gains):
                ax.plot(np.arange(len(gains)), [data[("init", cx, g)][kind].mean() for g in gains], "--", color="gray",
                        marker=".", label="untrained")
            ax.set_xticks(np.arange(len(gains)), [f"{g:g}" for g in gains])
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"{cx}: {label}", fontsize=8)
            if r == len(HYBRID_KINDS) - 1:
                ax.set_xlabel("initialisation gain g")
            if c == 0:
                ax.set_ylabel("share of hybrid networks")
    axes[0, 0].legend()
    fig.suptitle(f"Hybrid networks (95% Wilson CI), {seeds} networks per point", fontsize=10)
    fig.tight_layout()
    fig.savefig(root / "hybrid_share.png", dpi=110)
    plt.close(fig)
    names.append("hybrid_share.png")

    # 2. performance vs hybrid (loose and map-sense)
    fig, axes = plt.subplots(1, len(complexities), figsize=(4.8 * len(complexities), 3.8), squeeze=False)
    rng = np.random.default_rng(0)
    for c, cx in enumerate(complexities):
        ax = axes[0, c]
        ticks = []
        for j, m in enumerate(METHODS):
            acc = np.concatenate([data[(m, cx, g)]["accuracy"] for g in gains])
            hyb = np.concatenate([data[(m, cx, g)]["hybrid_map"] for g in gains])
            for h in (False, True):
                x = 2 * j + h
                y = acc[hyb == h]
                ax.scatter(x + rng.uniform(-0.15, 0.15, len(y)), y, s=8, alpha=0.6, color=colors[m])
                if len(y):
                    ax.hlines(np.median(y), x - 0.3, x + 0.3, color="k")
                ticks.append((x, f"{m}\n{'hybrid' if h else 'not'} (n={len(y)})"))
        ax.set_xticks([t[0] for t in ticks], [t[1] for t in ticks], fontsize=7)
        ax.axhline(data[(METHODS[0], cx, gains[0])]["ideal_accuracy"][0], ls="--", color="gray", lw=0.8)
        ax.set_ylabel("test accuracy (greedy)")
        ax.set_title(f"{cx}: accuracy vs map-sense hybrid (all gains)", fontsize=9)
    fig.tight_layout()
    fig.savefig(root / "performance_vs_hybrid.png", dpi=110)
    plt.close(fig)
    names.append("performance_vs_hybrid.png")

    # 3. attractor-class shares of the runs
    classes = ("runs_fixed_point", "runs_periodic", "runs_invariant_circle", "runs_quasi_periodic", "runs_chaotic")
    ccols = ("tab:gray", "tab:green", "tab:orange", "tab:purple", "k")
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(complexities) * len(gains) * 3), 3.8))
    labels, xs, x, group = [], [], 0.0, None
    for cx, g, m, d in analysed_cells(data, complexities, gains):
        if group is not None and group != (cx, g):
            x += 0.4  # a gap between (complexity, gain) groups
        group = (cx, g)
        runs = d["runs"].sum()
        bottom = 0.0
        for cl, col in zip(classes, ccols):
            v = d[cl].sum() / runs
            ax.bar(x, v, bottom=bottom, color=col, label=cl[5:] if not xs else None)
            bottom += v
        labels.append(f"{'untr.' if m == 'init' else m}\n{cx[:4]}\ng={g:g}")
        xs.append(x)
        x += 1
    ax.set_xticks(xs, labels, fontsize=6)
    ax.set_ylabel("share of attractor runs")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Attractor classes reached from the initial states (delay input clamped)", fontsize=9)
    fig.tight_layout()
    fig.savefig(root / "attractor_classes.png", dpi=110)
    plt.close(fig)
    names.append("attractor_classes.png")

    # 4. learning curves (agents' evaluation, median and IQR over seeds)
    fig, axes = plt.subplots(1, len(complexities), figsize=(4.8 * len(complexities), 3.6), squeeze=False)
    styles = dict(zip(gains, ("-", "--", ":", "-.")))
    for c, cx in enumerate(complexities):
        ax = axes[0, c]
        for m in METHODS:
            for g in gains:
                steps, ev = data[(m, cx, g)]["curve_steps"], data[(m, cx, g)]["curve"]
                frac = steps / steps[-1]
                lo, med, hi = np.percentile(ev, [25, 50, 75], axis=0)
                ax.plot(frac, med, styles[g], color=colors[m], label=f"{m} g={g:g}")
                ax.fill_between(frac, lo, hi, color=colors[m], alpha=0.08)
        ax.set_xlabel("fraction of the training budget")
        ax.set_ylabel("evaluation return (200 greedy trials)")
        ax.set_title(cx, fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(root / "learning_curves.png", dpi=110)
    plt.close(fig)
    names.append("learning_curves.png")

    # 5. population balance
    keys = ("sel_gini", "pref_balance", "input_cv", "rec_in_cv", "output_cv")
    fig, axes = plt.subplots(len(complexities), len(keys), figsize=(2.6 * len(keys), 2.8 * len(complexities)),
                             squeeze=False)
    for c, cx in enumerate(complexities):
        for j, k in enumerate(keys):
            ax = axes[c, j]
            vals = [np.concatenate([data[(m, cx, g)][k] for g in gains]) for m in METHODS]
            vals = [v[np.isfinite(v)] for v in vals]
            bp = ax.boxplot(vals, tick_labels=list(METHODS), widths=0.6, showfliers=False)
            for med, m in zip(bp["medians"], METHODS):
                med.set_color(colors[m])
            if k.endswith("_cv") and f"init_{k}" in data[(METHODS[0], cx, gains[0])]:
                init = np.concatenate([data[(m, cx, g)][f"init_{k}"] for m in METHODS for g in gains])
                ax.axhline(np.median(init), ls="--", color="gray", lw=0.8)
            ax.set_title(f"{cx}: {POP_MEASURES[k]}", fontsize=7)
    fig.suptitle("Population measures (all gains pooled; dashed: median at initialisation)", fontsize=9)
    fig.tight_layout()
    fig.savefig(root / "population.png", dpi=110)
    plt.close(fig)
    names.append("population.png")
    return names


def pooled(data: dict, m: str, cx: str, gains: list[float], key: str) -> np.ndarray:
    return np.concatenate([data[(m, cx, g)][key] for g in gains])


def analysed_cells(data: dict, complexities: list[str], gains: list[float]):
    """(complexity, gain, method, per-network data) of every analysed cell, the untrained networks ("init")
    first in each (complexity, gain)."""
    for cx in complexities:
        for g in gains:
            for m in ("init",) + METHODS:
                if (m, cx, g) in data:
                    yield cx, g, m, data[(m, cx, g)]


def verdict(p: float, direction: float, claim_sign: float = 1.0) -> str:
    if not np.isfinite(p):
        return "not testable here"
    if p >= 0.05:
        return "no significant difference (does not confirm)"
    return "agrees" if direction * claim_sign > 0 else "opposite"


def report(data: dict, complexities: list[str], gains: list[float], b: Budget, timings: dict, root: Path,
           quick: bool, wall: float, saved: int = 0) -> str:
    S = b.seeds
    L = [f"# RL vs SL: hybrid attractors in decision-task RNNs (Kononov et al. 2025)"
         + (" (quick pipeline check, not a result)" if quick else ""), ""]
    L += [f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs), "
          f"JAX {jax.__version__} ({jax.default_backend()}); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
          f"Networks: vanilla tanh RNN (`--cell rnn`), {HIDDEN} units, linear readout to (fixate, left, right); "
          f"the same cell and readout for RL (ppo-rnn, head_hidden=0) and SL (supervised). {S} networks (seeds) "
          f"per cell (seeds 0..{S - 1}: learner s starts from jax.random.key(s) in every cell), each cell one "
          "sweep of the dynjax sweep runner (its seeds vmapped in one program).",
          f"Tasks: {', '.join(f'{c} = {COMPLEXITIES[c]}' for c in complexities)}; "
          f"{', '.join(f'{k} {v}' for k, v in TASK_ARGS)}; fixation 5, stimulus 10, decision 3 steps "
          "(T = 23), coherences {0.05, 0.1, 0.2, 0.4}.",
          f"Budgets: RL {b.rl_steps:,} environment steps ({b.rl_envs} envs x {b.rl_rollout} steps per update, "
          f"4 epochs x 4 minibatches, lr 1e-3, entropy 0.01); SL {b.sl_updates} updates x {b.sl_batch} trials "
          "(lr 1e-3). Fixed budgets (see the script docstring for why not stop-at-95%).",
          f"Analysis (float64): performance on {b.test_trials} test trials; delay input clamped; fixed points "
          f"from {b.fp_candidates} candidates (q < 1e-12); attractor classes from {b.n_init} initial states per "
          f"delay input ({b.transient} transient, {b.n_lyapunov:,} Lyapunov steps, {b.n_spectrum:,} spectrum "
          "samples). Definitions of the classes and of 'hybrid' in the script docstring; in short: strict = a "
          "stable fixed point and a torus (LE_1 = LE_2 = 0, the issue's definition); map-sense = a stable fixed "
          "point and an invariant circle (LE_1 = 0 > LE_2) or torus, what quasi-periodic means for a map; "
          "loose = a stable fixed point and any non-chaotic oscillation.", ""]
    t_train = sum(v.get("train_s", 0.0) for v in timings.values())
    t_an = sum(v.get("analysis_s", 0.0) for v in timings.values())
    L += [f"Compute: training {t_train / 60:.1f} min + analysis {t_an / 60:.1f} min = {(t_train + t_an) / 60:.1f} min "
          "summed over the cells (compilation included; about the wall time of a run from scratch on this machine, "
          "the cells run one after the other); this invocation: "
          + (f"{saved} of the cells read from their saved per-network CSVs (nothing trained or analysed)" if saved
             else f"{wall / 60:.1f} min (finished cells are reused)") + ".", ""]

    L += performance_table(data, complexities, gains, b)

    # Table 2: hybrid shares
    L += ["## Hybrid share per cell", "",
          "Share of networks (k/n = share [Wilson 95% CI]); Fisher's exact test RL vs SL per row and definition.", "",
          "| complexity | gain | method | stable FP | strict hybrid | map-sense hybrid | loose hybrid | FP only |",
          "|---|---|---|---|---|---|---|---|"]
    for cx in complexities:
        for g in gains:
            for m in METHODS + ("init",):
                if (m, cx, g) in data:
                    d = data[(m, cx, g)]
                    L.append(f"| {cx} | {g:g} | {'untrained (reference)' if m == 'init' else m} | "
                             + " | ".join(share(d[k]) for k in ("has_stable_fp", *HYBRID_KINDS, "fp_only")) + " |")
            rl, sl = data[("RL", cx, g)], data[("SL", cx, g)]
            L.append(f"| {cx} | {g:g} | Fisher p (RL vs SL) | "
                     + " | ".join(format_p(fisher_p(rl[k], sl[k])) for k in ("has_stable_fp", *HYBRID_KINDS, "fp_only"))
                     + " |")
    L.append("")

    # Table 3: among the networks that learned the task
    L += [f"### Among the networks that learned the task (accuracy >= {LEARNED:.2f})", "",
          "Test accuracy, gains pooled: " + "; ".join(
              f"{cx}: {rl_vs_sl(*(pooled(data, m, cx, gains, 'accuracy') for m in METHODS))}" for cx in complexities)
          + ". This table restricts both to the networks above the threshold (gains pooled), to compare at similar "
          "performance.", "",
          "| complexity | method | networks | accuracy | stable FP | strict hybrid | map-sense hybrid | loose hybrid "
          "| FP only |", "|---|---|---|---|---|---|---|---|---|"]
    for cx in complexities:
        sub = {}
        for m in METHODS:
            ok = pooled(data, m, cx, gains, "accuracy") >= LEARNED
            sub[m] = {k: pooled(data, m, cx, gains, k)[ok] for k in ("accuracy", "has_stable_fp", "fp_only",
                                                                      *HYBRID_KINDS)}
            d = sub[m]
            L.append(f"| {cx} | {m} | {int(ok.sum())}/{len(ok)} | {stat(d['accuracy'])} | "
                     f"{share(d['has_stable_fp'])} | " + " | ".join(share(d[k]) for k in HYBRID_KINDS)
                     + f" | {share(d['fp_only'])} |")
        p_fp = format_p(fisher_p(sub["RL"]["has_stable_fp"], sub["SL"]["has_stable_fp"]))
        L.append(f"| {cx} | Fisher p (RL vs SL) | | | {p_fp} | "
                 + " | ".join(format_p(fisher_p(sub["RL"][k], sub["SL"][k])) for k in HYBRID_KINDS)
                 + f" | {format_p(fisher_p(sub['RL']['fp_only'], sub['SL']['fp_only']))} |")
    L.append("")

    # Table 4: class shares of runs
    L += ["## Attractor classes of the runs", "",
          "Share of all attractor runs (networks x delay inputs x initial states) per class (slow spiral: the "
          "share of runs moved to 'fixed point' by `reclassify`, included in the first column); max LE_1: "
          "IQM (95% CI) · median [IQR] over networks of the largest LE_1 of their runs; agreement of the "
          "exponent-based and the spectral class (attractors.py's two views); weight change: "
          "||W - W_init||_F / ||W_init||_F of the recurrent / input weights, IQM (95% CI) · median [IQR]. "
          "'untrained': the same analysis of the initial networks.", "",
          "| complexity | gain | method | fixed point | periodic | invariant circle | torus (QP) | chaotic "
          "| (slow spiral) | max LE_1 per network | spectral agreement | weight change rec / in |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for cx, g, m, d in analysed_cells(data, complexities, gains):
        runs = d["runs"].sum()
        sh = [d[k].sum() / runs for k in ("runs_fixed_point", "runs_periodic", "runs_invariant_circle",
                                          "runs_quasi_periodic", "runs_chaotic", "runs_reclassified")]
        change = ("-" if m == "init" else
                  f"{stat(d['rec_change'])} / {stat(d['input_change'])}")
        L.append(f"| {cx} | {g:g} | {'untrained' if m == 'init' else m} | " + " | ".join(f"{v:.2f}" for v in sh)
                 + f" | {stat(d['le1_max'], '.3f')} | {np.mean(d['spectral_agree']):.2f} | {change} |")
    L.append("")

    # Table 5: gain dependence
    gain_kinds = {"has_stable_fp": "stable FP", "complex": "complex (any non-FP run)", **HYBRID_KINDS}
    L += ["## Dependence on the initialisation gain", "",
          "Share of networks per gain and a chi-square test of equal shares over the gains, per method and "
          "complexity (p).", "",
          "| complexity | method | " + " | ".join(gain_kinds.values()) + " |", "|---|---|" + "---|" * len(gain_kinds)]
    for cx in complexities:
        for m in METHODS:
            cells = []
            for k in gain_kinds:
                groups = [data[(m, cx, g)][k] for g in gains]
                cells.append(f"{' / '.join(f'{x.mean():.2f}' for x in groups)} (p {format_p(gain_p(groups))})")
            L.append(f"| {cx} | {m} | " + " | ".join(cells) + " |")
    L += ["", f"(shares listed for g = {' / '.join(f'{g:g}' for g in gains)})", ""]

    # Table 6: correlation with performance
    L += ["## Hybrid vs performance", "",
          "Point-biserial correlation r (p) between the hybrid flag and the greedy test accuracy, per cell and pooled "
          "over the gains (n/a: the flag is constant in that group).", "",
          "| complexity | method | gain | strict | map-sense | loose |", "|---|---|---|---|---|---|"]
    for cx in complexities:
        for m in METHODS:
            for g in list(gains) + ["all"]:
                sel = gains if g == "all" else [g]
                acc = pooled(data, m, cx, sel, "accuracy")
                L.append(f"| {cx} | {m} | {g if g == 'all' else f'{g:g}'} | "
                         + " | ".join(fmt_r(point_biserial(pooled(data, m, cx, sel, k), acc)) for k in HYBRID_KINDS)
                         + " |")
    L.append("")

    # Table 7: population balance
    L += ["## Population balance", "",
          f"IQM (95% bootstrap CI) · median [q25, q75] over the {len(gains) * S} networks of a method (gains "
          "pooled); two-sided Mann-Whitney U test RL vs SL (networks as the unit) and the probability that an RL "
          "network's value exceeds an SL network's, P(RL > SL). Selectivity at the last delay step of the test "
          "trials; weight norms per neuron. 'init': the same measure at initialisation (median, RL / SL), for "
          "reference.", "",
          "| complexity | measure | RL | SL | U test p | P(RL > SL) | init RL / SL |", "|---|---|---|---|---|---|---|"]
    for cx in complexities:
        for k, label in POP_MEASURES.items():
            a, c = pooled(data, "RL", cx, gains, k), pooled(data, "SL", cx, gains, k)
            if not np.isfinite(a).any() and not np.isfinite(c).any():
                continue
            ik = f"init_{k}"
            init = (" / ".join(f"{np.median(pooled(data, m, cx, gains, ik)):.3g}" for m in METHODS)
                    if ik in data[("RL", cx, gains[0])] else "")
            rl_sl = compare(a, c)
            L.append(f"| {cx} | {label} | {stat(a, '.3g')} | {stat(c, '.3g')} | {format_p(rl_sl.p_value)} | "
                     f"{rl_sl.prob_improvement:.2f} | {init} |")
    L.append("")

    L += claims(data, complexities, gains)
    if not quick:
        L += notes(data, complexities, gains, b)
    drawn = figures(data, complexities, gains, root, S)
    L += ["## Figures", ""] + [f"![{n}]({root.name}/{n})" for n in drawn]
    L += ["", "Per-network results: " + ", ".join(f"`{root.name}/{cell_name(m, cx, g)}.csv`" for cx in complexities
                                                  for g in gains for m in METHODS) + "."]
    return "\n".join(L) + "\n"


def claims(data: dict, complexities: list[str], gains: list[float]) -> list[str]:
    """The seed paper's claims beside ours, with a verdict computed from the pooled numbers."""
    L = ["## The seed paper's claims beside ours", "",
         "Verdicts: 'agrees' when our data show the claimed direction at p < 0.05, 'opposite' when they show the "
         "reverse at p < 0.05, otherwise 'does not confirm'. Kononov et al.'s own numbers are not available to us.",
         "", "| claim (Kononov et al.) | ours | verdict |", "|---|---|---|"]
    for kind, label in HYBRID_KINDS.items():
        L.append(rl_vs_sl_row(data, complexities, gains, kind, f"RL finds hybrid networks much more often than SL "
                              f"({label})", fisher_p, "Fisher p", np.mean, ".2f"))
    parts, verdicts = [], []
    for cx in complexities:
        rl, sl = (pooled(data, m, cx, gains, "hybrid_map")[pooled(data, m, cx, gains, "accuracy") >= LEARNED]
                  for m in METHODS)
        p = fisher_p(rl, sl)
        parts.append(f"{cx}: RL {rl.mean() if len(rl) else np.nan:.2f} (n={len(rl)}) vs SL "
                     f"{sl.mean() if len(sl) else np.nan:.2f} (n={len(sl)}) (Fisher p {format_p(p)})")
        verdicts.append(f"{cx}: {verdict(p, (rl.mean() if len(rl) else 0) - (sl.mean() if len(sl) else 0))}")
    L.append(f"| ... the same, map-sense, among the networks that learned (accuracy >= {LEARNED:.2f}) | "
             f"{'; '.join(parts)} | {'; '.join(verdicts)} |")
    parts, verdicts = [], []
    for cx in complexities:
        rl, sl = pooled(data, "RL", cx, gains, "fp_only"), pooled(data, "SL", cx, gains, "fp_only")
        p = fisher_p(sl, rl)
        lo, hi = wilson(int(sl.sum()), len(sl))
        parts.append(f"{cx}: fixed-point-only networks SL {share(sl)} vs RL {share(rl)} (Fisher p {format_p(p)})")
        verdicts.append(f"{cx}: " + ("agrees (SL share >= 0.9)" if lo >= 0.9 else "does not confirm (SL share below "
                                     "0.9)" if hi < 0.9 else "not decided (the SL share's CI contains 0.9)"))
    L.append(f"| SL converges almost exclusively to fixed-point-only solutions | {'; '.join(parts)} | "
             f"{'; '.join(verdicts)} |")
    claims = {"hybrid_map": "The share of hybrid networks (map-sense) is modulated by the initialisation (g = "
                            f"{' / '.join(f'{g:g}' for g in gains)})",
              "complex": "... and so is the prevalence of complex dynamics (networks with any non-fixed-point run)"}
    for key, claim in claims.items():
        parts, verdicts = [], []
        for cx in complexities:
            for m in METHODS:
                p = gain_p([data[(m, cx, g)][key] for g in gains])
                shares = " / ".join(f"{data[(m, cx, g)][key].mean():.2f}" for g in gains)
                parts.append(f"{cx} {m}: {shares} (p {format_p(p)})")
                verdicts.append(f"{cx} {m}: {'modulated' if np.isfinite(p) and p < 0.05 else 'not shown'}")
        L.append(f"| {claim} | {'; '.join(parts)} | {'; '.join(verdicts)} |")
    parts, verdicts = [], []
    for cx in complexities:
        r, p = point_biserial(pooled(data, "RL", cx, gains, "hybrid_map"), pooled(data, "RL", cx, gains, "accuracy"))
        parts.append(f"{cx}: r = {r:+.2f} (p {format_p(p)})" if np.isfinite(r) else f"{cx}: n/a")
        verdicts.append(f"{cx}: {verdict(p, r)}")
    L.append(f"| Hybrid dynamics correlate with performance (RL, map-sense, gains pooled) | {'; '.join(parts)} | "
             f"{'; '.join(verdicts)} |")
    if len(complexities) > 1:
        r_p = [point_biserial(pooled(data, "RL", cx, gains, "hybrid_map"), pooled(data, "RL", cx, gains, "accuracy"))
               for cx in complexities]
        rs = [r for r, _ in r_p]
        n = [len(pooled(data, "RL", cx, gains, "accuracy")) for cx in (complexities[0], complexities[-1])]
        p = r_difference_p(rs[0], n[0], rs[-1], n[-1])
        L.append(f"| ... more so as the task gets more complex | r: " + " -> ".join(
            f"{cx} {r:+.2f}" for cx, r in zip(complexities, rs)) + f" (difference, Fisher z test: p {format_p(p)}) | "
            f"{verdict(p, rs[-1] - rs[0])} |")
    for k, sign in (("sel_gini", -1.0), ("pref_balance", 1.0), ("input_cv", -1.0), ("rec_in_cv", -1.0),
                    ("output_cv", -1.0)):
        L.append(rl_vs_sl_row(data, complexities, gains, k, f"RL populations are more balanced: "
                              f"{'higher' if sign > 0 else 'lower'} {POP_MEASURES[k]}", u_test, "U test p",
                              np.nanmedian, ".3g", sign))
    return L + [""]


def rl_vs_sl_row(data: dict, complexities: list[str], gains: list[float], key: str, claim: str, test, test_name: str,
                 centre, fmt: str, sign: float = 1.0) -> str:
    """One claims-table row: per complexity, centre(RL) vs centre(SL) of `key` (gains pooled), `test`'s p-value,
    and the verdict for a claim that RL's value is higher (sign 1) or lower (sign -1)."""
    parts, verdicts = [], []
    for cx in complexities:
        a, c = pooled(data, "RL", cx, gains, key), pooled(data, "SL", cx, gains, key)
        p = test(a, c)
        parts.append(f"{cx}: RL {centre(a):{fmt}} vs SL {centre(c):{fmt}} ({test_name} {format_p(p)})")
        verdicts.append(f"{cx}: {verdict(p, centre(a) - centre(c), sign)}")
    return f"| {claim} | {'; '.join(parts)} | {'; '.join(verdicts)} |"


def notes(data: dict, complexities: list[str], gains: list[float], b: Budget) -> list[str]:
    """Caveats of the comparison (the numbers in them are computed from the data)."""
    acc = {(m, cx): pooled(data, m, cx, gains, "accuracy") for m in METHODS for cx in complexities}
    change = {m: np.concatenate([pooled(data, m, cx, gains, "rec_change") for cx in complexities]) for m in METHODS}
    rl_updates = b.rl_steps // (b.rl_envs * b.rl_rollout) * 4 * 4
    hyb = max(data[(m, cx, g)]["hybrid_loose"].mean() for m in METHODS for cx in complexities for g in gains)
    return [
        "## Notes and caveats", "",
        "- Not Kononov et al.'s setup: 64 tanh units instead of 250 ReLU units, Gaussian initialisation with gain g "
        "instead of a uniform width, fixed training budgets instead of training to 95% accuracy, a 5-step delay and "
        "noise 0.5 (ideal observer ~0.81). Their numbers are not available; only the directions of their claims "
        "are compared.",
        "- Performance: median test accuracy (gains pooled) "
        + "; ".join(f"{cx}: RL {np.median(acc[('RL', cx)]):.2f} vs SL {np.median(acc[('SL', cx)]):.2f} "
                    f"({rl_vs_sl(acc[('RL', cx)], acc[('SL', cx)])})" for cx in complexities)
        + ". The 'learned' table compares the networks above the accuracy threshold only.",
        f"- The attractors are long-time properties (thousands of steps) of the network with the delay input "
        f"clamped, while a trial lasts 23 steps: neither loss constrains them directly beyond the few delay steps "
        f"(compare the 'untrained' rows: the initial networks' classes at each gain).",
        f"- Hybrid networks are rare under every definition (at most {hyb:.2f} of a cell, loose definition); the "
        "strict definition (a torus, LE_1 = LE_2 = 0) almost never occurs: discrete-time oscillations here are "
        "invariant circles or periodic orbits. Most networks are either fixed-point networks or oscillating / "
        "chaotic networks without a stable fixed point at the delay input.",
        f"- Relative change of the recurrent weights from their initial values, median RL "
        f"{np.median(change['RL']):.2f} vs SL {np.median(change['SL']):.2f} ({rl_vs_sl(change['RL'], change['SL'])}); "
        f"PPO made {rl_updates:,} Adam steps "
        f"({b.rl_steps // (b.rl_envs * b.rl_rollout)} updates x 4 epochs x 4 minibatches) against SL's "
        f"{b.sl_updates}.",
        "- 'Stable FP' means a stable fixed point found by the finder (128 candidates from the network's own "
        "states) or reached by one of the attractor runs; the finder can miss fixed points far from the data.",
        "- Many tests, no correction for multiple comparisons: read single p-values near 0.05 with care.",
        "- Networks: learner s of every cell starts from jax.random.key(s) (the sweep runner's keys). The table "
        "checked in before the study trained through the sweep runner (commit 01ee63b) drew each cell's networks "
        "from keys split off a per-cell key: other networks of the same distributions, so its per-network numbers "
        "differ from these, and verdicts that rest on a few networks can differ too.", ""]


# ----------------------------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 seeds, tiny budgets, perceptual only: a pipeline check")
    ap.add_argument("--out", type=Path, default=None, help="results folder (the table goes beside it as <name>.md)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--complexities", nargs="*", default=None, choices=list(COMPLEXITIES))
    ap.add_argument("--gains", nargs="*", type=float, default=None)
    ap.add_argument("--from-saved", action="store_true",
                    help="regenerate the tables from the saved per-network CSVs and metrics only (no training, no "
                         "analysis)")
    args = ap.parse_args()
    b = QUICK if args.quick else FULL
    if args.seeds:
        b = dataclasses.replace(b, seeds=args.seeds)
    complexities = args.complexities or (["perceptual"] if args.quick else list(COMPLEXITIES))
    gains = args.gains or ([1.0, 2.0] if args.quick else list(GAINS))
    root = args.out or RESULTS / ("rl_vs_sl_quick" if args.quick else "rl_vs_sl")
    root.mkdir(parents=True, exist_ok=True)
    enable_compilation_cache()  # the three gains of a (method, complexity) compile to the same programs
    tpath = root / "timings.json"
    timings = json.loads(tpath.read_text()) if tpath.exists() else {}
    t0 = time.perf_counter()
    data, saved = {}, 0
    for cx in complexities:
        for g in gains:
            untrained = cell_name("untrained", cx, g)
            for m in METHODS:
                name = cell_name(m, cx, g)
                run_dir, csv_path, init_path = root / name, root / f"{name}.csv", root / f"{untrained}.csv"
                wanted = [csv_path] + ([init_path] if m == "RL" else [])
                if args.from_saved or (all(p.exists() for p in wanted) and (run_dir / "metrics.csv").exists()):
                    missing = [p for p in wanted[:1] + [run_dir / "metrics.csv"] if not p.exists()]
                    if missing:
                        raise SystemExit(f"--from-saved: {', '.join(map(str, missing))} missing")
                    saved += 1
                else:
                    t_train = train(sweep_spec(m, cx, g, b), run_dir, b, need_snapshots=True)
                    if t_train:  # (re)trained: an older analysis of this cell is stale
                        timings[name] = {"train_s": t_train}
                        for p in wanted:
                            p.unlink(missing_ok=True)
                    key = analysis_key(cx, g)  # the same analysis draws for RL, SL and the untrained networks
                    final, init = (load_networks(m, run_dir, c) for c in (b.n_evals, 0))
                    if not csv_path.exists():
                        nets = final | {f"init_{k}": init[k] for k in ("W_x", "W_h", "W_out")}
                        rows, t_an = analyse_cell(nets, cx, b, key)
                        write_rows(csv_path, rows)
                        timings.setdefault(name, {})["analysis_s"] = t_an
                    if m == "RL" and not init_path.exists():  # reference: RL's initial networks, same analysis
                        nets = init | {f"init_{k}": init[k] for k in ("W_x", "W_h", "W_out")}
                        rows, t_an = analyse_cell(nets, cx, b, key)
                        write_rows(init_path, rows)
                        timings[untrained] = {"analysis_s": t_an}
                    tpath.write_text(json.dumps(timings, indent=1))
                data[(m, cx, g)] = read_cell(csv_path, run_dir)
                if init_path.exists():
                    data[("init", cx, g)] = read_cell(init_path, None)
                print(f"{name}: accuracy {np.median(data[(m, cx, g)]['accuracy']):.2f}, map-sense hybrid "
                      f"{data[(m, cx, g)]['hybrid_map'].mean():.2f}, {time.perf_counter() - t0:.0f} s", flush=True)
    md = report(data, complexities, gains, b, timings, root, args.quick, time.perf_counter() - t0, saved)
    (root.parent / f"{root.name}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()

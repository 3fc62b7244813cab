# %% [markdown]
# # Dynamics: sensitivity, SAL and the edge of chaos; fixed points; analysing a trained agent
#
# Runnable top to bottom as a script (`python notebooks/dynamics.py`) or as a notebook (jupytext percent
# format), a few minutes on a CPU. `DYNJAX_TOUR_STEPS` shortens the training run of part 3 (the test suite runs
# it with a tiny budget).
#
# 1. Sensitivity s_j = f'(U_j) ||w_j|| of a recurrent tanh layer, and SAL raising an ordered network towards
#    the edge of chaos (Shibata et al. 2021): log-RMS s and the largest Lyapunov exponent move together.
# 2. Fixed points of a random tanh network and their stability (Sussillo & Barak 2013).
# 3. A vmapped PPO run on Pendulum with snapshots, then `dynjax analyse` over training.

# %%
import os
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from dynjax.apps.analyse import AnalyseOptions, analyse_run
from dynjax.analysis import find_fixed_points, largest_lyapunov, unique_fixed_points
from dynjax.cells.mtrnn import LeakyLayer, leaky_update
from dynjax.rules.sensitivity import (input_trace_init, input_trace_update, log_rms, sal_srl_update, sensitivity,
                                      sensitivity_grad)
from dynjax.sweep import run_sweep, spec_from_dict

# %% [markdown]
# ## 1. SAL on an ordered network
# A 100-neuron recurrent tanh layer, x_t = [3 noise inputs; tanh(u_{t-1})], weights scaled to gain 0.5 (ordered:
# perturbations die out). SAL ascends s_j for every neuron whose moving average is below s_th = 1; we measure
# log-RMS s and the layer's largest Lyapunov exponent (two trajectories, the same noise) before and after.

# %%
N, N_IN, TAU = 100, 3, 1.0
key_w, key_run, key_lyap = jax.random.split(jax.random.key(0), 3)
layer = LeakyLayer(W=0.5 * jax.random.normal(key_w, (N, N_IN + N)) / jnp.sqrt(N), b=jnp.zeros(N))


def inputs(u, k):
    return jnp.concatenate([0.3 * jax.random.normal(k, (N_IN,)), jnp.tanh(u)])


def lyapunov(layer):
    """Largest exponent of u' = W [noise; tanh u] + b under one fixed noise sequence (the key is state)."""
    def step(c):
        u, k = c
        k, k_in = jax.random.split(k)
        return (leaky_update(layer, u, inputs(u, k_in), TAU), k), jnp.zeros((), bool)

    c0 = (jnp.zeros(N), key_lyap)
    return largest_lyapunov(step, c0, (jnp.ones(N), key_lyap), 1e-4, 10, 300).exponent


@jax.jit
def sal(layer, steps_key):
    def step(c, k):
        layer, u, tr, s_bar = c
        x = inputs(u, k)
        u = leaky_update(layer, u, x, TAU)
        tr = input_trace_update(tr, x, TAU)
        s = sensitivity(layer, u)
        s_bar = 0.99 * s_bar + 0.01 * s
        g = sensitivity_grad(layer, u, tr)
        layer, _ = sal_srl_update(layer, g, g, s_bar, 0.0, 3e-3, 0.0, 1.0)  # SAL only (no TD error, eta_SRL 0)
        return (layer, u, tr, s_bar), log_rms(s)

    c0 = (layer, jnp.zeros(N), input_trace_init(layer), jnp.zeros(N))
    (layer, *_), lr = jax.lax.scan(step, c0, jax.random.split(steps_key, 4000))
    return layer, lr


trained, log_rms_s = sal(layer, key_run)
print(f"log-RMS s: {float(log_rms_s[:100].mean()):.3f} at the start -> {float(log_rms_s[-500:].mean()):.3f} after SAL")
print(f"largest Lyapunov exponent: {float(lyapunov(layer)):.3f} -> {float(lyapunov(trained)):.3f} per step")

# %% [markdown]
# ## 2. Fixed points of a random tanh network
# h' = tanh(g W h) with W ~ N(0, 1/N), g = 1.5, 64 units: the origin is a fixed point, unstable for g > 1; the
# finder starts from 512 states of the network's own trajectories (float64, tol_q 1e-12).

# %%
with jax.enable_x64(True):
    n, g = 64, 1.5
    W = g * jax.random.normal(jax.random.key(3), (n, n), jnp.float64) / np.sqrt(n)
    F = lambda h, x: jnp.tanh(W @ h + x)  # noqa: E731

    def trajectory(h0):
        return jax.lax.scan(lambda h, _: (F(h, 0.0), F(h, 0.0)), h0, None, length=200)[1]

    states = jax.vmap(trajectory)(jax.random.normal(jax.random.key(4), (8, n), jnp.float64))
    result = jax.jit(lambda k: find_fixed_points(F, jnp.zeros(n), states, k, 512))(jax.random.key(5))
    fps = unique_fixed_points(result)
    for p, st, r in zip(fps["points"], fps["stable"], fps["spectral_radius"]):
        print(f"fixed point |h| = {np.linalg.norm(p):.3f}, max |eig J| = {r:.3f}: {'stable' if st else 'unstable'}")

# %% [markdown]
# ## 3. Analysing an agent over training
# Huang et al.'s Pendulum agent (`ppo-rnn --preset huang`, angle only), 4 seeds in one program, a snapshot of
# every learner at every evaluation point; `analyse_run` (what `dynjax analyse <run-dir>` calls) then finds
# fixed points, timescales, attractor classes and the closed-loop Lyapunov exponent of every snapshot.

# %%
steps = int(os.environ.get("DYNJAX_TOUR_STEPS", 40_960))
every = max(steps // 4, 1024)
run_dir = Path(tempfile.mkdtemp()) / "huang"
spec = spec_from_dict({"algo": "ppo-rnn", "preset": "huang", "seeds": 4,
                       "config": {"obs_mask": "0,1", "total_steps": every * 4, "eval_every": every}})
run_sweep(spec, run_dir, snapshot_every=2, log=lambda m: None)
small = AnalyseOptions(record_steps=400, expansion_points=40, candidates=64, attractor_inits=4, attractor_steps=800)
rows = analyse_run(run_dir, opts=small, log=lambda m: None)
print((run_dir / "analysis" / "summary.md").read_text())
print("figures:", sorted(p.name for p in (run_dir / "analysis" / "plots").iterdir()))

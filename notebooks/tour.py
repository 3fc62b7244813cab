# %% [markdown]
# # A tour of dynjax's functional core
#
# Runnable top to bottom as a script (`python notebooks/tour.py`) or as a notebook (jupytext percent
# format). `DYNJAX_TOUR_STEPS` shortens the training run (the test suite runs it with a tiny budget).
#
# 1. A CT-RNN cell and its three gradients: exact RTRL, approximate RFLO, and autodiff BPTT.
# 2. A vmapped RTRRL training run: 8 independent learners in one jitted program.

# %%
import os

import jax
import jax.numpy as jnp
import numpy as np

from dynjax import RTRRLConfig, make_train
from dynjax.cells import ctrnn_init, ctrnn_step
from dynjax.rules import rflo, rtrl

# %% [markdown]
# ## 1. Gradients of L = sum_t c_t . h_t through a CT-RNN (float64)
# RTRL carries the full sensitivity dh/dtheta forward and must equal BPTT; RFLO keeps only its local
# (diagonal) part, so it differs by the dropped recurrent term.

# %%
with jax.enable_x64(True):
    key = jax.random.key(0)
    params = jax.tree.map(lambda x: x.astype(jnp.float64), ctrnn_init(key, 3, 6, gain=1.5))
    us = jax.random.normal(jax.random.key(1), (20, 3), jnp.float64)
    cs = jax.random.normal(jax.random.key(2), (20, 6), jnp.float64)
    dt = 0.5

    def loss(p):
        def step(h, inp):
            h, _ = ctrnn_step(p, h, inp[0], dt)
            return h, inp[1] @ h

        return jnp.sum(jax.lax.scan(step, jnp.zeros(6), (us, cs))[1])

    bptt = jax.grad(loss)(params)

    def online(rule):
        h, trace, total = jnp.zeros(6), rule.init(params), jax.tree.map(jnp.zeros_like, params)
        for u, c in zip(us, cs):
            h, aux = ctrnn_step(params, h, u, dt)
            trace = rule.update(trace, params, aux, dt)
            total = jax.tree.map(jnp.add, total, rule.grads(trace, c))
        return total

    for name, rule in (("RTRL", rtrl), ("RFLO", rflo)):
        g = online(rule)
        err = float(jnp.linalg.norm(g.W - bptt.W) / jnp.linalg.norm(bptt.W))
        cos = float(jnp.vdot(g.W, bptt.W) / (jnp.linalg.norm(g.W) * jnp.linalg.norm(bptt.W)))
        print(f"{name}: relative error vs BPTT {err:.2e}, cosine {cos:.3f}")

# %% [markdown]
# ## 2. Eight RTRRL learners on CartPole with the positions hidden, in one program

# %%
steps = int(os.environ.get("DYNJAX_TOUR_STEPS", 200_000))
config = RTRRLConfig(env_id="CartPole-v1", obs_mask="odd", total_steps=steps, eval_every=max(steps // 10, 1))
train = jax.jit(jax.vmap(make_train(config)))
state, metrics = train(jax.random.split(jax.random.key(0), 8))
returns = np.asarray(metrics.eval_return)
print("evaluation steps:", np.asarray(metrics.step[0]))
print("median return over seeds:", np.round(np.median(returns, axis=0), 1))

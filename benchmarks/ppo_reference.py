"""Reference recurrent PPO (GRU actor-critic) on gymnax, used only as a speed yardstick.

This is a conventional single-file implementation written for dynjax's throughput benchmark,
following the design of PureJaxRL (Lu et al. 2022, "Discovered Policy Optimisation"): the whole
training run is one pure function ``train(key)``, so ``jax.jit(jax.vmap(train))`` trains many
seeds at once on the accelerator. It is NOT part of dynjax and uses none of it; it is built
directly from flax.linen, optax and gymnax.

Architecture: obs -> GRU (flax.linen.GRUCell, ``HIDDEN`` features, scanned over time; the state
is zeroed with ``jnp.where(reset, 0, h)`` before each step whose input starts a new episode)
-> actor: Dense(HEAD_HIDDEN), tanh, Dense(n_actions) logits (categorical policy)
-> critic: Dense(HEAD_HIDDEN), tanh, Dense(1). No embedding layer before the GRU.

Algorithm: NUM_ENVS auto-resetting gymnax envs per seed; rollouts of NUM_STEPS steps; GAE
(gamma 0.99, lambda 0.95) with done = terminated or truncated (no bootstrap at truncation);
UPDATE_EPOCHS epochs of NUM_MINIBATCHES minibatches, each a subset of envs with their whole
sequences replayed from the hidden state they had at rollout start; loss = clipped surrogate
(0.2) + 0.5 * clipped value loss - 0.01 * entropy, advantages normalised per minibatch;
optax chain(clip_by_global_norm(0.5), adam(lr linearly annealed to 0, eps=1e-5)).

    python benchmarks/ppo_reference.py --seeds 16 --envs 64 --steps 500000 --hidden 128
"""

from __future__ import annotations

import argparse
import json
import time

import flax.linen as nn
import gymnax
import jax
import jax.custom_batching
import jax.numpy as jnp
import numpy as np
import optax

DEFAULT_CONFIG = {
    "ENV_NAME": "CartPole-v1", "NUM_ENVS": 64, "NUM_STEPS": 128, "TOTAL_TIMESTEPS": 500_000,
    "UPDATE_EPOCHS": 4, "NUM_MINIBATCHES": 4, "HIDDEN": 128, "HEAD_HIDDEN": 128, "LR": 2.5e-4,
    "GAMMA": 0.99, "GAE_LAMBDA": 0.95, "CLIP_EPS": 0.2, "VF_COEF": 0.5, "ENT_COEF": 0.01,
    "MAX_GRAD_NORM": 0.5,
}


class GRUStep(nn.Module):
    """One time step: zero the state where a new episode begins, then apply the GRU cell."""
    features: int

    @nn.compact
    def __call__(self, h, inputs):
        obs, reset = inputs
        h = jnp.where(reset[:, None], 0.0, h)
        h, y = nn.GRUCell(features=self.features)(h, obs)
        return h, y


class ActorCritic(nn.Module):
    n_actions: int
    hidden: int
    head_hidden: int

    @nn.compact
    def __call__(self, h, obs, resets):
        """h: [B, H]; obs: [T, B, obs_dim]; resets: [T, B] -> (h_T, logits [T, B, A], value [T, B])."""
        scan_gru = nn.scan(GRUStep, variable_broadcast="params", split_rngs={"params": False})
        h, y = scan_gru(self.hidden)(h, (obs, resets))
        ortho = nn.initializers.orthogonal
        a = nn.tanh(nn.Dense(self.head_hidden, kernel_init=ortho(np.sqrt(2)))(y))
        logits = nn.Dense(self.n_actions, kernel_init=ortho(0.01))(a)
        c = nn.tanh(nn.Dense(self.head_hidden, kernel_init=ortho(np.sqrt(2)))(y))
        value = nn.Dense(1, kernel_init=ortho(1.0))(c)[..., 0]
        return h, logits, value


def make_train(config):
    cfg = {**DEFAULT_CONFIG, **config}
    E, T, M = cfg["NUM_ENVS"], cfg["NUM_STEPS"], cfg["NUM_MINIBATCHES"]
    assert E % M == 0, "NUM_ENVS must be divisible by NUM_MINIBATCHES"
    num_updates = cfg["TOTAL_TIMESTEPS"] // (T * E)
    env, env_params = gymnax.make(cfg["ENV_NAME"])
    n_actions = env.action_space(env_params).n
    net = ActorCritic(n_actions, cfg["HIDDEN"], cfg["HEAD_HIDDEN"])
    lr = optax.linear_schedule(cfg["LR"], 0.0, num_updates * cfg["UPDATE_EPOCHS"] * M)
    tx = optax.chain(optax.clip_by_global_norm(cfg["MAX_GRAD_NORM"]), optax.adam(lr, eps=1e-5))
    v_reset = jax.vmap(env.reset, in_axes=(0, None))
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def loss_fn(params, h0, batch, adv, targets):
        _, logits, value = net.apply(params, h0, batch["obs"], batch["reset"])
        logp_all = jax.nn.log_softmax(logits)
        logp = jnp.take_along_axis(logp_all, batch["action"][..., None], -1)[..., 0]
        entropy = -(jnp.exp(logp_all) * logp_all).sum(-1).mean()
        eps = cfg["CLIP_EPS"]
        v_clip = batch["value"] + jnp.clip(value - batch["value"], -eps, eps)
        v_loss = 0.5 * jnp.maximum((value - targets) ** 2, (v_clip - targets) ** 2).mean()
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        ratio = jnp.exp(logp - batch["log_prob"])
        pg_loss = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - eps, 1 + eps) * adv).mean()
        return pg_loss + cfg["VF_COEF"] * v_loss - cfg["ENT_COEF"] * entropy

    def gae(batch, last_value):
        def backward(carry, tr):
            gae_acc, next_value = carry
            nonterm = 1.0 - tr["done"]
            delta = tr["reward"] + cfg["GAMMA"] * next_value * nonterm - tr["value"]
            gae_acc = delta + cfg["GAMMA"] * cfg["GAE_LAMBDA"] * nonterm * gae_acc
            return (gae_acc, tr["value"]), gae_acc
        _, adv = jax.lax.scan(backward, (jnp.zeros_like(last_value), last_value), batch, reverse=True)
        return adv, adv + batch["value"]

    def train(key):
        key, k_init, k_env = jax.random.split(key, 3)
        h0 = jnp.zeros((E, cfg["HIDDEN"]))
        obs, env_state = v_reset(jax.random.split(k_env, E), env_params)
        # Orthogonal init runs a LAPACK QR; batched over vmapped seeds it can deadlock XLA's CPU
        # thread pool (seen with jaxlib 0.10.2 on 2 cores), so seeds are initialised one by one.
        init = jax.custom_batching.sequential_vmap(lambda k, o: net.init(k, h0, o[None], jnp.zeros((1, E), bool)))
        params = init(k_init, obs)
        runner = (params, tx.init(params), env_state, obs, jnp.zeros(E, bool), h0,
                  jnp.zeros(E), jnp.float32(0.0), key)

        def env_step(carry, _):
            params, env_state, obs, last_done, h, ep_ret, key = carry
            key, k_act, k_env = jax.random.split(key, 3)
            h, logits, value = net.apply(params, h, obs[None], last_done[None])
            logits, value = logits[0], value[0]
            action = jax.random.categorical(k_act, logits)
            log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], -1)[:, 0]
            next_obs, env_state, reward, term, trunc, _ = v_step(
                jax.random.split(k_env, E), env_state, action, env_params)
            done = term | trunc
            ep_ret = ep_ret + reward
            tr = {"obs": obs, "reset": last_done, "action": action, "log_prob": log_prob,
                  "value": value, "reward": reward, "done": done.astype(jnp.float32),
                  "ep_return": jnp.where(done, ep_ret, 0.0)}
            return (params, env_state, next_obs, done, h, jnp.where(done, 0.0, ep_ret), key), tr

        def update(runner, _):
            params, opt_state, env_state, obs, last_done, h_start, ep_ret, last_mean, key = runner
            carry = (params, env_state, obs, last_done, h_start, ep_ret, key)
            carry, batch = jax.lax.scan(env_step, carry, None, length=T)
            _, env_state, obs, last_done, h_end, ep_ret, key = carry
            _, _, last_value = net.apply(params, h_end, obs[None], last_done[None])
            adv, targets = gae(batch, last_value[0])

            def epoch(state, key):
                params, opt_state = state
                perm = jax.random.permutation(key, E).reshape(M, E // M)

                def minibatch(state, idx):
                    params, opt_state = state
                    mb = jax.tree.map(lambda x: x[:, idx], batch)
                    grads = jax.grad(loss_fn)(params, h_start[idx], mb, adv[:, idx], targets[:, idx])
                    updates, opt_state = tx.update(grads, opt_state, params)
                    return (optax.apply_updates(params, updates), opt_state), None

                return jax.lax.scan(minibatch, (params, opt_state), perm)[0], None

            key, k_ep = jax.random.split(key)
            (params, opt_state), _ = jax.lax.scan(
                epoch, (params, opt_state), jax.random.split(k_ep, cfg["UPDATE_EPOCHS"]))
            n_done = batch["done"].sum()
            mean_ret = jnp.where(n_done > 0, batch["ep_return"].sum() / jnp.maximum(n_done, 1), last_mean)
            runner = (params, opt_state, env_state, obs, last_done, h_end, ep_ret, mean_ret, key)
            return runner, {"mean_return": mean_ret, "episodes": n_done}

        _, metrics = jax.lax.scan(update, runner, None, length=num_updates)
        return metrics

    return train


def time_reference(n_seeds=16, num_envs=64, total_timesteps=1_000_000, hidden=128, head_hidden=128,
                   num_steps=128, repeats=1):
    """Compile and run jit(vmap(train)) over n_seeds seeds; return throughput and final return."""
    config = {"NUM_ENVS": num_envs, "NUM_STEPS": num_steps, "TOTAL_TIMESTEPS": total_timesteps,
              "HIDDEN": hidden, "HEAD_HIDDEN": head_hidden}
    keys = jax.random.split(jax.random.key(0), n_seeds)
    t0 = time.perf_counter()
    compiled = jax.jit(jax.vmap(make_train(config))).lower(keys).compile()
    compile_s = time.perf_counter() - t0
    run_times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        metrics = jax.block_until_ready(compiled(keys))
        run_times.append(time.perf_counter() - t0)
    run_s = min(run_times)
    steps_done = (total_timesteps // (num_steps * num_envs)) * num_steps * num_envs
    return {"env_steps_per_s": n_seeds * steps_done / run_s, "compile_s": compile_s, "run_s": run_s,
            "final_return": float(np.median(np.asarray(metrics["mean_return"])[:, -1])),
            "n_seeds": n_seeds, "num_envs": num_envs, "total_timesteps": steps_done, "hidden": hidden,
            "device": str(jax.devices()[0])}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--envs", type=int, default=64)
    p.add_argument("--steps", type=int, default=1_000_000, help="total env steps per seed")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--head-hidden", type=int, default=128)
    p.add_argument("--num-steps", type=int, default=128, help="rollout length per update")
    p.add_argument("--repeats", type=int, default=1)
    a = p.parse_args()
    print(json.dumps(time_reference(a.seeds, a.envs, a.steps, a.hidden, a.head_hidden, a.num_steps, a.repeats), indent=2))

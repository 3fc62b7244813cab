"""Linear actor and critic heads, the policy distributions they parameterise, and feedback alignment.

RTRRL (Lemmel & Grosu 2025): logits = W_A h (no bias), v = w_C . h + b_C. The heads receive their exact
local gradients; the learning signal sent back into the recurrent body is

    g = B_C + eta_pi * B_A (d log pi / d out)

with fixed random B_A (N x |out|), B_C (N,) under feedback alignment (Lillicrap et al. 2016), or with
B_A = W_A^T, B_C = w_C without it (then the body's gradient is exact end to end).
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class Policy(NamedTuple):
    """A distribution over actions parameterised by the actor's output vector `out` (length out_dim)."""

    out_dim: int
    sample: Callable[[Array, Array], Array]  # (key, out) -> action
    mode: Callable[[Array], Array]  # out -> greedy action
    log_prob: Callable[[Array, Array], Array]  # (out, action) -> scalar
    entropy: Callable[[Array], Array]  # out -> scalar
    null_action: Array  # the "previous action" fed at an episode's start (zeros)
    action_features: Callable[[Array], Array]  # action -> the vector fed back as Meta-RL input


def meta_input(policy: Policy, meta_rl: bool) -> Callable[[Array, Array, Array], Array]:
    """The recurrent network's input u_t = [o_t ; phi(a_{t-1}) ; r_{t-1}] (Meta-RL: Wang et al. 2016, as in
    RTRRL), phi = policy.action_features; just o_t when meta_rl is off."""

    def inputs(obs: Array, action: Array, reward: Array) -> Array:
        if not meta_rl:
            return obs
        return jnp.concatenate([obs, policy.action_features(action).astype(jnp.float32), jnp.reshape(reward, (1,))])

    return inputs


def categorical(n_actions: int) -> Policy:
    """Softmax policy over n_actions; out = logits."""

    def log_prob(out: Array, action: Array) -> Array:
        return jax.nn.log_softmax(out)[action]

    def entropy(out: Array) -> Array:
        logp = jax.nn.log_softmax(out)
        return -jnp.sum(jnp.exp(logp) * logp)

    return Policy(
        out_dim=n_actions,
        sample=lambda key, out: jax.random.categorical(key, out),
        mode=lambda out: jnp.argmax(out),
        log_prob=log_prob,
        entropy=entropy,
        null_action=jnp.zeros((), jnp.int32),
        action_features=lambda a: jax.nn.one_hot(a, n_actions),
    )


def bounded_gaussian(low: Array, high: Array, sigma_min: float = 0.01, sigma_max: float = 2.0) -> Policy:
    """Diagonal Gaussian whose mean is squashed into [low, high]; samples go to the environment as drawn.

    out = [m ; s] (2 A values): mu = low + (high - low) (tanh(m) + 1) / 2,
    sigma = clip(softplus(s), sigma_min, sigma_max) * (high - low) / 2. A sample may leave [low, high]: the
    environment applies its own bounds and costs (dynjax.envs.adapter).
    """
    low = jnp.atleast_1d(jnp.asarray(low, jnp.float32))
    high = jnp.atleast_1d(jnp.asarray(high, jnp.float32))
    dim = low.shape[0]
    half = (high - low) / 2.0

    def moments(out: Array) -> tuple[Array, Array]:
        mu = low + half * (jnp.tanh(out[:dim]) + 1.0)
        sigma = jnp.clip(jax.nn.softplus(out[dim:]), sigma_min, sigma_max) * half
        return mu, sigma

    def sample(key: Array, out: Array) -> Array:
        mu, sigma = moments(out)
        return mu + sigma * jax.random.normal(key, mu.shape)

    def log_prob(out: Array, action: Array) -> Array:
        mu, sigma = moments(out)
        return jnp.sum(-0.5 * ((action - mu) / sigma) ** 2 - jnp.log(sigma) - 0.5 * jnp.log(2 * jnp.pi))

    def entropy(out: Array) -> Array:
        _, sigma = moments(out)
        return jnp.sum(jnp.log(sigma) + 0.5 * (1.0 + jnp.log(2 * jnp.pi)))

    return Policy(
        out_dim=2 * dim,
        sample=sample,
        mode=lambda out: moments(out)[0],
        log_prob=log_prob,
        entropy=entropy,
        null_action=jnp.zeros((dim,), jnp.float32),
        action_features=lambda a: a / half,
    )


def diag_gaussian(dim: int) -> Policy:
    """Unbounded diagonal Gaussian, out = [mu ; log sigma] (2 A values); the environment bounds the sample.

    PPO's continuous policy (Schulman et al. 2017): the mean comes from the actor network and log sigma is
    either a learned state-independent vector or a second head output."""

    def split(out: Array) -> tuple[Array, Array]:
        return out[:dim], out[dim:]

    def sample(key: Array, out: Array) -> Array:
        mu, log_sigma = split(out)
        return mu + jnp.exp(log_sigma) * jax.random.normal(key, mu.shape)

    def log_prob(out: Array, action: Array) -> Array:
        mu, log_sigma = split(out)
        return jnp.sum(-0.5 * ((action - mu) * jnp.exp(-log_sigma)) ** 2 - log_sigma - 0.5 * jnp.log(2 * jnp.pi))

    def entropy(out: Array) -> Array:
        return jnp.sum(split(out)[1] + 0.5 * (1.0 + jnp.log(2 * jnp.pi)))

    return Policy(out_dim=2 * dim, sample=sample, mode=lambda out: split(out)[0], log_prob=log_prob,
                  entropy=entropy, null_action=jnp.zeros((dim,), jnp.float32), action_features=lambda a: a)


class HeadParams(NamedTuple):
    """Linear actor and critic."""

    W_A: Array  # (out_dim, N)
    w_C: Array  # (N,)
    b_C: Array  # ()


class Feedback(NamedTuple):
    """Fixed random feedback matrices for feedback alignment (never trained)."""

    B_A: Array  # (N, out_dim)
    B_C: Array  # (N,)


def heads_init(key: Array, n_features: int, out_dim: int, actor_scale: float = 0.01) -> tuple[HeadParams, Feedback]:
    """Small random actor (near-uniform initial policy), zero critic, and N(0, 1/N) feedback matrices."""
    k_a, k_ba, k_bc = jax.random.split(key, 3)
    params = HeadParams(
        W_A=actor_scale * jax.random.normal(k_a, (out_dim, n_features)) / jnp.sqrt(n_features),
        w_C=jnp.zeros((n_features,)),
        b_C=jnp.zeros(()),
    )
    fb = Feedback(
        B_A=jax.random.normal(k_ba, (n_features, out_dim)) / jnp.sqrt(n_features),
        B_C=jax.random.normal(k_bc, (n_features,)) / jnp.sqrt(n_features),
    )
    return params, fb


def heads_init_glorot(key: Array, n_features: int, out_dim: int) -> tuple[HeadParams, Feedback]:
    """Glorot-normal actor and critic weights (zero critic bias) and Glorot-normal feedback matrices: how the RTRRL
    authors' code initialises its heads (flax Dense layers with feedback alignment)."""
    k_a, k_c, k_ba, k_bc = jax.random.split(key, 4)
    glorot = jax.nn.initializers.glorot_normal()
    params = HeadParams(W_A=glorot(k_a, (n_features, out_dim)).T, w_C=glorot(k_c, (n_features, 1))[:, 0],
                        b_C=jnp.zeros(()))
    return params, Feedback(B_A=glorot(k_ba, (n_features, out_dim)), B_C=glorot(k_bc, (n_features, 1))[:, 0])


def value(params: HeadParams, h: Array) -> Array:
    """v(h) = w_C . h + b_C."""
    return params.w_C @ h + params.b_C


def feedback_signal(params: HeadParams, fb: Feedback | None, d_out: Array, eta_pi: Array) -> Array:
    """g = B_C + eta_pi B_A d_out  (FA), or  w_C + eta_pi W_A^T d_out  (exact) when fb is None."""
    if fb is None:
        return params.w_C + eta_pi * (params.W_A.T @ d_out)
    return fb.B_C + eta_pi * (fb.B_A @ d_out)

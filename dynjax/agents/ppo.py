"""Recurrent PPO trained by backpropagation through time, and PPO guided by fixed reaction-diffusion dynamics.

The conventional baseline of every comparison in the source papers (Schulman et al. 2017, PPO; the design of
PureJaxRL's recurrent PPO, Lu et al. 2022). Per learner (seed): `num_envs` environments step in parallel;
each update collects a rollout of `num_steps` steps, computes GAE advantages, and runs `update_epochs` epochs
over `num_minibatches` minibatches, a minibatch being a subset of the environments with their whole sequences
and the recurrent state each had at the rollout's start, so BPTT sees exactly what the policy saw:

    x_t  = [o_t ; a_{t-1} ; r_{t-1}]  (meta_rl)  or  o_t
    h_t  = cell(where(start_t, 0, h_{t-1}), x_t)        cell: gru | rnn | ctrnn (RTRRL's) | mlp (no memory)
    pi(.|h_t) = policy(actor(h_t)),  V(h_t) = critic(h_t)           actor/critic: tanh MLPs (or linear)
    L = -E[min(rho A, clip(rho, 1 - eps, 1 + eps) A)] + c_V E[max((V - G)^2, (V_clip - G)^2)] / 2 - c_H E[H(pi)]

Episode ends: the recurrent state (and the previous action and reward) reset on terminated OR truncated;
GAE bootstraps a truncated step from V of the final observation (computed from the same recurrent state),
a terminated step from nothing (dynjax.rules.td.gae).

RD-PPO (`guide=True`, the blog post "Guiding Emergence in RL (Part 1)", 2025): each environment also carries
the activator/inhibitor state of dynjax.cells.reaction_diffusion, stepped once per environment step and reset
at episode start; its readout y_t = o_t^T a_t is blended into the logits, (1 - beta) logits + beta y_t, when
acting and in the loss (y_t is stored with the rollout). Nothing of it is trained. With gamma = beta = 0 the
agent computes exactly what plain PPO computes.

`make_learner(config)` gives the pure pieces the sweep runner drives; `make_train(config) -> train(key)`.
"""

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from dynjax.agents import driver
from dynjax.agents.driver import UpdateReport, first_bad, hparam_arrays
from dynjax.agents.evaluation import EvalMetrics
from dynjax.analysis.closed_loop import ClosedLoop
from dynjax.cells import CELLS
from dynjax.cells.reaction_diffusion import RD_FIELDS, blend, rd_init, rd_readout, rd_step
from dynjax.config import FieldErrors, check_choice, check_divides, check_finite, check_multiple, check_positive_int
from dynjax.envs.adapter import EnvSpec, make_env, obs_mask_field
from dynjax.envs.change import swap_from
from dynjax.agents.heads import Policy, categorical, diag_gaussian, meta_input
from dynjax.rules.td import gae

Array = jax.Array


class PPOHParams(NamedTuple):
    """Numeric hyperparameters (array leaves: a sweep can vmap them). Defaults: PureJaxRL's PPO-RNN for
    the PPO part; the reaction-diffusion constants (used by rd-ppo only) are ours, see
    dynjax.cells.reaction_diffusion."""

    lr: Any = 2.5e-4
    anneal_lr: Any = 1.0  # 1: decay the learning rate linearly to 0 over the run; 0: constant
    discount: Any = 0.99
    gae_lambda: Any = 0.95
    clip_eps: Any = 0.2
    ent_coef: Any = 0.01
    vf_coef: Any = 0.5
    max_grad_norm: Any = 0.5
    gain: Any = 1.0  # recurrent weight gain g of the cell (MTRNN: spectral radius of the slow self-feedback)
    dt: Any = 1.0  # CT-RNN step
    tau_init_low: Any = 1.0  # CT-RNN time constants ~ U[low, high]
    tau_init_high: Any = 5.0
    tau_lower: Any = 2.0  # MTRNN (Dynamic RL's actor as a BPTT body): fast and slow layer time constants
    tau_upper: Any = 10.0
    init_log_std: Any = 0.0  # continuous actions: initial log sigma
    reward_scale: Any = 1.0  # rewards are multiplied by this for learning (returns are reported unscaled)
    gamma: Any = 0.0  # RD guidance strength
    beta: Any = 0.3  # RD blending weight
    D_a: Any = 0.02
    D_h: Any = 0.2
    rho_a: Any = 1.0
    rho_h: Any = 1.0
    mu_a: Any = 1.0
    mu_h: Any = 1.0
    rd_eps: Any = 1e-3
    rd_dt: Any = 0.1
    rd_bound: Any = 5.0
    rd_init_noise: Any = 0.3
    swap_at: Any = 0  # environment change (Dynamic RL's study): swap the two action channels from this step on


PPO_FIELDS = tuple(f for f in PPOHParams._fields if f not in RD_FIELDS)
CELL_CHOICES = tuple(CELLS)


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Recurrent PPO configuration: fields above `hparams` fix shapes or the program and are static.
    Defaults: PureJaxRL's PPO-RNN (GRU 128, 4 envs x 128 steps, 4 epochs x 4 minibatches) on fully observed
    CartPole. Presets (PRESETS) give the papers' configurations."""

    env_id: str = "CartPole-v1"
    env_args: tuple[tuple[str, Any], ...] = ()
    obs_mask: Any = obs_mask_field()
    cell: str = "gru"
    hidden_size: int = 128
    head_hidden: int = 128  # width of the one tanh hidden layer of actor and critic (0: linear heads)
    meta_rl: bool = False  # feed the previous action and reward (RTRRL's input)
    log_std: str = "param"  # continuous actions: "param" (state-independent, learned) or "head" (actor output)
    guide: bool = False  # RD-PPO: blend fixed reaction-diffusion dynamics into the logits
    num_envs: int = 4
    num_steps: int = 128
    update_epochs: int = 4
    num_minibatches: int = 4
    total_steps: int = 524_288  # environment steps per learner (all its envs together): 1024 updates
    eval_every: int = 65_536
    eval_episodes: int = 10
    eval_greedy: bool = False
    hparams: PPOHParams = PPOHParams()

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def eval_unit(self) -> int:
        """eval_every is a whole number of updates."""
        return self.steps_per_update

    def validate(self) -> EnvSpec:
        """Check every field (one ValueError naming every invalid one) and build the environment spec."""
        with FieldErrors() as errors:
            for name in ("hidden_size", "num_envs", "num_steps", "update_epochs", "num_minibatches", "total_steps",
                         "eval_every", "eval_episodes"):
                errors.check(check_positive_int, name, getattr(self, name))
            errors.require(not isinstance(self.head_hidden, bool) and isinstance(self.head_hidden, int)
                           and self.head_hidden >= 0,
                           f"head_hidden: must be a non-negative integer, got {self.head_hidden!r}")
            errors.check(check_choice, "cell", self.cell, CELL_CHOICES)
            errors.check(check_choice, "log_std", self.log_std, ("param", "head"))
            errors.check(check_multiple, "num_envs", self.num_envs, "num_minibatches", self.num_minibatches)
            errors.check(check_multiple, "eval_every", self.eval_every, "num_envs x num_steps", self.steps_per_update)
            errors.check(check_multiple, "total_steps", self.total_steps, "num_envs x num_steps", self.steps_per_update)
            errors.check(check_divides, self.total_steps, self.eval_every)
            hp = self.hparams
            for name in ("lr", "clip_eps", "max_grad_norm", "reward_scale", "dt", "tau_init_low", "tau_init_high",
                         "rd_dt", "rd_bound", "rd_eps"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=0.0, low_open=True)
            for name in ("discount", "gae_lambda", "anneal_lr", "beta"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=0.0, high=1.0)
            for name in ("ent_coef", "vf_coef", "gain", "gamma", "D_a", "D_h", "rho_a", "rho_h", "mu_a", "mu_h",
                         "rd_init_noise"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=0.0)
            errors.check(check_finite, "hparams.init_log_std", hp.init_log_std)
            errors.check(check_finite, "hparams.swap_at", hp.swap_at, low=0.0)
            for name in ("tau_lower", "tau_upper"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=1.0)
            spec = errors.check(make_env, self.env_id, dict(self.env_args), self.obs_mask)
            errors.require(spec is None or not self.guide or spec.discrete,
                           f"guide: reaction-diffusion guidance blends into logits and needs discrete actions; "
                           f"{self.env_id} has continuous actions")
        return spec


# The papers' configurations; a preset fills fields (and, under "hparams", numbers) the user did not set.
PRESETS: dict[str, dict[str, Any]] = {
    # RTRRL's comparison: the same 32-unit CT-RNN with linear heads and the same Meta-RL input, trained by BPTT.
    "rtrrl": dict(cell="ctrnn", hidden_size=32, head_hidden=0, meta_rl=True),
    # Huang, Singh & Rajan: 64-unit vanilla RNN, 64-unit tanh policy and value heads, Pendulum-v1,
    # 1024 environment steps per update, 100 updates (angle-only: obs_mask "0,1", cos and sin of theta).
    # The PPO numbers are ours (the paper gives none): with PureJaxRL's CartPole settings PPO does not learn
    # Pendulum in 100 updates; 10 epochs, lr 1e-3 and rewards scaled by 0.1 do (benchmarks/results/).
    "huang": dict(cell="rnn", hidden_size=64, head_hidden=64, env_id="Pendulum-v1", num_envs=8, num_steps=128,
                  num_minibatches=4, update_epochs=10, total_steps=102_400, eval_every=10_240,
                  hparams=dict(lr=1e-3, reward_scale=0.1)),
    # Dynamic RL's conventional comparator: the same 300-neuron MTRNN actor (200 fast, 100 slow neurons, slow
    # self-feedback at spectral radius 3) with linear heads in place of its tanh output neurons, trained by BPTT
    # with Gaussian exploration noise, on Dynamic RL's default task.
    "dynamic-rl": dict(cell="mtrnn", hidden_size=300, head_hidden=0, env_id="seq-nav", num_envs=8, num_steps=128,
                       total_steps=204_800, eval_every=20_480, hparams=dict(gain=3.0)),
}


class PPOParams(NamedTuple):
    cell: Any
    actor: tuple  # ((W, b), ...) tanh MLP layers; the last is linear
    critic: tuple
    log_std: Array  # (A,) state-independent log sigma (continuous, log_std="param"); () otherwise


class EnvCarry(NamedTuple):
    """What each of a learner's environments carries between steps (leading axis: num_envs)."""

    env_state: Any
    obs: Array  # current observation o_t
    h: Array  # recurrent state before the next cell step (already zero at an episode start)
    prev_action: Array
    prev_reward: Array
    start: Array  # o_t is the first observation of an episode
    rd: Any  # RDState (guide) or ()
    ep_return: Array


class PPOState(NamedTuple):
    params: PPOParams
    opt_state: Any
    envs: EnvCarry
    rd0: Any  # fixed RD start pattern (guide) or ()
    key: Array
    hp: PPOHParams
    step: Array  # environment steps taken (all envs)
    diverged_at: Array


class Transition(NamedTuple):
    """One rollout step of every environment (time-major rollouts stack these)."""

    x: Array
    start: Array
    guide: Any  # RD readout y_t blended into the logits, or ()
    action: Array
    log_prob: Array
    value: Array
    reward: Array
    terminated: Array
    done: Array
    next_value: Array  # V of the next state (of the final observation when the step truncated)


class PPOLearner(NamedTuple):
    config: PPOConfig
    spec: EnvSpec
    policy: Policy
    init: Callable[..., PPOState]
    rollout: Callable[[PPOState], tuple[PPOState, Transition, Array, EnvCarry]]
    update: Callable[[PPOState], tuple[PPOState, UpdateReport]]  # rollout + epochs (dynjax.agents.driver)
    closed_loop: Callable[[PPOState], ClosedLoop]
    parameters: Callable[[PPOState], PPOParams]
    diagnostics: None
    train_metrics: tuple[str, ...]
    forward: Callable[..., tuple[Array, Array, Array]]
    replay: Callable[..., tuple[Array, Array]]  # (params, h0, one env's transitions, hp) -> (outputs, values)
    minibatch_envs: Callable[[Array], Array]


def _mlp_init(key: Array, sizes: list[int], out_scale: float) -> tuple:
    """W ~ N(0, scale^2 / fan_in) with scale sqrt 2 for hidden layers and out_scale for the output layer (the
    gains of PureJaxRL's orthogonal init; a Gaussian, because jaxlib's batched CPU QR can deadlock when two
    of its calls share the thread pool), zero biases."""
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for i, k in enumerate(keys):
        scale = out_scale if i == len(keys) - 1 else jnp.sqrt(2.0)
        W = scale * jax.random.normal(k, (sizes[i + 1], sizes[i])) / jnp.sqrt(sizes[i])
        layers.append((W, jnp.zeros((sizes[i + 1],))))
    return tuple(layers)


def _mlp(layers: tuple, x: Array) -> Array:
    for W, b in layers[:-1]:
        x = jnp.tanh(W @ x + b)
    W, b = layers[-1]
    return W @ x + b


def _mlp_rows(layers: tuple, x: Array) -> Array:
    """_mlp on the last axis of x (..., in) -> (..., out): one matrix product per layer over all leading axes,
    with the features last (the layout the batched products and their gradients want)."""
    for W, b in layers[:-1]:
        x = jnp.tanh(x @ W.T + b)
    W, b = layers[-1]
    return x @ W.T + b


def _hold_transposed(params: Any, back: bool = False) -> Any:
    """Every matrix of `params` transposed (back=False: before a loop, materialised: the barrier keeps XLA from
    folding it away) or transposed back (back=True: inside the loop body). The values are the same; what changes
    is that the loop's products W @ x, batched over environments, then read weights laid out the way XLA's CPU
    matmul is fast with (it folds a transpose made inside the loop into the product, which is several times
    slower)."""
    flipped = jax.tree.map(lambda w: w.T if w.ndim == 2 else w, params)
    return flipped if back else jax.lax.optimization_barrier(flipped)


def make_learner(config: PPOConfig) -> PPOLearner:
    """Validate `config` and build the pure functions of one PPO learner."""
    spec = config.validate()
    env, env_params = spec.env, spec.params
    cell = CELLS[config.cell]
    policy: Policy = categorical(spec.n_actions) if spec.discrete else diag_gaussian(spec.n_actions)
    n_act_feat = policy.action_features(policy.null_action).shape[0]
    n_in = spec.obs_dim + (n_act_feat + 1 if config.meta_rl else 0)
    H, E, T = config.hidden_size, config.num_envs, config.num_steps
    heads_out = spec.n_actions if (spec.discrete or config.log_std == "param") else 2 * spec.n_actions
    n_updates = config.total_steps // config.steps_per_update
    mlp_sizes = lambda out: [H] + ([config.head_hidden] if config.head_hidden else []) + [out]  # noqa: E731

    inputs = meta_input(policy, config.meta_rl)  # o_t first: the guide reads it back from x_t (closed_loop)

    def heads(params: PPOParams, h: Array) -> tuple[Array, Array]:
        """(policy output, V(h)) of one state."""
        h = cell.readout(h)
        out = _mlp(params.actor, h)
        if not spec.discrete and config.log_std == "param":
            out = jnp.concatenate([out, params.log_std])
        return out, _mlp(params.critic, h)[0]

    def heads_rows(params: PPOParams, hs: Array) -> tuple[Array, Array]:
        """heads of many states at once: hs (..., H) -> (policy outputs (..., out), values (...))."""
        hs = cell.readout(hs)
        out = _mlp_rows(params.actor, hs)
        if not spec.discrete and config.log_std == "param":
            out = jnp.concatenate([out, jnp.broadcast_to(params.log_std, out.shape)], axis=-1)
        return out, _mlp_rows(params.critic, hs)[..., 0]

    def forward(params: PPOParams, h: Array, x: Array, hp: PPOHParams) -> tuple[Array, Array, Array]:
        """One step of one environment: (h_t, policy output, V(h_t))."""
        h = cell.step(params.cell, h, x, hp)
        return (h, *heads(params, h))

    def value_after(params: PPOParams, h: Array, x: Array, hp: PPOHParams) -> Array:
        """V after one more cell step (the critic only: bootstrap values need no policy)."""
        return _mlp(params.critic, cell.readout(cell.step(params.cell, h, x, hp)))[0]

    def init_params(key: Array, hp: PPOHParams) -> PPOParams:
        k_cell, k_actor, k_critic = jax.random.split(key, 3)
        log_std = (jnp.full((spec.n_actions,), hp.init_log_std) if not spec.discrete and config.log_std == "param"
                   else jnp.zeros((0,)))
        actor = _mlp_init(k_actor, mlp_sizes(heads_out), 0.01)
        if not spec.discrete and config.log_std == "head":  # start at sigma = exp(init_log_std)
            W, b = actor[-1]
            actor = actor[:-1] + ((W, b.at[spec.n_actions:].set(hp.init_log_std)),)
        return PPOParams(cell=cell.init(k_cell, n_in, H, hp), actor=actor, critic=_mlp_init(k_critic, mlp_sizes(1), 1.0),
                         log_std=log_std)

    def optimizer(hp: PPOHParams) -> optax.GradientTransformation:
        return optax.chain(optax.clip_by_global_norm(hp.max_grad_norm), optax.scale_by_adam(eps=1e-5))

    def fresh_carry(obs: Array, env_state: Any, rd0: Any) -> EnvCarry:
        return EnvCarry(env_state=env_state, obs=obs, h=jnp.zeros((H,)), prev_action=policy.null_action,
                        prev_reward=jnp.zeros(()), start=jnp.ones((), bool), rd=rd0, ep_return=jnp.zeros(()))

    def init(key: Array, hp: PPOHParams | None = None) -> PPOState:
        hp = hparam_arrays(config.hparams if hp is None else hp)
        k_params, k_env, k_run = jax.random.split(key, 3)
        params = init_params(k_params, hp)
        # The RD pattern comes from a fold of the key, so plain PPO's random stream is the same with or without it.
        rd0 = rd_init(jax.random.fold_in(key, 0x5D), spec.obs_dim, spec.n_actions, hp) if config.guide else ()
        obs, env_state = jax.vmap(env.reset, (0, None))(jax.random.split(k_env, E), env_params)
        envs = jax.vmap(fresh_carry, (0, 0, None))(obs, env_state, rd0)
        return PPOState(params=params, opt_state=optimizer(hp).init(params), envs=envs, rd0=rd0, key=k_run, hp=hp,
                        step=jnp.zeros((), jnp.int32), diverged_at=jnp.full((), -1, jnp.int32))

    def guide_step(rd: Any, obs: Array, hp: PPOHParams) -> tuple[Any, Array]:
        """Advance the RD state one step and read it out on the observation: (rd_t, y_t)."""
        rd = rd_step(rd, hp)
        return rd, rd_readout(rd, obs)

    def guided(out: Array, rd: Any, obs: Array, hp: PPOHParams) -> tuple[Array, Any, Any]:
        """Step the RD state and blend its readout into the logits (identity without a guide)."""
        if not config.guide:
            return out, rd, ()
        rd, y = guide_step(rd, obs, hp)
        return blend(out, y, hp.beta), rd, y

    def env_step(params: PPOParams, hp: PPOHParams, rd0: Any, step: Array, c: EnvCarry,
                 key: Array) -> tuple[EnvCarry, Transition]:
        """Act in one environment and advance its carry (reset on terminated or truncated). `step`: the
        learner's environment steps at the rollout's start (the channel swap of hp.swap_at acts from there)."""
        k_act, k_env = jax.random.split(key)
        x = inputs(c.obs, c.prev_action, c.prev_reward)
        h, out, v = forward(params, c.h, x, hp)
        out, rd, y = guided(out, c.rd, c.obs, hp)
        action = policy.sample(k_act, out)
        obs, env_state, reward, terminated, truncated, info = env.step(
            k_env, c.env_state, swap_from(action, step, hp.swap_at), env_params)
        done = jnp.logical_or(terminated, truncated)
        # The input of the observation the step really produced (before the auto-reset) and the state it meets:
        # V after one more cell step on them bootstraps a truncation (computed after the rollout, where needed).
        x_final = inputs(info["final_observation"], action, reward)
        ep_return = c.ep_return + reward
        nxt = EnvCarry(env_state=env_state, obs=obs, h=jnp.where(done, 0.0, h),
                       prev_action=jnp.where(done, policy.null_action, action),
                       prev_reward=jnp.where(done, 0.0, reward), start=done,
                       rd=jax.tree.map(lambda r0, r: jnp.where(done, r0, r), rd0, rd),
                       ep_return=jnp.where(done, 0.0, ep_return))
        tr = Transition(x=x, start=c.start, guide=y, action=action, log_prob=policy.log_prob(out, action), value=v,
                        reward=reward, terminated=terminated, done=done, next_value=jnp.zeros(()))
        return nxt, (tr, jnp.where(done, ep_return, jnp.nan), (h, x_final))

    def truncation_values(params: PPOParams, hp: PPOHParams, hs: Array, xs: Array, truncated: Array) -> Array:
        """value_after(h_t, x_final_t) at the truncated steps of a rollout (hs (T, E, H), xs (T, E, I),
        truncated (T, E)), zero elsewhere. Truncations are rare, so only they are evaluated: gathered E at a time,
        for as many rounds as there are truncations (usually none or one) instead of at every step."""
        n = T * E
        flat = truncated.reshape(n)
        count = jnp.sum(flat)
        order = jnp.nonzero(flat, size=n, fill_value=0)[0]  # the truncated steps first
        hs, xs = hs.reshape(n, -1), xs.reshape(n, -1)

        def body(carry):
            i, values = carry
            rows = jax.lax.dynamic_slice(order, (i * E,), (E,))
            v = jax.vmap(value_after, (None, 0, 0, None))(params, hs[rows], xs[rows], hp)
            rows = jnp.where(i * E + jnp.arange(E) < count, rows, n)  # past the last truncation: dropped
            return i + 1, values.at[rows].set(v, mode="drop")

        _, values = jax.lax.while_loop(lambda c: c[0] * E < count, body, (jnp.zeros((), jnp.int32), jnp.zeros(n)))
        return values.reshape(T, E)

    def rollout(s: PPOState) -> tuple[PPOState, Transition, Array, EnvCarry]:
        """num_steps steps of every environment; returns the time-major transitions (T, E, ...), the returns of
        episodes that ended (nan elsewhere) and the carries at the rollout's start."""
        held = _hold_transposed(s.params)

        def step(carry, _):
            envs, key = carry
            key, k = jax.random.split(key)
            params = _hold_transposed(held, back=True)
            envs, out = jax.vmap(env_step, (None, None, None, None, 0, 0))(params, s.hp, s.rd0, s.step, envs,
                                                                            jax.random.split(k, E))
            return (envs, key), out

        (envs, key), (traj, ep_returns, (hs, xs_final)) = jax.lax.scan(step, (s.envs, s.key), None, length=T)
        truncated = traj.done & ~traj.terminated
        # V of the state after the last step bootstraps the rollout's tail; earlier steps use the next step's V.
        x_last = jax.vmap(inputs)(envs.obs, envs.prev_action, envs.prev_reward)
        v_last = jax.vmap(value_after, (None, 0, 0, None))(s.params, envs.h, x_last, s.hp)
        v_next = jnp.concatenate([traj.value[1:], v_last[None]])
        v_final = truncation_values(s.params, s.hp, hs, xs_final, truncated)
        traj = traj._replace(next_value=jnp.where(truncated, v_final, v_next))
        return s._replace(envs=envs, key=key, step=s.step + E * T), traj, ep_returns, s.envs

    def minibatch_envs(key: Array) -> Array:
        """A random partition of the environments into num_minibatches sets (rows): whole sequences."""
        return jax.random.permutation(key, E).reshape(config.num_minibatches, E // config.num_minibatches)

    def sequence_states(params: PPOParams, h0: Array, x: Array, start: Array, hp: PPOHParams) -> Array:
        """Re-run one environment's cell over its sequence (x (T, I), start (T,)): the states h_t (T, H)."""
        def step(h, inp):
            x_t, start_t = inp
            h = cell.step(params.cell, jnp.where(start_t, 0.0, h), x_t, hp)
            return h, h

        return jax.lax.scan(step, h0, (x, start))[1]

    def sequence_outputs(params: PPOParams, h0: Array, traj: Transition, hp: PPOHParams) -> tuple[Array, Array]:
        """Re-run one environment's sequence with BPTT: (policy outputs (T, out), values (T,)). Only the cell
        is scanned; the heads run on all T states at once (large matrix products instead of T small ones)."""
        outs, values = heads_rows(params, sequence_states(params, h0, traj.x, traj.start, hp))
        return (blend(outs, traj.guide, hp.beta) if config.guide else outs), values

    def loss(params: PPOParams, h0: Array, traj: Transition, adv: Array, targets: Array, hp: PPOHParams):
        """PPO loss of a minibatch of whole sequences: h0 (M, H), traj leaves (T, M, ...). The cell is scanned
        per environment; the heads run once on all (T, M) states."""
        hs = jax.vmap(sequence_states, (None, 0, 1, 1, None), 1)(params, h0, traj.x, traj.start, hp)
        outs, values = heads_rows(params, hs)
        if config.guide:
            outs = blend(outs, traj.guide, hp.beta)
        log_prob = jax.vmap(jax.vmap(policy.log_prob))(outs, traj.action)
        entropy = jnp.mean(jax.vmap(jax.vmap(policy.entropy))(outs))
        ratio = jnp.exp(log_prob - traj.log_prob)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - hp.clip_eps, 1.0 + hp.clip_eps) * adv)
        v_clip = traj.value + jnp.clip(values - traj.value, -hp.clip_eps, hp.clip_eps)
        v_loss = 0.5 * jnp.mean(jnp.maximum((values - targets) ** 2, (v_clip - targets) ** 2))
        return -jnp.mean(surrogate) + hp.vf_coef * v_loss - hp.ent_coef * entropy

    def update(s: PPOState) -> tuple[PPOState, UpdateReport]:
        """One PPO update: rollout, GAE, epochs x minibatches of gradient steps. Reports the returns of the
        episodes that ended in the rollout; the last minibatch's loss must stay finite."""
        hp = s.hp
        n_done = s.step // config.steps_per_update
        lr = hp.lr * (1.0 - hp.anneal_lr * n_done / n_updates)
        s, traj, ep_returns, start_carry = rollout(s)
        adv, targets = gae(hp.reward_scale * traj.reward, traj.value, traj.next_value, traj.terminated, traj.done, hp.discount,
                           hp.gae_lambda)
        grad_fn = jax.value_and_grad(loss)
        opt = optimizer(hp)

        def minibatch(carry, idx):
            params, opt_state = carry
            take = lambda x: jnp.take(x, idx, axis=1)  # noqa: E731  (env axis of time-major arrays)
            value, grads = grad_fn(params, start_carry.h[idx], jax.tree.map(take, traj), take(adv), take(targets), hp)
            updates, opt_state = opt.update(grads, opt_state)
            params = jax.tree.map(lambda p, u: p - lr * u, params, updates)
            return (params, opt_state), value

        def epoch(carry, key):
            return jax.lax.scan(minibatch, carry, minibatch_envs(key))

        key, k_epochs = jax.random.split(s.key)
        (params, opt_state), losses = jax.lax.scan(epoch, (s.params, s.opt_state),
                                                   jax.random.split(k_epochs, config.update_epochs))
        finished = ~jnp.isnan(ep_returns)
        s = s._replace(params=params, opt_state=opt_state, key=key)
        return s, UpdateReport(return_sum=jnp.sum(jnp.where(finished, ep_returns, 0.0)), return_count=jnp.sum(finished),
                               bad_at=first_bad(~jnp.isfinite(losses[-1, -1]), s.step), means={})

    def closed_loop(s: PPOState) -> ClosedLoop:
        """The frozen agent: the cell, its Meta-RL input and the evaluation policy (greedy if eval_greedy), with
        the channel swap as the environment is at this step. With the guide, the loop's state is (h, RD state,
        RD readout y): each step also advances the RD state and reads it out on the observation (the first
        obs_dim entries of x_t), and the action's logits are blended with y, as when the agent acts in training."""
        p, hp = s.params, s.hp

        def act(h, key):
            out = heads(p, h[0] if config.guide else h)[0]
            if config.guide:
                out = blend(out, h[2], hp.beta)
            a = policy.mode(out) if config.eval_greedy else policy.sample(key, out)
            return swap_from(a, s.step, hp.swap_at)

        if not config.guide:
            return ClosedLoop(h0=jnp.zeros((H,)), step=lambda h, x: cell.step(p.cell, h, x, hp), inputs=inputs,
                              act=act, null_action=policy.null_action)

        def step(h, x):
            h_cell, rd, _ = h
            return cell.step(p.cell, h_cell, x, hp), *guide_step(rd, x[:spec.obs_dim], hp)

        y0 = jnp.zeros((policy.out_dim,))
        return ClosedLoop(h0=(jnp.zeros((H,)), s.rd0, y0), step=step, inputs=inputs, act=act,
                          null_action=policy.null_action)

    return PPOLearner(config=config, spec=spec, policy=policy, init=init, rollout=rollout, update=update,
                      closed_loop=closed_loop, parameters=lambda s: s.params, diagnostics=None, train_metrics=(),
                      forward=forward, replay=sequence_outputs, minibatch_envs=minibatch_envs)


def make_train(config: PPOConfig) -> Callable[..., tuple[PPOState, EvalMetrics]]:
    """`train(key, hparams=None) -> (final_state, metrics)`, one entry per evaluation point (step 0 included)."""
    return driver.make_train(make_learner(config))

"""Dynamic RL (Shibata 2025, arXiv 2502.10200): a chaotic MTRNN actor trained through its neurons' sensitivity.

The actor (dynjax.cells.mtrnn) acts deterministically, a_t = tanh(U^out_t) in [-1, 1] scaled to the action
bounds: exploration comes from its chaotic dynamics in the loop with the environment, not from noise. It is
never trained by backpropagation; every neuron j learns online and locally (dynjax.rules.sensitivity):

    s_j = f'(U_j) ||w_j||,    s_bar_j <- beta_s s_bar_j + (1 - beta_s) s_j,    G_j <- lambda_s G_j + grad s_j
    SAL  (s_bar_j < s_th):   theta_j += eta_SAL grad s_j
    SRL  (otherwise):        theta_j -= eta_SRL T(delta_t) G_j
    output neurons with |U| > U_max also descend U^2/2 (saturation regulariser)

delta_t = r_t + gamma (1 - terminated_t) V_{t+1} - V_t is the TD error of the transition the actor's step t
produced, from a recurrent critic that sees the observations:

    critic = "bptt" (the paper's): an Elman RNN h_t = tanh(W [o_t ; h_{t-1} ; 1]), V = w.h + b, trained on
             0.5 (r + gamma (1 - term) sg(V_{t+1}) - V_t)^2 by truncated BPTT over windows of `critic_window`
             steps, the hidden state carried across windows (Adam, lr_critic);
    critic = "rflo" (the paper's first open question, a critic without BPTT): the same network as a CT-RNN
             with learned taus, its gradient estimated online by RFLO (dynjax.rules.rflo) and TD(lambda).
Critic raising: when the running mean of V (rate beta_v) is below v_floor, the critic's output bias rises by
eta_raise per step, so stagnation yields negative TD errors and SRL restores exploration.
At an episode start the actor's and critic's states and traces are reset; s_bar persists (a property of the
neuron, not of the episode). Environment change: from step `hparams.swap_at` on (a vmappable number), the
actor's two output channels are swapped before they reach the environment (dynjax.envs.change).

The paper's comparator (actor = "bptt"; registered as the algorithm "mtrnn-bptt"): conventional actor-critic RL
on the same MTRNN actor and the same critic. The actor acts with exploration noise on its outputs,
a_t = clip(tanh(U^out_t) + sigma n_t, -1, 1), n_t ~ N(0, I), and its output moves toward the action it took,
weighted by the TD error of that transition, with gradients by truncated BPTT through the MTRNN over the
critic's windows (the actor's state carried across them, Adam with lr_actor):

    L_actor = mean_t  sg(delta_t) * 0.5 ||tanh(U^out_t(theta)) - sg(a_t)||^2
(descending it pulls o_t toward a_t where delta_t > 0 and pushes it away where delta_t < 0). No SAL, SRL or
output regulariser acts on it; it is evaluated on its noise-free output (its noisy behaviour shows in
train_success). Adam and the loss's form are ours: the paper says only "BPTT with exploration noise".
SAL on output neurons: `sal_output`; False (the default) leaves the output neurons to SRL and the regulariser.

Constants the paper does not give (s_th, eta_SAL, eta_SRL, the TD transform, SAL on the outputs; the
comparator's lr_actor and noise_std) are the choice of a documented search on seeds the table does not use
(benchmarks/dynamic_rl_search.py, benchmarks/results/dynamic_rl_search.md): s_th = 0.5, eta_SAL = eta_SRL =
1e-3, the raw TD error, no SAL on the outputs; lr_actor = 1e-4, noise_std = 0.3.

Evaluation adds to the returns and success rate (the diagnostics the driver records): the exploration exponent, the
finite-time largest Lyapunov exponent of the closed loop (actor + environment, learning frozen) by two
trajectories, d0 = 1e-6 on the actor state (dynjax.analysis.largest_lyapunov); the fraction of saturated
outputs (|o| > 0.95) and the log-RMS sensitivity of each layer, recorded along the exponent's reference run.

Precision. The exponent's probe runs in float64 (a separation of d0 = 1e-6 is a few float32 rounding steps of
the potentials), so the agent is traced under x64 (`ALGORITHMS["dynamic-rl"].float64`; the runner enables it)
and the probe casts the frozen actor to float64 (exactly). The learning itself runs in `train_dtype`: float32
by default, about twice as fast (half the bytes per pass over the 51k weights and their traces); "float64"
trains as this module did before (benchmarks/dynamic_rl_precision.py compares the two on both tasks).
The environment keeps the default float type (float64 under x64); its observations and rewards enter the
learner in `train_dtype`. The SRL gradient trace G is carried only when the config's lambda_s is nonzero
(with lambda_s = 0, G is the step's own gradient): a sweep of lambda_s compiles it in through `base_hparams`.
"""

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from dynjax.agents import driver
from dynjax.agents.driver import UpdateReport, hparam_arrays
from dynjax.agents.evaluation import EvalMetrics
from dynjax.analysis.closed_loop import ClosedLoop, closed_loop_lyapunov
from dynjax.cells.ctrnn import CTRNNParams, ctrnn_init, ctrnn_step
from dynjax.cells.mtrnn import LeakyLayer, MTRNNParams, MTRNNState, MTRNNTaus, mtrnn_init, mtrnn_step, mtrnn_zero_state
from dynjax.config import FieldErrors, check_choice, check_divides, check_finite, check_multiple, check_positive_int
from dynjax.envs.adapter import EnvSpec, make_env, obs_mask_field
from dynjax.envs.change import swap_from
from dynjax.rules.rflo import rflo
from dynjax.rules.sensitivity import (TD_TRANSFORMS, InputTrace, input_trace_init, input_trace_update, log_rms,
                                      sal_srl_update, saturation_regulariser, sensitivity, sensitivity_grad,
                                      td_transform)
from dynjax.rules.td import td_error

Array = jax.Array
LAYERS = ("lower", "upper", "output")
TRAIN_DTYPES = ("float32", "float64")
ACTORS = ("sensitivity", "bptt")
SENSITIVITY_HPARAMS = ("s_th", "beta_s", "eta_sal", "eta_srl", "lambda_s", "eta_reg", "u_max")  # the actor's rules
BPTT_ACTOR_HPARAMS = ("noise_std", "lr_actor")
SATURATED = 0.95  # |o| above this counts as a saturated output


class DynamicRLHParams(NamedTuple):
    """Numeric hyperparameters (array leaves, vmappable). Sizes-free constants are ours where the paper is
    silent (../shared/reference/dynamic_rl.md marks which)."""

    tau_lower: Any = 2.0
    tau_upper: Any = 10.0
    tau_output: Any = 1.0
    radius: Any = 3.0  # spectral radius of the upper layer's self-feedback at initialisation
    s_th: Any = 0.5  # SAL threshold on the moving-average sensitivity (benchmarks/dynamic_rl_search.py)
    beta_s: Any = 0.99  # rate of the moving average of s
    eta_sal: Any = 1e-3
    eta_srl: Any = 1e-3
    lambda_s: Any = 0.0  # sensitivity-gradient trace for SRL (0: the step's own gradient)
    eta_reg: Any = 1e-3  # output saturation regulariser
    u_max: Any = 2.0
    discount: Any = 0.97
    lr_critic: Any = 1e-3
    lambda_critic: Any = 0.9  # TD(lambda) of the RFLO critic
    v_floor: Any = 0.0  # critic raising: running mean of V below this raises the output bias
    beta_v: Any = 0.999
    eta_raise: Any = 1e-4
    d0: Any = 1e-6  # exploration exponent: initial separation on the actor state (the probe runs in float64)
    swap_at: Any = 0  # environment change: swap the two action channels from this step on (0: never)
    noise_std: Any = 0.3  # actor = "bptt": exploration noise sigma on the outputs (in [-1, 1] units)
    lr_actor: Any = 1e-4  # actor = "bptt": Adam learning rate of the actor's BPTT update
    # a run recorded before these existed used the sensitivity actor, on which they act not at all
    ABSENT_MEANS = {"noise_std": 0.3, "lr_actor": 1e-4}


@dataclasses.dataclass(frozen=True)
class DynamicRLConfig:
    """Dynamic RL configuration; fields above `hparams` are static (shapes, program), `hparams` vmappable."""

    env_id: str = "seq-nav"
    env_args: tuple[tuple[str, Any], ...] = ()
    obs_mask: Any = obs_mask_field()
    n_lower: int = 200
    n_upper: int = 100
    actor: str = dataclasses.field(default="sensitivity", metadata={
        "help": "the actor's learning: sensitivity (Dynamic RL: SAL + SRL) | bptt (the paper's comparator: "
                "exploration noise, TD-weighted pull toward the taken action, truncated BPTT)",
        "absent_means": "sensitivity"})
    sal: bool = True  # False: the "no SAL" ablation
    sal_output: bool = dataclasses.field(default=False, metadata={
        "help": "SAL acts on the output neurons too (False, chosen by benchmarks/dynamic_rl_search.py: they "
                "learn by SRL and the regulariser only)",
        "absent_means": True})
    td_transform: str = "raw"  # raw | sign | clip (to [-1, 1])
    critic: str = "bptt"  # bptt (Elman RNN, truncated BPTT) | rflo (CT-RNN, RFLO + TD(lambda))
    critic_hidden: int = 64
    critic_window: int = 32  # truncated-BPTT window K (steps)
    train_dtype: str = "float32"  # float32 | float64: the learning's precision (the exponent's probe: float64)
    total_steps: int = 200_320  # 20 evaluations
    eval_every: int = 10_016  # a multiple of critic_window
    eval_episodes: int = 10
    exponent_steps: int = 10  # steps between renormalisations (n)
    exponent_segments: int = 100  # segments (K)
    hparams: DynamicRLHParams = DynamicRLHParams()

    @property
    def eval_unit(self) -> int:
        """eval_every is a whole number of critic windows."""
        return self.critic_window

    def validate(self) -> EnvSpec:
        """Check every field (one ValueError naming every invalid one) and build the environment spec."""
        with FieldErrors() as errors:
            for name in ("n_lower", "n_upper", "critic_hidden", "critic_window", "total_steps", "eval_every",
                         "eval_episodes", "exponent_steps", "exponent_segments"):
                errors.check(check_positive_int, name, getattr(self, name))
            errors.check(check_choice, "td_transform", self.td_transform, TD_TRANSFORMS)
            errors.check(check_choice, "critic", self.critic, ("bptt", "rflo"))
            errors.check(check_choice, "actor", self.actor, ACTORS)
            errors.check(check_choice, "train_dtype", self.train_dtype, TRAIN_DTYPES)
            errors.check(check_multiple, "eval_every", self.eval_every, "critic_window", self.critic_window)
            errors.check(check_multiple, "total_steps", self.total_steps, "critic_window", self.critic_window)
            errors.check(check_divides, self.total_steps, self.eval_every)
            hp = self.hparams
            for name in ("tau_lower", "tau_upper", "tau_output"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=1.0)
            for name in ("radius", "s_th", "eta_sal", "eta_srl", "eta_reg", "lr_critic", "eta_raise", "noise_std",
                         "lr_actor"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=0.0)
            for name in ("beta_s", "lambda_s", "discount", "lambda_critic", "beta_v"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=0.0, high=1.0)
            errors.check(check_finite, "hparams.u_max", hp.u_max, low=0.0, low_open=True)
            errors.check(check_finite, "hparams.d0", hp.d0, low=0.0, low_open=True)
            errors.check(check_finite, "hparams.v_floor", hp.v_floor)
            errors.check(check_finite, "hparams.swap_at", hp.swap_at, low=0.0)
            spec = errors.check(make_env, self.env_id, dict(self.env_args), self.obs_mask)
            if spec is not None:
                errors.require(not spec.discrete, f"env_id: Dynamic RL's actor outputs continuous actions; "
                                                  f"{self.env_id} is discrete")
                errors.require(spec.n_actions == 2 or not jnp.any(jnp.asarray(hp.swap_at) > 0),
                               f"hparams.swap_at: the channel swap needs 2 action dimensions; {self.env_id} has "
                               f"{spec.n_actions}")
        return spec


class CriticParams(NamedTuple):
    body: CTRNNParams  # W (H, I + H + 1); tau fixed at 1 for the Elman critic
    w: Array
    b: Array


class ActorTraces(NamedTuple):
    """Per-layer leaky input traces and SRL gradient traces (reset at episode starts)."""

    inputs: tuple[InputTrace, InputTrace, InputTrace]
    G: MTRNNParams | tuple  # () when lambda_s = 0: G is then the step's own gradient, not carried


class DRLState(NamedTuple):
    """Floating leaves in the config's train_dtype, except hp and env_state (the default float type)."""

    actor: MTRNNParams
    actor_opt: Any  # Adam state of the BPTT actor (actor="bptt"), else ()
    u: MTRNNState
    traces: ActorTraces
    s_bar: tuple[Array, Array, Array]
    critic: CriticParams
    critic_opt: Any
    critic_h: Array  # critic state h^c_t, o_t already seen
    critic_trace: Any  # RFLO trace and TD(lambda) eligibility (critic="rflo"), else ()
    v_bar: Array
    env_state: Any
    obs: Array
    key: Array
    hp: DynamicRLHParams
    step: Array
    ep_return: Array
    ep_success: Array
    diverged_at: Array


class Record(NamedTuple):
    """One step as the BPTT critic (and the BPTT actor) replays it."""

    reward: Array
    terminated: Array
    done: Array
    final_obs: Array
    next_obs: Array
    obs: Array  # the actor's input at this step
    action: Array  # the action it took, in [-1, 1] (noisy for the BPTT actor)
    delta: Array  # the TD error of the transition


class DynamicRLLearner(NamedTuple):
    config: DynamicRLConfig
    spec: EnvSpec
    init: Callable[..., DRLState]
    step: Callable[[DRLState], tuple[DRLState, Any]]
    update: Callable[[DRLState], tuple[DRLState, UpdateReport]]  # one critic window (dynjax.agents.driver)
    closed_loop: Callable[[DRLState], ClosedLoop]
    parameters: Callable[[DRLState], Any]
    diagnostics: Callable[[DRLState], dict]  # the closed-loop probe: exploration exponent, saturation, log-RMS s
    train_metrics: tuple[str, ...]


def _layers(p: MTRNNParams) -> tuple[LeakyLayer, LeakyLayer, LeakyLayer]:
    return p.lower, p.upper, p.output


def _taus(hp: DynamicRLHParams) -> MTRNNTaus:
    return MTRNNTaus(hp.tau_lower, hp.tau_upper, hp.tau_output)


def cast_floats(tree: Any, dtype: Any) -> Any:
    """Every floating leaf of `tree` as `dtype` (other leaves unchanged)."""
    return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(jnp.result_type(x), jnp.floating) else x, tree)


def base_hparams(hp: DynamicRLHParams, grid: dict[str, Any]) -> DynamicRLHParams:
    """The base hyperparameters of a sweep's programs (Algorithm.base_hparams): the SRL gradient trace is
    compiled in only when the config's lambda_s is nonzero (see make_learner), so a grid that sweeps lambda_s
    gets its first nonzero value as the base."""
    nonzero = [float(v) for v in grid.get("lambda_s", ()) if float(v) != 0.0]
    return hp._replace(lambda_s=nonzero[0]) if nonzero else hp


def make_learner(config: DynamicRLConfig) -> DynamicRLLearner:
    """Validate `config` and build the pure functions of one Dynamic RL learner (trace and run them under
    jax.enable_x64(True)). The SRL gradient trace is in the program only if config.hparams.lambda_s is nonzero:
    hyperparameters passed to `init` with another lambda_s must keep it zero or nonzero alike."""
    spec = config.validate()
    env, env_params = spec.env, spec.params
    n_obs, n_act, H = spec.obs_dim, spec.n_actions, config.critic_hidden
    dtype = jnp.dtype(config.train_dtype)
    bptt_actor = config.actor == "bptt"
    srl_trace = float(config.hparams.lambda_s) != 0.0 and not bptt_actor
    learner_float = lambda x: jnp.asarray(x, dtype)  # noqa: E731 (observations, rewards: the environment's type)

    def to_env(a: Array, step: Array, hp: DynamicRLHParams) -> Array:
        """Actor output in [-1, 1] -> environment action (bounds), with the channel swap from step swap_at."""
        a = swap_from(a, step, hp.swap_at)
        return spec.low + (a + 1.0) * 0.5 * (spec.high - spec.low)

    # --- critic -------------------------------------------------------------------------------------------
    def critic_cell(cp: CriticParams, h: Array, obs: Array):
        return ctrnn_step(cp.body, h, obs, 1.0)

    def critic_value(cp: CriticParams, h: Array) -> Array:
        return cp.w @ h + cp.b

    def critic_init(key: Array, hp: DynamicRLHParams) -> CriticParams:
        tau_high = 5.0 if config.critic == "rflo" else 1.0
        body = ctrnn_init(key, n_obs, H, 1.0, 1.0, tau_high)
        return cast_floats(CriticParams(body=body, w=jnp.zeros((H,)), b=jnp.zeros(())), dtype)

    def adam_descent(params: Any, opt_state: Any, grad: Any, lr: Array) -> tuple[Any, Any]:
        """theta <- theta - lr Adam(grad) (the critic's and the BPTT actor's optimiser)."""
        updates, opt_state = optax.scale_by_adam().update(grad, opt_state)
        return jax.tree.map(lambda p, u: p - lr * u, params, updates), opt_state

    def critic_trace_start(cp: CriticParams, aux) -> Any:
        if config.critic != "rflo":
            return ()
        J = rflo.update(rflo.init(cp.body), cp.body, aux, 1.0)
        return (J, jax.tree.map(jnp.zeros_like, cp))

    def critic_start(cp: CriticParams, obs: Array):
        h, aux = critic_cell(cp, jnp.zeros((H,), dtype), obs)
        return h, critic_trace_start(cp, aux)

    def critic_apply(cp: CriticParams, opt_state: Any, ascent: CriticParams, hp: DynamicRLHParams):
        """theta <- theta + lr Adam(ascent); the Elman critic's tau stays 1, the CT-RNN's >= 1."""
        cp, opt_state = adam_descent(cp, opt_state, jax.tree.map(lambda g: -g, ascent), hp.lr_critic)
        tau = jnp.maximum(cp.body.tau, 1.0) if config.critic == "rflo" else jnp.ones_like(cp.body.tau)
        return cp._replace(body=cp.body._replace(tau=tau)), opt_state

    def window_loss(cp: CriticParams, h0: Array, recs: Record, hp: DynamicRLHParams) -> Array:
        """Mean squared TD error of a window, by BPTT from the state at its start (targets held fixed)."""
        def step(h, r):
            v = critic_value(cp, h)
            hb = critic_cell(cp, h, r.final_obs)[0]
            target = jax.lax.stop_gradient(td_error(r.reward, 0.0, critic_value(cp, hb), r.terminated, hp.discount))
            h_next = jnp.where(r.done, critic_cell(cp, jnp.zeros_like(h), r.next_obs)[0], hb)
            return h_next, 0.5 * (target - v) ** 2

        return jnp.mean(jax.lax.scan(step, jax.lax.stop_gradient(h0), recs)[1])

    # --- actor --------------------------------------------------------------------------------------------
    def fresh_traces(actor: MTRNNParams) -> ActorTraces:
        return ActorTraces(inputs=tuple(input_trace_init(l) for l in _layers(actor)),
                           G=jax.tree.map(jnp.zeros_like, actor) if srl_trace else ())

    def actor_window_loss(actor: MTRNNParams, u0: MTRNNState, recs: Record, hp: DynamicRLHParams) -> Array:
        """The BPTT actor's loss over a window, from its state at the window's start: mean over the steps of
        delta_t 0.5 ||o_t - a_t||^2 (delta and the taken action held fixed; the state restarts after an episode's
        last step, as it did when acting)."""
        def step(u, r):
            u, _ = mtrnn_step(actor, u, r.obs, _taus(hp))
            loss = r.delta * 0.5 * jnp.sum((jnp.tanh(u.output) - r.action) ** 2)
            return jax.tree.map(lambda x: jnp.where(r.done, 0.0, x), u), loss

        return jnp.mean(jax.lax.scan(step, jax.lax.stop_gradient(u0), recs)[1])

    def sensitivity_update(s: DRLState, u: MTRNNState, xs, delta: Array, hp: DynamicRLHParams):
        """Dynamic RL's per-step update of every actor layer: SAL or SRL per neuron, then the output regulariser.
        Returns the new actor, its traces and the sensitivities' moving averages."""
        layers, us = _layers(s.actor), (u.lower, u.upper, u.output)
        inputs = tuple(input_trace_update(tr, x, tau) for tr, x, tau in zip(s.traces.inputs, xs, _taus(hp)))
        sens = tuple(sensitivity(l, ui) for l, ui in zip(layers, us))
        grads = tuple(sensitivity_grad(l, ui, tr) for l, ui, tr in zip(layers, us, inputs))
        s_bar = tuple(hp.beta_s * sb + (1.0 - hp.beta_s) * sj for sb, sj in zip(s.s_bar, sens))
        G = jax.tree.map(lambda g, d: hp.lambda_s * g + d, s.traces.G, MTRNNParams(*grads)) if srl_trace else (
            MTRNNParams(*grads))
        off = -jnp.inf
        s_th = [hp.s_th if config.sal else off] * 2 + [hp.s_th if config.sal and config.sal_output else off]
        d = td_transform(delta, config.td_transform)
        new = [sal_srl_update(l, gr, g, sb, d, hp.eta_sal, hp.eta_srl, th)[0]
               for l, gr, g, sb, th in zip(layers, grads, _layers(G), s_bar, s_th)]
        new[2] = saturation_regulariser(new[2], u.output, inputs[2], hp.eta_reg, hp.u_max)
        return MTRNNParams(*new), ActorTraces(inputs=inputs, G=G if srl_trace else ()), s_bar

    def init(key: Array, hp: DynamicRLHParams | None = None) -> DRLState:
        hp = hparam_arrays(config.hparams if hp is None else hp, float)  # float64 under x64
        k_actor, k_critic, k_env, k_run = jax.random.split(key, 4)
        actor = cast_floats(mtrnn_init(k_actor, n_obs, config.n_lower, config.n_upper, n_act, hp.radius), dtype)
        critic = critic_init(k_critic, hp)
        obs, env_state = env.reset(k_env, env_params)
        obs = learner_float(obs)
        critic_h, critic_trace = critic_start(critic, obs)
        s_bar = tuple(sensitivity(l, jnp.zeros_like(l.b)) for l in _layers(actor))
        return DRLState(actor=actor, actor_opt=optax.scale_by_adam().init(actor) if bptt_actor else (),
                        u=mtrnn_zero_state(actor), traces=fresh_traces(actor), s_bar=s_bar,
                        critic=critic, critic_opt=optax.scale_by_adam().init(critic), critic_h=critic_h,
                        critic_trace=critic_trace, v_bar=jnp.ones((), dtype), env_state=env_state, obs=obs, key=k_run,
                        hp=hp, step=jnp.zeros((), jnp.int32), ep_return=jnp.zeros((), dtype),
                        ep_success=jnp.zeros((), bool), diverged_at=jnp.full((), -1, jnp.int32))

    def step(s: DRLState) -> tuple[DRLState, tuple[Record, Array, Array]]:
        """One environment step with the actor's online update (and the RFLO critic's, if chosen)."""
        hp = cast_floats(s.hp, dtype)
        key, k_env = jax.random.split(s.key)
        u, xs = mtrnn_step(s.actor, s.u, s.obs, _taus(hp))
        action = jnp.tanh(u.output)
        if bptt_actor:  # exploration noise on the outputs
            noise = jax.random.normal(jax.random.fold_in(k_env, 1), action.shape, dtype)
            action = jnp.clip(action + hp.noise_std * noise, -1.0, 1.0)
        obs, env_state, reward, terminated, truncated, info = env.step(k_env, s.env_state, to_env(action, s.step, hp),
                                                                       env_params)
        obs, reward, final_obs = learner_float(obs), learner_float(reward), learner_float(info["final_observation"])
        done = jnp.logical_or(terminated, truncated)
        # TD error of this transition (bootstrap from the observation the step produced).
        v = critic_value(s.critic, s.critic_h)
        h_boot, aux_boot = critic_cell(s.critic, s.critic_h, final_obs)
        delta = td_error(reward, v, critic_value(s.critic, h_boot), terminated, hp.discount)
        if bptt_actor:  # learns at the window's end (update)
            actor, traces, s_bar = s.actor, s.traces, s.s_bar
        else:
            actor, traces, s_bar = sensitivity_update(s, u, xs, delta, hp)
        # Critic: online RFLO + TD(lambda) update, raising, next state.
        critic, critic_opt_state, critic_trace = s.critic, s.critic_opt, s.critic_trace
        if config.critic == "rflo":
            J, z = critic_trace
            psi = CriticParams(body=rflo.grads(J, critic.w), w=s.critic_h, b=jnp.ones((), dtype))
            z = jax.tree.map(lambda zi, p: hp.discount * hp.lambda_critic * zi + p, z, psi)
            critic, critic_opt_state = critic_apply(critic, critic_opt_state, jax.tree.map(lambda zi: delta * zi, z), hp)
        v_bar = hp.beta_v * s.v_bar + (1.0 - hp.beta_v) * v
        critic = critic._replace(b=critic.b + jnp.where(v_bar < hp.v_floor, hp.eta_raise, 0.0))
        h_reset, aux_reset = critic_cell(critic, jnp.zeros((H,), dtype), obs)
        critic_h = jnp.where(done, h_reset, h_boot)
        if config.critic == "rflo":
            aux = jax.tree.map(lambda a, b: jnp.where(done, a, b), aux_reset, aux_boot)
            J = rflo.update(J, critic.body, aux, 1.0, restart=done)
            critic_trace = (J, jax.tree.map(lambda zi: jnp.where(done, 0.0, zi), z))
        # Episode boundary: actor state and traces restart.
        restart = lambda tree: jax.tree.map(lambda t: jnp.where(done, 0.0, t), tree)  # noqa: E731
        ep_return = s.ep_return + reward
        success = s.ep_success | info["success"] if "success" in info else s.ep_success
        rec = Record(reward=reward, terminated=terminated, done=done, final_obs=final_obs, next_obs=obs, obs=s.obs,
                     action=action, delta=delta)
        s = s._replace(actor=actor, u=restart(u), traces=restart(traces), s_bar=s_bar,
                       critic=critic, critic_opt=critic_opt_state, critic_h=critic_h, critic_trace=critic_trace,
                       v_bar=v_bar, env_state=env_state, obs=obs, key=key, step=s.step + 1,
                       ep_return=jnp.where(done, 0.0, ep_return), ep_success=jnp.where(done, False, success))
        return s, (rec, jnp.where(done, ep_return, jnp.nan), done & success)

    def update(s0: DRLState) -> tuple[DRLState, UpdateReport]:
        """critic_window steps, then the BPTT critic's update on them. Reports the returns of finished episodes,
        the first step with a non-finite TD error, and the share of finished episodes that succeeded."""
        s, (recs, ep_returns, successes) = jax.lax.scan(lambda c, _: step(c), s0, None,
                                                                 length=config.critic_window)
        hp = cast_floats(s.hp, dtype)
        if config.critic == "bptt":
            g = jax.grad(window_loss)(s.critic, s0.critic_h, recs, hp)
            g = g._replace(body=g.body._replace(tau=jnp.zeros_like(g.body.tau)))
            critic, opt = critic_apply(s.critic, s.critic_opt, jax.tree.map(lambda x: -x, g), hp)
            s = s._replace(critic=critic, critic_opt=opt)
        if bptt_actor:  # the window's actions were taken with the actor as it was at the window's start
            g = jax.grad(actor_window_loss)(s.actor, s0.u, recs, hp)
            actor, opt = adam_descent(s.actor, s.actor_opt, g, hp.lr_actor)
            s = s._replace(actor=actor, actor_opt=opt)
        finished = ~jnp.isnan(ep_returns)
        bad = ~jnp.isfinite(recs.delta)
        first_bad = jnp.where(jnp.any(bad), s0.step + jnp.argmax(bad).astype(jnp.int32) + 1, -1).astype(jnp.int32)
        n_finished = jnp.sum(finished, dtype=jnp.int32)
        return s, UpdateReport(return_sum=jnp.sum(jnp.where(finished, ep_returns, 0.0)), return_count=n_finished,
                               bad_at=first_bad, means={"train_success": (jnp.sum(successes, dtype=jnp.int32), n_finished)})

    # --- evaluation ---------------------------------------------------------------------------------------
    def closed_loop(s: DRLState) -> ClosedLoop:
        """The frozen actor in its weights' precision: u' = MTRNN step on the observation, action = the output
        neurons' tanh mapped to the action bounds (with the channel swap, as the environment is at this
        training step)."""
        dt = s.actor.lower.W.dtype
        hp = cast_floats(s.hp, dt)
        return ClosedLoop(h0=mtrnn_zero_state(s.actor), step=lambda u, obs: mtrnn_step(s.actor, u, obs, _taus(hp))[0],
                          inputs=lambda obs, a, r: obs.astype(dt),
                          act=lambda u, key: to_env(jnp.tanh(u.output), s.step, hp).astype(dt),
                          null_action=jnp.zeros((n_act,), dt))

    def probe(s: DRLState) -> dict:
        """Closed-loop diagnostics with learning frozen, from a fresh episode, in float64: exploration exponent
        (the loop's largest Lyapunov exponent, the distance over the actor's potentials and the environment's
        state), and along its reference run the saturated-output fraction and per-layer log-RMS sensitivity."""
        actor = cast_floats(s.actor, jnp.float64)
        loop, key = closed_loop(s._replace(actor=actor)), jax.random.fold_in(s.key, 2)

        def observe(c):
            u = c.h
            sat = jnp.mean((jnp.abs(jnp.tanh(u.output)) > SATURATED).astype(float))
            return sat, jnp.stack([log_rms(sensitivity(l, ui)) for l, ui in zip(_layers(actor), (u.lower, u.upper, u.output))])

        est = closed_loop_lyapunov(key, spec, loop, s.hp.d0, config.exponent_steps, config.exponent_segments, observe)
        sat, lr = est.observed[0].reshape(-1), est.observed[1].reshape(-1, len(LAYERS))  # one row per step
        out = {"exploration_exponent": est.exponent, "saturated_outputs": jnp.mean(sat)}
        out |= {f"log_rms_s_{name}": jnp.mean(lr[:, i]) for i, name in enumerate(LAYERS)}
        return out

    return DynamicRLLearner(config=config, spec=spec, init=init, step=step, update=update, closed_loop=closed_loop,
                            parameters=lambda s: (s.actor, s.critic), diagnostics=probe, train_metrics=("train_success",))


def make_train(config: DynamicRLConfig) -> Callable[..., tuple[DRLState, EvalMetrics]]:
    """`train(key, hparams=None) -> (final_state, metrics)`, one entry per evaluation point (step 0 included).
    Trace and run it under `jax.enable_x64(True)` (the algorithm's float64)."""
    return driver.make_train(make_learner(config))

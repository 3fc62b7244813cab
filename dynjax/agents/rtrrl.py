"""RTRRL: real-time recurrent reinforcement learning (Lemmel & Grosu, AAAI 2025), and its linear baseline.

A CT-RNN body feeds linear actor and critic heads; everything learns online, one update per environment step:

    u_t     = [o_t ; a_{t-1} ; r_{t-1}]                         (Meta-RL input; a, r zero at an episode start)
    h_t     = CTRNN(h_{t-1}, u_t)                                (dynjax.cells.ctrnn)
    a_t     ~ pi(. | W_A h_t),    v_t = w_C . h_t + b_C
    g_t     = B_C + eta_pi B_A d log pi(a_t|h_t) / d out         (dynjax.agents.heads.feedback_signal)
    psi_t   = [ J_t * g_t  (rule: RFLO or RTRL) ; eta_pi grad_{W_A} log pi ; grad_{w_C, b_C} v ]
    z_t     = gamma lambda z_{t-1} + psi_t                        (reset to 0 at episode boundaries)
    delta_t = r_t + gamma (1 - terminated_t) v(h'_{t+1}) - v_t    (h' from the final observation: bootstraps
                                                                   on truncation, not on termination)
    theta  <- theta + Adam(clip(delta_t z_t + eta_H grad_{W_A} H(pi)))    (clip: off by default; a global norm
                                                                       over all parameters, or one per group)

Parameters, traces z and Adam's moments are pytrees of the parameters' own shapes (AgentParams): the step's
element-wise updates run on each leaf where it lies, with one scalar per group (body, actor, critic) for the decay
and learning rate. (A flat parameter vector, used before, cost a concatenation of the eligibility, a slice of W
out of it for every matrix product and a materialised zero block for the entropy gradient each step: 15-20% of
RFLO's kernel time with 512 learners, benchmarks/results/throughput_speedup.md.) The linear TD(lambda) actor-critic
(`rule="linear"`) is the same agent without a recurrent body: its features are u_t itself.

`make_train(config) -> train(key[, hparams])` is pure: `jax.jit(jax.vmap(train))(keys)` runs independent
learners; numeric hyperparameters (`RTRRLHParams`) can be vmapped alongside the keys.
"""

import dataclasses
from typing import Any, Callable, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import optax

from dynjax.agents import driver
from dynjax.agents.driver import UpdateReport, first_bad, hparam_arrays
from dynjax.agents import reward_norm
from dynjax.agents.evaluation import EvalMetrics
from dynjax.analysis.closed_loop import ClosedLoop
from dynjax.cells.ctrnn import CTRNNParams, ctrnn_init, ctrnn_init_fan_in, ctrnn_step
from dynjax.config import FieldErrors, check_choice, check_divides, check_finite, check_positive_int
from dynjax.envs.adapter import EnvSpec, make_env, obs_mask_field
from dynjax.agents.heads import (
    Feedback,
    HeadParams,
    Policy,
    bounded_gaussian,
    categorical,
    feedback_signal,
    heads_init,
    heads_init_glorot,
    meta_input,
    value,
)
from dynjax.rules import RULES, OnlineRule
from dynjax.rules.td import accumulating_trace, dutch_trace, td_error

Array = jax.Array
RULE_CHOICES = ("rflo", "rtrl", "linear")


class RTRRLHParams(NamedTuple):
    """Numeric hyperparameters: array leaves, so a sweep can vmap them (they never change shapes)."""

    dt: Any = 1.0
    gamma: Any = 0.99
    lambda_actor: Any = 0.99
    lambda_critic: Any = 0.99
    lambda_rnn: Any = 0.99
    lr_actor: Any = 1e-3
    lr_critic: Any = 1e-3
    lr_rnn: Any = 1e-3
    eta_pi: Any = 1.0
    eta_entropy: Any = 1e-5
    grad_clip: Any = float("inf")  # norm clip of the update before Adam; inf = off (see RTRRLConfig.clip_scope)
    tau_min: Any = 1.0
    tau_init_low: Any = 1.0
    tau_init_high: Any = 5.0
    gain: Any = 1.0


@dataclasses.dataclass(frozen=True)
class RTRRLConfig:
    """RTRRL configuration. Defaults are the paper's (appendix Table 1) with one exception: the update is not
    norm-clipped (grad_clip = inf). The table lists a clip of 1.0, but the authors' code applies none by
    default, and with a clip of 1.0 neither their code nor dynjax (global or per-group clip) learns partially
    observed CartPole within 1M steps: the update's norm exceeds 1 at nearly every step, so the clip erases the
    size of the TD error and the rare large negative errors at termination weigh no more than ordinary ones
    (benchmarks/results/rtrrl_clip.md). The env default is fully observed CartPole; the paper's partially
    observed tasks name their mask (obs_mask="even": positions only, "odd": velocities only).
    Fields above `hparams` fix shapes and are static; `hparams` are vmappable numbers."""

    env_id: str = "CartPole-v1"
    env_args: tuple[tuple[str, Any], ...] = ()
    # observation indices kept (dynjax.envs.resolve_mask); None: the whole observation
    obs_mask: Any = obs_mask_field()
    hidden_size: int = 32
    rule: str = "rflo"  # rflo | rtrl | linear (no recurrent body: linear TD(lambda) actor-critic)
    feedback_alignment: bool = True
    meta_rl: bool = True
    # accumulating | dutch (rule="linear" only): the dutch trace of true online TD(lambda) with alpha = lr_critic;
    # the update stays delta z through Adam (true online TD's (v - v_old) correction is not applied).
    critic_trace: str = "accumulating"
    clip_scope: str = dataclasses.field(default="global", metadata={
        "help": "where hparams.grad_clip applies: global (one norm over all parameters) | group (the body's and "
                "the heads' updates each to their own norm, as the authors' code clips)",
        "absent_means": "global"})  # runs recorded before this field clipped globally
    param_init: str = dataclasses.field(default="dynjax", metadata={
        "help": "initialisation: dynjax (W blocks N(0, 1/fan) with recurrent gain, zero bias, near-uniform policy, "
                "zero critic) | authors (the RTRRL authors' code: LeCun-normal W over the whole fan-in, "
                "Glorot-normal heads and feedback matrices; gain unused)",
        "absent_means": "dynjax"})
    reward_norm: str = dataclasses.field(default="none", metadata={
        "help": "running reward normalisation, applied to the TD error and the Meta-RL input alike "
                "(dynjax.agents.reward_norm): none | standardize ((r - mean) / std, the authors' definition) | "
                "scale (r / std of the discounted return)",
        "absent_means": "none"})
    total_steps: int = 300_000
    eval_every: int = 10_000
    eval_episodes: int = 10
    eval_greedy: bool = False
    hparams: RTRRLHParams = RTRRLHParams()

    eval_unit: ClassVar[int] = 1  # eval_every may be any whole number of steps

    def validate(self) -> EnvSpec:
        """Check every field (one ValueError naming every invalid one) and build the environment spec."""
        with FieldErrors() as errors:
            for name in ("hidden_size", "total_steps", "eval_every", "eval_episodes"):
                errors.check(check_positive_int, name, getattr(self, name))
            errors.check(check_choice, "rule", self.rule, RULE_CHOICES)
            errors.check(check_choice, "critic_trace", self.critic_trace, ("accumulating", "dutch"))
            errors.check(check_choice, "clip_scope", self.clip_scope, ("global", "group"))
            errors.check(check_choice, "reward_norm", self.reward_norm, reward_norm.CHOICES)
            errors.check(check_choice, "param_init", self.param_init, ("dynjax", "authors"))
            errors.require(self.critic_trace != "dutch" or self.rule == "linear",
                           "critic_trace: 'dutch' needs a linear critic on fixed features (rule='linear')")
            errors.check(check_divides, self.total_steps, self.eval_every)
            hp = self.hparams
            for name in ("lr_actor", "lr_critic", "lr_rnn", "dt", "tau_min", "tau_init_low", "tau_init_high"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=0.0, low_open=True)
            if float(hp.grad_clip) != float("inf"):
                errors.check(check_finite, "hparams.grad_clip", hp.grad_clip, low=0.0, low_open=True)
            for name in ("gamma", "lambda_actor", "lambda_critic", "lambda_rnn"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=0.0, high=1.0)
            for name in ("eta_pi", "eta_entropy", "gain"):
                errors.check(check_finite, f"hparams.{name}", getattr(hp, name), low=0.0)
            errors.require(not float(hp.tau_init_high) < float(hp.tau_init_low),
                           "hparams.tau_init_high must be >= hparams.tau_init_low")
            spec = errors.check(make_env, self.env_id, dict(self.env_args), self.obs_mask)
        return spec


def base_hparams(hp: RTRRLHParams, grid: dict[str, Any]) -> RTRRLHParams:
    """The base hyperparameters of a sweep's programs (Algorithm.base_hparams): the global-norm clip is compiled
    in only when the config's grad_clip is finite (see make_learner), so a grid that sweeps it gets its first
    finite value as the base."""
    finite = [float(v) for v in grid.get("grad_clip", ()) if abs(float(v)) < float("inf")]
    return hp._replace(grad_clip=finite[0]) if finite else hp


class AgentParams(NamedTuple):
    body: Any  # CTRNNParams, or () for the linear agent
    heads: HeadParams


class LearnerState(NamedTuple):
    """Everything one learner carries from step to step (a pytree; vmap adds a leading seed axis)."""

    theta: AgentParams  # parameters
    opt_state: Any  # Adam's moments, pytrees like theta
    z: AgentParams  # eligibility traces, like theta
    h: Array  # features h_t (body state, or u_t for the linear agent)
    trace: Any  # the rule's sensitivity trace J_t
    env_state: Any
    key: Array
    feedback: Feedback
    hp: RTRRLHParams
    step: Array  # environment steps taken
    ep_return: Array  # return of the running training episode
    reward_stats: reward_norm.RewardStats  # running moments of RTRRLConfig.reward_norm (unused for "none")
    diverged_at: Array  # first step with a non-finite TD error or parameter (-1: never); the learner is frozen


class StepInfo(NamedTuple):
    """What one training step observed (per step; reduced inside the scan, never stored for a whole run)."""

    reward: Array
    terminated: Array
    truncated: Array
    delta: Array  # TD error of the transition
    episode_return: Array  # return of the episode this step finished (nan if it did not finish one)


class Transition(NamedTuple):
    """What one environment step returned to the agent (RTRRLLearner.learn's input)."""

    obs: Array  # the next observation (a new episode's first when the step ended one: gymnax's auto-reset)
    reward: Array
    terminated: Array
    truncated: Array
    final_obs: Array  # the observation the step produced, before any auto-reset (the bootstrap's)


class RTRRLLearner(NamedTuple):
    """An RTRRL learner (dynjax.agents.driver.Learner), all pure: `init(key, hp) -> state`; `step(state) ->
    (state, StepInfo)` is one online update, `update` the same reported to the driver; `closed_loop(state)`;
    `episode_start(body, obs, dt) -> (h, trace)`; `learn(state, action, transition) -> (state, StepInfo)`
    the update alone, for a stream of transitions the caller provides."""

    config: RTRRLConfig
    spec: EnvSpec
    init: Callable[[Array, RTRRLHParams], LearnerState]
    step: Callable[[LearnerState], tuple[LearnerState, StepInfo]]
    update: Callable[[LearnerState], tuple[LearnerState, UpdateReport]]
    closed_loop: Callable[[LearnerState], ClosedLoop]
    parameters: Callable[[LearnerState], AgentParams]
    diagnostics: None
    train_metrics: tuple[str, ...]
    episode_start: Callable[[Any, Array, Array], tuple[Array, Any]]
    learn: Callable[[LearnerState, Array, Transition], tuple[LearnerState, StepInfo]]


def eligibility(policy: Policy, rule: OnlineRule | None, params: AgentParams, fb: Feedback | None, trace: Any,
                h: Array, action: Array, eta_pi: Array) -> tuple[AgentParams, AgentParams]:
    """The per-step eligibility psi_t and the entropy gradient, both in the layout of AgentParams.

    psi = [ rule.grads(J_t, g_t) ; eta_pi grad_{W_A} log pi(a_t|h_t) ; grad_{w_C, b_C} v(h_t) ]
    with g_t = feedback_signal(...). With fb=None and the RTRL rule, psi's body part is the exact gradient
    of v(h_t) + eta_pi log pi(a_t|h_t) with respect to the body parameters through the whole episode.
    The entropy gradient reaches the actor head only (it is added to the update directly, not traced).
    """
    out = params.heads.W_A @ h
    d_out = jax.grad(policy.log_prob)(out, action)
    d_ent = jax.grad(policy.entropy)(out)
    psi_body = () if rule is None else rule.grads(trace, feedback_signal(params.heads, fb, d_out, eta_pi))
    psi = AgentParams(body=psi_body, heads=HeadParams(W_A=eta_pi * jnp.outer(d_out, h), w_C=h, b_C=jnp.ones((), h.dtype)))
    ent = AgentParams(
        body=jax.tree.map(jnp.zeros_like, params.body),
        heads=HeadParams(W_A=jnp.outer(d_ent, h), w_C=jnp.zeros_like(h), b_C=jnp.zeros((), h.dtype)),
    )
    return psi, ent


def update_clip(scope: str, static_clip: float, clip: Array,
                params: AgentParams) -> optax.GradientTransformation | None:
    """The norm clip of RTRRL's update before Adam, or None when `static_clip` (the config's value) is inf: then
    the program has no norm pass at all, so a sweep that vmaps grad_clip (`clip`) must give the config a finite
    value. scope "global": one norm over all parameters; "group": the body's and the heads' updates each clipped
    to their own norm, as the authors' code clips (one optimizer chain per group; Adam being element-wise, one
    Adam or two is the same). A linear agent has one group. `params` gives the structure (shapes suffice)."""
    if static_clip == float("inf"):
        return None
    if scope == "global" or params.body == ():
        return optax.clip_by_global_norm(clip)
    groups = AgentParams(body=jax.tree.map(lambda _: "body", params.body),
                         heads=jax.tree.map(lambda _: "heads", params.heads))
    return optax.multi_transform({g: optax.clip_by_global_norm(clip) for g in ("body", "heads")}, groups)


def policy_of(spec: EnvSpec) -> Policy:
    """RTRRL's policy for an environment: softmax over discrete actions, a bounded Gaussian otherwise."""
    return categorical(spec.n_actions) if spec.discrete else bounded_gaussian(spec.low, spec.high)


def make_learner(config: RTRRLConfig) -> RTRRLLearner:
    """Validate `config` and build the pure functions of one RTRRL learner."""
    spec = config.validate()
    env, env_params = spec.env, spec.params
    policy = policy_of(spec)
    linear = config.rule == "linear"
    rule = None if linear else RULES[config.rule]
    n_act_feat = policy.action_features(policy.null_action).shape[0]
    n_in = spec.obs_dim + (n_act_feat + 1 if config.meta_rl else 0)
    n_feat = n_in if linear else config.hidden_size
    inputs = meta_input(policy, config.meta_rl)

    def body_step(body: Any, h: Array, u: Array, dt: Array):
        if linear:
            return u, None
        return ctrnn_step(body, h, u, dt)

    def episode_start(body: Any, obs: Array, dt: Array):
        """Features and (fresh) trace for the first observation of an episode."""
        u0 = inputs(obs, policy.null_action, jnp.zeros(()))
        h0, aux = body_step(body, jnp.zeros((n_feat,)), u0, dt)
        trace = () if linear else rule.update(rule.init(body), body, aux, dt)
        return h0, trace

    def init_params(key: Array, hp: RTRRLHParams) -> tuple[AgentParams, Feedback]:
        k_body, k_heads = jax.random.split(key)
        if config.param_init == "authors":
            body = () if linear else ctrnn_init_fan_in(k_body, n_in, n_feat, hp.tau_init_low, hp.tau_init_high)
            heads, fb = heads_init_glorot(k_heads, n_feat, policy.out_dim)
        else:
            body = () if linear else ctrnn_init(k_body, n_in, n_feat, hp.gain, hp.tau_init_low, hp.tau_init_high)
            heads, fb = heads_init(k_heads, n_feat, policy.out_dim)
        return AgentParams(body=body, heads=heads), fb

    shapes = jax.eval_shape(lambda: init_params(jax.random.key(0), hparam_arrays(config.hparams))[0])

    def per_group(body_v, actor_v, critic_v) -> AgentParams:
        """One value per parameter group (body, actor, critic), as a pytree of AgentParams' structure."""
        return AgentParams(body=() if linear else CTRNNParams(W=body_v, tau=body_v),
                           heads=HeadParams(W_A=actor_v, w_C=critic_v, b_C=critic_v))

    def optimizer(hp: RTRRLHParams) -> optax.GradientTransformation:
        """Adam (ascent on delta z), after the update clip where the config has one."""
        clip = update_clip(config.clip_scope, float(config.hparams.grad_clip), hp.grad_clip, shapes)
        return optax.scale_by_adam() if clip is None else optax.chain(clip, optax.scale_by_adam())

    def init(key: Array, hp: RTRRLHParams | None = None) -> LearnerState:
        hp = hparam_arrays(config.hparams if hp is None else hp)
        k_params, k_env, k_run = jax.random.split(key, 3)
        params, fb = init_params(k_params, hp)
        obs, env_state = env.reset(k_env, env_params)
        h, trace = episode_start(params.body, obs, hp.dt)
        return LearnerState(
            theta=params,
            opt_state=optimizer(hp).init(params),
            z=jax.tree.map(jnp.zeros_like, params),
            h=h,
            trace=trace,
            env_state=env_state,
            key=k_run,
            feedback=fb,
            hp=hp,
            step=jnp.zeros((), jnp.int32),
            ep_return=jnp.zeros(()),
            reward_stats=reward_norm.init(),
            diverged_at=jnp.full((), -1, jnp.int32),
        )

    def learn(s: LearnerState, action: Array, tr: Transition) -> tuple[LearnerState, StepInfo]:
        """One online update from a transition the agent's action `action` (taken at its features s.h) led to:
        the TD error, the traces and the Adam step, then the features for the next step (a new episode's from
        tr.obs when the transition ended one). s.env_state and s.key are left as they are: `train_step` (its
        own environment) sets them; a caller replaying a recorded stream (benchmarks/rtrrl_differential.py)
        need not have them."""
        hp = s.hp
        p = s.theta
        fb = s.feedback if config.feedback_alignment else None
        psi, ent = eligibility(policy, rule, p, fb, s.trace, s.h, action, hp.eta_pi)
        v = value(p.heads, s.h)
        done = jnp.logical_or(tr.terminated, tr.truncated)
        stats = reward_norm.update(s.reward_stats, tr.reward, done, hp.gamma, config.reward_norm)
        r = reward_norm.normalize(stats, tr.reward, config.reward_norm)
        # Bootstrap value from the observation the step really produced (before any auto-reset).
        h_boot, aux_boot = body_step(p.body, s.h, inputs(tr.final_obs, action, r), hp.dt)
        delta = td_error(r, v, value(p.heads, h_boot), tr.terminated, hp.gamma)

        decay = per_group(hp.gamma * hp.lambda_rnn, hp.gamma * hp.lambda_actor, hp.gamma * hp.lambda_critic)
        z = jax.tree.map(accumulating_trace, s.z, psi, decay)
        if config.critic_trace == "dutch":
            zc = s.z.heads
            x = jnp.concatenate([s.h, jnp.ones((1,))])
            zc_new = dutch_trace(jnp.concatenate([zc.w_C, zc.b_C[None]]), x, hp.gamma * hp.lambda_critic, hp.lr_critic)
            z = z._replace(heads=z.heads._replace(w_C=zc_new[:-1], b_C=zc_new[-1]))
        ascent = jax.tree.map(lambda zl, el: delta * zl + hp.eta_entropy * el, z, ent)
        updates, opt_state = optimizer(hp).update(jax.tree.map(jnp.negative, ascent), s.opt_state)
        lr = per_group(hp.lr_rnn, hp.lr_actor, hp.lr_critic)
        theta = jax.tree.map(lambda t, r, u: t - r * u, s.theta, lr, updates)
        if not linear:  # tau >= tau_min
            theta = theta._replace(body=theta.body._replace(tau=jnp.maximum(theta.body.tau, hp.tau_min)))

        # Next features: continue the episode, or start the next one from the reset observation.
        if linear:
            h_next, trace = jnp.where(done, inputs(tr.obs, policy.null_action, jnp.zeros(())), h_boot), ()
        else:
            h_reset, aux_reset = body_step(p.body, jnp.zeros_like(s.h), inputs(tr.obs, policy.null_action, jnp.zeros(())), hp.dt)
            aux = jax.tree.map(lambda a, b: jnp.where(done, a, b), aux_reset, aux_boot)
            trace = rule.update(s.trace, p.body, aux, hp.dt, restart=done)
            h_next = jnp.where(done, h_reset, h_boot)
        ep_return = s.ep_return + tr.reward
        s = s._replace(
            theta=theta, opt_state=opt_state, z=jax.tree.map(lambda x: jnp.where(done, 0.0, x), z), h=h_next, trace=trace,
            step=s.step + 1, ep_return=jnp.where(done, 0.0, ep_return), reward_stats=stats,
        )
        return s, StepInfo(reward=tr.reward, terminated=tr.terminated, truncated=tr.truncated, delta=delta,
                           episode_return=jnp.where(done, ep_return, jnp.nan))

    def train_step(s: LearnerState) -> tuple[LearnerState, StepInfo]:
        """One step of the agent in its environment: act from s.h, step the environment, `learn`."""
        key, k_act, k_env = jax.random.split(s.key, 3)
        action = policy.sample(k_act, s.theta.heads.W_A @ s.h)
        obs, env_state, reward, terminated, truncated, info = env.step(k_env, s.env_state, action, env_params)
        return learn(s._replace(env_state=env_state, key=key), action,
                     Transition(obs, reward, terminated, truncated, info["final_observation"]))

    def closed_loop(s: LearnerState) -> ClosedLoop:
        """The frozen agent: h' = CT-RNN step (the linear agent: h' = x), greedy (eval_greedy) actions."""
        p = s.theta

        def act(h, key):
            out = p.heads.W_A @ h
            return policy.mode(out) if config.eval_greedy else policy.sample(key, out)

        def seen(obs: Array, action: Array, reward: Array) -> Array:  # the input, with the frozen reward moments
            return inputs(obs, action, reward_norm.normalize(s.reward_stats, reward, config.reward_norm))

        return ClosedLoop(h0=jnp.zeros((n_feat,)), step=lambda h, x: body_step(p.body, h, x, s.hp.dt)[0],
                          inputs=seen, act=act, null_action=policy.null_action)

    def update(s: LearnerState) -> tuple[LearnerState, UpdateReport]:
        """One online step, reported to the driver (its TD error must stay finite)."""
        s, info = train_step(s)
        done = ~jnp.isnan(info.episode_return)
        return s, UpdateReport(return_sum=jnp.where(done, info.episode_return, 0.0), return_count=done,
                               bad_at=first_bad(~jnp.isfinite(info.delta), s.step), means={})

    return RTRRLLearner(config=config, spec=spec, init=init, step=train_step, update=update, closed_loop=closed_loop,
                        parameters=lambda s: s.theta, diagnostics=None, train_metrics=(),
                        episode_start=episode_start, learn=learn)


def make_train(config: RTRRLConfig) -> Callable[..., tuple[LearnerState, EvalMetrics]]:
    """`train(key, hparams=None) -> (final_state, metrics)`; metrics have one entry per evaluation point
    (step 0 included), so `jax.jit(jax.vmap(train))(keys)` gives (seeds, n_evals + 1) arrays."""
    return driver.make_train(make_learner(config))

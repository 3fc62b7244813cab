"""Record the RTRRL authors' learner step by step, for a differential check against dynjax.

Runs the authors' own code (github.com/FranzKnut/RTRRL-AAAI25, built by ../shared/anchors) for one iteration of
STEPS environment steps and saves, per step, what their jitted `step_fn` carries: hidden state, value, TD error,
action, eligibility traces and the updated parameters, plus the initial parameters and state. Nothing of the
authors' code is changed: `rtrrl.train_rtrrl` is called as is, and only while it runs is `jax.lax.scan` replaced
by a wrapper that, for the one scan whose body is `step_fn`, calls that (jitted) body in a Python loop and records
the carry before the first step and after every step. Every other scan (the environment's action repeat, the
evaluation) goes to the real `jax.lax.scan`.

Run it with the authors' pinned interpreter, from their source folder:

    cd ../shared/anchors/.work/rtrrl
    PYTHONPATH=../../patches/stubs:. JAX_PLATFORMS=cpu ../venv-rtrrl-pinned/bin/python \\
        /work/main/benchmarks/rtrrl_authors_recorder.py OUT.npz STEPS [--traces] -- \\
        --seed 1 --env_name CartPole-v1 --obs_mask even --normalize_reward False --gradient_mode rflo

Everything after `--` is rtrrl.py's own command line (simple_parsing over its RTRRLParams, as in its `__main__`);
the recorder then forces episodes=1, steps=STEPS, eval_every=0 (no evaluation), patience=0, logging=None,
debug=0 (no profiler) and render=False. `--traces` also saves the RNN's own Jacobian traces every step (large for
RTRL: STEPS x H x H x (I+H+1)). Note that rtrrl.py does `args.seed = args.seed or np.random.randint(1e6)`: seed 0
(or none) means a random seed; the seed actually used is saved as meta/seed.

Saved to OUT.npz (batch axis of 1 removed; floats as float64, discrete actions as int64, done as bool):
  init/<path>                   every leaf of the initial flax variables of the model (params, falign, wiring)
  h0, trace0/<i>/<path>         the carry's initial RNN state (h, RNN traces). NB: not zeros: it is the state
                                after the model's init call, which already ran one RNN step on input0
  h_reset, trace_reset/<i>/..   the state step_fn resets to when an episode ends (initialize_carry: zeros)
  obs0, input0, action0, v0     the initial observation, the input of that init step, the carry's initial action
                                and initial v_prev
  per step t (leading axis STEPS):
  obs, reward, done             env_state after the env step of step t (obs masked; after auto-reset when done)
  input                         the RNN input of step t, rebuilt (see below) and checked against the RNN
  h, v, delta, action           hidden state after step t, v_hat of step t, TD error d (scan_out), action
                                sampled at h_t (carried into step t+1)
  params/<path>                 every leaf of the trainable collection after the update of step t (same <path>
                                as init/<path>, e.g. params/params/rnn/W)
  z/<path>                      eligibility traces after step t (e.g. z/rnn/W, z/td/actor/kernel)
  opt/<path>                    the optimizer state after step t (Adam counts, mu, nu, injected learning rate)
  r_bar, I, key                 average-reward estimate and discount accumulator after step t; the PRNG key
                                the step started from (its action key is jax.random.split(key, 3)[1])
  loss_info/<name>              step_fn's loss_info (scan output)
  logp or loc/scale             the policy at h_t under the params step t started from (the ones that sampled
                                the action), recomputed with the authors' model
  trace/<i>/<path>              (only with --traces) the RNN Jacobian traces after step t
  check/*                       the results of the consistency checks printed at the end
  meta/flags, meta/forced, meta/params, meta/seed, meta/info   the command line, what was forced, the effective
                                RTRRLParams, the seed used, and a description of layout, heads and optimizer

input is rebuilt exactly as step_fn builds it: [obs_t, onehot(where(done_t, 0, a_{t-1})), where(done_t, 0, r_t)]
with a_{-1} = action0 (discrete; for continuous actions a_{t-1} is first clipped to the action bounds and the
zeroing gives a zero vector). NB for discrete actions the *index* is zeroed before one-hot encoding, so at an
episode start the action part is onehot(0), not zeros. The reward in the input is the raw reward (no
normalisation), the observation the raw masked one. Without meta_rl the input is obs_t alone. The check replays
the authors' RNN from the recorded h_{t-1} (or h_reset when done_t) on this input with the recorded parameters.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.pop("XLA_FLAGS", None)  # dynjax's XLA options are not the reference's

import dataclasses  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_SOURCE = "/work/shared/anchors/.work/rtrrl"

USAGE = "usage: rtrrl_authors_recorder.py OUT.npz STEPS [--traces] -- <rtrrl.py flags>"

CARRY_FIELDS = ("params", "slow_params", "env_state", "opt_state", "action", "rnn_state", "z", "v_prev", "r_bar",
                "_I", "obs_rms", "reward_rms", "seed")  # the order of step_fn's carry in rtrrl.py


class _Recorded(Exception):
    """Private: raised if step_fn is scanned a second time (it should not be, with episodes=1)."""


def _parse_argv(argv):
    if "--" not in argv:
        sys.exit(USAGE)
    cut = argv.index("--")
    head, flags = argv[:cut], argv[cut + 1:]
    opts = [a for a in head if a.startswith("--")]
    pos = [a for a in head if not a.startswith("--")]
    if len(pos) != 2 or any(o != "--traces" for o in opts):
        sys.exit(USAGE)
    return pos[0], int(pos[1]), "--traces" in opts, flags


def _key_str(k):
    for attr in ("key", "idx", "name"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _flat(tree):
    """'/'-joined key paths -> numpy leaves."""
    import jax

    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {"/".join(_key_str(k) for k in path): np.asarray(leaf) for path, leaf in leaves}


def _as_saved(a, squeeze_batch=True):
    """Remove the batch axis of 1 and widen floats to float64."""
    a = np.asarray(a)
    if squeeze_batch:
        assert a.ndim >= 1 and a.shape[0] == 1, f"expected a leading batch axis of 1, got shape {a.shape}"
        a = a[0]
    if a.dtype.kind == "f":
        a = a.astype(np.float64)
    elif a.dtype.kind in "iu" and a.dtype != np.uint32:
        a = a.astype(np.int64)
    return a


def main(argv):
    out_path, n_steps, save_traces, flags = _parse_argv(argv)
    assert n_steps >= 1

    try:
        import rtrrl  # noqa: F401
    except ImportError:
        sys.path.insert(0, DEFAULT_SOURCE)
        import rtrrl  # noqa: F401
    import jax
    import jax.numpy as jnp
    import simple_parsing

    # rtrrl.py turns on a persistent compilation cache under /tmp at import: no files from a recorder.
    jax.config.update("jax_enable_compilation_cache", False)

    # Parse as rtrrl.py's __main__ does, then force one iteration of STEPS steps and nothing else.
    hparams = simple_parsing.parse(rtrrl.RTRRLParams, add_config_path_arg=True, args=list(flags))
    forced = {"episodes": 1, "steps": n_steps, "eval_every": 0, "patience": 0, "logging": None, "debug": 0}
    for k, v in forced.items():
        setattr(hparams, k, v)
    if hparams.env_params.render:
        hparams.env_params = dataclasses.replace(hparams.env_params, render=False)
        forced["env_params.render"] = False
    assert hparams.env_params.batch_size == 1, "the recorder handles batch_size 1 only"
    seed_given = hparams.seed
    if not seed_given:
        print(f"[recorder] warning: seed {seed_given!r} -> rtrrl.py draws a random seed (see meta/seed)",
              file=sys.stderr)

    rec = {"steps": []}
    orig_scan = jax.lax.scan

    def host(tree):
        return jax.tree.map(np.asarray, jax.device_get(tree))

    def recording_scan(f, init, xs=None, *args, **kwargs):
        if getattr(f, "__name__", None) != "step_fn":
            return orig_scan(f, init, xs, *args, **kwargs)
        if "init" in rec:
            raise _Recorded("step_fn scanned twice")
        assert len(init) == len(CARRY_FIELDS), f"carry has {len(init)} parts, expected {len(CARRY_FIELDS)}"
        body = getattr(f, "__wrapped__", None)
        rec["closure"] = inspect.getclosurevars(body).nonlocals if body is not None else {}
        rec["init"] = host(init)
        carry, outs = init, []
        for i in range(len(xs)):
            key_before = np.asarray(carry[CARRY_FIELDS.index("seed")])
            carry, out = f(carry, xs[i])
            rec["steps"].append((host(carry), host(out), key_before))
            outs.append(out)
        return carry, jax.tree.map(lambda *a: jnp.stack(a), *outs)

    jax.lax.scan = recording_scan
    try:
        rtrrl.train_rtrrl(hparams)
    finally:
        jax.lax.scan = orig_scan
    if "init" not in rec:
        sys.exit("[recorder] train_rtrrl never scanned step_fn")

    save = _collect(rec, hparams, n_steps, save_traces)
    checks = _checks(rec, hparams, save)
    save.update({f"check/{k}": np.asarray(v) for k, v in checks.items()})
    save["meta/flags"] = np.array(list(flags) if flags else [""])
    save["meta/forced"] = np.array([f"{k}={v}" for k, v in forced.items()])
    save["meta/params"] = np.array(json.dumps(dataclasses.asdict(hparams), default=str))
    save["meta/seed"] = np.asarray(hparams.seed, dtype=np.int64)
    save["meta/info"] = np.array(_info(rec, hparams, save))
    np.savez(out_path, **save)

    print(f"[recorder] seed used: {hparams.seed}; wrote {out_path} ({len(save)} arrays)")
    for k, v in checks.items():
        print(f"[recorder] check {k}: {v}")


def _collect(rec, hparams, n_steps, save_traces):
    C = {name: i for i, name in enumerate(CARRY_FIELDS)}
    cl = rec["closure"]
    discrete = bool(cl.get("DISCRETE", True))
    init = rec["init"]
    save = {}

    for p, a in _flat(init[C["params"]]).items():
        save[f"init/{p}"] = _as_saved(a, squeeze_batch=False)
    rnn0 = init[C["rnn_state"]]
    rnn0 = rnn0 if isinstance(rnn0, tuple) else (rnn0,)
    save["h0"] = _as_saved(rnn0[0])
    for i, part in enumerate(rnn0[1:], start=1):
        for p, a in _flat(part).items():
            save[f"trace0/{i}/{p}".rstrip("/")] = _as_saved(a)
    if "h0" in cl:
        hr = cl["h0"] if isinstance(cl["h0"], tuple) else (cl["h0"],)
        save["h_reset"] = _as_saved(np.asarray(hr[0]))
        for i, part in enumerate(hr[1:], start=1):
            for p, a in _flat(part).items():
                save[f"trace_reset/{i}/{p}".rstrip("/")] = _as_saved(a)
    save["obs0"] = _as_saved(init[C["env_state"]].obs)
    act0 = _as_saved(init[C["action"]])
    save["action0"] = act0.reshape(()) if discrete else act0
    save["v0"] = _as_saved(init[C["v_prev"]]).reshape(())

    per = {}

    def add(name, value):
        per.setdefault(name, []).append(value)

    for carry, out, key_before in rec["steps"]:
        reward, done, loss_info, v_hat, d = out
        env_state = carry[C["env_state"]]
        add("obs", _as_saved(env_state.obs))
        add("reward", _as_saved(env_state.reward).reshape(()))
        add("done", np.asarray(env_state.done).reshape(()).astype(bool))
        a = _as_saved(carry[C["action"]])
        add("action", a.reshape(()) if discrete else a)
        rnn = carry[C["rnn_state"]]
        rnn = rnn if isinstance(rnn, tuple) else (rnn,)
        add("h", _as_saved(rnn[0]))
        add("v", _as_saved(v_hat).reshape(()))
        add("v_prev_carried", _as_saved(carry[C["v_prev"]]).reshape(()))
        add("delta", _as_saved(d).reshape(()))
        add("reward_scan", _as_saved(reward).reshape(()))
        add("done_scan", np.asarray(done).reshape(()).astype(bool))
        add("r_bar", _as_saved(carry[C["r_bar"]]).reshape(()))
        add("I", _as_saved(carry[C["_I"]]).reshape(()))
        add("key", np.asarray(key_before))
        for p, x in _flat(carry[C["params"]]).items():
            add(f"params/{p}" if p.startswith("params/") else f"_const/{p}", _as_saved(x, squeeze_batch=False))
        for p, x in _flat(carry[C["z"]]).items():
            add(f"z/{p}", _as_saved(x))
        for p, x in _flat(carry[C["opt_state"]]).items():
            add(f"opt/{p}", _as_saved(x, squeeze_batch=False))
        for p, x in _flat(loss_info).items():
            x = np.asarray(x)
            add(f"loss_info/{p}", _as_saved(x.reshape(()) if x.size == 1 else x, squeeze_batch=x.size != 1))
        if save_traces:
            for i, part in enumerate(rnn[1:], start=1):
                for p, x in _flat(part).items():
                    add(f"trace/{i}/{p}".rstrip("/"), _as_saved(x))

    for k, v in per.items():
        save[k] = np.stack(v)
    assert save["h"].shape[0] == n_steps

    # Collections other than "params" (falign feedback matrices, wiring mask) never change: keep one copy.
    for k in [k for k in save if k.startswith("_const/")]:
        const = save.pop(k)
        save[f"check/constant/{k[len('_const/'):]}"] = np.asarray(
            np.all(const == save[f"init/{k[len('_const/'):]}"][None]))

    # Rebuild the RNN input of every step (see the module docstring).
    args = rec["closure"].get("args", hparams)
    obs, done, reward = save["obs"], save["done"], save["reward"]
    if args.meta_rl:
        prev_a = np.concatenate([save["action0"][None], save["action"][:-1]], axis=0)
        if discrete:
            n_act = int(rec["closure"]["ACT_SIZE"])
            idx = np.where(done, 0, prev_a).astype(np.int64)
            re_a = np.eye(n_act)[idx]
        else:
            clip = rec["closure"].get("act_clip")
            if clip is not None:
                prev_a = np.clip(prev_a, np.asarray(clip[0], np.float64), np.asarray(clip[1], np.float64))
            re_a = np.where(done[:, None], 0.0, prev_a)
        r_in = np.where(done, 0.0, reward)[:, None]
        save["input"] = np.concatenate([obs, re_a, r_in], axis=-1)
    else:
        save["input"] = obs.copy()

    # The init step's input: [obs0, zeros(A), normalize(reward0)], reward0 = 0 at reset (normalised 0 stays 0).
    if args.meta_rl:
        n_a = save["input"].shape[-1] - obs.shape[-1] - 1
        save["input0"] = np.concatenate([save["obs0"], np.zeros(n_a), np.zeros(1)])
    else:
        save["input0"] = save["obs0"].copy()
    return save


def _checks(rec, hparams, save):
    """Replay the recorded stream through the authors' model and compare."""
    import jax
    import jax.numpy as jnp
    from flax.core import unfreeze

    cl = rec["closure"]
    checks = {}
    args = cl.get("args", hparams)
    n = save["h"].shape[0]

    # scan outputs agree with the carried values
    checks["reward_scan_eq_env"] = bool(np.array_equal(save.pop("reward_scan"), save["reward"]))
    checks["done_scan_eq_env"] = bool(np.array_equal(save.pop("done_scan"), save["done"]))
    checks["v_prev_next_eq_v_max_abs"] = float(np.max(np.abs(save.pop("v_prev_carried") - save["v"])))
    # delta from the recorded stream: r_t + gamma v_t (1 - done_t) - r_bar_{t-1} - v_{t-1}
    v_prev = np.concatenate([[save["v0"]], save["v"][:-1]])
    r_bar_prev = np.concatenate([[0.0], save["r_bar"][:-1]])
    d_re = save["reward"] + args.gamma * save["v"] * (1 - save["done"]) - r_bar_prev - v_prev
    checks["delta_rebuilt_max_abs"] = float(np.max(np.abs(d_re - save["delta"])))
    # parameters change every step
    pkeys = [k for k in save if k.startswith("params/")]
    prev = {k: save[f"init/{k[len('params/'):]}"] for k in pkeys}
    changed = np.zeros(n, bool)
    for k in pkeys:
        seq = np.concatenate([prev[k][None], save[k]], axis=0)
        changed |= np.any(seq[1:] != seq[:-1], axis=tuple(range(1, seq.ndim)))
    checks["steps_params_unchanged"] = int(np.sum(~changed))
    checks["episodes_ended"] = int(np.sum(save["done"]))

    model = cl.get("model")
    if model is None or "h_reset" not in save:
        checks["replay"] = "skipped (no closure)"
        return checks

    # Replay: h_t = RNN(params_{t-1}, h_{t-1} or h_reset if done_t, input_t); v_t, pi_t at h_t with params_{t-1}.
    f32 = jnp.float32
    init_vars = unfreeze(jax.tree.map(lambda a: np.asarray(a), rec["init"][0]))
    reset = cl["h0"] if isinstance(cl["h0"], tuple) else (cl["h0"],)
    reset_traces = jax.tree.map(lambda a: jnp.asarray(a)[0], reset[1:])
    discrete = bool(cl.get("DISCRETE", True))

    def vars_at(t):
        """Flax variables the step t started from (t = 0: the initial ones)."""
        if t == 0:
            return init_vars
        out = jax.tree.map(lambda a: a, init_vars)
        flat = jax.tree_util.tree_flatten_with_path(out)
        leaves = []
        for path, leaf in flat[0]:
            p = "/".join(_key_str(k) for k in path)
            leaves.append(save[f"params/{p}"][t - 1] if f"params/{p}" in save else leaf)
        return jax.tree_util.tree_unflatten(flat[1], [np.asarray(x, np.float32) if np.asarray(x).dtype.kind == "f"
                                                      else x for x in leaves])

    @jax.jit
    def replay(variables, h, x, key):
        hidden, _ = model.apply(variables, (h, *reset_traces), x, method=model.rnn_step)
        v = model.apply(variables, hidden, x, method=model.value)
        dist = model.apply(variables, hidden, x, method=model.action_dist)
        _, action_key, _ = jax.random.split(key, 3)
        a = dist.sample(seed=action_key)
        pol = (dist.logits,) if discrete else (dist.loc, dist.scale)
        return hidden, v, a, pol

    h_err, v_err, v_err_post, a_bad, pols = 0.0, 0.0, 0.0, 0, []
    h_prev = save["h0"]
    for t in range(n):
        h_in = save["h_reset"] if save["done"][t] else h_prev
        x = save["input"][t]
        hidden, v, a, pol = replay(vars_at(t), jnp.asarray(h_in, f32), jnp.asarray(x, f32),
                                   jnp.asarray(save["key"][t]))
        h_err = max(h_err, float(np.max(np.abs(np.asarray(hidden, np.float64) - save["h"][t]))))
        v_err = max(v_err, float(abs(np.asarray(v, np.float64).reshape(()) - save["v"][t])))
        _, v_post, _, _ = replay(vars_at(t + 1), jnp.asarray(h_in, f32), jnp.asarray(x, f32),
                                 jnp.asarray(save["key"][t]))
        v_err_post = max(v_err_post, float(abs(np.asarray(v_post, np.float64).reshape(()) - save["v"][t])))
        a = np.asarray(a)
        a_bad += int(not np.array_equal(a.reshape(save["action"][t].shape), save["action"][t])) if discrete \
            else int(not np.allclose(a.reshape(save["action"][t].shape), save["action"][t], atol=1e-6))
        pols.append([np.asarray(p, np.float64) for p in pol])
        h_prev = save["h"][t]
    if discrete:
        save["logp"] = np.stack([p[0] for p in pols])
    else:
        save["loc"] = np.stack([p[0] for p in pols])
        save["scale"] = np.stack([p[1] for p in pols])
    checks["replay_h_max_abs"] = h_err  # input rebuilt + reset rule + pre-update params reproduce h
    checks["replay_v_pre_update_max_abs"] = v_err
    checks["replay_v_post_update_max_abs"] = v_err_post  # should be clearly nonzero: v uses pre-update params
    checks["replay_action_mismatches"] = a_bad
    return checks


def _info(rec, hparams, save):
    cl = rec["closure"]
    args = cl.get("args", hparams)
    H = save["h0"].shape[-1]
    n_in = save["input"].shape[-1]
    n_obs = save["obs"].shape[-1]
    lines = ["RTRRL authors' code, recorded by dynjax benchmarks/rtrrl_authors_recorder.py", "",
             "Flax variables (init/<path>; trainable ones per step as params/<path>):"]
    lines += [f"  {k[len('init/'):]}: {tuple(v.shape)} {v.dtype}" for k, v in save.items() if k.startswith("init/")]
    lines += ["", f"RNN input x (I={n_in}): [obs (masked, raw) {n_obs}"
              + (f", onehot/prev action {n_in - n_obs - 1}, reward 1]" if args.meta_rl else "]"),
              f"CT-RNN (models/ctrnn.py, rnn_model={args.rnn_model}, gradient_mode={args.gradient_mode}, "
              f"dt=1, wiring={args.wiring}):",
              f"  y = [x, h, 1] (length I+H+1 = {n_in + H + 1}); W columns: 0:{n_in} input, {n_in}:{n_in + H} "
              f"recurrent, {n_in + H} bias",
              "  h' = h + dt * (tanh((mask*W) @ y) - h) / tau; tau ~ U[1,5], clipped to >= 1 after every update",
              "  RFLO trace (per output row): JW += (1/tau)[:,None] * ((1-tanh(u)^2)[:,None] * y[None] - JW);",
              "    Jtau += ((h_old - tanh(u))/tau - Jtau)/tau; u uses the unmasked W; no dt",
              "  RTRL trace: P <- P + (df/dh*dt) . P + df/dtheta*dt (P[i,...] = dh_i/dtheta), grads = g @ P which for",
              "    W (H,H,I+H+1) contracts g with P's SECOND axis (g_j * P[r,j,k]), for tau with the first",
              "  RNN grad sent back: W: g[:,None]*JW, tau: g*Jtau (RFLO); g = cotangent of h_t",
              "  rnn_state carried = (h, traces {W, tau}, dh/dx trace (zero for RFLO));",
              "  all of it reset to h_reset (zeros) at done",
              "Heads (models/neural_networks.py FADense = flax Dense, kernel (in, out), glorot_normal):",
              f"  actor: logits = h @ params/td/actor/kernel (H, A), no bias{' (MLP)' if args.mlp_actor else ''}; "
              f"Categorical (discrete) or Normal(loc, softplus(sigmoid_between(log_scale,-2,2))) (continuous)",
              "  critic: v = h @ params/td/critic/kernel (H,1) + params/td/critic/bias (1,)",
              f"  pass_obs={args.pass_obs}: heads see [h, x] if True; layer_norm={args.layer_norm}",
              f"  feedback alignment f_align={args.f_align}: falign/td/actor/B (H, A), falign/td/critic/B (H, 1),",
              "    fixed; the head's input cotangent is B @ y_bar (instead of kernel @ y_bar); head grads exact",
              "    g = B_C * 1 + B_A @ (eta_pi * dlogpi(a)/dlogits)   [+ entropy_rate * B_A @ dH/dlogits, untraced]",
              "Optimizer (optimizers.py make_optimizer, optax.multi_transform over params: 'rnn' -> params/rnn, "
              "'td' -> params/td):"]
    for group, oc in (("rnn", args.optimizer_params_rnn), ("td", args.optimizer_params_td)):
        lines.append(f"  {group}: inject_hyperparams(chain(add_decayed_weights({oc.weight_decay}), "
                     f"{'clip_by_global_norm(%s)' % oc.gradient_clip if oc.gradient_clip else 'identity()'}, "
                     f"optax.{oc.opt_name}(learning_rate=-{oc.learning_rate}, **{dict(oc.kwargs)})))"
                     f" decay_type={oc.decay_type} multi_step={oc.multi_step}")
    lines += ["  direction='max': learning rate negated -> ascent, params += lr * adam(update); adam defaults",
              "  b1=0.9, b2=0.999, eps=1e-8, eps_root=0 (optax 0.2.4); weight decay not negated for 'max' (so a",
              "  nonzero value would grow weights); no gradient clipping unless gradient_clip is set",
              "",
              "step_fn order (rtrrl.py): 1 seed -> (seed, action_key, dropout_key); 2 env.step(a_{t-1}) (auto-reset:",
              "  obs is the new episode's first obs when done); 3 if done: rnn_state <- h_reset; 4 build input;",
              "  5 RNN step with the pre-update params -> h_t and RNN traces; 6 at h_t: v_t, pi(.|h_t), a_t ~ pi",
              "  (action_key), psi_C = dv/dtheta, psi_A = eta_pi dlogpi(a_t)/dtheta, psi_R via FA + RNN trace;",
              "  entropy grad * entropy_rate (added directly); 7 d = r_t + gamma v_t (1-done_t) - r_bar - v_{t-1}",
              "  (truncation counts as done); 8 update = d * z_{t-1} (rnn: d*eta_f*z) + entropy grad; Adam ascent;",
              "  tau clip; 9 r_bar += eta*mean(d) (eta None: I <- gamma I (1-done) + done); 10 z <- 0 where done;",
              "  11 z_t = gamma*lambda*z + I*psi_t (lambda_pi actor, lambda_v critic, lambda_rnn rnn);",
              "  12 carry (a_t, rnn_state_t, z_t, v_prev <- v_t)",
              "  continuous actions with var_scaling: the TD loss and the entropy grads are scaled by",
              "  min(mean(pi.scale), 1); discrete: scale 1. Step 0 updates with z = 0: only the entropy grad",
              "  moves (actor, rnn; Adam makes it a full lr-sized step), the critic first moves at step 1",
              f"gamma={args.gamma} lambda_v={args.lambda_v} lambda_pi={args.lambda_pi} lambda_rnn={args.lambda_rnn} "
              f"eta_pi={args.eta_pi} eta_f={args.eta_f} entropy_rate={args.entropy_rate} eta={args.eta} "
              f"trace_mode={args.trace_mode} update_period={args.update_period} meta_rl={args.meta_rl} "
              f"normalize_reward={args.normalize_reward} (not applied in step_fn) normalize_obs={args.normalize_obs} "
              f"(not applied in step_fn) max_ep_length={args.env_params.max_ep_length}"]
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])

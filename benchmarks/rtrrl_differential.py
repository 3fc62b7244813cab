"""Differential check of dynjax's RTRRL against the authors' code, step by step (issue 20).

The authors' learner (github.com/FranzKnut/RTRRL-AAAI25, built by ../shared/anchors) is recorded step by step by
benchmarks/rtrrl_authors_recorder.py: its initial parameters, and per step the observation stream, its actions,
hidden state, value, TD error, eligibility traces and updated parameters. Each recording is replayed three ways,
all from the authors' initial parameters, initial state and feedback matrices, on the authors' observation and
action stream:

- **emulation**: dynjax's own pieces (dynjax.cells.ctrnn_step, the rule's trace and gradient, heads' eligibility
  and feedback signal, td_error, optax's Adam, the tau floor) put together in the authors' order of operations
  (below). Where it tracks the recording to float32 rounding, every formula is the same in both codes.
- **dynjax**: RTRRLLearner.learn, dynjax's own step, on the same transitions. Its differences from the recording
  are those of the order of operations alone.
- **emulation with the authors' RTRL contraction** (RTRL recordings only): as the emulation, but with the RNN
  gradient contracted over the second axis of the sensitivity P (g_j P[r, j, c]) instead of the first
  (sum_i g_i P[i, r, c] = g^T dh/dW): the reference's known defect 2.

The order of operations differs in two ways (step t takes the agent from h_{t-1} to h_t):
1. The authors compute v(h_{t-1}), the eligibility psi_{t-1} and the action a_{t-1} at step t-1, with the
   parameters of that time, and reuse them at step t after the update of step t-1; dynjax evaluates v(h_{t-1})
   and psi_{t-1} when it learns from the transition, with the parameters after that update (one update fresher).
2. The authors' first update of a run uses z = 0: the transition out of the initial state earns no credit.
Both are O(learning rate) per step: dynjax's order is Sutton & Barto's online TD(lambda) (every quantity of an
update from the current parameters).

The recordings use CartPole-v1 with positions only (the paper's task), gymnax's episode cap of 500 (no
truncation in the recorded steps, so the authors' defect 3 does not act), dt = 1 (defect 1 does not act), no
wiring mask (defect 5), normalize_reward False (defect 4 acts only at evaluation) and entropy_rate 0 (the authors
add the entropy gradient to the RNN as well, dynjax to the actor only; with it off, the update is delta z alone).

    python benchmarks/rtrrl_differential.py            # 300 steps, RFLO and RTRL
    python benchmarks/rtrrl_differential.py --quick    # the 40-step test fixtures (no authors' code needed)

Writes benchmarks/results/rtrrl_differential.md, .csv (per step and variant) and .png; the recordings themselves
(tens of MB) go to runs/rtrrl_differential/ and are not committed.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

import reference_rtrrl

RESULTS = Path(__file__).resolve().parent / "results"
RECORDER = Path(__file__).resolve().parent / "rtrrl_authors_recorder.py"
TASK_FLAGS = ["--seed", "1", "--env_name", "CartPole-v1", "--obs_mask", "even", "--max_ep_length", "500",
              "--normalize_reward", "False", "--entropy_rate", "0"]
CHECKPOINTS = (1, 2, 10, 30, 100, 300, 1000)
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data"  # the first steps of each recording
FIXTURE_STEPS = 40


def record(mode: str, steps: int, out: Path) -> Path:
    """Record `steps` steps of the authors' learner in `mode` (rflo | rtrl) into out/<mode>-<steps>.npz (reused
    when present)."""
    path = out / f"{mode}-{steps}.npz"
    if path.exists():
        return path
    if not reference_rtrrl.available():
        raise FileNotFoundError(f"the authors' RTRRL code is not built under {reference_rtrrl.ANCHORS} "
                                "(run its run_rtrrl.sh)")
    out.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"PYTHONPATH": f"{reference_rtrrl.ANCHORS / 'patches' / 'stubs'}:{reference_rtrrl.SOURCE}",
                        "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    cmd = [str(reference_rtrrl.PYTHON), str(RECORDER), str(path), str(steps), "--",
           *TASK_FLAGS, "--gradient_mode", mode]
    done = subprocess.run(cmd, cwd=reference_rtrrl.SOURCE, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not path.exists():
        raise RuntimeError(f"recorder failed: {done.stderr.strip().splitlines()[-3:]}")
    return path


LOADED = ("init/", "params/params/", "trace0/1/", "h0", "v0", "action0", "input", "obs", "reward", "done", "action",
          "h", "delta")  # what `load` reads of a recording


def trim(path: Path, dest: Path, steps: int) -> None:
    """The first `steps` steps of a recording, only what `load` reads, in float32, compressed (the test fixture
    tests/data/rtrrl_authors_*.npz: the authors' behaviour checked in CI, where their code is not built)."""
    d = np.load(path)
    keep = {}
    for k in d.files:
        if k.startswith(LOADED) and k not in ("input0", "obs0"):
            a = d[k]
            if k in ("input", "obs", "reward", "done", "action", "h", "delta") or k.startswith("params/params/"):
                a = a[:steps]
            keep[k] = a.astype(np.float32) if a.dtype.kind == "f" else a
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dest, **keep)


class Recording(NamedTuple):
    """A recording in dynjax's layout (float32, as both codes compute)."""

    theta0: Any  # AgentParams
    feedback: Any  # Feedback
    h0: np.ndarray
    v0: float
    action0: int
    inputs: np.ndarray  # (T, I): the RNN input of step t
    obs: np.ndarray  # (T, obs)
    reward: np.ndarray
    done: np.ndarray
    action: np.ndarray  # a_t, sampled at h_t
    h: np.ndarray  # (T, N)
    delta: np.ndarray
    theta: Any  # AgentParams with a leading (T,) axis: after the update of step t
    trace0: Any  # the RNN trace after the initial step (RFLOTrace or RTRLTrace, dynjax's layout)


def load(path: Path) -> Recording:
    """A recording (rtrrl_authors_recorder.py's npz, or its trimmed fixture) in dynjax's parameter layout."""
    from dynjax.agents.heads import Feedback, HeadParams
    from dynjax.agents.rtrrl import AgentParams
    from dynjax.cells.ctrnn import CTRNNParams
    from dynjax.rules.rflo import RFLOTrace
    from dynjax.rules.rtrl import RTRLTrace

    d = np.load(path)
    f = lambda a: np.asarray(a, np.float32)  # noqa: E731

    def params(prefix: str) -> Any:  # flax kernels are (in, out); a leading step axis, where there is one, stays
        return AgentParams(
            body=CTRNNParams(W=f(d[f"{prefix}/rnn/W"]), tau=f(d[f"{prefix}/rnn/tau"])),
            heads=HeadParams(W_A=f(np.swapaxes(d[f"{prefix}/td/actor/kernel"], -1, -2)),
                             w_C=f(d[f"{prefix}/td/critic/kernel"][..., 0]), b_C=f(d[f"{prefix}/td/critic/bias"][..., 0])))

    # the authors' RTRL sensitivity is P[i, r, c] = dh_i / dW[r, c], dynjax's layout (the recording checks it)
    kind = RFLOTrace if d["trace0/1/W"].ndim == 2 else RTRLTrace
    trace0 = kind(f(d["trace0/1/W"]), f(d["trace0/1/tau"]))
    return Recording(
        theta0=params("init/params"),
        feedback=Feedback(B_A=f(d["init/falign/td/actor/B"]), B_C=f(d["init/falign/td/critic/B"][:, 0])),
        h0=f(d["h0"]), v0=float(d["v0"]), action0=int(d["action0"]), inputs=f(d["input"]), obs=f(d["obs"]),
        reward=f(d["reward"]), done=np.asarray(d["done"]), action=np.asarray(d["action"]), h=f(d["h"]),
        delta=f(d["delta"]), theta=params("params/params"), trace0=trace0)


def authors_contraction(trace: Any, g: Any) -> Any:
    """The reference's RTRL gradient for W (its defect 2): g contracted with P's second axis, g_j P[r, j, c],
    where dh/dW's is the first, sum_i g_i P[i, r, c]; tau's contraction is the right one."""
    import jax.numpy as jnp

    from dynjax.cells.ctrnn import CTRNNParams

    return CTRNNParams(W=jnp.einsum("j,rjc->rc", g, trace.P_W), tau=g @ trace.P_tau)


class Replay(NamedTuple):
    h: np.ndarray  # (T, N)
    delta: np.ndarray  # (T,)
    theta: Any  # AgentParams, leading (T,) axis


def emulate(rec: Recording, mode: str, grads: Callable | None = None, hp: Any = None) -> Replay:
    """dynjax's pieces in the authors' order of operations (module docstring), on the recorded stream."""
    import jax
    import jax.numpy as jnp
    import optax

    from dynjax.agents.heads import categorical, value
    from dynjax.agents.rtrrl import AgentParams, RTRRLHParams, eligibility
    from dynjax.cells.ctrnn import ctrnn_step
    from dynjax.rules import RULES
    from dynjax.rules.td import td_error

    hp = hp or RTRRLHParams()
    rule = RULES[mode]
    if grads is not None:
        rule = rule._replace(grads=grads)
    policy = categorical(2)
    adam = optax.scale_by_adam()
    lam = AgentParams(body=jax.tree.map(lambda _: hp.lambda_rnn, rec.theta0.body),
                      heads=rec.theta0.heads._replace(W_A=hp.lambda_actor, w_C=hp.lambda_critic, b_C=hp.lambda_critic))

    def step(carry, x):
        theta, opt, z, h, trace, v_prev = carry
        u, r, done, a = x
        h_in = jnp.where(done, 0.0, h)  # the authors reset h and the trace to zero, then step on the input
        h_new, aux = ctrnn_step(theta.body, h_in, u, hp.dt)
        trace = rule.update(trace, theta.body, aux, hp.dt, restart=done)
        v = value(theta.heads, h_new)
        delta = td_error(r, v_prev, v, done, hp.gamma)  # (the recorded steps truncate no episode)
        upd, opt = adam.update(jax.tree.map(lambda zl: -delta * zl, z), opt)
        theta_new = jax.tree.map(lambda t, du: t - hp.lr_rnn * du, theta, upd)  # one learning rate, 1e-3, in both
        theta_new = theta_new._replace(body=theta_new.body._replace(tau=jnp.maximum(theta_new.body.tau, hp.tau_min)))
        psi, _ = eligibility(policy, rule, theta, rec.feedback, trace, h_new, a, hp.eta_pi)
        z = jax.tree.map(lambda zl, p, l: hp.gamma * l * jnp.where(done, 0.0, zl) + p, z, psi, lam)
        return (theta_new, opt, z, h_new, trace, v), (h_new, delta, theta_new)

    zeros = jax.tree.map(jnp.zeros_like, rec.theta0)
    carry = (rec.theta0, adam.init(rec.theta0), zeros, jnp.asarray(rec.h0), rec.trace0, jnp.float32(rec.v0))
    xs = (jnp.asarray(rec.inputs), jnp.asarray(rec.reward), jnp.asarray(rec.done), jnp.asarray(rec.action))
    _, (h, delta, theta) = jax.jit(lambda c, x: jax.lax.scan(step, c, x))(carry, xs)
    return Replay(np.asarray(h), np.asarray(delta), jax.tree.map(np.asarray, theta))


def dynjax_replay(rec: Recording, mode: str) -> Replay:
    """dynjax's RTRRLLearner.learn on the recorded transitions, from the authors' initial state."""
    import jax
    import jax.numpy as jnp

    from dynjax.agents.rtrrl import RTRRLConfig, RTRRLHParams, Transition, make_learner

    learner = make_learner(RTRRLConfig(env_id="CartPole-v1", obs_mask="even", rule=mode,
                                       hparams=RTRRLHParams(eta_entropy=0.0)))
    s = learner.init(jax.random.key(0))
    s = s._replace(theta=rec.theta0, feedback=rec.feedback, h=jnp.asarray(rec.h0), trace=rec.trace0)
    prev = np.concatenate([[rec.action0], rec.action[:-1]])
    xs = (jnp.asarray(prev), Transition(obs=jnp.asarray(rec.obs), reward=jnp.asarray(rec.reward),
                                        terminated=jnp.asarray(rec.done), truncated=jnp.zeros_like(rec.done),
                                        final_obs=jnp.asarray(rec.obs)))  # final_obs only bootstraps a live step

    def step(s, x):
        a, tr = x
        s, info = learner.learn(s, a, tr)
        return s, (s.h, info.delta, s.theta)

    _, (h, delta, theta) = jax.jit(lambda s, x: jax.lax.scan(step, s, x))(s, xs)
    return Replay(np.asarray(h), np.asarray(delta), jax.tree.map(np.asarray, theta))


def differences(rec: Recording, rep: Replay) -> dict[str, np.ndarray]:
    """Per step: max |h - h_A|, |delta - delta_A|, and max over parameter leaves of ||theta - theta_A|| /
    max(||theta_A - theta_0||, ||theta - theta_0||): the difference relative to how far learning has moved that
    parameter in either code (0: the same; 1: as large as the learning itself)."""
    import jax

    dh = np.max(np.abs(rep.h - rec.h), axis=1)
    dd = np.abs(rep.delta - rec.delta)
    diff = jax.tree.map(lambda a, b: np.sqrt(np.sum((a - b) ** 2, axis=tuple(range(1, a.ndim)))), rep.theta, rec.theta)
    norm = lambda b, b0: np.sqrt(np.sum((b - b0[None]) ** 2, axis=tuple(range(1, b.ndim))))  # noqa: E731
    moved = jax.tree.map(lambda a, b, b0: np.maximum(norm(a, b0), norm(b, b0)), rep.theta, rec.theta, rec.theta0)
    rel = [d / np.maximum(m, 1e-12) for d, m in zip(jax.tree.leaves(diff), jax.tree.leaves(moved))]
    return {"h": dh, "delta": dd, "theta_rel": np.max(np.stack(rel), axis=0),
            "theta_abs": np.max(np.stack(jax.tree.leaves(diff)), axis=0)}


VARIANTS = {  # name -> (recording mode, replay)
    "RFLO: dynjax's pieces in the authors' order": ("rflo", lambda rec: emulate(rec, "rflo")),
    "RFLO: dynjax's learner (its own order)": ("rflo", lambda rec: dynjax_replay(rec, "rflo")),
    "RTRL: dynjax's pieces in the authors' order": ("rtrl", lambda rec: emulate(rec, "rtrl")),
    "RTRL: the same with the authors' contraction (defect 2)": (
        "rtrl", lambda rec: emulate(rec, "rtrl", grads=authors_contraction)),
    "RTRL: dynjax's learner (its own order)": ("rtrl", lambda rec: dynjax_replay(rec, "rtrl")),
}


def fmt(x: float) -> str:
    return f"{x:.1e}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--quick", action="store_true",
                    help="the 40 recorded steps of the test fixture (tests/data), no authors' code needed")
    ap.add_argument("--out", type=Path, default=RESULTS / "rtrrl_differential.md",
                    help="the table; its .csv and .png are written beside it")
    ap.add_argument("--recordings", type=Path, default=Path("runs") / "rtrrl_differential")
    ap.add_argument("--fixture", type=Path, default=None,
                    help="also write the first 40 steps of each recording here (<mode>.npz; tests/data/)")
    args = ap.parse_args()
    steps = FIXTURE_STEPS if args.quick else args.steps
    args.out.parent.mkdir(parents=True, exist_ok=True)
    paths = {mode: FIXTURES / f"rtrrl_authors_{mode}.npz" if args.quick else record(mode, steps, args.recordings)
             for mode in ("rflo", "rtrl")}
    if args.fixture:
        for mode, path in paths.items():
            trim(path, args.fixture / f"rtrrl_authors_{mode}.npz", FIXTURE_STEPS)
    recs = {mode: load(path) for mode, path in paths.items()}
    results = {name: differences(recs[mode], replay(recs[mode])) for name, (mode, replay) in VARIANTS.items()}

    stem = args.out.with_suffix("")
    with open(stem.with_suffix(".csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["variant", "step", "max_abs_h", "abs_delta", "theta_rel", "theta_abs"])
        for name, r in results.items():
            for t in range(steps):
                w.writerow([name, t + 1, *(f"{r[k][t]:.6g}" for k in ("h", "delta", "theta_rel", "theta_abs"))])
    marks = [c for c in CHECKPOINTS if c <= steps]
    done = {m: int(recs[m].done.sum()) for m in recs}
    lines = [
        "# RTRRL, dynjax against the authors' code step by step" + (" (quick pipeline check)" if args.quick else ""),
        "",
        f"The authors' learner recorded for {steps} steps (benchmarks/rtrrl_authors_recorder.py; CartPole-v1, "
        f"positions only, seed 1, N = 32, feedback alignment, entropy_rate 0, normalize_reward False; "
        f"{done['rflo']} episodes ended in the RFLO recording, {done['rtrl']} in the RTRL one), then replayed from "
        "its initial parameters on its own observations and actions (benchmarks/rtrrl_differential.py explains "
        "each variant). Per step: max |h - h_authors| over the 32 units, |delta - delta_authors|, and the largest "
        "over parameter leaves of ||theta - theta_authors|| / max(||theta_authors - theta_0||, ||theta - theta_0||) "
        "(the difference relative to how far learning has moved that parameter in either code; 1 means as large "
        "as the learning itself).",
        "",
        "| variant | quantity | " + " | ".join(f"step {m}" for m in marks) + " | max over steps |",
        "|---|---|" + "---|" * (len(marks) + 1),
    ]
    for name, r in results.items():
        for key, label in (("h", "max abs h"), ("delta", "abs TD error"), ("theta_rel", "parameters, relative")):
            lines.append(f"| {name} | {label} | " + " | ".join(fmt(r[key][m - 1]) for m in marks)
                         + f" | {fmt(np.nanmax(r[key]))} |")
    em = results["RFLO: dynjax's pieces in the authors' order"]
    own = results["RFLO: dynjax's learner (its own order)"]
    rt, rt_a = (results["RTRL: dynjax's pieces in the authors' order"],
                results["RTRL: the same with the authors' contraction (defect 2)"])
    lines += [
        "",
        "Reading (from the numbers above):",
        f"- RFLO, emulation: the largest difference over {steps} steps is {fmt(em['h'].max())} in h, "
        f"{fmt(em['delta'].max())} in the TD error and {fmt(em['theta_rel'].max())} relative in the parameters: "
        "the CT-RNN step, the RFLO trace with its tau term, feedback alignment, the heads' eligibility, the TD "
        "error, the accumulating traces with their reset, Adam (ascent, lr 1e-3) and the tau floor are the same "
        "computation in both codes" + (" (float32 rounding)." if em["theta_rel"].max() < 1e-3 else
                                       ": NOT within rounding; see the CSV for where it starts."),
        f"- RFLO, dynjax's own learner: {fmt(own['h'][min(9, steps - 1)])} in h by step 10, "
        f"{fmt(own['theta_rel'][-1])} relative in the parameters at step {steps}. Only the order of operations "
        "differs (the emulation removes it), so this is what it costs: the authors evaluate v(h_{t-1}), psi_{t-1} "
        "with parameters one update staler and give the first transition no credit.",
        f"- RTRL: with dynjax's contraction (g^T dh/dW) the emulation differs by {fmt(rt['theta_rel'].max())} "
        f"relative in the parameters; with the authors' contraction over P's second axis it differs by "
        f"{fmt(rt_a['theta_rel'].max())}. "
        + ("So the authors' RTRL is this mis-contracted gradient (defect 2 of ../shared/reference/rtrrl.md), and "
           "its RTRRL-RTRL column is not exact RTRL; dynjax's RTRL is (tests/test_rules.py checks it against "
           "autodiff BPTT)." if rt_a["theta_rel"].max() < 1e-3 < rt["theta_rel"].max() else
           "Neither reproduces the recording to rounding: see the CSV."),
    ]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    plot(results, stem.with_suffix(".png"))
    print("\n".join(lines))
    print(f"wrote {stem}.md / .csv / .png")


def plot(results: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    from common import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, r in results.items():
        for ax, key in zip(axes, ("h", "delta", "theta_rel")):
            ax.semilogy(np.arange(1, r[key].size + 1), np.maximum(r[key], 1e-12), label=name)
    for ax, title in zip(axes, ("max |h - h_authors|", "|delta - delta_authors|",
                                "parameters: ||theta - theta_A|| / ||theta_A - theta_0||")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    save_figure(fig, path)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()

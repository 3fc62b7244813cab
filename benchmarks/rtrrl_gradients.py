"""Gradient quality of RTRRL's online updates over training: RFLO and RTRL against the true gradient.

The RTRRL paper's suggested checks (source document 004, "Next checks" 3, and the issue's version): how close is
RFLO's update to the true gradient, how close is RTRL's with feedback alignment, and how noisy is a single online
update? RTRRL-RFLO learners (paper defaults, CartPole with positions only, 16 seeds vmapped) are trained and
frozen at snapshots; from each snapshot every learner acts for T steps with its own policy (fresh episodes,
parameters fixed) and along that same trajectory four estimates of the body's TD(lambda) update are formed:

    Delta_t = delta_t z_t,   z_t = gamma lambda_rnn z_{t-1} + psi_t  (reset after an episode ends)
    psi_t   = g_t^T dh_t/dtheta_body, estimated by
      true        exact RTRL sensitivity P_t with the exact signal g = w_C + eta_pi W_A^T dlogpi/dout
      RTRL + FA   exact P_t with the feedback-alignment signal g = B_C + eta_pi B_A dlogpi/dout (what RTRRL-RTRL
                  learns with)
      RFLO exact  RFLO's diagonal trace J_t with the exact signal (RFLO's truncation alone)
      RFLO + FA   RFLO's trace with the FA signal (what RTRRL-RFLO learns with)

The true gradient is checked against autodiff through the recorded episode: the window's summed true update
sum_t Delta_t equals grad_theta sum_t c_t [v(h_t) + eta_pi log pi(a_t|h_t)], c_t = sum_{s>=t} (gamma
lambda)^(s-t) delta_s within the episode, by reverse-mode differentiation of the CT-RNN unrolled over the
window's recorded inputs (the table's "autodiff check": the largest relative difference over learners).

Per learner and snapshot: the mean over steps of cos(Delta_t^est, Delta_t^true) (per-step direction), the cosine
of the window's summed updates (what many steps add up to), the norm ratio ||sum est|| / ||sum true||, and the
noise of a single update: tr Cov(Delta_t) / ||mean Delta_t||^2 over the window (1/B of it for a batch of B
steps). Seeds are the unit: median [q25, q75] over the 16 learners, and the Wilcoxon signed-rank test of RFLO + FA
against RTRL + FA on the paired per-learner per-step cosines (the same trajectories).

    python benchmarks/rtrrl_gradients.py          # 16 seeds, snapshots up to 1M steps, T = 2,000
    python benchmarks/rtrrl_gradients.py --quick  # 2 seeds, snapshots 0 and 2k, T = 200
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import jax
import jax.numpy as jnp
import numpy as np

from common import pyplot, save_figure, write_table
from dynjax.agents.heads import feedback_signal, meta_input, value
from dynjax.agents.rtrrl import RTRRLConfig, eligibility, make_learner, policy_of
from dynjax.cells.ctrnn import ctrnn_step
from dynjax.results.stats import format_p
from dynjax.rules.rflo import rflo
from dynjax.rules.rtrl import rtrl
from dynjax.rules.td import td_error

RESULTS = Path(__file__).resolve().parent / "results"
TASK = dict(env_id="CartPole-v1", obs_mask="even")
SNAPSHOTS = (0, 10_000, 50_000, 200_000, 500_000, 1_000_000)
ESTIMATES = ("RTRL + FA", "RFLO exact", "RFLO + FA")  # against "true"
KINDS = ("true",) + ESTIMATES


def tree_dot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def make_probe(config: RTRRLConfig, T: int):
    """probe(state, key) -> per-learner statistics of the four update estimates along T frozen steps."""
    learner = make_learner(config)
    spec = learner.spec
    env, env_params = spec.env, spec.params
    policy = policy_of(spec)
    inputs = meta_input(policy, config.meta_rl)

    def probe(s, key):
        p, fb, hp = s.theta, s.feedback, s.hp
        k_reset, k_run = jax.random.split(key)
        obs, env_state = env.reset(k_reset, env_params)
        u0 = inputs(obs, policy.null_action, jnp.zeros(()))
        h, aux = ctrnn_step(p.body, jnp.zeros(config.hidden_size), u0, hp.dt)
        traces = (rflo.update(rflo.init(p.body), p.body, aux, hp.dt), rtrl.update(rtrl.init(p.body), p.body, aux, hp.dt))
        zeros = jax.tree.map(jnp.zeros_like, p.body)
        decay = hp.gamma * hp.lambda_rnn

        def step(c, k):
            env_state, h, (J, P), z, sums, sq, cos_sum, cos_n, ep_ret, ret_sum, n_ep = c
            k_act, k_env = jax.random.split(k)
            out = p.heads.W_A @ h
            a = policy.sample(k_act, out)
            psi = {kind: eligibility(policy, rule, p, f, tr, h, a, hp.eta_pi)[0].body
                   for kind, rule, f, tr in (("true", rtrl, None, P), ("RTRL + FA", rtrl, fb, P),
                                             ("RFLO exact", rflo, None, J), ("RFLO + FA", rflo, fb, J))}
            obs, env_state, r, term, trunc, info = env.step(k_env, env_state, a, env_params)
            done = jnp.logical_or(term, trunc)
            x_boot = inputs(info["final_observation"], a, r)
            h_boot, aux_boot = ctrnn_step(p.body, h, x_boot, hp.dt)
            delta = td_error(r, value(p.heads, h), value(p.heads, h_boot), term, hp.gamma)
            z = {kd: jax.tree.map(lambda zl, ps: decay * zl + ps, z[kd], psi[kd]) for kd in KINDS}
            upd = {kd: jax.tree.map(lambda zl: delta * zl, z[kd]) for kd in KINDS}
            nt = jnp.sqrt(tree_dot(upd["true"], upd["true"]))
            cos_sum, cos_n = dict(cos_sum), dict(cos_n)
            for kd in ESTIMATES:
                ne = jnp.sqrt(tree_dot(upd[kd], upd[kd]))
                ok = (nt > 0) & (ne > 0)
                cos = tree_dot(upd[kd], upd["true"]) / jnp.where(ok, nt * ne, 1.0)
                cos_sum[kd] = cos_sum[kd] + jnp.where(ok, cos, 0.0)
                cos_n[kd] = cos_n[kd] + ok.astype(jnp.float32)
            sums = {kd: jax.tree.map(jnp.add, sums[kd], upd[kd]) for kd in KINDS}
            sq = {kd: sq[kd] + tree_dot(upd[kd], upd[kd]) for kd in KINDS}
            z = {kd: jax.tree.map(lambda zl: jnp.where(done, 0.0, zl), z[kd]) for kd in KINDS}
            x_reset = inputs(obs, policy.null_action, jnp.zeros(()))
            h_reset, aux_reset = ctrnn_step(p.body, jnp.zeros_like(h), x_reset, hp.dt)
            aux_next = jax.tree.map(lambda u, v: jnp.where(done, u, v), aux_reset, aux_boot)
            J = rflo.update(J, p.body, aux_next, hp.dt, restart=done)
            P = rtrl.update(P, p.body, aux_next, hp.dt, restart=done)
            ep_ret = ep_ret + r
            ret_sum, n_ep = ret_sum + jnp.where(done, ep_ret, 0.0), n_ep + done
            ep_ret = jnp.where(done, 0.0, ep_ret)
            h_next = jnp.where(done, h_reset, h_boot)
            record = (jnp.where(done, x_reset, x_boot), done, a, delta)
            return (env_state, h_next, (J, P), z, sums, sq, cos_sum, cos_n, ep_ret, ret_sum, n_ep), record

        z0 = {kd: zeros for kd in KINDS}
        c0 = (env_state, h, traces, z0, z0, {kd: jnp.zeros(()) for kd in KINDS}, {kd: jnp.zeros(()) for kd in ESTIMATES},
              {kd: jnp.zeros(()) for kd in ESTIMATES},
              jnp.zeros(()), jnp.zeros(()), jnp.zeros((), jnp.int32))
        c, (xs, dones, actions, deltas) = jax.lax.scan(step, c0, jax.random.split(k_run, T))
        _, _, _, _, sums, sq, cos_sum, cos_n, _, ret_sum, n_ep = c

        # autodiff through the recorded window: grad of sum_t c_t [v(h_t) + eta_pi log pi(a_t|h_t)]
        def credit(carry, x):
            d, dn = x
            cc = d + decay * jnp.where(dn, 0.0, carry)
            return cc, cc
        _, weights = jax.lax.scan(credit, jnp.zeros(()), (deltas, dones), reverse=True)

        def objective(body):
            def roll(h, x):  # h_t -> h_{t+1} from the recorded input (from zeros after an episode ended)
                u, dn, a, w = x
                f = value(p.heads, h) + hp.eta_pi * policy.log_prob(p.heads.W_A @ h, a)
                h_next, _ = ctrnn_step(body, jnp.where(dn, jnp.zeros_like(h), h), u, hp.dt)
                return h_next, w * f
            h_start, _ = ctrnn_step(body, jnp.zeros(config.hidden_size), u0, hp.dt)
            _, terms = jax.lax.scan(roll, h_start, (xs, dones, actions, jax.lax.stop_gradient(weights)))
            return jnp.sum(terms)
        auto = jax.grad(objective)(p.body)
        err = jnp.sqrt(tree_dot(jax.tree.map(jnp.subtract, auto, sums["true"]),
                                jax.tree.map(jnp.subtract, auto, sums["true"]))) / jnp.sqrt(tree_dot(auto, auto))

        n_true = jnp.sqrt(tree_dot(sums["true"], sums["true"]))
        stats = {"autodiff_rel_err": err, "episode_return": ret_sum / jnp.maximum(n_ep, 1)}
        for kd in KINDS:
            mean_sq = tree_dot(sums[kd], sums[kd]) / T**2
            stats[f"{kd}: noise"] = (sq[kd] / T - mean_sq) / mean_sq
        for kd in ESTIMATES:
            n_est = jnp.sqrt(tree_dot(sums[kd], sums[kd]))
            stats[f"{kd}: step cos"] = cos_sum[kd] / jnp.maximum(cos_n[kd], 1.0)
            stats[f"{kd}: window cos"] = tree_dot(sums[kd], sums["true"]) / (n_est * n_true)
            stats[f"{kd}: norm ratio"] = n_est / n_true
        return stats

    return learner, probe


def train_and_probe(seeds: int, snapshots: tuple[int, ...], T: int) -> dict[int, dict[str, np.ndarray]]:
    """Train `seeds` RTRRL-RFLO learners, probing them (make_probe) at every snapshot step."""
    config = RTRRLConfig(**TASK, total_steps=max(snapshots[-1], 1), eval_every=max(snapshots[-1], 1))
    learner, probe = make_probe(config, T)
    keys = jax.random.split(jax.random.key(0), seeds)
    states = jax.jit(jax.vmap(learner.init))(keys)

    @functools.partial(jax.jit, static_argnums=1)
    def train(states, n):
        def body(s, _):
            return learner.step(s)[0], None
        return jax.vmap(lambda s: jax.lax.scan(body, s, None, length=n)[0])(states)

    probe_all = jax.jit(jax.vmap(probe))
    out, done = {}, 0
    for snap in snapshots:
        t0 = time.time()
        remaining = snap - done
        while remaining > 0:  # chunks of at most 100k steps, each compiled once
            n = min(remaining, 100_000)
            states = train(states, n)
            remaining -= n
        done = snap
        out[snap] = jax.tree.map(np.asarray, probe_all(states, jax.random.split(jax.random.key(snap + 1), seeds)))
        print(f"snapshot {snap:>9,}: probed in {time.time() - t0:.1f} s; RFLO + FA step cos median "
              f"{np.median(out[snap]['RFLO + FA: step cos']):.3f}", flush=True)
    return out


def med(x: np.ndarray) -> str:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if not x.size:
        return "n/a"
    q25, m, q75 = np.percentile(x, [25, 50, 75])
    return f"{m:.3g} [{q25:.3g}, {q75:.3g}]"


def main() -> None:
    from scipy.stats import wilcoxon

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--window", type=int, default=2000, help="T: frozen steps probed at each snapshot")
    ap.add_argument("--quick", action="store_true", help="2 seeds, snapshots 0 and 2k, T = 200")
    ap.add_argument("--out", type=Path, default=None, help="results folder (its table is <out>.md)")
    args = ap.parse_args()
    root = args.out or RESULTS / ("rtrrl_gradients_quick" if args.quick else "rtrrl_gradients")
    seeds, T = (2, 200) if args.quick else (args.seeds, args.window)
    snapshots = (0, 2_000) if args.quick else SNAPSHOTS
    t0 = time.time()
    res = train_and_probe(seeds, snapshots, T)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "per_learner.csv", "w") as fh:
        keys = list(res[snapshots[0]])
        fh.write("snapshot,learner," + ",".join(k.replace(",", ";") for k in keys) + "\n")
        for snap, st in res.items():
            for i in range(seeds):
                fh.write(f"{snap},{i}," + ",".join(f"{st[k][i]:.6g}" for k in keys) + "\n")
    lines = [
        "# RTRRL: how good are its online updates? RFLO and RTRL against the true gradient"
        + (" (quick pipeline check, not a result)" if args.quick else ""),
        "",
        f"RTRRL-RFLO learners (paper defaults, CartPole-v1 positions only, {seeds} seeds) frozen at each snapshot; "
        f"each acts {T:,} steps with its own policy from a fresh episode and the body's TD(lambda) update is "
        "estimated four ways along that trajectory (benchmarks/rtrrl_gradients.py). Cells: median [q25, q75] over "
        "learners. step cos: mean over steps of cos(Delta_t, Delta_t^true); window cos: cosine of the summed "
        "updates; norm ratio: ||sum Delta|| / ||sum Delta^true||; noise: tr Cov(Delta_t) / ||mean Delta_t||^2 of "
        "single-step updates (a batch of B steps divides it by B). Autodiff check: the largest relative "
        "difference between the exact-RTRL window update and reverse-mode autodiff through the recorded window.",
        "",
        "| snapshot (steps) | episode return in window | autodiff check (max) | "
        + " | ".join(f"{kd}: step cos" for kd in ESTIMATES) + " | RFLO + FA vs RTRL + FA (step cos, Wilcoxon) |",
        "|---|---|---|" + "---|" * len(ESTIMATES) + "---|",
    ]
    for snap, st in res.items():
        a, b = st["RFLO + FA: step cos"], st["RTRL + FA: step cos"]
        ok = np.isfinite(a) & np.isfinite(b)
        d = a[ok] - b[ok]
        test = "n/a" if d.size < 2 or np.all(d == 0) else (
            f"median diff {np.median(d):+.3f}, p = {format_p(float(wilcoxon(d).pvalue))}")
        lines.append(f"| {snap:,} | {med(st['episode_return'])} | {np.nanmax(st['autodiff_rel_err']):.1e} | "
                     + " | ".join(med(st[f'{kd}: step cos']) for kd in ESTIMATES) + f" | {test} |")
    lines += ["", "| snapshot (steps) | " + " | ".join(f"{kd}: window cos" for kd in ESTIMATES) + " | "
              + " | ".join(f"{kd}: norm ratio" for kd in ESTIMATES) + " |",
              "|---|" + "---|" * (2 * len(ESTIMATES))]
    for snap, st in res.items():
        lines.append(f"| {snap:,} | " + " | ".join(med(st[f'{kd}: window cos']) for kd in ESTIMATES) + " | "
                     + " | ".join(med(st[f'{kd}: norm ratio']) for kd in ESTIMATES) + " |")
    lines += ["", "| snapshot (steps) | " + " | ".join(f"{kd}: noise" for kd in KINDS) + " |",
              "|---|" + "---|" * len(KINDS)]
    for snap, st in res.items():
        lines.append(f"| {snap:,} | " + " | ".join(med(st[f'{kd}: noise']) for kd in KINDS) + " |")
    lines += ["", f"Wall time: {time.time() - t0:.0f} s."]
    plot(res, root / "gradient_quality.png")
    write_table(root, lines)


def plot(res: dict, path: Path) -> None:
    plt = pyplot()
    snaps = list(res)
    x = np.arange(len(snaps))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for kd in ESTIMATES:
        for ax, key in zip(axes, ("step cos", "window cos")):
            v = np.stack([res[s][f"{kd}: {key}"] for s in snaps])
            m = np.nanmedian(v, axis=1)
            ax.plot(x, m, marker="o", label=kd)
            ax.fill_between(x, np.nanpercentile(v, 25, axis=1), np.nanpercentile(v, 75, axis=1), alpha=0.2)
    for ax, title in zip(axes, ("per-step cosine with the true update", "cosine of the window's summed update")):
        ax.set_xticks(x, [f"{s // 1000}k" for s in snaps])
        ax.set_xlabel("training steps of the RFLO learner")
        ax.set_title(title, fontsize=10)
        ax.axhline(0, color="grey", lw=0.6)
    axes[0].legend(fontsize=8)
    save_figure(fig, path)


if __name__ == "__main__":
    main()

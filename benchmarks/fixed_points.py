"""Fixed-point finding: dynjax's batched finder vs a per-candidate scipy.optimize loop on the same problem.

Problem: a random tanh RNN h' = tanh(W h + b) with N = 128 units, W ~ N(0, g^2 / N), g = 1.5, b = 0 (chaotic
autonomous dynamics with several unstable fixed points). Data: 16 trajectories of 200 steps (after 100
transient steps) from random initial states. Candidates: K = 4096 data states plus N(0, 0.01^2) noise, the same
array for both methods. A candidate counts as converged at q = 1/2 |F(h) - h|^2 < 1e-12 (FixedPointFinder's
tolerance); unique fixed points are counted after greedy de-duplication within 1e-3 (both sides the same
way), stability from the eigenvalues of the Jacobian at each unique point.

- dynjax: `find_fixed_points` at its defaults (Adam, 300 iterations at lr 0.03, then up to 30 damped Newton
  steps for the candidates still improving; de-duplication, outlier test and Jacobian spectra of up to 256
  unique points inside the same jitted program), in float64 (the precision of the scipy loop) and in float32.
  Timed after compilation; the compile time is reported on its own.
- scipy: `scipy.optimize.minimize(method="BFGS")` per candidate with the analytic gradient
  grad q = (J - I)^T (F(h) - h), J = diag(1 - F(h)^2) W, gtol 1e-9 (float64), then the same de-duplication
  and `numpy.linalg.eigvals` at the unique points (inside its timing), over all candidates by default
  (`--scipy-candidates n` runs it on the first n only; its rate then extrapolates, and dynjax's counts on the
  same subset are shown beside it). numpy's BLAS is pinned to one thread (set before
  numpy loads): products of size 128 gain nothing from threads, and on a loaded 2-core machine a threaded
  OpenBLAS made this loop some 60 times slower. scipy is a benchmark-only dependency.

    python benchmarks/fixed_points.py                  # writes benchmarks/results/fixed_points.md
    python benchmarks/fixed_points.py --quick          # 256 candidates, 8 for scipy: a pipeline check only
    python benchmarks/fixed_points.py --scipy-candidates 512   # scipy on a subset (extrapolated)
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads its BLAS: the scipy loop runs single-threaded

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from dynjax.analysis import find_fixed_points, unique_fixed_points  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TOL_Q, TOL_UNIQUE = 1e-12, 1e-3


def make_problem(n: int, gain: float, bias: float, seed: int, n_traj: int = 16, steps: int = 200,
                 transient: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    W = gain * rng.normal(size=(n, n)) / np.sqrt(n)
    b = bias * rng.normal(size=n)
    h = rng.normal(size=(n_traj, n))
    states = []
    for t in range(transient + steps):
        h = np.tanh(h @ W.T + b)
        if t >= transient:
            states.append(h)
    return W, b, np.stack(states, axis=1)  # (n_traj, steps, n)


def unique_numpy(points: np.ndarray, q: np.ndarray, tol_q: float = TOL_Q, tol_unique: float = TOL_UNIQUE) -> np.ndarray:
    """Indices of the unique converged points: greedy, lowest q first (the same rule as dynjax.deduplicate)."""
    remaining = np.flatnonzero(q < tol_q)
    remaining = remaining[np.argsort(q[remaining], kind="stable")]
    keep = []
    while remaining.size:
        i = remaining[0]
        keep.append(i)
        remaining = remaining[np.linalg.norm(points[remaining] - points[i], axis=1) >= tol_unique]
    return np.asarray(keep, dtype=int)


def spectral_radius(W: np.ndarray, b: np.ndarray, h: np.ndarray) -> float:
    f = np.tanh(W @ h + b)
    return float(np.abs(np.linalg.eigvals((1 - f ** 2)[:, None] * W)).max())


def run_dynjax(W, b, states, H0, dtype, max_eig: int) -> dict:
    with jax.enable_x64(dtype == "float64"):
        Wj, bj = jnp.asarray(W, dtype), jnp.asarray(b, dtype)
        F = lambda h, x: jnp.tanh(Wj @ h + bj)  # noqa: E731
        fn = jax.jit(lambda s, h0: find_fixed_points(F, jnp.zeros((0,), dtype), s, jax.random.key(0),
                                                     h0.shape[0], initial=h0, max_eig=max_eig, tol_q=TOL_Q))
        s, h0 = jnp.asarray(states, dtype), jnp.asarray(H0, dtype)
        t = time.perf_counter()
        compiled = fn.lower(s, h0).compile()
        compile_s = time.perf_counter() - t
        t = time.perf_counter()
        res = jax.block_until_ready(compiled(s, h0))
        run_s = time.perf_counter() - t
        fps = unique_fixed_points(res, include_outliers=True)
        print(f"dynjax {dtype}: compile {compile_s:.1f} s, run {run_s:.1f} s", flush=True)
        return {"compile_s": compile_s, "run_s": run_s, "points": np.asarray(res.points, np.float64),
                "q": np.asarray(res.q, np.float64), "unique": len(fps["q"]), "stable": int(fps["stable"].sum()),
                "outliers": int(fps["outlier"].sum()), "adam": int(res.adam_iterations),
                "newton": int(res.newton_iterations), "no_eig": int((~fps["has_eig"]).sum())}


def run_scipy(W, b, H0) -> dict:
    from scipy.optimize import minimize

    def q_and_grad(h):
        f = np.tanh(W @ h + b)
        r = f - h
        return 0.5 * r @ r, ((1 - f ** 2) * r) @ W - r

    t = time.perf_counter()
    points, q, iters = np.empty_like(H0), np.empty(len(H0)), []
    for i, h0 in enumerate(H0):
        sol = minimize(q_and_grad, h0, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
        points[i], q[i] = sol.x, sol.fun
        iters.append(sol.nit)
    keep = unique_numpy(points, q)
    stable = sum(spectral_radius(W, b, points[i]) < 1 for i in keep)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "points": points, "q": q, "unique": len(keep), "stable": int(stable),
            "median_iters": float(np.median(iters))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=128)
    ap.add_argument("--gain", type=float, default=1.5)
    ap.add_argument("--bias", type=float, default=0.0, help="std of the random bias b")
    ap.add_argument("--candidates", type=int, default=4096)
    ap.add_argument("--scipy-candidates", type=int, default=None, help="default: all candidates")
    ap.add_argument("--max-eig", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.candidates, args.scipy_candidates, args.max_eig = 256, 8, 32
    out = args.out or RESULTS / "fixed_points.md"

    W, b, states = make_problem(args.units, args.gain, args.bias, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    flat = states.reshape(-1, args.units)
    H0 = flat[rng.integers(len(flat), size=args.candidates)] + 0.01 * rng.normal(size=(args.candidates, args.units))
    n_s = min(args.scipy_candidates or args.candidates, args.candidates)
    load = os.getloadavg()

    runs = {dt: run_dynjax(W, b, states, H0, dt, args.max_eig) for dt in ("float64", "float32")}
    sp = run_scipy(W, b, H0[:n_s])
    sp_rate = n_s / sp["seconds"]

    K = args.candidates
    lines = [
        "# Fixed-point finding: dynjax vs a per-candidate scipy.optimize loop", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, JAX {jax.__version__} ({jax.default_backend()}); "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average at start "
        f"{load[0]:.1f} (other jobs were sharing the cores: absolute times are inflated, both methods alike).",
        f"Problem: h' = tanh(W h + b), N = {args.units}, W ~ N(0, {args.gain}^2/N), b ~ N(0, {args.bias}^2), "
        f"{K} candidates = trajectory states + N(0, 0.01^2) noise (the same for both). Converged: q < {TOL_Q:g}; "
        f"unique: greedy de-duplication within {TOL_UNIQUE:g}; stable: max |eig J| < 1.", "",
        "| method | candidates | seconds | candidates/s | compile s | converged | unique fixed points | stable |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dt, r in runs.items():
        conv = int((r["q"] < TOL_Q).sum())
        lines.append(f"| dynjax find_fixed_points ({dt}) | {K:,} | {r['run_s']:.1f} | {K / r['run_s']:,.0f} | "
                     f"{r['compile_s']:.1f} | {conv:,} ({conv / K:.0%}) | {r['unique']} | {r['stable']} |")
    conv_s = int((sp["q"] < TOL_Q).sum())
    lines.append(f"| scipy BFGS loop (float64) | {n_s:,} | {sp['seconds']:.1f} | {sp_rate:,.2f} | - | "
                 f"{conv_s:,} ({conv_s / n_s:.0%}) | {sp['unique']} | {sp['stable']} |")
    if n_s < K:
        lines.append(f"| scipy BFGS loop, extrapolated | {K:,} | {K / sp_rate:,.0f} | {sp_rate:,.2f} | - | - | - | - |")
        lines += ["", f"Same {n_s} candidates (the first {n_s}), counted the same way:", "",
                  "| method | converged | unique fixed points |", "|---|---|---|"]
        for dt, r in runs.items():
            q_sub = r["q"][:n_s]
            lines.append(f"| dynjax ({dt}) | {int((q_sub < TOL_Q).sum())} | "
                         f"{len(unique_numpy(r['points'][:n_s], q_sub))} |")
        lines.append(f"| scipy BFGS | {conv_s} | {sp['unique']} |")
    r64 = runs["float64"]
    lines += ["", f"Speed ratio (candidates/s, dynjax / scipy): float64 {K / r64['run_s'] / sp_rate:,.0f}x, "
              f"float32 {K / runs['float32']['run_s'] / sp_rate:,.0f}x (target >= 20x).", "",
              f"dynjax ran {r64['adam']} Adam iterations and {r64['newton']} Newton steps (float64); scipy's BFGS "
              f"took a median of {sp['median_iters']:.0f} iterations per candidate. Unique points among dynjax's "
              f"outliers (farther than twice the data's RMS radius from every data state): {r64['outliers']}; "
              f"unique points beyond max_eig without a spectrum: {r64['no_eig']}."]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Attractor class of an autonomous discrete-time run: fixed point, limit cycle, quasi-periodic or chaotic.

Kononov et al. (2025, arXiv 2510.11162) run a trained RNN with its input clamped from many initial states and
sort the long-time behaviour into fixed points, limit cycles, quasi-periodic attractors and chaos. Here a run
of `step: x -> x'` from x0 is classified, after a transient, from two independent views:

(a) the two leading Lyapunov exponents LE_1 >= LE_2 (QR method, Benettin et al. 1980; per unit of time dt):

        at rest                                  -> fixed point
        LE_1 > +eps                              -> chaotic
        LE_1 < -eps (and not at rest)            -> limit cycle (a stable periodic orbit of the map)
        |LE_1| <= eps, LE_2 < -eps               -> limit cycle (an attracting closed curve)
        |LE_1| <= eps, |LE_2| <= eps             -> quasi-periodic (an attracting torus)

    "At rest": the trajectory's variance vanishes (<= REST_VARIANCE * (1 + mean square of the state)) or,
    with LE_1 < -eps, its last quarter has less than DECAY_RATIO times the variance of its first quarter (a
    slow spiral into a fixed point; a periodic orbit keeps its variance).

(b) the power spectrum of the trajectory (summed over state coordinates, Hann window): its peaks (local maxima
    above PEAK_THRESHOLD times the highest) are explained greedily, strongest first, as integer combinations
    m_1 f_1 + m_2 f_2 (|m_i| <= MAX_HARMONIC, folded into [0, 1/2] cycles per sample, within FREQ_TOL_BINS
    frequency bins) of base frequencies; a peak that is not explained becomes a new base frequency. The count
    of incommensurate base frequencies (capped at 3) gives the spectral class: 0 (at rest) fixed point, 1 limit
    cycle (a line spectrum of one frequency and its harmonics), 2 quasi-periodic, 3 or more chaotic
    (a broadband spectrum has many unexplained peaks).

The class `code` is (a); `spectral_code` is (b) and `consistent` says whether they agree.

Discrete time: for a map (an RNN step), motion on an attracting invariant circle with an irrational rotation
number (the Neimark-Sacker normal form, a tanh RNN h' = tanh(a R h) with a rotation R) has exponents (0, < 0)
and a spectrum of one base frequency: it is a "limit cycle" here, the discrete-time counterpart of a sampled
periodic oscillation. Map-dynamics texts call this motion quasi-periodic, counting the step as a second
frequency; here "quasi-periodic" means two incommensurate frequencies besides the step (an invariant torus,
LE_1 = LE_2 = 0). Everything is pure jnp: vmap `classify_attractor` over initial states.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from dynjax.analysis.lyapunov import lyapunov_spectrum

Array = jax.Array

FIXED_POINT, LIMIT_CYCLE, QUASI_PERIODIC, CHAOTIC = 0, 1, 2, 3
CLASS_NAMES = ("fixed_point", "limit_cycle", "quasi_periodic", "chaotic")

LE_EPS = 0.01  # |LE| <= LE_EPS (per unit of time) counts as zero
REST_VARIANCE = 1e-10  # relative trajectory variance below which the run is at rest
DECAY_RATIO = 0.5  # last-quarter / first-quarter variance below which a contracting run is at rest
PEAK_THRESHOLD = 1e-2  # spectral peaks: local maxima above this fraction of the highest
MAX_PEAKS = 16  # strongest peaks examined
MAX_HARMONIC = 5  # |m_i| of the integer combinations m_1 f_1 + m_2 f_2 tried
FREQ_TOL_BINS = 2.0  # a peak within this many frequency bins of a combination is explained by it
MAX_BASE = 3  # base-frequency count cap (3 means "3 or more")


class AttractorReport(NamedTuple):
    code: Array  # int32 class from the exponents (index into CLASS_NAMES)
    exponents: Array  # (2,) LE_1 >= LE_2 per unit of time (LE_2 = -inf for a 1-D state)
    at_rest: Array  # bool: vanishing or decaying trajectory variance
    variance: Array  # mean over coordinates of the trajectory's variance
    n_frequencies: Array  # int32 incommensurate base frequencies in the spectrum, capped at MAX_BASE
    frequencies: Array  # (2,) the first two base frequencies in cycles per sample (nan where absent)
    spectral_code: Array  # int32 class from the spectrum alone
    consistent: Array  # bool: code == spectral_code


def classify_exponents(le1: Array, le2: Array, at_rest: Array, eps: float | Array = LE_EPS) -> Array:
    """The class code from the two leading exponents and the at-rest flag (rules in the module doc)."""
    zero2 = jnp.abs(le2) <= eps
    code = jnp.where(le1 > eps, CHAOTIC,
                     jnp.where(le1 < -eps, LIMIT_CYCLE, jnp.where(zero2, QUASI_PERIODIC, LIMIT_CYCLE)))
    return jnp.where(at_rest & ~(le1 > eps), FIXED_POINT, code).astype(jnp.int32)


def power_spectrum(trajectory: Array) -> Array:
    """Power |FFT|^2 of the mean-removed, Hann-windowed trajectory (T, d), summed over coordinates: (T//2 + 1,)
    bins at frequencies j / T cycles per sample."""
    x = trajectory - trajectory.mean(0)
    T = x.shape[0]
    w = 0.5 - 0.5 * jnp.cos(2 * jnp.pi * jnp.arange(T) / T)
    return jnp.sum(jnp.abs(jnp.fft.rfft(w[:, None] * x, axis=0)) ** 2, axis=1)


def _fold(f: Array) -> Array:
    """A frequency in cycles per sample folded (aliased) into [0, 1/2]."""
    return jnp.abs(f - jnp.round(f))


def base_frequencies(trajectory: Array, threshold: float | Array = PEAK_THRESHOLD) -> tuple[Array, Array]:
    """Number of incommensurate base frequencies in the power spectrum of a trajectory (T, d) (capped at
    MAX_BASE) and the first two of them (cycles per sample, nan where absent). See the module doc."""
    T = trajectory.shape[0]
    P = power_spectrum(trajectory)
    inner = P[2:-1]
    is_peak = (inner > P[1:-2]) & (inner >= P[3:]) & (inner > threshold * jnp.max(P[2:]))
    n_peaks = min(MAX_PEAKS, inner.shape[0])
    power, j = jax.lax.top_k(jnp.where(is_peak, inner, -1.0), n_peaks)
    valid = power > 0
    b = j + 2  # bin index of each peak
    lp = jnp.log(jnp.maximum(P, jnp.finfo(P.dtype).tiny))
    a, c, m = lp[b - 1], lp[b + 1], lp[b]
    curv = a - 2 * m + c
    delta = jnp.where(curv < 0, 0.5 * (a - c) / jnp.where(curv < 0, curv, -1.0), 0.0)
    freq = (b + jnp.clip(delta, -0.5, 0.5)) / T

    m_range = jnp.arange(-MAX_HARMONIC, MAX_HARMONIC + 1, dtype=freq.dtype)
    m1, m2 = (g.ravel() for g in jnp.meshgrid(m_range, m_range))
    tol = FREQ_TOL_BINS / T

    def examine(i, carry):
        bases, n = carry
        combos = _fold(m1 * bases[0] + m2 * bases[1])
        explained = jnp.min(jnp.abs(combos - freq[i])) <= tol
        new = valid[i] & ~explained & (n < MAX_BASE)
        bases = jnp.where(new & (n < 2), bases.at[jnp.minimum(n, 1)].set(freq[i]), bases)
        return bases, n + new

    bases, n = jax.lax.fori_loop(0, n_peaks, examine, (jnp.zeros((2,), freq.dtype), jnp.zeros((), jnp.int32)))
    bases = jnp.where(jnp.arange(2) < n, bases, jnp.nan)
    return n, bases


def classify_attractor(step: Callable[[Array], Array], x0: Array, *, transient: int = 1000,
                       n_lyapunov: int = 10_000, n_spectrum: int = 4096, sample_every: int = 1,
                       reorth_every: int = 1, dt: float | Array = 1.0,
                       eps: float | Array = LE_EPS) -> AttractorReport:
    """Classify the attractor reached by x_{t+1} = step(x_t) from x0 (a flat state (d,)), see the module doc.

    transient: steps discarded first (the Lyapunov basis aligns during them too). n_lyapunov: steps over which
    the two leading exponents are averaged. n_spectrum: trajectory samples for the spectrum, one every
    `sample_every` steps (choose it so that the slowest oscillation spans many samples and the fastest fewer
    than half: frequencies are resolved to 1 / n_spectrum cycles per sample). dt: time per step (exponents
    and eps are per unit of time). All but x0, dt and eps are static; vmap over x0."""
    x0 = jnp.asarray(x0)
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a flat state of shape (d,), got shape {x0.shape}")
    k = min(2, x0.shape[0])
    le = lyapunov_spectrum(step, x0, k=k, n_steps=n_lyapunov, reorth_every=reorth_every, transient=transient)
    le = jnp.sort(le.exponents)[::-1] / dt
    le = jnp.concatenate([le, jnp.full((2 - k,), -jnp.inf, le.dtype)])

    def advance(x, n):
        return jax.lax.fori_loop(0, n, lambda _, x: step(x), x)

    def sample(x, _):
        x = advance(x, sample_every)
        return x, x

    _, traj = jax.lax.scan(sample, advance(x0, transient), None, length=n_spectrum)
    variance = jnp.mean(jnp.var(traj, axis=0))
    scale = 1.0 + jnp.mean(traj * traj)
    quarter = n_spectrum // 4
    early, late = (jnp.mean(jnp.var(part, axis=0)) for part in (traj[:quarter], traj[-quarter:]))
    at_rest = (variance <= REST_VARIANCE * scale) | ((le[0] < -eps) & (late < DECAY_RATIO * early))
    code = classify_exponents(le[0], le[1], at_rest, eps)
    n_freq, freqs = base_frequencies(traj)
    spectral_code = jnp.where(at_rest, FIXED_POINT, jnp.minimum(n_freq, CHAOTIC)).astype(jnp.int32)
    return AttractorReport(code=code, exponents=le, at_rest=at_rest, variance=variance, n_frequencies=n_freq,
                           frequencies=freqs, spectral_code=spectral_code, consistent=code == spectral_code)

"""Dynamics analysis of recurrent networks, generic over a discrete-time step F(h, x) -> h' (any engine cell:
`lambda h, x: CELLS[name].step(params, h, x, hp)`): linearisation and timescales, fixed and slow points,
Lyapunov exponents (largest and spectrum), attractor classes, and PCA of hidden states. Pure JAX throughout:
jit- and vmap-able over candidates, networks and seeds; `unique_fixed_points` is the one host-side helper."""

from dynjax.analysis.attractors import (CHAOTIC, CLASS_NAMES, FIXED_POINT, LIMIT_CYCLE, QUASI_PERIODIC,
                                        AttractorReport, base_frequencies, classify_attractor, classify_exponents,
                                        power_spectrum)
from dynjax.analysis.fixed_points import (FixedPointResult, deduplicate, find_fixed_points, minimise_speed,
                                          newton_refine, sample_candidates, speed, unique_fixed_points)
from dynjax.analysis.linearise import Timescales, eigen_spectrum, jacobians, timescales
from dynjax.analysis.lyapunov import (LyapunovEstimate, LyapunovSpectrum, gram_schmidt, largest_lyapunov,
                                      lyapunov_spectrum, state_distance)
from dynjax.analysis.pca import PCA, pca

__all__ = ["CHAOTIC", "CLASS_NAMES", "FIXED_POINT", "LIMIT_CYCLE", "PCA", "QUASI_PERIODIC", "AttractorReport",
           "FixedPointResult", "LyapunovEstimate", "LyapunovSpectrum", "Timescales", "base_frequencies",
           "classify_attractor", "classify_exponents", "deduplicate", "eigen_spectrum", "find_fixed_points",
           "gram_schmidt", "jacobians", "largest_lyapunov", "lyapunov_spectrum", "minimise_speed", "newton_refine",
           "pca", "power_spectrum", "sample_candidates", "speed", "state_distance", "timescales",
           "unique_fixed_points"]

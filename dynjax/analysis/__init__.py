"""Dynamics analysis of recurrent networks, generic over a discrete-time step F(h, x) -> h' (any engine cell:
`lambda h, x: CELLS[name].step(params, h, x, hp)`, or any learner's `closed_loop(state)`): linearisation and
timescales, fixed and slow points, Lyapunov exponents (largest and spectrum; open loop, or closed through the
environment), attractor classes, PCA of hidden states, population balance. Pure JAX throughout:
jit- and vmap-able over candidates, networks and seeds; `unique_fixed_points` is the one host-side helper."""

from dynjax.analysis.attractors import (CHAOTIC, CLASS_NAMES, FIXED_POINT, LIMIT_CYCLE, QUASI_PERIODIC,
                                        AttractorReport, base_frequencies, classify_attractor, classify_exponents,
                                        power_spectrum)
from dynjax.analysis.closed_loop import (ClosedLoop, LoopState, Recording, closed_loop_lyapunov, closed_loop_spectrum,
                                         flat_step, loop_start, loop_transition, record)
from dynjax.analysis.fixed_points import (FixedPointResult, deduplicate, find_fixed_points, minimise_speed,
                                          newton_refine, sample_candidates, speed, unique_fixed_points)
from dynjax.analysis.linearise import Timescales, eigen_spectrum, jacobians, timescales
from dynjax.analysis.lyapunov import (LyapunovEstimate, LyapunovSpectrum, driven_lyapunov_spectrum, gram_schmidt,
                                      largest_lyapunov, lyapunov_spectrum, state_distance)
from dynjax.analysis.pca import PCA, pca
from dynjax.analysis.population import (WeightNorms, coefficient_of_variation, gini, neuron_weight_norms,
                                        preference_balance, selectivity_dprime, selectivity_eta2)

__all__ = ["CHAOTIC", "CLASS_NAMES", "FIXED_POINT", "LIMIT_CYCLE", "PCA", "QUASI_PERIODIC", "AttractorReport",
           "FixedPointResult", "LyapunovEstimate", "LyapunovSpectrum", "Timescales", "base_frequencies",
           "classify_attractor", "classify_exponents", "deduplicate", "driven_lyapunov_spectrum", "eigen_spectrum",
           "find_fixed_points",
           "gram_schmidt", "jacobians", "largest_lyapunov", "lyapunov_spectrum", "minimise_speed", "newton_refine",
           "pca", "power_spectrum", "sample_candidates", "speed", "state_distance", "timescales",
           "unique_fixed_points"]
__all__ += ["ClosedLoop", "LoopState", "Recording", "closed_loop_lyapunov", "closed_loop_spectrum", "flat_step",
            "loop_start", "loop_transition", "record"]  # the frozen agent-environment loop (dynjax.analysis.closed_loop)
__all__ += ["WeightNorms", "coefficient_of_variation", "gini", "neuron_weight_norms", "preference_balance",
            "selectivity_dprime", "selectivity_eta2"]  # population-balance measures (dynjax.analysis.population)

"""The interface every online gradient rule for a recurrent cell follows (optax-style function triple)."""

from typing import Any, Callable, NamedTuple

import jax

from dynjax.cells.ctrnn import CTRNNParams, CTRNNStepAux

Trace = Any


class OnlineRule(NamedTuple):
    """An online gradient rule: a sensitivity trace carried forward in time, contracted with a signal.

    init(params) -> trace                          zero trace for a fresh episode
    update(trace, params, aux, dt, restart=False)  advance the trace by the step that produced `aux`; restart
          -> trace                                 (a bool, vmappable): that step starts an episode, the trace
                                                   before it counts as zero (no pass over the trace to zero it)
    grads(trace, g) -> CTRNNParams                 estimate of g^T dh_t/dtheta, g = learning signal on h_t
    """

    name: str
    init: Callable[[CTRNNParams], Trace]
    update: Callable[..., Trace]
    grads: Callable[[Trace, jax.Array], CTRNNParams]

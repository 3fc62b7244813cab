"""Recurrent cells as pure step functions over parameter pytrees, and a registry of them by name.

`CELLS[name]` is a `Cell`: `init(key, n_inputs, n_hidden, hp) -> params`, `step(params, h, x, hp) -> h'` and
`readout(h) -> features` (what heads see; the identity except for the MTRNN, whose state holds potentials u
and whose heads read tanh(u)), where `hp` is any object with the numeric fields `gain` (every cell; the MTRNN's
slow self-feedback spectral radius; the ReLU RNN's uniform width delta), `dt`, `tau_init_low`, `tau_init_high` (CT-RNN), `tau_lower`, `tau_upper`
(MTRNN): the hyperparameter NamedTuple of the agent, so these numbers can be vmapped.
"""

from typing import Any, Callable, NamedTuple

import jax.numpy as jnp

from dynjax.cells.ctrnn import CTRNNParams, CTRNNStepAux, ctrnn_init, ctrnn_step, recurrent_block
from dynjax.cells.mtrnn import mtrnn_body_init, mtrnn_body_step
from dynjax.cells.gated import (DenseRNNParams, GRUParams, gru_init, gru_step, mlp_init, mlp_step, relu_rnn_init,
                                relu_rnn_step, rnn_init, rnn_step)


class Cell(NamedTuple):
    init: Callable[[Any, int, int, Any], Any]
    step: Callable[[Any, Any, Any, Any], Any]
    recurrent: bool  # False for the feedforward body (no state carried between steps)
    readout: Callable[[Any], Any] = lambda h: h


CELLS: dict[str, Cell] = {
    "ctrnn": Cell(init=lambda key, i, n, hp: ctrnn_init(key, i, n, hp.gain, hp.tau_init_low, hp.tau_init_high),
                  step=lambda p, h, x, hp: ctrnn_step(p, h, x, hp.dt)[0], recurrent=True),
    "gru": Cell(init=lambda key, i, n, hp: gru_init(key, i, n, hp.gain), step=lambda p, h, x, hp: gru_step(p, h, x),
                recurrent=True),
    "rnn": Cell(init=lambda key, i, n, hp: rnn_init(key, i, n, hp.gain), step=lambda p, h, x, hp: rnn_step(p, h, x),
                recurrent=True),
    "relu": Cell(init=lambda key, i, n, hp: relu_rnn_init(key, i, n, hp.gain),
                 step=lambda p, h, x, hp: relu_rnn_step(p, h, x), recurrent=True),
    "mlp": Cell(init=lambda key, i, n, hp: mlp_init(key, i, n, hp.gain), step=lambda p, h, x, hp: mlp_step(p, h, x),
                recurrent=False),
    "mtrnn": Cell(init=lambda key, i, n, hp: mtrnn_body_init(key, i, n, hp.gain),
                  step=lambda p, h, x, hp: mtrnn_body_step(p, h, x, hp.tau_lower, hp.tau_upper), recurrent=True,
                  readout=jnp.tanh),
}

__all__ = ["CELLS", "CTRNNParams", "CTRNNStepAux", "Cell", "DenseRNNParams", "GRUParams", "ctrnn_init", "ctrnn_step",
           "gru_init", "gru_step", "mlp_init", "mlp_step", "recurrent_block", "relu_rnn_init", "relu_rnn_step", "rnn_init",
           "rnn_step"]

"""Recurrent cells as pure step functions over parameter pytrees."""

from dynjax.cells.ctrnn import CTRNNParams, CTRNNStepAux, ctrnn_init, ctrnn_step, recurrent_block

__all__ = ["CTRNNParams", "CTRNNStepAux", "ctrnn_init", "ctrnn_step", "recurrent_block"]

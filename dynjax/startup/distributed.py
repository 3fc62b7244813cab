"""Joining a multi-process (multi-host) run with jax.distributed.

`initialize_distributed` calls jax.distributed.initialize with a coordinator address, process count and id
from the command line or from the usual environment variables (JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
JAX_PROCESS_ID). It must run before anything initialises a JAX backend (importing gymnax does), so this
module imports nothing but jax. On CPU the processes talk over gloo.
"""

from __future__ import annotations

import os

import jax


def initialize_distributed(coordinator: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None) -> None:
    """Join a multi-process run when one is asked for (arguments, then JAX_* environment variables)."""
    coordinator = coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and "JAX_NUM_PROCESSES" in os.environ:
        num_processes = int(os.environ["JAX_NUM_PROCESSES"])
    if process_id is None and "JAX_PROCESS_ID" in os.environ:
        process_id = int(os.environ["JAX_PROCESS_ID"])
    if coordinator is None and num_processes is None:
        return  # single process
    if coordinator is None or num_processes is None or process_id is None:
        raise ValueError("distributed: give the coordinator address, process count and process id together "
                         "(--coordinator/--num-processes/--process-id or JAX_COORDINATOR_ADDRESS/"
                         "JAX_NUM_PROCESSES/JAX_PROCESS_ID)")
    if not 0 <= process_id < num_processes:
        raise ValueError(f"distributed: process id {process_id} is not in [0, {num_processes})")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)

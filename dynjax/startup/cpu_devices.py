"""One JAX CPU device per core, so that the learners of a batch run on every core at once.

XLA:CPU runs one program's kernels one after another on one thread (it splits only large element-wise loops
and large matrix products across its thread pool), and a vmapped batch of learners is one program: on a
2-core machine the training of S learners kept about 1.1-1.3 cores busy. With D CPU devices the sweep
runner shards the learner axis over them (dynjax.sweep.devices, shard_map: no communication inside a chunk),
each device runs its own copy of the program on its share of the learners, and the D copies run concurrently.
Measured on the 2-core machine (benchmarks/results/throughput.md): exact RTRL N=32 with 16 learners 3.3x,
RFLO N=32 with 16 learners 2.3x. Every learner computes what it computed on one device (each device's
program is the same per-learner step, vmapped over fewer learners; tests/test_sweep.py and
tests/test_speed_paths.py compare the metrics bit for bit).

`install(learners)` sets `jax_num_cpu_devices` to the number of cores this process may run on, or fewer when the
program has few learners: the runner gives each device at least two learners (dynjax.sweep.devices.learner_mesh),
and a device that XLA:CPU configured but the program leaves idle still takes its share of XLA's thread pool, so one
learner under two configured devices ran RFLO N=32 at 60k seed-steps/s where one device ran it at 100k
(benchmarks/results/throughput_speedup.md). `devices_for(learners)` is that choice. It must run before
JAX starts a backend (before any JAX operation), so `dynjax.startup.enable()` calls it first thing, as the
`dynjax` command line does. It leaves the setting alone when the user chose a device count (JAX_NUM_CPU_DEVICES,
XLA_FLAGS=--xla_force_host_platform_device_count, or jax.config), and it has no effect on accelerators (the
runner shards over the default backend's devices). `JAX_NUM_CPU_DEVICES=1` restores the single device.
"""

from __future__ import annotations

import os

import jax


def cores() -> int:
    """CPUs this process may run on (its affinity mask; the machine's count where that is unavailable)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def devices_for(learners: int | None, n_cores: int) -> int:
    """CPU devices for a program of `learners` learners on `n_cores` cores: one per core, but no more than
    learners // 2 (at least one); None (not known) gives one per core."""
    if learners is None:
        return n_cores
    return max(1, min(n_cores, learners // 2))


def user_choice() -> bool:
    """Whether the user already chose the CPU device count (environment or jax.config)."""
    return ("JAX_NUM_CPU_DEVICES" in os.environ
            or "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
            or jax.config.jax_num_cpu_devices not in (-1, None))


_done: list[str] = []  # what the first install() did (a second call reports the same)


def install(learners: int | None = None) -> str:
    """One CPU device per core, at most `learners // 2` of them when the number of learners run at once is known
    (idempotent: the first call decides). Returns what is in effect: "<n> devices", "set by the user", "one core",
    or "too late" (a JAX backend had already started: its device count stays)."""
    if not _done:
        _done.append(_install(learners))
    return _done[0]


def _install(learners: int | None) -> str:
    if user_choice():
        return "set by the user"
    if cores() <= 1:
        return "one core"
    n = devices_for(learners, cores())
    if n == 1:
        return "1 device"  # JAX's own default
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:
        return "too late"
    return f"{n} devices"

"""What runs first: joining a multi-process run (`distributed`, before anything starts a JAX backend; it imports
nothing but jax) and the command line's opt-in speed-ups, off unless asked for.

`import dynjax` (or any of its subpackages) changes nothing outside dynjax: JAX lowers every primitive as it
would without dynjax, sys.modules and sys.meta_path hold only what the imports themselves load, and JAX has the
devices it would have. Four process-wide speed-ups exist for programs that want them:

- `cpu_devices`: one JAX CPU device per core (dynjax.startup.cpu_devices), so the sweep runner's learners run on
  every core at once, unless the user chose a device count. It must run before any JAX operation;
- `xla_cpu`: an XLA:CPU compiler option (dynjax.startup.xla_cpu: copy insertion with region analysis) that drops
  copies of the loop-carried training state, same bits; also before any JAX operation;
- `threefry`: a straight-line CPU lowering of JAX's Threefry-2x32 hash (dynjax.startup.threefry): the same
  random bits, training programs compiled in about half the time. Registered for the whole process (every
  program lowered afterwards, dynjax's or not), on tested JAX versions only, and not under
  DYNJAX_STOCK_THREEFRY=1;
- `lazy_imports`: seaborn, matplotlib, flax.linen and orbax.checkpoint, imported by gymnax and dynjax but not
  needed to start training, become modules that load on first attribute access (dynjax.startup.lazy_imports).
  This puts stand-in module objects into sys.modules and a finder onto sys.meta_path; to have any effect it
  must run before gymnax is first imported.

The `dynjax` command line turns all four on first thing. A script or notebook opts in with

    import dynjax.startup
    dynjax.startup.enable()          # before any JAX operation (CPU devices) and before importing
                                     # dynjax.envs / gymnax (lazy imports)

Benchmarks that time training call it too, so that they measure what the command line runs.
"""

from __future__ import annotations


def enable(threefry: bool = True, lazy_imports: bool = True, cpu_devices: bool = True, xla_cpu: bool = True,
           learners: int | None = None) -> dict[str, str]:
    """Turn on the start-up speed-ups named (idempotent; nothing is ever turned off). `learners`, where known, is
    the number of learners the program will run at once (it caps the CPU devices at learners // 2). Returns, for
    each one asked for, what is now in effect:

    - "threefry": "installed", "disabled" (DYNJAX_STOCK_THREEFRY=1: JAX's lowering stays) or
      "untested-jax <version>" (a JAX version the lowering was not tested with: JAX's lowering stays);
    - "lazy_imports": "installed" (modules already imported, or not installed, are left as they are);
    - "cpu_devices": "<n> devices", "1 device", "set by the user", "one core" or "too late" (a JAX backend had
      started);
    - "xla_cpu": "installed", "set by the user", "untested-jaxlib <version>" or "too late".
    """
    done: dict[str, str] = {}
    if cpu_devices:
        from dynjax.startup import cpu_devices as _cpu_devices

        done["cpu_devices"] = _cpu_devices.install(learners)
    if xla_cpu:
        from dynjax.startup import xla_cpu as _xla_cpu

        done["xla_cpu"] = _xla_cpu.install()
    if threefry:
        from dynjax.startup import threefry as _threefry

        done["threefry"] = _threefry.install()
    if lazy_imports:
        from dynjax.startup import lazy_imports as _lazy_imports

        _lazy_imports.install()
        done["lazy_imports"] = "installed"
    return done


__all__ = ["enable"]

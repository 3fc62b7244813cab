"""Importing dynjax has no side effects: JAX's Threefry lowering, sys.modules and sys.meta_path stay as they
were until a program opts in with dynjax.startup.enable(). Each check runs in a fresh interpreter, since both
speed-ups, once on, stay on for the whole process."""

import json
import os
import subprocess
import sys
from pathlib import Path

from dynjax.apps.cli import learners_at_once
from dynjax.startup import cpu_devices, threefry, xla_cpu

ROOT = Path(__file__).resolve().parents[1]

# Shared by the scripts below: the StableHLO of a draw (a fresh function each time, so nothing is reused from
# JAX's caches), the bits it gives, and whether any module in sys.modules is a lazy stand-in.
_PRELUDE = """
import importlib.util, json, sys, types
import jax, numpy as np

def draw():
    f = jax.jit(lambda k: jax.random.bits(k, (4,)))
    g = jax.jit(lambda k: jax.random.normal(jax.random.split(k, 3)[1], (5, 7)))
    key = jax.random.key(42)
    return {"hlo": f.lower(key).as_text(), "bits": np.asarray(f(key)).tolist(),
            "normal": np.asarray(g(key)).view(np.uint32).tolist()}

def lazy_modules():
    # Stand-ins made by importlib.util.LazyLoader (dynjax.startup.lazy_imports makes its own through it): their
    # class is importlib.util's lazy module class or one derived from it. Read the class only, never an
    # attribute of the module (that would load it). six's own `six.moves` stand-ins are not of this kind.
    return sorted(name for name, m in list(sys.modules.items())
                  if any(c.__module__ == "importlib.util" or c.__module__.startswith("dynjax")
                         for c in type(m).__mro__))

def report(**kw):
    print(json.dumps(kw))
"""

# JAX's own CPU lowering of Threefry runs the 20 rounds as a five-iteration loop; dynjax's is straight-line
# code. The loop is the marker of JAX's lowering.
ROLLED = "stablehlo.while"


def run(script: str) -> dict:
    env = os.environ | {"JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    for name in ("DYNJAX_STOCK_THREEFRY", "JAX_NUM_CPU_DEVICES", "XLA_FLAGS"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", _PRELUDE + script], capture_output=True, text=True, env=env,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_changes_nothing_until_enable():
    r = run("""
before = draw()
meta, modules = list(sys.meta_path), dict(sys.modules)
import dynjax, dynjax.agents, dynjax.envs, dynjax.sweep, dynjax.analysis, dynjax.startup, gymnax
_ = dynjax.RTRRLConfig
after_import = draw()
kept = [f for f in sys.meta_path if f in meta] == meta  # the finders there were, in the same order
added = [type(f).__module__ for f in sys.meta_path if f not in meta]  # gymnax's dependencies add some
replaced = sorted(n for n, m in modules.items() if sys.modules.get(n) is not m)
lazy = lazy_modules()
plots = {n: type(sys.modules[n]) is types.ModuleType and "__file__" in vars(sys.modules[n])
         for n in ("seaborn", "matplotlib", "matplotlib.pyplot", "flax.linen", "orbax.checkpoint")
         if n in sys.modules}
devices = jax.device_count()
status = dynjax.startup.enable()
enabled = draw()
report(before=before, after_import=after_import, kept=kept, added=added, replaced=replaced, lazy=lazy, plots=plots,
       status=status, enabled=enabled, devices=devices)
""")
    assert r["kept"] and not [m for m in r["added"] if m.startswith("dynjax")], r["added"]
    assert r["replaced"] == [] and r["lazy"] == []
    assert r["plots"] and all(r["plots"].values()), r["plots"]  # gymnax imported the real ones
    assert r["after_import"] == r["before"]  # the same program text: JAX's lowering
    assert ROLLED in r["before"]["hlo"]
    assert r["devices"] == 1  # JAX's own CPU device count
    assert r["status"] == {"cpu_devices": "too late", "xla_cpu": "too late", "threefry": "installed",
                           "lazy_imports": "installed"}
    assert ROLLED not in r["enabled"]["hlo"]  # dynjax's straight-line lowering, the same bits
    assert r["enabled"]["bits"] == r["before"]["bits"] and r["enabled"]["normal"] == r["before"]["normal"]


def test_enable_before_gymnax_makes_its_plotting_imports_lazy():
    r = run("""
import dynjax.startup
first = dynjax.startup.enable()
again = dynjax.startup.enable()  # idempotent: no second finder
import dynjax.envs, gymnax
lazy = lazy_modules()
env = dynjax.envs.make_env("CartPole-v1")
import seaborn
seaborn.set_theme  # first use loads the real module
ours = [type(f).__module__ for f in sys.meta_path if type(f).__module__.startswith("dynjax")]
report(first=first, again=again, ours=ours, lazy=lazy, after_use=lazy_modules(), devices=jax.device_count())
""")
    cores = len(os.sched_getaffinity(0))
    per_core = f"{cores} devices" if cores > 1 else "one core"
    assert r["first"] == r["again"] == {"cpu_devices": per_core, "xla_cpu": "installed", "threefry": "installed",
                                        "lazy_imports": "installed"}
    assert r["devices"] == cores  # one CPU device per core
    assert r["ours"] == ["dynjax.startup.lazy_imports"]  # one finder, however often enable() runs
    assert "seaborn" in r["lazy"] and "matplotlib" in r["lazy"]
    assert "seaborn" not in r["after_use"]


def test_a_device_count_the_user_chose_is_kept():
    r = run("""
import os
os.environ["JAX_NUM_CPU_DEVICES"] = "1"
import dynjax.startup
report(status=dynjax.startup.enable(threefry=False, lazy_imports=False, xla_cpu=False), devices=jax.device_count())
""")
    assert r == {"status": {"cpu_devices": "set by the user"}, "devices": 1}


def test_few_learners_get_fewer_cpu_devices():
    r = run("""
import dynjax.startup
report(status=dynjax.startup.enable(threefry=False, lazy_imports=False, xla_cpu=False, learners=3),
       devices=jax.device_count())
""")
    status = "one core" if len(os.sched_getaffinity(0)) == 1 else "1 device"
    assert r == {"status": {"cpu_devices": status}, "devices": 1}
    assert [cpu_devices.devices_for(n, 4) for n in (None, 1, 2, 3, 4, 5, 7, 8, 64)] == [4, 1, 1, 1, 2, 2, 3, 4, 4]


def test_command_line_counts_its_learners_before_jax_starts(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('algo = "rtrrl"\nseeds = 6\n[grid]\nlr_rnn = [1e-3, 1e-4]\n')
    cases = {("train", "rtrrl"): 8, ("train", "rtrrl", "--seeds", "1"): 1, ("train", "rtrrl", "--seed", "3"): 8,
             ("train", "rtrrl", "--seeds", "64", "--max-seeds-per-batch", "2"): 2, ("sweep", str(spec)): 6,
             ("sweep", str(tmp_path / "missing.toml")): None, ("analyse", "runs/x"): None,
             ("train", "rtrrl", "--seeds", "many"): None}
    assert {k: learners_at_once(list(k)) for k in cases} == cases


def test_xla_cpu_option_drops_copies_not_bits():
    """The test process runs with the option (conftest enables it); a process without it trains the same bits."""
    script = """
import os
import dynjax.startup
status = dynjax.startup.enable(lazy_imports=False, cpu_devices=False, xla_cpu=False)
%s
report(flags=os.environ.get("XLA_FLAGS", ""), theta=theta.view(np.uint32).tolist(), eval=np.asarray(m.eval_return).tolist())
"""
    train = """
from dynjax import RTRRLConfig, make_train
cfg = RTRRLConfig(obs_mask="even", hidden_size=8, total_steps=600, eval_every=300, eval_episodes=2)
state, m = jax.jit(jax.vmap(make_train(cfg)))(jax.random.split(jax.random.key(5), 2))
theta = np.concatenate([np.asarray(x).reshape(2, -1) for x in jax.tree.leaves(state.theta)], axis=1)
"""
    off = run(script % train)
    assert xla_cpu.OPTION not in off["flags"]
    # this process: installed by conftest, or inherited from the process that started this pytest worker
    assert xla_cpu.install() in ("installed", "set by the user") and f"{xla_cpu.OPTION}=true" in os.environ["XLA_FLAGS"]
    import jax
    import numpy as np

    scope = {"jax": jax, "np": np}
    exec(train, scope)
    assert scope["theta"].view(np.uint32).tolist() == off["theta"]
    assert np.asarray(scope["m"].eval_return).tolist() == off["eval"]


def test_enable_on_an_untested_jax_keeps_jax_lowering():
    r = run("""
from dynjax.startup import threefry
threefry.jax_version = lambda: "0.9.0"  # as if another JAX were installed
import dynjax.startup
before = draw()
status = dynjax.startup.enable(lazy_imports=False, cpu_devices=False, xla_cpu=False)
report(before=before, status=status, installed=threefry.installed(), after=draw(), lazy=lazy_modules())
""")
    assert r["status"] == {"threefry": "untested-jax 0.9.0"} and not r["installed"] and r["lazy"] == []
    assert ROLLED in r["after"]["hlo"] and r["after"] == r["before"]


def test_version_gate_matches_whole_components():
    assert threefry.version_tested(threefry.jax_version())  # the pinned JAX is a tested one
    for version in ("0.10.2", "0.10.2.dev20261201", "0.10.2rc1"):
        assert threefry.version_tested(version), version
    for version in ("0.10.20", "0.10.1", "0.10.3", "0.11.0", "1.10.2", "0.1", ""):
        assert not threefry.version_tested(version), version


def test_joining_a_multi_process_run_imports_no_backend():
    """`dynjax.startup.distributed` must be importable before jax.distributed.initialize: nothing on its import
    path (the dynjax.sweep package included) may import gymnax or start a JAX backend."""
    code = "import sys, dynjax.startup.distributed; print('gymnax' in sys.modules, 'dynjax.agents' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr

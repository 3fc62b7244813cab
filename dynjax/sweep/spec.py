"""Sweep specifications: a product of a configuration grid and S seeds, resolved into compiled programs.

A sweep is `base config x product(grid) x seeds`. Grid entries that name a numeric hyperparameter (a field
of the algorithm's hyperparameter NamedTuple, e.g. `RTRRLHParams`: learning rates, lambdas, gain g, ...) never
change array shapes, so all their
values are vmapped inside ONE program; entries that name a static field (hidden size, env id, rule, an
`env_args.NAME`) change shapes and become separate programs run one after another:

    program p  =  one static combination
    learners   =  (hparam combinations of p) x seeds      (config-major: learner c * S + s)

Every learner of config c and seed s starts from `jax.random.key(s)`, whatever else is swept (common random
numbers across configurations).

A spec is a TOML file (parsed with the standard library's tomllib):

    algo = "rtrrl"                 # any name of dynjax.agents.ALGORITHMS: rtrrl | linear-td | ppo-rnn | rd-ppo
    preset = "huang"               # optional: a named configuration of the algorithm (PPO: rtrrl | huang)
    seeds = 256                    # learners per configuration
    seed = 0                       # first seed
    out = "runs/gain-sweep"        # optional; the command line's --out wins
    [config]                       # static fields of the base configuration (e.g. RTRRLConfig, PPOConfig)
    env_id = "CartPole-v1"
    obs_mask = "even"              # positions only (default: the whole observation)
    total_steps = 300000
    eval_every = 10000             # optional: by default the algorithm's cadence, or the nearest dividing total_steps
    [env_args]                     # environment parameters / constructor arguments
    [hparams]                      # base numeric hyperparameters (e.g. RTRRLHParams, PPOHParams)
    lr_rnn = 1e-3
    [grid]                         # the swept values
    gain = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    hidden_size = [32, 64]
    "env_args.memory_length" = [4, 8]

Unknown names and values of the wrong type are errors that name the entry, raised before anything compiles.
"""

import dataclasses
import itertools
import tomllib
import typing
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from dynjax.agents import ALGORITHMS, DEFAULT_ALGORITHM, Algorithm, hparams_class
from dynjax.config import check_positive_int, default_eval_every


def static_field_types(algo: Algorithm) -> dict[str, tuple[type, ...]]:
    """The static (shape- or program-fixing) configuration fields an algorithm lets a spec set, with the Python
    types a TOML value may have (from the dataclass annotations; `Any` fields are checked by validate())."""
    hints = typing.get_type_hints(algo.config_cls)
    out: dict[str, tuple[type, ...]] = {}
    for f in dataclasses.fields(algo.config_cls):
        if f.name in ("hparams", "env_args") or f.name in algo.fixed:
            continue
        hint = hints[f.name]
        out[f.name] = {int: (int,), bool: (bool,), str: (str,), float: (int, float)}.get(hint, (object,))
    return out


class Program(NamedTuple):
    """One compiled program of a sweep: a static configuration and the hparam combinations vmapped in it."""

    index: int
    config: Any  # the algorithm's config: static fields resolved, hparams = the base values
    static: dict[str, Any]  # the swept static values of this program (names as in the grid)
    hparams: list[dict[str, float]]  # one dict per configuration in this program: swept hparam values
    config_ids: list[int]  # global configuration ids, aligned with `hparams`


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    algo: str = DEFAULT_ALGORITHM
    preset: str | None = None
    seeds: int = 1
    seed: int = 0
    out: str | None = None
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    env_args: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    hparams: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    grid: Mapping[str, list[Any]] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"algo": self.algo, "preset": self.preset, "seeds": self.seeds, "seed": self.seed, "config": dict(self.config),
                "env_args": dict(self.env_args), "hparams": dict(self.hparams),
                "grid": {k: list(v) for k, v in self.grid.items()}}


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_static(algo: Algorithm, name: str, value: Any, where: str) -> None:
    types = static_field_types(algo)
    if name not in types:
        pinned = f" ({name} is fixed to {algo.fixed[name]!r} by algo = {algo.name!r})" if name in algo.fixed else ""
        raise ValueError(f"{where}: unknown name {name!r}{pinned}; static fields are {', '.join(types)}, "
                         f"hyperparameters are {', '.join(hparams_class(algo)._fields)}")
    types = types[name]
    ok = not (isinstance(value, bool) and bool not in types) and isinstance(value, types)
    if not ok:
        raise ValueError(f"{where}: {name} must be {' or '.join(t.__name__ for t in types)}, got {value!r}")


def _check_hparam(name: str, value: Any, where: str) -> None:
    if not _is_real(value):
        raise ValueError(f"{where}: hyperparameter {name} must be a number, got {value!r}")


def _check_entry(algo: Algorithm, name: str, value: Any, where: str) -> None:
    if name.startswith("env_args."):
        if not name[len("env_args."):]:
            raise ValueError(f"{where}: empty environment argument name")
        return
    if name in hparams_class(algo)._fields:
        _check_hparam(name, value, where)
    else:
        _check_static(algo, name, value, where)


def spec_from_dict(d: Mapping[str, Any]) -> SweepSpec:
    """Build and check a SweepSpec from a parsed TOML table."""
    known = {"algo", "preset", "seeds", "seed", "out", "config", "env_args", "hparams", "grid"}
    for k in d:
        if k not in known:
            raise ValueError(f"sweep spec: unknown top-level key {k!r} (expected {', '.join(sorted(known))})")
    spec = SweepSpec(**{k: d[k] for k in d})
    if spec.algo not in ALGORITHMS:
        raise ValueError(f"sweep spec: algo must be one of {', '.join(ALGORITHMS)}; got {spec.algo!r}")
    algo = ALGORITHMS[spec.algo]
    hparam_fields = hparams_class(algo)._fields
    if spec.preset is not None and spec.preset not in algo.presets:
        raise ValueError(f"sweep spec: preset {spec.preset!r} is not one of {spec.algo}'s presets "
                         f"({', '.join(algo.presets) or 'none'})")
    check_positive_int("sweep spec: seeds", spec.seeds)
    if isinstance(spec.seed, bool) or not isinstance(spec.seed, int) or spec.seed < 0:
        raise ValueError(f"sweep spec: seed must be a non-negative integer, got {spec.seed!r}")
    for name, value in spec.config.items():
        _check_static(algo, name, value, "sweep spec [config]")
    for name, value in spec.hparams.items():
        if name not in hparam_fields:
            raise ValueError(f"sweep spec [hparams]: unknown hyperparameter {name!r}; known: {', '.join(hparam_fields)}")
        _check_hparam(name, value, "sweep spec [hparams]")
    for name, values in spec.grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"sweep spec [grid]: {name} must be a non-empty list of values, got {values!r}")
        if name == "hparams" or name == "env_args":
            raise ValueError(f"sweep spec [grid]: name the field itself, e.g. {hparam_fields[0]!r} or 'env_args.size'")
        for v in values:
            _check_entry(algo, name, v, f"sweep spec [grid] {name}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"sweep spec [grid]: {name} lists a value twice: {values!r}")
    return spec


def load_spec(path: str | Path) -> SweepSpec:
    """Read a TOML sweep spec (errors name the file and the entry)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"sweep spec: {path} does not exist")
    try:
        d = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"sweep spec: {path} is not valid TOML: {e}") from None
    return spec_from_dict(d)


def _preset(spec: SweepSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """(configuration fields, hyperparameters) of the spec's preset (empty without one)."""
    preset = dict(ALGORITHMS[spec.algo].presets[spec.preset]) if spec.preset else {}
    return {k: v for k, v in preset.items() if k != "hparams"}, dict(preset.get("hparams", {}))


def _base_hparams(spec: SweepSpec) -> Any:
    """The hyperparameters every program is compiled with: preset, then the spec's [hparams], then what the
    algorithm needs of them for its grid (Algorithm.base_hparams)."""
    algo = ALGORITHMS[spec.algo]
    values = _preset(spec)[1] | dict(spec.hparams)
    return algo.base_hparams(hparams_class(algo)(**{k: float(v) for k, v in values.items()}), dict(spec.grid))


def _hashable(value: Any) -> Any:
    """A TOML array as a tuple (nested ones too): configurations are frozen and hashable."""
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def resolve(spec: SweepSpec) -> list[Program]:
    """The programs of a sweep, each with its validated config and its vmapped hparam combinations."""
    algo = ALGORITHMS[spec.algo]
    hparam_fields = hparams_class(algo)._fields
    static_names = [k for k in spec.grid if k not in hparam_fields]
    hp_names = [k for k in spec.grid if k in hparam_fields]
    hp_combos = [dict(zip(hp_names, vals)) for vals in itertools.product(*(spec.grid[k] for k in hp_names))]
    base_hp = _base_hparams(spec)
    programs: list[Program] = []
    next_id = 0
    for vals in itertools.product(*(spec.grid[k] for k in static_names)):
        static = dict(zip(static_names, vals))
        fields = _preset(spec)[0] | dict(spec.config) | dict(algo.fixed) | {
            k: v for k, v in static.items() if not k.startswith("env_args.")}
        env_args = dict(spec.env_args) | {k[len("env_args."):]: v for k, v in static.items() if k.startswith("env_args.")}
        fields = {k: _hashable(v) for k, v in fields.items()}
        config = algo.config_cls(**fields, env_args=tuple(sorted(env_args.items())), hparams=base_hp)
        if "eval_every" not in fields:  # not chosen: evaluate at the default cadence, or the nearest that fits
            config = dataclasses.replace(config, eval_every=default_eval_every(
                config.total_steps, config.eval_every, config.eval_unit))
        config.validate()
        for combo in hp_combos:  # every configuration's numbers are checked, not only the base's
            if combo:
                dataclasses.replace(config, hparams=base_hp._replace(**{k: float(v) for k, v in combo.items()})).validate()
        ids = list(range(next_id, next_id + len(hp_combos)))
        next_id += len(hp_combos)
        programs.append(Program(len(programs), config, static, [{k: float(v) for k, v in c.items()} for c in hp_combos], ids))
    return programs


def config_label(program: Program, combo: Mapping[str, float]) -> str:
    """A short human-readable name of one configuration, e.g. 'hidden_size=64 gain=1.5'."""
    parts = [f"{k}={v}" for k, v in program.static.items()] + [f"{k}={v:g}" for k, v in combo.items()]
    return " ".join(parts) or "base"

"""Agents: `make_learner(config)` (a dynjax.agents.driver.Learner: init, update, closed_loop) and
`make_train(config) -> train(key)` (the driver's whole run of it).

`ALGORITHMS` names every algorithm of the command line and of sweep specs: its configuration class (a
frozen dataclass whose `hparams` field holds the vmappable numbers), its learner factory, the configuration
fields the name pins, the hyperparameters it offers as flags, the papers' presets, whether it runs in
float64, and how a sweep's grid shapes the base hyperparameters its programs are compiled with. The sweep
runner (dynjax.sweep) knows algorithms only through these declarations.
"""

from typing import Any, Callable, Mapping, NamedTuple, Sequence

from dynjax.agents import dynamic_rl, ppo, rtrrl, supervised
from dynjax.agents.driver import Learner, UpdateReport
from dynjax.agents.evaluation import EvalMetrics
from dynjax.agents.dynamic_rl import DynamicRLConfig, DynamicRLHParams
from dynjax.agents.ppo import PPO_FIELDS, PPOConfig, PPOHParams
from dynjax.agents.supervised import SLConfig, SLHParams
from dynjax.agents.rtrrl import LearnerState, RTRRLConfig, RTRRLHParams, StepInfo, make_learner, make_train


def keep_base_hparams(hp: Any, grid: Mapping[str, Sequence[Any]]) -> Any:
    """Algorithm.base_hparams of an algorithm whose programs do not depend on hyperparameter values."""
    return hp


class Algorithm(NamedTuple):
    name: str
    config_cls: type
    make_learner: Callable[[Any], Any]
    fixed: Mapping[str, Any]  # configuration fields this name pins (not settable by the user)
    flag_hparams: tuple[str, ...]  # hyperparameters offered as command-line flags
    presets: Mapping[str, Mapping[str, Any]]  # named configurations from the papers
    summary: str
    # Traced, run, checkpointed and analysed under jax.enable_x64 (Dynamic RL: its exploration exponent's probe).
    float64: bool = False
    # (base hyperparameters, the sweep's grid) -> the hyperparameters a program is compiled with, for values
    # that decide what the program contains (RTRRL: a finite grad_clip compiles the clip in).
    base_hparams: Callable[[Any, Mapping[str, Sequence[Any]]], Any] = keep_base_hparams


ALGORITHMS: dict[str, Algorithm] = {
    "rtrrl": Algorithm("rtrrl", RTRRLConfig, rtrrl.make_learner, {}, RTRRLHParams._fields, {},
                       "RTRRL: CT-RNN actor-critic learned online (RFLO or exact RTRL), TD(lambda)",
                       base_hparams=rtrrl.base_hparams),
    "linear-td": Algorithm("linear-td", RTRRLConfig, rtrrl.make_learner, {"rule": "linear"},
                           tuple(f for f in RTRRLHParams._fields if f not in ("lr_rnn", "lambda_rnn", "dt", "tau_min",
                                                                                "tau_init_low", "tau_init_high", "gain")),
                           {}, "linear TD(lambda) actor-critic on the observation (no recurrent state)",
                           base_hparams=rtrrl.base_hparams),
    "ppo-rnn": Algorithm("ppo-rnn", PPOConfig, ppo.make_learner, {"guide": False}, PPO_FIELDS, ppo.PRESETS,
                         "recurrent PPO trained by BPTT (GRU, vanilla RNN, CT-RNN or feedforward body)"),
    "rd-ppo": Algorithm("rd-ppo", PPOConfig, ppo.make_learner, {"guide": True}, PPOHParams._fields,
                        {"rtrrl": ppo.PRESETS["rtrrl"]},  # the others are continuous-action tasks: no logits to guide
                        "PPO guided by fixed reaction-diffusion dynamics blended into its logits"),
    "supervised": Algorithm("supervised", SLConfig, supervised.make_learner, {}, SLHParams._fields, {},
                            "supervised BPTT of the same RNNs on the decision tasks (steps = updates)"),
    "dynamic-rl": Algorithm("dynamic-rl", DynamicRLConfig, dynamic_rl.make_learner, {"actor": "sensitivity"},
                            tuple(f for f in DynamicRLHParams._fields if f not in dynamic_rl.BPTT_ACTOR_HPARAMS),
                            {}, "Dynamic RL: chaotic MTRNN actor trained by sensitivity (SAL + SRL), RNN critic",
                            float64=True, base_hparams=dynamic_rl.base_hparams),
    "mtrnn-bptt": Algorithm("mtrnn-bptt", DynamicRLConfig, dynamic_rl.make_learner, {"actor": "bptt"},
                            tuple(f for f in DynamicRLHParams._fields if f not in dynamic_rl.SENSITIVITY_HPARAMS),
                            {}, "Dynamic RL's comparator: the same MTRNN actor with exploration noise, trained by "
                                "BPTT on the TD error, the same critic", float64=True),
}


DEFAULT_ALGORITHM = "rtrrl"  # of a sweep spec that names none


def hparams_class(algo: Algorithm) -> type:
    return type(algo.config_cls().hparams)


__all__ = ["ALGORITHMS", "Algorithm", "DEFAULT_ALGORITHM", "DynamicRLConfig", "DynamicRLHParams", "EvalMetrics",
           "Learner", "LearnerState", "PPOConfig", "PPOHParams", "RTRRLConfig", "RTRRLHParams", "SLConfig", "SLHParams",
           "StepInfo", "UpdateReport", "hparams_class", "make_learner", "make_train"]

"""Agents: make_train(config) -> train(key) -> (final_state, metrics)."""

from dynjax.agents.rtrrl import (
    EvalMetrics,
    Learner,
    LearnerState,
    RTRRLConfig,
    RTRRLHParams,
    StepInfo,
    make_learner,
    make_train,
)

__all__ = ["EvalMetrics", "Learner", "LearnerState", "RTRRLConfig", "RTRRLHParams", "StepInfo", "make_learner", "make_train"]

"""dynjax: recurrent RL agents whose dynamics are the object of study, in pure JAX."""

from dynjax.agents import RTRRLConfig, RTRRLHParams, make_learner, make_train

__version__ = "0.1.0"
__all__ = ["RTRRLConfig", "RTRRLHParams", "make_learner", "make_train", "__version__"]

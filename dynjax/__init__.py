"""dynjax: recurrent RL agents whose dynamics are the object of study, in pure JAX."""

import time

START = time.perf_counter()  # when dynjax was first imported: start-up times are measured from here


from dynjax.agents import RTRRLConfig, RTRRLHParams, make_learner, make_train

__version__ = "0.1.0"
__all__ = ["RTRRLConfig", "RTRRLHParams", "make_learner", "make_train", "__version__"]

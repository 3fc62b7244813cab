"""dynjax: recurrent RL agents whose dynamics are the object of study, in pure JAX.

The public names are imported lazily, so that `dynjax.apps.cli` can join a multi-process run
(jax.distributed.initialize) before anything, gymnax included, touches a JAX backend.
"""

import time

START = time.perf_counter()  # when dynjax was first imported: start-up times are measured from here

from dynjax.startup import threefry  # noqa: E402  (after START, which times the imports)

threefry.install()  # the same random bits as JAX's, compiled in less time on CPU (dynjax.startup.threefry)

__version__ = "0.1.0"
# dynjax.RTRRLConfig, ... resolve on first use (module __getattr__); documented in dynjax.agents
_FROM_AGENTS = ("RTRRLConfig", "RTRRLHParams", "make_learner", "make_train")


def __getattr__(name: str):
    if name in _FROM_AGENTS:
        from dynjax import agents

        return getattr(agents, name)
    raise AttributeError(f"module 'dynjax' has no attribute {name!r}")

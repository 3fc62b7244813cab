"""The authors' reward normalisation, measured: their code with and without it, and dynjax's options beside it.

The RTRRL authors' code normalises rewards by default (`normalize_reward`: running mean and standard deviation of
the reward, (r - mean) / std). Read from their rtrrl.py: the running statistics are updated every training step,
but the normalised reward is used only in the evaluation's Meta-RL input (the reference's defect 4). Training's
TD error and RNN input see the raw reward, so the option changes nothing in learning; at evaluation the network
sees a reward input it was never trained on (on CartPole, whose reward is a constant +1, the standardised reward
is 0). dynjax's `reward_norm` applies one normalisation wherever the reward enters (TD error and input), in
training and, with frozen moments, in evaluation: `standardize` (the authors' definition) or `scale` (r divided
by the running std of the discounted return). Side by side on CartPole with positions only, 1M steps:

- dynjax RTRRL-RFLO, 16 seeds vmapped: reward_norm none (the default) | standardize | scale;
- the authors' code, 5 seeds (1..5): normalize_reward True (its default) | False. Their episodes are capped at
  gymnax's 500 (--max_ep_length 500), their metric is theirs (first-episode return of 10 environments).

    python benchmarks/rtrrl_reward_norm.py           # ~10 min dynjax + ~10 min authors on 2 cores
    python benchmarks/rtrrl_reward_norm.py --quick   # 2 seeds x 4,000 steps, dynjax only: a pipeline check
"""

from __future__ import annotations

from dynjax import startup

startup.enable()  # before gymnax's import starts JAX: `dynjax train`'s devices, lowering, XLA options

import option_study
TASK = dict(env_id="CartPole-v1", obs_mask="even")
REFERENCE_TASK = ["--env_name", "CartPole-v1", "--obs_mask", "even", "--max_ep_length", "500"]
DYNJAX_ARMS = {"reward_norm none (default)": ({}, {}),
               "reward_norm standardize": ({"reward_norm": "standardize"}, {}),
               "reward_norm scale": ({"reward_norm": "scale"}, {})}
REFERENCE_ARMS = {"normalize_reward True (its default)": [],
                  "normalize_reward False": ["--normalize_reward", "False"]}
LEARNED = 400.0


def main() -> None:
    option_study.main(__doc__, "rtrrl_reward_norm", "RTRRL with reward normalisation: dynjax beside the authors' code",
                      "CartPole-v1, positions only, RFLO, N=32, the paper's other defaults (the authors' episodes "
                      "capped at gymnax's 500; benchmarks/rtrrl_reward_norm.py says what each arm normalises);",
                      TASK, REFERENCE_TASK, DYNJAX_ARMS, REFERENCE_ARMS, LEARNED)


if __name__ == "__main__":
    main()

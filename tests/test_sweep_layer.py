"""The sweep layer knows algorithms only through `Algorithm`'s declarations: no algorithm, configuration field
or hyperparameter is named in the code of dynjax/sweep/ (docstrings may explain with examples)."""

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from dynjax.agents import ALGORITHMS, hparams_class
from dynjax.sweep.run_dir import UnitName

SWEEP = Path(__file__).resolve().parents[1] / "dynjax" / "sweep"

# Names every configuration has, which the sweep layer needs whatever the algorithm: the two fields that are
# not static (hparams, env_args: the spec's own tables), the training budget and evaluation cadence that cut a
# run into chunks (and eval_unit, the step they are multiples of), the environment's id (the default run
# directory's name) and validate().
SHARED = {"hparams", "env_args", "total_steps", "eval_every", "env_id", "eval_unit", "validate"}
# Names that are also plain English words, allowed inside prose (a string with a space; a string that is just
# the name is still a hit): summary.md's legend speaks of a table's "cell".
PROSE = {"cell"}


def algorithm_words() -> dict[str, str]:
    """Every algorithm name, preset name, configuration field or other member (e.g. a class variable the
    runner might duck-type) and hyperparameter -> what it is."""
    words: dict[str, str] = {}
    for name, algo in ALGORITHMS.items():
        words |= {p: f"preset of {name}" for p in algo.presets}
        words |= {m: f"member of {algo.config_cls.__name__}" for m in vars(algo.config_cls) if not m.startswith("_")}
        words |= {f.name: f"field of {algo.config_cls.__name__}" for f in dataclasses.fields(algo.config_cls)}
        words |= {h: f"hyperparameter of {name}" for h in hparams_class(algo)._fields}
    words |= {name: "algorithm" for name in ALGORITHMS}
    assert SHARED <= set(words)  # the allowance names real fields, not stale ones
    return {w: what for w, what in words.items() if w not in SHARED}


def code_words(source: str) -> list[tuple[int, str]]:
    """(line, text) of every identifier, attribute name and string constant of the code, docstrings left out."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            doc = first.value if isinstance(first, ast.Expr) else None
            if isinstance(doc, ast.Constant) and isinstance(doc.value, str):
                docstrings.add(id(doc))
    out = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.append((line, node.value))
        elif isinstance(node, ast.Name):
            out.append((line, node.id))
        elif isinstance(node, ast.Attribute):
            out.append((line, node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append((line, node.name))
        elif isinstance(node, ast.arg):
            out.append((line, node.arg))
        elif isinstance(node, ast.keyword) and node.arg:
            out.append((line, node.arg))
        elif isinstance(node, ast.alias):
            out.append((line, node.asname or node.name))
    return out


def test_the_scan_sees_names_in_code_and_not_in_docstrings():
    source = '"""rtrrl and lr_rnn are explained here."""\n\ndef f(hp):\n    """grad_clip too."""\n' \
             '    return hp.grad_clip, {"algo": "linear-td"}, f"clip {hp!r} of rd-ppo"\n'
    found = {w for w in algorithm_words() if any(names(w, text) for _, text in code_words(source))}
    assert found == {"grad_clip", "linear-td", "rd-ppo"}


def names(word: str, text: str) -> bool:
    """Whether `text` (an identifier or a string constant) names `word`: the whole text, or a whole word of it
    (so "--lr-rnn" does not, but "e.g. 'lr_rnn'" and "clip of rd-ppo" do), prose words in prose excepted."""
    if text == word:
        return True
    if word in PROSE and " " in text:
        return False
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", text) is not None


@pytest.mark.parametrize("path", sorted(SWEEP.glob("*.py")), ids=lambda p: p.name)
def test_sweep_code_names_no_algorithm_field_or_hyperparameter(path):
    words = algorithm_words()
    hits = [f"{path.name}:{line}: {word!r} ({what}) in {text!r}"
            for line, text in code_words(path.read_text()) for word, what in words.items()
            if names(word, text)]
    assert not hits, "\n".join(hits)


def test_unit_names_round_trip_and_reject_other_names():
    for unit in (UnitName(0, 0), UnitName(12, 3)):
        assert UnitName.parse(unit.dirname) == unit
    assert UnitName(2, 10).dirname == "program-2-batch-10"
    for bad in ("program-1-batch-", "program-a-batch-1", "program-1-batch-2-old", "learners.json"):
        with pytest.raises(ValueError, match="not a unit directory name"):
            UnitName.parse(bad)


def test_a_field_added_with_the_old_behaviour_keeps_finished_runs(tmp_path):
    """A run recorded before RTRRLConfig had clip_scope (or reward_norm) resumes when the field has the value that
    does what the run did ("absent_means"); any other value, or a field without that metadata, is a difference."""
    import json

    from dynjax.agents.rtrrl import RTRRLConfig
    from dynjax.results import run_record

    absent = run_record.absent_means([RTRRLConfig()])
    assert absent == {"clip_scope": "global", "param_init": "dynjax", "reward_norm": "none"}
    new = [{"config": 0, "fields": {"hidden_size": 32, "clip_scope": "global"}}]
    (tmp_path / "config.json").write_text(json.dumps({"configs": [{"config": 0, "fields": {"hidden_size": 32}}],
                                                      "invocations": [run_record.environment()]}))
    run_record.start(tmp_path, new, ["x"], absent=absent)  # accepted, and the invocation appended
    assert len(json.loads((tmp_path / "config.json").read_text())["invocations"]) == 2
    with pytest.raises(ValueError, match="clip_scope: '<absent>' -> 'group'"):
        run_record.start(tmp_path, [{"config": 0, "fields": {"hidden_size": 32, "clip_scope": "group"}}], ["x"],
                         absent=absent)
    with pytest.raises(ValueError, match="other resolved configurations"):
        run_record.start(tmp_path, new, ["x"])
    from dynjax.agents.dynamic_rl import DynamicRLConfig

    assert run_record.absent_means([DynamicRLConfig()]) == {"actor": "sensitivity", "sal_output": True,
                                                           "noise_std": 0.3, "lr_actor": 1e-4}

"""`dynjax reproduce`: every named table maps to its script, and a quick run writes its table."""

import sys

import pytest

from dynjax.apps.cli import main
from dynjax.apps.reproduce import RESULTS, TABLES, command

NAMED = ("rtrrl", "dynamic-rl", "blind-dynamics", "huang-pendulum", "rl-vs-sl", "throughput", "scaling")


def test_every_named_table_has_a_command(tmp_path, capsys):
    assert main(["reproduce", "--list"]) == 0
    listed = capsys.readouterr().out
    for name in NAMED:
        assert name in TABLES and name in listed
        cmd = command(name, quick=True, out=tmp_path)
        assert cmd[0] == sys.executable and "--quick" in cmd and cmd[cmd.index("--out") + 1].startswith(str(tmp_path))
    full = command("huang-pendulum")
    assert "--quick" not in full and full[full.index("--out") + 1] == str(RESULTS / "huang_pendulum")


def test_quick_reproduction_writes_the_table(tmp_path):
    assert main(["reproduce", "fixed-points", "--quick", "--out", str(tmp_path)]) == 0
    assert "| dynjax find_fixed_points (float64) |" in (tmp_path / "fixed_points.md").read_text()


def test_unknown_table_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "table-9"])
    assert "invalid choice: 'table-9'" in capsys.readouterr().err


def test_outside_a_checkout_it_says_what_to_do(tmp_path, monkeypatch, capsys):
    """As from an installed wheel: no benchmarks beside the package, none in or above the working directory."""
    import dynjax.apps.reproduce as reproduce

    monkeypatch.setattr(reproduce, "PACKAGE_PARENT", tmp_path / "site-packages")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DYNJAX_CHECKOUT", raising=False)
    assert main(["reproduce", "rtrrl", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "source checkout" in err and "pip install -e ." in err and "DYNJAX_CHECKOUT" in err
    assert main(["reproduce", "--list"]) == 0  # listing needs no checkout
    # inside a checkout (here: the one the tests run from, named by DYNJAX_CHECKOUT) it works again
    monkeypatch.setenv("DYNJAX_CHECKOUT", str(reproduce.ROOT))
    cmd = command("rtrrl", quick=True, out=tmp_path)
    assert cmd[1] == str(reproduce.ROOT / "benchmarks" / "rtrrl_table.py")
    monkeypatch.setenv("DYNJAX_CHECKOUT", str(tmp_path))
    assert main(["reproduce", "rtrrl", "--quick"]) == 2
    assert "not a dynjax source checkout" in capsys.readouterr().err


def test_the_checkout_and_its_commit_are_found_from_the_package():
    """The run record's git commit and `reproduce`'s checkout come from where dynjax is imported (a module's own
    path broke when modules moved into subpackages)."""
    import subprocess
    from pathlib import Path

    from dynjax.apps import reproduce
    from dynjax.results.run_record import git_state

    root = Path(__file__).resolve().parents[1]
    assert reproduce.PACKAGE_PARENT == root
    if (root / ".git").exists():
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        assert git_state()["commit"] == head


def test_full_budget_commands_write_where_the_committed_results_are():
    """`dynjax reproduce NAME` must reuse the checked-in cells: its --out is the folder they are in (a wrong one
    retrains every cell into a new folder)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for name, t in TABLES.items():
        cmd = command(name)
        target = Path(cmd[cmd.index("--out") + 1])
        assert (target.exists() if t.dir_out else (target.parent / f"{t.stem}.md").exists()), (name, target)
        assert target.is_relative_to(root / "benchmarks" / "results"), (name, target)

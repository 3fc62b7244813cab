"""The README's results are the results files': every table copied into it equals its file (`dynjax reproduce
--sync-readme` writes them), and every number quoted in its results section appears in some results file."""

import re
from pathlib import Path

from dynjax.apps.reproduce import RESULTS, TABLES, readme_tables, table_text

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_tables_equal_the_results_files():
    blocks = readme_tables(README)
    assert len(blocks) >= len(TABLES)
    for file, body in blocks:
        assert body == table_text(file), f"README's copy of {file} differs: run `dynjax reproduce --sync-readme`"


def test_every_table_has_a_results_file_and_a_readme_block():
    files = {f.split("#")[0] for f, _ in readme_tables(README)}
    for name, t in TABLES.items():
        assert (RESULTS / f"{t.stem}.md").exists(), name
        assert f"{t.stem}.md" in files, name


def test_numbers_quoted_in_the_results_section_come_from_results_files():
    section = README.split("## Reproduced results")[1].split("\n## ")[0]
    prose = re.sub(r"<!-- results: .*? -->.*?<!-- end results -->", "", section, flags=re.S)
    prose = re.sub(r"`[^`]*`", "", prose)  # commands and paths
    sources = "\n".join(p.read_text() for p in RESULTS.glob("*.md"))
    numbers = set(re.findall(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?", prose))
    missing = sorted(n for n in numbers if n not in sources)
    assert not missing, f"numbers in the README's results section found in no results file: {missing}"

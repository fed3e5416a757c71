"""Nothing a user reads names the developers' own notes: the code, its comments and docstrings,
the tests, benchmarks, docs, README, example config and deploy files state each fact
themselves. (The tests may still read the shared vector files; they find them through
tests/conftest.py's path, not through prose.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import REPO

AREAS = ("gatewayd", "tests", "benchmarks", "tools", "docs", "README.md", "config.toml",
         "deploy", "systemd")  # fmt: skip
# Spelt in pieces so that this file does not match itself.
NAMES = ("PROTOCOL", "DESIGN", "DEPENDENCIES", "STYLE")
REFERENCE = re.compile("|".join([*(rf"\b{n}\.md\b" for n in NAMES), r"\.\./" + "shared"]))


def tracked_text_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", *AREAS], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    paths = [REPO / p for p in out.split("\0") if p]
    return [p for p in paths if p.is_file() and b"\0" not in p.read_bytes()[:8192]]


def references(path: Path) -> list[str]:
    text = path.read_text(errors="replace")
    return [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        if REFERENCE.search(line)
    ]


def test_no_file_names_the_developer_notes() -> None:
    files = tracked_text_files()
    assert len(files) > 300  # the scan really covers the repository
    assert [hit for path in files for hit in references(path)] == []


def test_the_scan_sees_each_kind_of_reference() -> None:
    hits = [f"# see {n}.md §1" for n in NAMES] + ["# (../" + "shared/vectors/README.md)"]
    misses = ["# STYLE_md", "DESIGNS.md", "shared_vector_files()", "REPO.parent / 'shared'"]
    assert all(REFERENCE.search(line) for line in hits)
    assert not any(REFERENCE.search(line) for line in misses)

"""docs/meters.md lists every driver in the registry: its table is regenerated here and must
equal the committed one. Run this file to rewrite the table after adding a driver:
python tests/meters/test_catalog.py
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gatewayd.meters.catalog import BEGIN, END, driver_fields, render, rows
from gatewayd.meters.registry import ENTRY_BY_NAME, all_drivers, load

_DRIVERS = all_drivers()
BY_NAME = {name: load(e) for name, e in ENTRY_BY_NAME.items()}

PAGE = Path(__file__).resolve().parents[2] / "docs" / "meters.md"


def test_the_committed_table_is_the_registry() -> None:
    page = PAGE.read_text()
    assert BEGIN in page and END in page
    assert render(page) == page, "docs/meters.md is stale: run python tests/meters/test_catalog.py"


def test_every_driver_and_alias_is_a_row() -> None:
    names = [r[0] for r in rows()]
    assert len(names) == len(_DRIVERS)
    for alias, d in BY_NAME.items():
        row = next(r for r in names if r.split(" ")[0] == d.name)
        assert alias == d.name or alias in row


def test_every_driver_documents_fields() -> None:
    assert all(driver_fields(d) for d in _DRIVERS)


if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text() if PAGE.exists() else ""))

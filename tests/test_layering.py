"""What the import-linter contracts in pyproject.toml (run by `dev.sh test` as lint-imports)
cannot see: imports by name at run time in the sans-I/O core, and rooms that no layer covers."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.pysource import parse_file

PKG = REPO / "gatewayd"
# Ways to import or run code by name, invisible to a static import graph.
DYNAMIC_CALLS = {"__import__", "exec", "eval", "compile", "import_module"}


def core_modules() -> list[Path]:
    return sorted([*(PKG / "wmbus").rglob("*.py"), *(PKG / "meters").rglob("*.py")])


def dynamic_uses(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(parse_file(path)):
        if isinstance(node, ast.Call):
            fn = node.func
            name = (
                fn.id
                if isinstance(fn, ast.Name)
                else fn.attr
                if isinstance(fn, ast.Attribute)
                else ""
            )
            if name in DYNAMIC_CALLS:
                found.append(f"{name}() at line {node.lineno}")
        elif isinstance(node, ast.Name) and node.id in ("importlib", "__builtins__"):
            found.append(f"{node.id} at line {node.lineno}")
    return found


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_core_imports_nothing_by_name_at_run_time(path: Path) -> None:
    assert dynamic_uses(path) == []


def test_the_dynamic_import_check_sees_what_it_looks_for(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import importlib\nm = importlib.import_module('asyncio')\n__import__('os')\n")
    assert sorted(dynamic_uses(probe)) == [
        "__import__() at line 3",
        "import_module() at line 2",
        "importlib at line 2",
    ]


# Packages whose own __init__ holds only a docstring, split across layers by module.
SPLIT_PACKAGES = {"gatewayd", "gatewayd.config"}


def module_names() -> set[str]:
    names = set()
    for path in PKG.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_is_in_a_layer() -> None:
    """A new room (or a new module of a package split by module) must be placed in a layer."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers: list[str] = next(c for c in contracts if c["type"] == "layers")["layers"]
    covered = {m.strip() for layer in layers for m in layer.replace("|", ":").split(":")}

    def in_a_layer(module: str) -> bool:
        parts = module.split(".")
        return any(".".join(parts[:n]) in covered for n in range(1, len(parts) + 1))

    assert sorted(m for m in module_names() - SPLIT_PACKAGES if not in_a_layer(m)) == []

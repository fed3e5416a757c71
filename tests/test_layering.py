"""The layering DESIGN.md §2 promises, checked on the source: the decoder core and the meter
drivers are sans-I/O; radios and sinks never import each other; only app.py knows every part."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "gatewayd"

# Standard-library and third-party modules that do I/O or belong to the adapters.
IO_MODULES = {"asyncio", "socket", "serial", "serial_asyncio_fast", "subprocess", "select",
              "selectors", "sqlite3", "threading", "paho", "dbus_fast", "systemd", "os",
              "pathlib", "io", "tomllib", "logging", "signal"}  # fmt: skip
ADAPTERS = ("gatewayd.radios", "gatewayd.sinks", "gatewayd.daemon.app", "gatewayd.config",
            "gatewayd.daemon.pipeline", "gatewayd.cli", "gatewayd.commands.demo")  # fmt: skip


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(sub: str) -> list[Path]:
    return sorted((PKG / sub).rglob("*.py"))


@pytest.mark.parametrize("path", modules("wmbus") + modules("meters"), ids=lambda p: p.name)
def test_core_is_sans_io(path: Path) -> None:
    for name in imports(path):
        top = name.split(".")[0]
        assert top not in IO_MODULES, f"{path.name} imports {name}"
        assert not name.startswith(ADAPTERS), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules("radios"), ids=lambda p: p.name)
def test_radios_do_not_import_sinks(path: Path) -> None:
    assert not any(n.startswith("gatewayd.sinks") for n in imports(path))


@pytest.mark.parametrize("path", modules("sinks"), ids=lambda p: str(p.relative_to(PKG)))
def test_sinks_do_not_import_radios(path: Path) -> None:
    assert not any(n.startswith("gatewayd.radios") for n in imports(path))


def opens_serial(path: Path) -> bool:
    return any(n.split(".")[0] in ("serial", "serial_asyncio_fast") for n in imports(path))


def test_only_serialport_opens_a_serial_port() -> None:
    users = {str(p.relative_to(PKG)) for p in PKG.rglob("*.py") if opens_serial(p)}
    assert users == {"radios/serialport.py"}

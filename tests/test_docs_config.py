"""docs/config.md documents every key the config loader accepts, under its section's heading.

The accepted keys come from the loader itself: `parse_config` is given an unknown key in each
section and its error lists what that section accepts. That list must match the section types
(their fields minus the internal ones), and each key needs a row in its section's table in the
doc, with the code's default where the code has one. Rows for keys the loader refuses fail too.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from gatewayd.config import load
from gatewayd.config.reader import ConfigError
from gatewayd.config.schema import RADIO_COMMON_KEYS, RADIO_KIND_KEYS, Config, RadioSettings
from gatewayd.config.sections import toml_keys

DOC = Path(__file__).resolve().parent.parent / "docs" / "config.md"
_HEADING = re.compile(r"^(#{2,3}) (.+)$", re.MULTILINE)
_SECTION_NAME = re.compile(r"`\[\[?([a-z_.]+)\]\]?`")
_ROW = re.compile(r"^\| `([a-z_0-9]+)` \|([^|]*)\|([^|]*)\|", re.MULTILINE)
TOP_LEVEL = ""  # the doc's "Top level" heading: keys outside any table
UNKNOWN = "zz_not_a_key"
TABLE_SECTIONS = tuple(name for name in load.SECTIONS if name != "keys_file")


def doc_sections() -> dict[str, str]:
    """Section name ("" for top level) -> the text under its heading, up to the next heading."""
    text = DOC.read_text(encoding="utf-8")
    headings = list(_HEADING.finditer(text))
    out: dict[str, str] = {}
    for i, h in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        title = h.group(2)
        named = _SECTION_NAME.search(title)
        if named:
            out[named.group(1)] = text[h.end() : end]
        elif title.strip() == "Top level":
            out[TOP_LEVEL] = text[h.end() : end]
    return out


def doc_rows(body: str) -> dict[str, tuple[str, str]]:
    """Key -> (type, default) from the rows of a section's table."""
    return {m.group(1): (m.group(2).strip(), m.group(3).strip()) for m in _ROW.finditer(body)}


def loader_accepts(section: str, radio_kind: str | None = None) -> set[str]:
    """What the loader lists as accepted when `section` holds an unknown key."""
    data: dict[str, Any]
    radio: dict[str, Any] = {UNKNOWN: 1} if radio_kind is None else {"kind": radio_kind, UNKNOWN: 1}
    if section == TOP_LEVEL:
        data = {UNKNOWN: 1}
    elif section == "meters":
        data = {"meters": [{"id": "12345678", "encrypted": False, UNKNOWN: 1}]}
    elif section == "radios":
        data = {"radios": [radio]}
    elif section == "radio":
        data = {"radio": radio}
    else:
        data = {section: {UNKNOWN: 1}}
    with pytest.raises(ConfigError) as caught:
        load.parse_config(data, Path("/nonexistent/config.toml"))
    error = caught.value
    assert error.found == "an unknown key", error
    assert error.key.endswith(UNKNOWN), error
    assert error.expected.startswith("one of "), error
    return set(error.expected.removeprefix("one of ").split(", "))


def section_type(section: str) -> type:
    if section == "radios":  # [[radios]]: a tuple of the same tables as [radio]
        return RadioSettings
    hint = typing.get_type_hints(Config)[section]
    if isinstance(hint, types.UnionType):  # MqttSettings | None
        (hint,) = (a for a in typing.get_args(hint) if a is not type(None))
    assert isinstance(hint, type), hint
    return hint


def declared_keys(section: str) -> set[str]:
    if section == TOP_LEVEL:
        return {"keys_file", *TABLE_SECTIONS}
    if section == "meters":
        return set(load.METER_KEYS)
    if section in ("radio", "radios"):  # the default kind's keys; other kinds: below
        return {*RADIO_COMMON_KEYS, *RADIO_KIND_KEYS.get(RadioSettings().kind, ())}
    return set(toml_keys(section_type(section)))


def doc_section(section: str) -> str:
    """[[radios]] tables take [radio]'s keys, documented once under [radio]."""
    return "radio" if section == "radios" else section


def as_toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(as_toml(v) for v in value) + "]"
    return str(value)


@pytest.mark.parametrize("section", [TOP_LEVEL, *TABLE_SECTIONS])
def test_every_accepted_key_has_a_row_under_its_section(section: str) -> None:
    accepted = loader_accepts(section)
    assert accepted == declared_keys(section)
    sections = doc_sections()
    assert section in sections, f"docs/config.md has no heading for [{section}]"
    rows = doc_rows(sections[doc_section(section)])
    documented_keys = accepted - set(TABLE_SECTIONS) if section == TOP_LEVEL else accepted
    missing = sorted(documented_keys - set(rows))
    assert not missing, f"docs/config.md [{section}] lacks rows for {missing}"
    if section in ("radio", "radios"):  # kind-specific keys are refused for the default kind
        accepted |= {k for keys in RADIO_KIND_KEYS.values() for k in keys}
    refused = sorted(set(rows) - accepted)
    assert not refused, f"docs/config.md [{section}] documents keys the loader refuses: {refused}"


@pytest.mark.parametrize("kind", sorted(RADIO_KIND_KEYS))
def test_each_radio_kinds_own_keys_are_accepted_and_documented(kind: str) -> None:
    accepted = loader_accepts("radio", radio_kind=kind)
    assert accepted == {*RADIO_COMMON_KEYS, *RADIO_KIND_KEYS[kind]}
    rows = doc_rows(doc_sections()["radio"])
    missing = sorted(accepted - set(rows))
    assert not missing, f"docs/config.md [radio] lacks rows for {missing} (kind {kind})"


@pytest.mark.parametrize("section", [s for s in TABLE_SECTIONS if s != "meters"])
def test_documented_defaults_are_the_codes(section: str) -> None:
    cls = section_type(section)
    rows = doc_rows(doc_sections()[doc_section(section)])
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        default = f.default
        assert default is not dataclasses.MISSING, f.name
        expected = "none" if default is None else f"`{as_toml(default)}`"
        assert rows[f.name][1] == expected, (section, f.name, rows[f.name])


def test_every_section_of_the_loader_is_in_the_doc_and_no_other() -> None:
    documented = set(doc_sections()) - {TOP_LEVEL, "meters.fields"}
    assert documented == set(TABLE_SECTIONS)


def test_keys_file_format_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert re.search(r"^## keys\.toml$", text, re.MULTILINE)
    assert "[keys]" in text
    for secret_file in ("keys.toml", load.MQTT_PASSWORD_CREDENTIAL, load.MQTT_KEY_CREDENTIAL):
        assert f"$CREDENTIALS_DIRECTORY/{secret_file}" in text, secret_file

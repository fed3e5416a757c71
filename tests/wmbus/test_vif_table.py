"""The VIF tables against EN 13757-3's primary VIF and combinable VIFE tables: each range's
quantity, unit and scale.

The rows below restate the standard's table in its own units (Wh, J, W, m³/min ...) and the
expected normalised scale is converted here (Wh -> kWh is 10^-3, m³/min -> m³/h is x60, ...).
"""

from __future__ import annotations

import pytest

from gatewayd.wmbus import vife_table as vet
from gatewayd.wmbus.records import parse_header

# (first, last, quantity, normalised unit, PROTOCOL exponent of the first code, unit conversion)
PRIMARY_RANGES = [
    (0x00, 0x07, "energy", "kwh", -3, 10**-3),  # Wh x 10^(n-3)
    (0x08, 0x0F, "energy", "mj", 0, 10**-6),  # J x 10^n
    (0x10, 0x17, "volume", "m3", -6, 1),
    (0x18, 0x1F, "mass", "kg", -3, 1),
    (0x28, 0x2F, "power", "kw", -3, 10**-3),  # W x 10^(n-3)
    (0x30, 0x37, "power", "mj/h", 0, 10**-6),  # J/h x 10^n
    (0x38, 0x3F, "volume flow", "m3h", -6, 1),
    (0x40, 0x47, "volume flow", "m3h", -7, 60),  # m³/min
    (0x48, 0x4F, "volume flow", "m3h", -9, 3600),  # m³/s
    (0x50, 0x57, "mass flow", "kg/h", -3, 1),
    (0x58, 0x5B, "flow temperature", "c", -3, 1),
    (0x5C, 0x5F, "return temperature", "c", -3, 1),
    (0x60, 0x63, "temperature difference", "k", -3, 1),
    (0x64, 0x67, "external temperature", "c", -3, 1),
    (0x68, 0x6B, "pressure", "bar", -3, 1),
]

CASES = [
    (code, quantity, unit, 10.0 ** (exp0 + code - first) * conv)
    for first, last, quantity, unit, exp0, conv in PRIMARY_RANGES
    for code in range(first, last + 1)
]


@pytest.mark.parametrize(("code", "quantity", "unit", "scale"), CASES)
def test_primary_ranges(code: int, quantity: str, unit: str, scale: float) -> None:
    header, _ = parse_header(bytes([0x04, code]))
    assert (header.quantity, header.unit, header.vif) == (quantity, unit, code)
    assert header.scale == pytest.approx(scale, rel=1e-12)
    assert header.factor * 10.0**header.exponent == pytest.approx(scale, rel=1e-12)


def test_named_codes_of_protocol_table() -> None:
    assert parse_header(bytes([0x04, 0x13]))[0].scale == 0.001  # 0x13 = litre
    assert parse_header(bytes([0x04, 0x3B]))[0].scale == 0.001  # 0x3B = l/h
    assert parse_header(bytes([0x04, 0x06]))[0].scale == 1.0  # kWh
    expected = {0x6E: ("hca", "hca"), 0x78: ("fabrication number", ""), 0x6C: ("date", "")}
    for code, (quantity, unit) in expected.items():
        header = parse_header(bytes([0x02, code]))[0]
        assert (header.quantity, header.unit) == (quantity, unit)


@pytest.mark.parametrize(
    ("first", "quantity"),
    [(0x20, "on time"), (0x24, "operating time"), (0x70, "averaging duration"),
     (0x74, "actuality duration"), (0xFD2C, "duration since last readout")],
)  # fmt: skip
def test_duration_units(first: int, quantity: str) -> None:
    for nn, unit in enumerate(("s", "min", "h", "d")):
        code = first + nn
        hb = bytes([0x04, 0xFD, code & 0x7F]) if code > 0xFF else bytes([0x04, code])
        header = parse_header(hb)[0]
        assert (header.quantity, header.unit, header.scale) == (quantity, unit, 1.0)


@pytest.mark.parametrize(
    ("code", "quantity", "unit", "scale"),
    [
        (0x00, "energy", "kwh", 100.0),  # 0.1 MWh
        (0x01, "energy", "kwh", 1000.0),
        (0x08, "energy", "mj", 100.0),  # 0.1 GJ
        (0x10, "volume", "m3", 100.0),
        (0x11, "volume", "m3", 1000.0),
        (0x18, "mass", "kg", 100_000.0),  # 100 t
        (0x1A, "relative humidity", "%", 0.1),
        (0x1B, "relative humidity", "%", 1.0),
        (0x21, "volume", "ft3", 0.1),
        (0x22, "volume", "usgal", 0.1),
        (0x23, "volume", "usgal", 1.0),
        (0x24, "volume flow", "usgal/min", 0.001),
        (0x26, "volume flow", "usgal/h", 1.0),
        (0x28, "power", "kw", 100.0),  # 0.1 MW
        (0x30, "power", "mj/h", 100.0),  # 0.1 GJ/h
        (0x5B, "flow temperature", "f", 1.0),
        (0x67, "external temperature", "f", 1.0),
    ],
)
def test_fb_table(code: int, quantity: str, unit: str, scale: float) -> None:
    header = parse_header(bytes([0x04, 0xFB, code]))[0]
    assert (header.quantity, header.unit, header.vif) == (quantity, unit, 0xFB00 | code)
    assert header.scale == pytest.approx(scale, rel=1e-12)


def test_fd_table() -> None:
    for nnnn in range(16):
        volts = parse_header(bytes([0x04, 0xFD, 0x40 | nnnn]))[0]
        assert (volts.unit, volts.exponent) == ("v", nnnn - 9)
        amps = parse_header(bytes([0x04, 0xFD, 0x50 | nnnn]))[0]
        assert (amps.unit, amps.exponent) == ("a", nnnn - 12)
    expected = {
        0x08: ("access number", "number"),
        0x0C: ("model version", "id"),
        0x10: ("customer location", "id"),
        0x17: ("error flags", "bits"),
        0x1A: ("digital output", "bits"),
        0x1B: ("digital input", "bits"),
        0x3A: ("dimensionless", "number"),
        0x74: ("remaining battery life", "number"),
    }
    for code, (quantity, kind) in expected.items():
        header = parse_header(bytes([0x02, 0xFD, code]))[0]
        assert (header.quantity, header.kind) == (quantity, kind)
    assert parse_header(bytes([0x02, 0xFD, 0x74]))[0].unit == "d"


def test_every_code_of_every_table_parses() -> None:
    for code in range(0x80):
        if code in (0x7B, 0x7D, 0x7C):
            continue
        assert parse_header(bytes([0x02, code]))[0].size == 2
        for marker in (0xFB, 0xFD, 0xEF, 0xFF):
            header = parse_header(bytes([0x02, marker, code]))[0]
            assert header.vif == (marker << 8) | code
        header = parse_header(bytes([0x02, 0x93, code]))[0]
        assert len(header.combinables) == (code not in (0x7C, 0x7F))


def test_combinable_table() -> None:
    for nnn in range(8):
        assert vet.COMBINABLE[0x70 + nnn].exponent == nnn - 6
    assert vet.COMBINABLE[0x7D].exponent == 3
    names = {0x15: "no data", 0x3A: "uncorrected", 0x3B: "forward flow", 0x3C: "backward flow"}
    for code, name in names.items():
        assert vet.COMBINABLE[code].name == name
    header = parse_header(bytes([0x02, 0xFD, 0xC8, 0xFC, 0x01]))[0]  # volts at phase L1
    assert header.combinables == ("phase l1",) and header.unit == "v"
    header = parse_header(bytes([0x02, 0x93, 0xFF, 0x8F, 0x10]))[0]  # 7F: manufacturer follows
    assert header.combinables == ("manufacturer 0x0f", "manufacturer 0x10")

"""Driver selection: auto-detection by (manufacturer, version, device type), names, fallback."""

from __future__ import annotations

import pytest

from gatewayd.meters import UnknownDriverError, driver_for, driver_names
from tests.meters.builders import address

# (manufacturer, version, device type) -> driver: Kamstrup's versions and device types, the
# vectors
DETECTED = [
    ("KAM", 0x1B, 0x16, "kamwater"),  # MULTICAL 21, cold
    ("KAM", 0x1B, 0x06, "kamwater"),  # MULTICAL 21, warm
    ("KAM", 0x1D, 0x16, "kamwater"),  # flowIQ 2200
    ("KAW", 0x3A, 0x16, "kamwater"),  # flowIQ 2200
    ("KAW", 0x3C, 0x16, "kamwater"),  # flowIQ 2200
    ("KAW", 0x42, 0x16, "kamwater"),  # KWM 2230/3230
    ("KAM", 0x30, 0x04, "kamheat"),  # MULTICAL 302
    ("KAM", 0x30, 0x0C, "kamheat"),
    ("KAM", 0x40, 0x0C, "kamheat"),  # MULTICAL 303 (OMS, CI 7A)
    ("KAM", 0x19, 0x04, "kamheat"),  # MULTICAL 402
    ("KAM", 0x34, 0x0A, "kamheat"),  # MULTICAL 403 cooling
    ("KAM", 0x34, 0x0C, "kamheat"),
    ("KAM", 0x1C, 0x04, "kamheat"),  # MULTICAL 602
    ("KAM", 0x35, 0x04, "kamheat"),  # MULTICAL 603
    ("KAM", 0x35, 0x0C, "kamheat"),
    ("KAM", 0x39, 0x04, "kamheat"),  # MULTICAL 803
    ("KAM", 0x01, 0x18, "kampress"),  # pressure sensor
    ("KAM", 0x30, 0x02, "omnipower"),  # OMNIPOWER (same version as the 302, other type)
]


@pytest.mark.parametrize(("m", "version", "dtype", "want"), DETECTED)
def test_auto_detects(m: str, version: int, dtype: int, want: str) -> None:
    d = driver_for(address(m, "12345678", version, dtype))
    assert d.name == want
    assert driver_for(address(m, "12345678", version, dtype), "auto") is d


@pytest.mark.parametrize(
    ("m", "version", "dtype"),
    [
        ("KAM", 0x1B, 0x07),  # known version, a device type no Kamstrup driver detects
        ("DME", 0x1B, 0x16),  # other manufacturer with a Kamstrup version/type pair
        ("APA", 0x99, 0x07),  # Apator, a version no driver claims
    ],
)
def test_unknown_meters_fall_back_to_oms(m: str, version: int, dtype: int) -> None:
    assert driver_for(address(m, "12345678", version, dtype)).name == "oms"


@pytest.mark.parametrize(
    ("m", "version", "dtype", "want"),
    [
        ("KAM", 0x99, 0x16, "kamwater"),  # a cold-water version the detect list does not name
        ("KAM", 0x3F, 0x04, "kamheat"),  # another MULTICAL heat meter version
        ("KAM", 0x41, 0x0C, "kamheat"),  # heat volume at inlet
    ],
)
def test_other_versions_of_a_table_driven_meter_keep_its_driver(
    m: str, version: int, dtype: int, want: str
) -> None:
    assert driver_for(address(m, "12345678", version, dtype)).name == want


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("multical21", "kamwater"),
        ("flowiq2200", "kamwater"),
        ("kamwater", "kamwater"),
        ("KAMWATER", "kamwater"),
        ("kamheat", "kamheat"),
        ("multical302", "kamheat"),
        ("multical403", "kamheat"),
        ("multical602", "kamheat"),
        ("multical603", "kamheat"),
        ("multical803", "kamheat"),
        ("oms", "oms"),
        ("kampress", "kampress"),
        ("omnipower", "omnipower"),
    ],
)
def test_explicit_names_override_detection(name: str, want: str) -> None:
    other = address("ABB", "00000001", 0x02, 0x02)  # would auto-detect as oms
    assert driver_for(other, name).name == want


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(UnknownDriverError, match=r"'nosuch'.*kamwater"):
        driver_for(address(), "nosuch")
    assert "auto" in driver_names()
    assert "multical21" in driver_names()

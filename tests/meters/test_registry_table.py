"""The registry's declarative table says what each driver's own object says (name, aliases,
detection, manufacturer CIs, the Kamstrup family fallback), no meter is claimed twice, and a
driver's module is imported only when a meter needs that driver."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from gatewayd.meters import registry
from gatewayd.meters.driver import TableDriver
from gatewayd.meters.registry import DRIVERS, Entry
from gatewayd.wmbus.link import Address


@pytest.mark.parametrize("entry", DRIVERS, ids=[e.name for e in DRIVERS])
def test_the_table_line_matches_the_driver(entry: Entry) -> None:
    d = registry.load(entry)
    assert d.name == entry.name
    assert tuple(getattr(d, "aliases", ())) == entry.aliases
    own = tuple((m.manufacturer, m.version, m.device_type) for m in getattr(d, "detect", ()))
    assert own == entry.detect
    own_ci = tuple((c.manufacturer, c.ci) for c in getattr(d, "ci_detect", ()))
    assert own_ci == entry.ci_detect
    # the fallback to other versions is for Kamstrup's table drivers (they match by VIF)
    kamstrup = any(m in registry.FAMILY_MANUFACTURERS for m, _, _ in entry.detect)
    assert entry.family == (isinstance(d, TableDriver) and kamstrup)
    assert registry.load(entry) is d  # built once


def test_no_name_meter_or_ci_is_claimed_twice() -> None:
    names = Counter(n for e in DRIVERS for n in (e.name, *e.aliases))
    assert [n for n, c in names.items() if c > 1] == []
    mvts = Counter(m for e in DRIVERS for m in e.detect)
    assert [m for m, c in mvts.items() if c > 1] == []
    cis = Counter(c for e in DRIVERS for c in e.ci_detect)
    assert [c for c, n in cis.items() if n > 1] == []
    assert all(e.module.isidentifier() and e.factory.isidentifier() for e in DRIVERS)


def test_detection_follows_the_table() -> None:
    def addr(mfct: str, version: int, device_type: int) -> Address:
        return Address(mfct, "12345678", version, device_type, raw=bytes(8))

    assert registry.detect(addr("KAM", 0x1B, 0x16)).name == "kamwater"  # listed pair
    assert registry.detect(addr("KAM", 0x77, 0x04)).name == "kamheat"  # another version
    assert registry.detect(addr("SAP", 0x00, 0x00), ci=0xA1).name == "izar"  # by CI
    assert registry.detect(addr("SAP", 0x00, 0x00)).name == "oms"  # no CI given
    assert registry.detect(addr("QDS", 0x77, 0x07)).name == "oms"  # not Kamstrup: no family
    assert registry.driver_for(addr("ZZZ", 1, 7), "MULTICAL21").name == "kamwater"
    with pytest.raises(registry.UnknownDriverError):
        registry.driver_for(addr("ZZZ", 1, 7), "nosuchdriver")


LAZY = """
import json, sys
from gatewayd.meters.registry import driver_for
from gatewayd.wmbus.link import Address
before = sorted(m for m in sys.modules if m.startswith("gatewayd.meters."))
d = driver_for(Address("KAM", "12345678", 0x1B, 0x16, bytes(8)))
after = sorted(m for m in sys.modules if m.startswith("gatewayd.meters."))
print(json.dumps([d.name, before, after]))
"""


def test_a_driver_module_is_imported_on_first_use_only() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LAZY], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    name, before, after = json.loads(out)
    assert name == "kamwater"
    modules = {f"gatewayd.meters.{e.module}" for e in DRIVERS}
    assert modules & set(before) == set()
    assert modules & set(after) == {"gatewayd.meters.kamstrup_water"}

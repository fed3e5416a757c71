"""Which driver decodes which meter: auto-detection by manufacturer, version and device type
(as wmbusmeters' driver "detect" blocks), explicit names and aliases, the OMS fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gatewayd.errors import ConfigurationError
from gatewayd.meters.apator162 import Apator162
from gatewayd.meters.apator_other import apator08, apator172, apatoreitn, apatorna1
from gatewayd.meters.bfw240radio import bfw240radio
from gatewayd.meters.bmeters_hca import hydroclima, hydroclimav2
from gatewayd.meters.diehl_prios import izar, izarv2
from gatewayd.meters.driver import Detect, Driver, TableDriver
from gatewayd.meters.em24 import em24
from gatewayd.meters.engelmann import engelmann_faw
from gatewayd.meters.hca_more import caltose, fhkvdataiv, lansendw
from gatewayd.meters.hydrodigit import hydrodigit
from gatewayd.meters.kaden import kaden
from gatewayd.meters.kamstrup_heat import kamheat
from gatewayd.meters.kamstrup_other import kampress, omnipower
from gatewayd.meters.kamstrup_water import kamwater
from gatewayd.meters.mfct import CiDetect, MfctDriver
from gatewayd.meters.oms import oms
from gatewayd.meters.qundis_heat import qcaloric, qheat, qheatv2
from gatewayd.meters.qundis_water import qwater, qwaterv2
from gatewayd.meters.smoke import ei6500, lansensm, qsmoke, tsd2
from gatewayd.meters.synth import SynthDriver
from gatewayd.meters.tables_heat import (
    amiplus,
    hydrocalm4,
    lansenpu,
    lansenth,
    qualcosonic,
    sharky774,
    ultraheat,
)
from gatewayd.meters.tables_misc import (
    aventieshca,
    elster,
    eurisii,
    ev200,
    fiowater,
    gwfgas,
    watertech,
)
from gatewayd.meters.tables_water import (
    aventieswm,
    iperl,
    istawater,
    itron,
    iwmtx5,
    kadenwater,
    picoflux,
    q400,
    supercom587,
    ultrimis,
    ultrimisv2,
    waterstarm,
    weh_07,
)
from gatewayd.meters.techem_mk import mkradio3, mkradio3a
from gatewayd.meters.techem_other import compact5, fhkvdataiii, vario451
from gatewayd.meters.water_misc import aquastream, gwfwater, hydrus, topaseskr
from gatewayd.meters.zenner_techem_ebz import ebzwmbe, mkradio4, zenner0b
from gatewayd.wmbus.link import Address

# Every built-in driver, most specific first. The factories build fresh, immutable tables.
FACTORIES: tuple[Callable[[], TableDriver], ...] = (
    kamwater, kamheat, kampress, omnipower, engelmann_faw, topaseskr, hydrus, kaden, qsmoke,
    lansensm, hydrocalm4, amiplus, sharky774, qualcosonic, ultraheat, lansenth, lansenpu,
    q400, ultrimisv2, ultrimis, itron, iwmtx5, picoflux, iperl,
    istawater, aventieswm, weh_07, supercom587, aventieshca, eurisii, gwfgas, elster, fiowater,
    ev200, watertech, oms,
)  # fmt: skip


class _Listed(Driver, Protocol):
    detect: tuple[Detect, ...]
    aliases: tuple[str, ...]


# Drivers that read manufacturer-specific data (gatewayd/meters/mfct.py).
MFCT_FACTORIES: tuple[Callable[[], MfctDriver], ...] = (
    hydrodigit, qwaterv2, qwater, izar, izarv2, bfw240radio, mkradio3, mkradio3a,
    apator08, apator172, apatoreitn, apatorna1, compact5, fhkvdataiii, vario451, gwfwater,
    tsd2, zenner0b, mkradio4,
)  # fmt: skip

# Drivers that read vendor layouts as records and compute fields (gatewayd/meters/synth.py).
SYNTH_FACTORIES: tuple[Callable[[], SynthDriver], ...] = (
    em24, qheatv2, qheat, qcaloric, hydroclimav2, hydroclima, aquastream, ei6500, ebzwmbe,
    kadenwater, waterstarm, caltose, lansendw, fhkvdataiv,
)  # fmt: skip

_DRIVERS: tuple[_Listed, ...] = (
    *(f() for f in FACTORIES),
    Apator162(),
    *(f() for f in MFCT_FACTORIES),
    *(f() for f in SYNTH_FACTORIES),
)
BY_NAME: dict[str, Driver] = {}
for _d in _DRIVERS:
    BY_NAME[_d.name] = _d
    for _alias in _d.aliases:
        BY_NAME[_alias] = _d
BY_MVT: dict[tuple[str, int, int], Driver] = {
    (m.manufacturer, m.version, m.device_type): d for d in _DRIVERS for m in d.detect
}
# Other versions of a Kamstrup meter: (manufacturer, device type) -> the one Kamstrup table
# driver that detects that pair (a MULTICAL heat meter version the detect lists do not name yet
# reads with the kamheat fields, not the generic OMS names). Kamstrup's drivers match records by
# VIF, so a new version of a family still reads right; other makers' versions can be other
# products, so they stay with their detect lists. Pairs two drivers share are left out.
FAMILY_MANUFACTURERS = frozenset(("KAM", "KAW"))
_BY_MT: dict[tuple[str, int], list[Driver]] = {}
for _d in _DRIVERS:
    if isinstance(_d, TableDriver):
        for _m in _d.detect:
            if _m.manufacturer not in FAMILY_MANUFACTURERS:
                continue
            _seen = _BY_MT.setdefault((_m.manufacturer, _m.device_type), [])
            if _d not in _seen:
                _seen.append(_d)
BY_MT: dict[tuple[str, int], Driver] = {mt: ds[0] for mt, ds in _BY_MT.items() if len(ds) == 1}
# Meters whose address bytes are not a real version/device type, known by a manufacturer CI.
BY_MCI: dict[tuple[str, int], Driver] = {
    (c.manufacturer, c.ci): d
    for d in _DRIVERS
    for c in getattr(d, "ci_detect", ())
    if isinstance(c, CiDetect)
}
GENERIC: Driver = BY_NAME["oms"]


class UnknownDriverError(ConfigurationError):
    """A driver name that no built-in driver answers to."""


def driver_names() -> list[str]:
    """Every name (driver or alias) accepted by driver_for, sorted."""
    return sorted({"auto", *BY_NAME})


def detect(address: Address, ci: int | None = None) -> Driver:
    """The driver for this meter by (manufacturer, version, device type), else by
    (manufacturer, CI) when the telegram's CI is given, else by (manufacturer, device type) for
    another version of a Kamstrup meter; the OMS driver if none."""
    d = BY_MVT.get((address.manufacturer, address.version, address.device_type))
    if d is None and ci is not None:
        d = BY_MCI.get((address.manufacturer, ci))
    if d is None:
        d = BY_MT.get((address.manufacturer, address.device_type), GENERIC)
    return d


def driver_for(address: Address, name: str = "auto", ci: int | None = None) -> Driver:
    """The driver named `name` ("auto": detect it from the address and, for meters known by a
    manufacturer CI, the telegram's CI). Raises UnknownDriverError."""
    if name == "auto":
        return detect(address, ci)
    try:
        return BY_NAME[name.lower()]
    except KeyError:
        raise UnknownDriverError(
            f"unknown meter driver {name!r}; known: {', '.join(driver_names())}"
        ) from None

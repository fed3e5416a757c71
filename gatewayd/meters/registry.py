"""Which driver decodes which meter: auto-detection by manufacturer, version and device type
(as wmbusmeters' driver "detect" blocks), by manufacturer CI, explicit names and aliases, and the
OMS fallback.

The table below is all the registry knows until a driver is used: a driver's module is imported
(and its tables built) the first time a meter needs it, so a site with two kinds of meter loads
two drivers. Adding a driver is one line in DRIVERS:

    D("name", "module", "MFT.VV.TT MFT.VV.TT", aliases="alias1 alias2"),

- module: the module in gatewayd/meters/ whose function `name()` builds the driver; write
  "module:factory" when the factory has another name (a class, for instance); a new module
  also gets its import in gatewayd/meters/modules.py;
- detection: space-separated MFT.VV.TT = manufacturer code, version byte and device type byte
  (hex), the order of the link-layer address; "" for a driver picked by name only;
- ci="MFT.a0-a7": meters known by manufacturer and a manufacturer-specific CI (a range or one);
- family=True: a Kamstrup table driver that also reads other versions of its (manufacturer,
  device type) pairs, as long as no other family driver claims the same pair.

The driver's own object repeats its detection (docs/meters.md is generated from it);
tests/meters/test_registry_table.py checks that both say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatewayd.errors import ConfigurationError
from gatewayd.meters.modules import driver_module

if TYPE_CHECKING:
    from gatewayd.meters.driver import Driver
    from gatewayd.wmbus.link import Address

FAMILY_MANUFACTURERS = frozenset(("KAM", "KAW"))


@dataclass(frozen=True, slots=True)
class Entry:
    """One built-in driver as the registry knows it before its module is imported."""

    name: str
    module: str  # inside gatewayd.meters
    factory: str
    detect: tuple[tuple[str, int, int], ...]  # (manufacturer, version, device type)
    aliases: tuple[str, ...]
    ci_detect: tuple[tuple[str, int], ...]  # (manufacturer, CI)
    family: bool


def D(
    name: str, where: str, mvt: str, *, aliases: str = "", ci: str = "", family: bool = False
) -> Entry:
    module, _, factory = where.partition(":")
    detect = []
    for item in mvt.split():
        mfct, version, device_type = item.split(".")
        detect.append((mfct, int(version, 16), int(device_type, 16)))
    cis = []
    for item in ci.split():
        mfct, _, span = item.partition(".")
        first, _, last = span.partition("-")
        cis += [(mfct, c) for c in range(int(first, 16), int(last or first, 16) + 1)]
    return Entry(
        name, module, factory or name, tuple(detect), tuple(aliases.split()), tuple(cis), family
    )


# Every built-in driver, most specific first.
# fmt: off
DRIVERS: tuple[Entry, ...] = (
    D("kamwater", "kamstrup_water",
      "KAM.1b.06 KAM.1b.16 KAW.3a.16 KAW.3c.16 KAM.1d.16 KAW.42.06 KAW.42.16",
      aliases="multical21 flowiq2200 flowiq2101 flowiq3100 kwm", family=True),
    D("kamheat", "kamstrup_heat",
      "KAM.30.04 KAM.30.0d KAM.30.0c KAM.40.04 KAM.40.0c KAM.40.0d KAM.19.04 "
      "KAM.34.04 KAM.34.0a KAM.34.0b KAM.34.0c KAM.34.0d KAM.1c.04 KAM.35.04 "
      "KAM.35.0c KAM.39.04",
      aliases="multical302 multical303 multical402 multical403 multical602 multical603"
      " multical803", family=True),
    D("kampress", "kamstrup_other", "KAM.01.18", family=True),
    D("omnipower", "kamstrup_other", "KAM.30.02", family=True),
    D("engelmann_faw", "engelmann", "EFE.00.07", aliases="engelmann-faw"),
    D("topaseskr", "water_misc", "AMT.f1.06 AMT.f1.07"),
    D("hydrus", "water_misc",
      "DME.70.07 DME.76.07 HYD.24.07 HYD.8b.07 HYD.8b.06 DME.70.06 DME.70.16"),
    D("kaden", "kaden", "VIP.1e.08"),
    D("qsmoke", "smoke", "QDS.21.1a QDS.23.1a LSE.21.1a LSE.23.1a"),
    D("lansensm", "smoke", "LAS.03.1a"),
    D("hydrocalm4", "tables_heat", "BMT.1a.0d"),
    D("amiplus", "tables_heat",
      "APA.02.02 DEV.02.37 DEV.00.02 DEV.01.02 NES.03.02 APA.01.02 APT.01.02"),
    D("sharky774", "tables_heat", "DME.41.04 DME.41.0d DME.41.0c"),
    D("qualcosonic", "tables_heat", "AXI.0b.0d AXI.0c.0d"),
    D("ultraheat", "tables_heat", "LUG.04.04"),
    D("lansenth", "tables_heat", "LAS.07.1b LAS.09.1b"),
    D("lansenpu", "tables_heat", "LAS.14.00 LAS.1b.00 LAS.0b.02"),
    D("q400", "tables_water", "AXI.01.07 AXI.10.07 AXI.20.07"),
    D("ultrimisv2", "tables_water", "APA.01.16 APA.20.16"),
    D("ultrimis", "tables_water", ""),
    D("itron", "tables_water", "ITW.00.07 ITW.03.07 ITW.33.07 ITW.00.16"),
    D("iwmtx5", "tables_water", "BMT.18.07 BMT.18.06"),
    D("picoflux", "tables_water", "ECM.05.07"),
    D("iperl", "tables_water", "SEN.68.06 SEN.68.07 SEN.7c.07"),
    D("istawater", "tables_water", "IST.31.07"),
    D("aventieswm", "tables_water", "AAA.25.07"),
    D("weh_07", "tables_water", "WEH.fe.07 WEH.03.07"),
    D("supercom587", "tables_water", "SON.3c.06 SON.3c.07"),
    D("aventieshca", "tables_misc", "AAA.55.08"),
    D("eurisii", "tables_misc", "INE.55.08 RAM.55.08"),
    D("gwfgas", "tables_misc", "GWF.3c.03"),
    D("elster", "tables_misc", "ELS.81.03"),
    D("fiowater", "tables_misc", "FIO.01.07"),
    D("ev200", "tables_misc", "ELR.0d.07"),
    D("watertech", "tables_misc", "WTT.59.07"),
    D("microclima", "tables_heat_more", "MAD.00.04"),
    D("pollucomf", "tables_heat_more", "SEN.1d.04"),
    # wmbusmeters lists LSE.23.04 under qheat5us and qheatv2 too: auto keeps qheatv2
    D("qheat5us", "tables_heat_more", ""),
    D("qheat_55_us", "tables_heat_more", "LUG.07.04 LUG.0a.04"),
    D("sensostar", "tables_heat_more", "EFE.00.04"),
    D("sharky", "tables_heat_more", "HYD.20.04 DME.40.04"),
    D("supercal", "tables_heat_more", "SON.1b.04"),
    D("vario411", "tables_heat_more", "TCH.28.04"),
    D("vario451mid", "tables_heat_more", "TCH.17.04"),
    D("maddalena", "tables_water_more", "MAD.01.07 MAD.01.06"),
    D("minomess", "tables_water_more", "ZRI.00.07 ZRI.01.16 ZRI.01.06"),
    D("mkradio4a", "tables_water_more", "HYD.fe.06 TCH.95.37"),
    D("op041a", "tables_water_more", "APA.1a.07"),
    D("uiws", "tables_water_more", "ZRI.99.07"),
    D("munia", "tables_room_hca_gas", "WEP.02.1b WEP.04.1b"),
    D("rfmamb", "tables_room_hca_gas", "BMT.10.1b"),
    D("sontex868", "tables_room_hca_gas", "SON.16.08"),
    D("unismart", "tables_room_hca_gas", "AMX.01.03"),
    D("rfmtx1", "bmeters_rfmtx1", "BMT.05.07"),
    D("oms", "oms", ""),
    D("apator162", "apator162:Apator162", "APA.05.06 APA.05.07"),
    D("hydrodigit", "hydrodigit", "BMT.13.06 BMT.17.06 BMT.13.07 BMT.15.07 BMT.17.07"),
    D("qwaterv2", "qundis_water",
      "QDS.16.06 QDS.16.07 QDS.17.06 QDS.17.07 QDS.18.06 QDS.18.07 QDS.19.06 "
      "QDS.19.07 QDS.1a.06 QDS.1a.07 QDS.1b.06 QDS.1b.07 QDS.1c.06 QDS.1c.07 "
      "QDS.1d.06 QDS.1d.07 QDS.35.06 QDS.35.07 QDS.35.37"),
    D("qwater", "qundis_water", ""),
    D("izar", "diehl_prios", "", ci="SAP.a0-a7 DME.a0-a7 HYD.a0-a7"),
    D("izarv2", "diehl_prios", ""),
    D("bfw240radio", "bfw240radio", "BFW.02.08"),
    D("mkradio3", "techem_mk", "TCH.74.62 TCH.74.72"),
    D("mkradio3a", "techem_mk", "TCH.50.72"),
    D("apator08", "apator_other", "APT.03.03 APT.0f.0f"),
    D("apator172", "apator_other", "APT.04.11"),
    D("apatoreitn", "apator_other", "APA.04.08 APT.04.08"),
    D("apatorna1", "apator_other", "APA.14.07"),
    D("compact5", "techem_other", "TCH.45.04 TCH.45.c3 TCH.22.43 TCH.45.43 TCH.39.43"),
    D("fhkvdataiii", "techem_other", "TCH.69.80 TCH.94.80"),
    D("vario451", "techem_other", "TCH.27.04 TCH.27.c3"),
    D("gwfwater", "water_misc", "GWF.01.0e GWF.3c.07"),
    D("tsd2", "smoke", "TCH.76.f0"),
    D("zenner0b", "zenner_techem_ebz", "ZRI.0b.16"),
    D("mkradio4", "zenner_techem_ebz", "TCH.95.62 TCH.95.72 TCH.70.62 TCH.70.72"),
    D("em24", "em24", "KAM.33.02 GAV.00.02"),
    D("qheatv2", "qundis_heat",
      "QDS.23.04 QDS.23.37 QDS.3e.04 QDS.3e.37 QDS.46.04 QDS.46.37 QDS.47.04 "
      "QDS.47.37 QDS.48.04 QDS.48.37 LSE.23.04 LSE.23.37 LSE.3e.04 LSE.3e.37 "
      "LSE.46.04 LSE.46.37 LSE.47.04 LSE.47.37 LSE.48.04 LSE.48.37"),
    D("qheat", "qundis_heat", ""),
    D("qcaloric", "qundis_heat",
      "LSE.34.08 LSE.35.08 QDS.35.08 QDS.34.08 QDS.36.08 LSE.18.08 ZRI.fd.08",
      aliases="whe5x whe46x"),
    D("hydroclimav2", "bmeters_hca", "BMP.53.08 BMP.85.08"),
    D("hydroclima", "bmeters_hca", ""),
    D("aquastream", "water_misc", "IMT.01.07"),
    D("ei6500", "smoke", "EIE.0c.1a"),
    D("ebzwmbe", "zenner_techem_ebz", "EBZ.01.02"),
    D("kadenwater", "tables_water", "KDN.01.07 VIP.01.07"),
    D("waterstarm", "tables_water", "DWZ.00.06 DWZ.02.06 DWZ.02.07 EFE.03.07 EFE.70.07 DWZ.00.07"),
    D("caltose", "hca_more", "ZRI.fc.08", aliases="zennerhca"),
    D("lansendw", "hca_more", "LAS.07.1d"),
    D("fhkvdataiv", "hca_more", "TCH.69.08 TCH.94.08"),
    D("abbb23", "abb_b23", "ABB.20.02"),
    D("ehzp", "elec_more", "EMH.02.02"),
    D("esyswm", "elec_more", "ESY.30.37 ESY.11.02"),
    D("gransystems", "elec_more", "GSS.01.02"),
    D("c5isf", "heat_more", "ZRI.88.0d ZRI.88.07 ZRI.88.04"),
    D("elf", "heat_more", "APA.40.04"),
    D("elf2", "heat_more", "APA.42.04 APA.42.0d"),
    D("hydrocalm3", "heat_more", "BMT.0b.0d"),
    D("istaheat", "heat_more", "IST.a9.04"),
    D("itronheat", "heat_more", "ITW.00.04"),
    D("cma12w", "sensors_more", "ELV.20.1b"),
    D("elvsense", "sensors_more", "ELV.50.1b ELV.51.1b ELV.52.1b ELV.53.1b ELV.54.1b"),
    D("lansenrp", "sensors_more", "LAS.0b.32"),
    D("aerius", "sensors_more", "DME.30.03"),
    D("hcae2", "sensors_more", "EFE.31.08"),
    D("lse_08", "sensors_more", "LSE.01.08"),
    D("actislink", "water_more", "ALK.04.07"),
    D("dme_07", "water_more", "DME.7b.07"),
    D("dme173", "water_more", "DME.63.07"),
    D("emerlin868", "water_more", "ELR.11.37 ELR.12.37"),
    D("evo868", "water_more", "MAD.50.06 MAD.50.07 MAD.50.16"),
    D("lse_07_17", "water_more", "LSE.18.06 LSE.18.07 LSE.16.07 LSE.17.07 LSE.d8.07"),
)
# fmt: on
GENERIC_NAME = "oms"


class UnknownDriverError(ConfigurationError):
    """A driver name that no built-in driver answers to."""


ENTRY_BY_NAME: dict[str, Entry] = {}
for _e in DRIVERS:
    for _name in (_e.name, *_e.aliases):
        ENTRY_BY_NAME[_name] = _e
ENTRY_BY_MVT: dict[tuple[str, int, int], Entry] = {m: e for e in DRIVERS for m in e.detect}
ENTRY_BY_MCI: dict[tuple[str, int], Entry] = {c: e for e in DRIVERS for c in e.ci_detect}
# Other versions of a Kamstrup meter: (manufacturer, device type) -> the one family driver that
# detects that pair (a MULTICAL heat meter version the detect lists do not name yet reads with
# the kamheat fields, not the generic OMS names). Kamstrup's drivers match records by VIF, so a
# new version of a family still reads right; other makers' versions can be other products, so
# they stay with their detect lists. Pairs two drivers share are left out.
_BY_MT: dict[tuple[str, int], list[Entry]] = {}
for _e in DRIVERS:
    if _e.family:
        for _mfct, _, _device_type in _e.detect:
            if _mfct in FAMILY_MANUFACTURERS:
                _seen = _BY_MT.setdefault((_mfct, _device_type), [])
                if _e not in _seen:
                    _seen.append(_e)
ENTRY_BY_MT: dict[tuple[str, int], Entry] = {mt: es[0] for mt, es in _BY_MT.items() if len(es) == 1}

_loaded: dict[str, Driver] = {}


def load(entry: Entry) -> Driver:
    """The driver of `entry`, its module imported and its tables built on first use (then the
    same object every time)."""
    driver = _loaded.get(entry.name)
    if driver is None:
        driver = getattr(driver_module(entry.module), entry.factory)()
        _loaded[entry.name] = driver
    return driver


def all_drivers() -> list[Driver]:
    """Every built-in driver, in table order (imports every driver module)."""
    return [load(e) for e in DRIVERS]


def by_name(name: str) -> Driver | None:
    """The driver that answers to `name` (a driver name or an alias), None if none does."""
    entry = ENTRY_BY_NAME.get(name)
    return None if entry is None else load(entry)


def generic() -> Driver:
    """The OMS driver: standard records under generic names, for meters no driver claims."""
    return load(ENTRY_BY_NAME[GENERIC_NAME])


def driver_names() -> list[str]:
    """Every name (driver or alias) accepted by driver_for, sorted."""
    return sorted({"auto", *ENTRY_BY_NAME})


def detect(address: Address, ci: int | None = None, radio: Address | None = None) -> Driver:
    """The driver for this meter by (manufacturer, version, device type), else by
    (manufacturer, CI) when the telegram's CI is given, else by (manufacturer, device type) for
    another version of a Kamstrup meter; the OMS driver if none.

    radio: the link layer's address when a long TPL header gives the meter's own (a radio
    module, converter or repeater sends for it). The meter's identity decides; when it finds no
    driver, the radio's is looked up the same way, for drivers that list the module's identity
    (an ESYS-WM radio module ESY/0x30/0x37 in front of a meter whose header says ETY)."""
    entry = _entry(address, ci)
    if entry is None and radio is not None and radio != address:
        entry = _entry(radio, ci)
    return generic() if entry is None else load(entry)


def _entry(address: Address, ci: int | None) -> Entry | None:
    mfct = address.manufacturer
    entry = ENTRY_BY_MVT.get((mfct, address.version, address.device_type))
    if entry is None and ci is not None:
        entry = ENTRY_BY_MCI.get((mfct, ci))
    if entry is None:
        entry = ENTRY_BY_MT.get((mfct, address.device_type))
    return entry


def driver_for(
    address: Address, name: str = "auto", ci: int | None = None, radio: Address | None = None
) -> Driver:
    """The driver named `name` ("auto": detect it from the address and, for meters known by a
    manufacturer CI, the telegram's CI; radio: as for detect). Raises UnknownDriverError."""
    if name == "auto":
        return detect(address, ci, radio)
    driver = by_name(name.lower())
    if driver is None:
        raise UnknownDriverError(
            f"unknown meter driver {name!r}; known: {', '.join(driver_names())}"
        )
    return driver

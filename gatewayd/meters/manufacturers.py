"""Who made a meter, in words: the EN 13757 (FLAG) three-letter codes of the meters this
package decodes, and the product names a driver's meters go by.

A code not listed stays as its three letters; a meter with no known product name is shown by
its driver's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# The codes the drivers of this package detect, plus a few common ones; short trade names.
MANUFACTURERS: Mapping[str, str] = MappingProxyType(
    {
        "AAA": "Aventies",
        "ABB": "ABB",
        "AMT": "Integra Metering",
        "APA": "Apator",
        "APT": "Apator",
        "AXI": "Axioma Metering",
        "BFW": "BFW",
        "BMP": "B METERS Polska",
        "BMT": "B METERS",
        "DEV": "Develco",
        "DME": "Diehl Metering",
        "DWZ": "Lorenz",
        "EBZ": "eBZ",
        "ECM": "Ecomess",
        "EFE": "Engelmann",
        "EIE": "Ei Electronics",
        "ELR": "Elster",
        "ELS": "Elster",
        "EMH": "EMH metering",
        "ESY": "EasyMeter",
        "FIO": "Pietro Fiorentini",
        "GAV": "Carlo Gavazzi",
        "GWF": "GWF",
        "HYD": "Diehl Metering",
        "IMT": "Integra Metering",
        "INE": "INNOTAS",
        "IST": "ista",
        "ITW": "Itron",
        "KAM": "Kamstrup",
        "KAW": "Kamstrup",
        "KDN": "Kaden",
        "LAS": "Lansen",
        "LSE": "Landis+Staefa",
        "LUG": "Landis+Gyr",
        "NES": "Nora",
        "QDS": "Qundis",
        "RAM": "Rossweiner",
        "SAP": "Diehl Metering",
        "SEN": "Sensus",
        "SON": "Sontex",
        "SPX": "Sensus",
        "TCH": "Techem",
        "VIP": "VIPA",
        "WEH": "Wehrle",
        "WTT": "Watertech",
        "ZRI": "Zenner",
        "ZRM": "Zenner",
    }
)

# (manufacturer code, version, device type) -> product name, where a driver covers several.
MODELS: Mapping[tuple[str, int, int], str] = MappingProxyType(
    {
        ("KAM", 0x1B, 0x06): "MULTICAL 21",
        ("KAM", 0x1B, 0x16): "MULTICAL 21",
        ("KAW", 0x3A, 0x16): "flowIQ 2200",
        ("KAW", 0x3C, 0x16): "flowIQ 2200",
        ("KAM", 0x1D, 0x16): "flowIQ 2200",
        ("KAW", 0x42, 0x06): "KWM",
        ("KAW", 0x42, 0x16): "KWM",
        **{("KAM", 0x30, t): "MULTICAL 302" for t in (0x04, 0x0C, 0x0D)},
        **{("KAM", 0x40, t): "MULTICAL 303" for t in (0x04, 0x0C, 0x0D)},
        ("KAM", 0x19, 0x04): "MULTICAL 402",
        **{("KAM", 0x34, t): "MULTICAL 403" for t in (0x04, 0x0A, 0x0B, 0x0C, 0x0D)},
        ("KAM", 0x1C, 0x04): "MULTICAL 602",
        **{("KAM", 0x35, t): "MULTICAL 603" for t in (0x04, 0x0C)},
        ("KAM", 0x39, 0x04): "MULTICAL 803",
        ("KAM", 0x30, 0x02): "OMNIPOWER",
    }
)


def manufacturer_name(code: str) -> str:
    """The maker's name for an EN 13757 code (e.g. KAM -> Kamstrup); the code when unknown."""
    return MANUFACTURERS.get(code.upper(), code)


def model_name(manufacturer: str, version: int, device_type: int, driver: str) -> str:
    """The product name when known (MULTICAL 21, flowIQ 2200, ...), else the driver's name."""
    return MODELS.get((manufacturer.upper(), version, device_type), driver)

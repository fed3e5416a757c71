"""Other Kamstrup meters: the pressure sensor (wmbusmeters "kampress") and OMNIPOWER
electricity meters ("omnipower")."""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage

PRESSURE_FLAGS: tuple[tuple[int, str], ...] = (
    (0x01, "DROP"),  # unexpected drop against the average pressure
    (0x02, "SURGE"),  # unexpected rise against the average pressure
    (0x04, "HIGH"),  # average pressure reached the upper limit
    (0x08, "LOW"),  # average pressure reached the lower limit
    (0x10, "TRANSIENT"),  # pressure fluctuates quickly
    (0x20, "COMM_ERROR"),  # cannot measure / internal communication error
)


def kampress() -> TableDriver:
    return TableDriver(
        name="kampress",
        detect=(Detect("KAM", 0x01, 0x18),),
        field_specs=(
            FieldSpec("pressure_bar", storage(0, "pressure"), unit="bar"),
            FieldSpec("max_pressure_bar", storage(0, "pressure", "maximum"), unit="bar"),
            FieldSpec("min_pressure_bar", storage(0, "pressure", "minimum"), unit="bar"),
            FieldSpec("alfa_counter", key("05FF09"), kind="round6"),
            FieldSpec("beta_counter", key("05FF0A"), kind="round6"),
        ),
        status_specs=(
            StatusSpec(Match(vif="error flags"), BitLookup(PRESSURE_FLAGS, mask=0xFFFF)),
        ),
    )


_BACKWARD = (0x3C,)


def omnipower() -> TableDriver:
    return TableDriver(
        name="omnipower",
        detect=(Detect("KAM", 0x30, 0x02),),
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", storage(0, "energy"), unit="kwh"),
            FieldSpec(
                "total_energy_production_kwh",
                Match(vif="energy", combinables=_BACKWARD),
                unit="kwh",
            ),
            FieldSpec("current_power_consumption_kw", storage(0, "power"), unit="kw"),
            FieldSpec(
                "current_power_production_kw",
                Match(vif="power", combinables=_BACKWARD),
                unit="kw",
            ),
        ),
    )

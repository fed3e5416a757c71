"""Carlo Gavazzi EM24 electricity meters (wmbusmeters "em24"), also sold with Kamstrup radios.

Standard records, except that the reactive energies (04 FB 82 75 and, backward, 04 FB 82 F5 3C)
are whole kvarh in the raw value: the meter ignores the VIF's decimal scale, so the value is
read unscaled. The apparent energies are computed: sqrt(active^2 + reactive^2). The error
flags are in "status" (wmbusmeters' deprecated copy "error" is not produced: a reading's
"error" key means the telegram could not be decoded).
"""

from __future__ import annotations

import math

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, storage
from gatewayd.meters.fields import key as header
from gatewayd.meters.synth import SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

ERROR_FLAGS = BitLookup(
    (
        (0x01, "V_1_OVERFLOW"),
        (0x02, "V_2_OVERFLOW"),
        (0x04, "V_2_OVERFLOW"),  # sic: wmbusmeters names 0x04 like 0x02
        (0x08, "I_1_OVERFLOW"),
        (0x10, "I_2_OVERFLOW"),
        (0x20, "I_3_OVERFLOW"),
        (0x40, "FREQUENCY"),
    ),
    mask=0xFF,
)
REACTIVE = "04FB8275"
REACTIVE_BACK = "04FB82F53C"
_BACKWARD = (0x3C,)

BASE = TableDriver(
    name="em24",
    field_specs=(
        FieldSpec("total_energy_consumption_kwh", storage(0, "energy"), unit="kwh"),
        FieldSpec(
            "total_energy_production_kwh",
            Match(vif="energy", combinables=_BACKWARD),
            unit="kwh",
        ),
        FieldSpec("total_reactive_energy_consumption_kvarh", header(REACTIVE), kind="raw"),
        FieldSpec("total_reactive_energy_production_kvarh", header(REACTIVE_BACK), kind="raw"),
        FieldSpec("power_kw", storage(0, "power"), unit="kw"),
        *(
            FieldSpec(f"amperage_at_phase_{n}_a", header(f"04FDD9FC0{n}"), unit="a")
            for n in (1, 2, 3)
        ),
        *(
            FieldSpec(f"voltage_at_phase_{n}_v", header(f"04FDC8FC0{n}"), unit="v")
            for n in (1, 2, 3)
        ),
        FieldSpec("frequency_hz", header("02FB2E"), unit="hz"),
    ),
    status_specs=(StatusSpec(Match(vif="error flags"), ERROR_FLAGS),),
)


def _apparent(active: object, reactive: object) -> float | None:
    if not isinstance(active, int | float) or not isinstance(reactive, int | float):
        return None
    v = math.sqrt(active * active + reactive * reactive)
    return int(v) if v.is_integer() else round(v, 6)


def apparent(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    return {
        "total_apparent_energy_consumption_kvah": _apparent(
            fields.get("total_energy_consumption_kwh"),
            fields.get("total_reactive_energy_consumption_kvarh"),
        ),
        "total_apparent_energy_production_kvah": _apparent(
            fields.get("total_energy_production_kwh"),
            fields.get("total_reactive_energy_production_kvarh"),
        ),
    }


def em24() -> SynthDriver:
    return SynthDriver(
        name="em24",
        base=BASE,
        calc=apparent,
        outputs=("total_apparent_energy_consumption_kvah", "total_apparent_energy_production_kvah"),
        detect=(Detect("KAM", 0x33, 0x02), Detect("GAV", 0x00, 0x02)),
    )

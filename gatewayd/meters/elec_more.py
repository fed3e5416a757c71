"""Electricity meters read from standard records, named as wmbusmeters names them: EMH eHZ-P
("ehzp"), EasyMeter ESYS-WM ("esyswm") and Gran-System-S CC101 / CC301 ("gransystems").

The ESYS-WM's version text (wmbusmeters' "version" field, record 0D FD 09) stays in the record
list: a reading's "version" is the radio link's version number.

Export energy is the energy record with the backward-flow VIFE (3C). The Gran-System-S error
word's bits 16-24 say whether the meter is single or three phase.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage
from gatewayd.meters.synth import SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

_BACKWARD = (0x3C,)
_ERRORS = Match(vif="error flags")
TARIFFS = (1, 2, 3, 4)
PHASES = (1, 2, 3)


def _m(vif: str, s: int = 0, t: int = 0, u: int = 0, c: tuple[int, ...] = ()) -> Match:
    return Match(vif=vif, storage=(s, s), tariff=(t, t), subunit=(u, u), combinables=c)


def ehzp() -> TableDriver:
    return TableDriver(
        name="ehzp",
        detect=(Detect("EMH", 0x02, 0x02),),
        field_specs=(
            FieldSpec("on_time_h", _m("on time"), unit="h"),
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("current_power_consumption_kw", _m("power"), unit="kw"),
            FieldSpec("total_energy_production_kwh", _m("energy", c=_BACKWARD), unit="kwh"),
        ),
        tpl_status=True,
    )


def esyswm() -> TableDriver:
    return TableDriver(
        name="esyswm",
        detect=(Detect("ESY", 0x30, 0x37), Detect("ESY", 0x11, 0x02)),
        field_specs=(
            FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text"),
            FieldSpec("enhanced_id", Match(vif="enhanced id"), kind="text"),
            FieldSpec("location", Match(vif="customer location"), kind="datahex"),
            FieldSpec("location_hex", Match(vif="customer location"), kind="datahex"),
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("current_power_consumption_kw", _m("power"), unit="kw"),
            FieldSpec("total_energy_production_kwh", _m("energy", c=_BACKWARD), unit="kwh"),
            *(
                FieldSpec(f"total_energy_consumption_tariff{t}_kwh", _m("energy", t=t), unit="kwh")
                for t in (1, 2)
            ),
            *(
                FieldSpec(f"current_power_consumption_phase{n}_kw", key(f"04A9FF0{n}"), unit="kw")
                for n in PHASES
            ),
        ),
    )


GRANSYSTEMS_FLAGS = BitLookup(
    ((0x0001, "METER_HARDWARE_ERROR"), (0x0002, "RTC_ERROR"), (0x0100, "DSP_COMMUNICATION_ERROR"),
     (0x0200, "DSP_HARDWARE_ERROR"), (0x4000, "RAM_ERROR"), (0x8000, "ROM_ERROR"),
     (0x0008, "DEVICE_NOT_CONFIGURED"), (0x0010, "INTERNAL_ERROR"), (0x0020, "BATTERY_LOW"),
     (0x0040, "MAGNETIC_FRAUD_PRESENT"), (0x0080, "MAGNETIC_FRAUD_PAST"),
     (0x0800, "CALIBRATION_EEPROM_ERROR"), (0x1000, "EEPROM1_ERROR")),
    mask=0xFFFF,
    unknown="ERROR_FLAGS",
)  # fmt: skip
PHASE_MASK = 0x01030000
PHASE_KINDS = {0x01020000: "SINGLE_PHASE_METER", 0x01010000: "THREE_PHASE_METER"}


def _meter_kind(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    for r in telegram.records:
        if _ERRORS.matches(r.header):
            bits = int.from_bytes(r.raw, "little") & PHASE_MASK
            return {"info": PHASE_KINDS.get(bits, f"INFO_FLAGS_{bits:X}")}
    return {}


def gransystems() -> SynthDriver:
    base = TableDriver(
        name="gransystems",
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            *(
                FieldSpec(
                    f"total_energy_consumption_tariff_{t}_kwh",
                    _m("energy", t=t),
                    "number",
                    unit="kwh",
                )
                for t in TARIFFS
            ),
            FieldSpec("target_datetime", storage(2, "datetime"), kind="datetime"),
            FieldSpec("target_energy_consumption_kwh", _m("energy", s=2), unit="kwh"),
            *(
                FieldSpec(
                    f"target_energy_consumption_tariff_{t}_kwh",
                    _m("energy", s=2, t=t),
                    "number",
                    unit="kwh",
                )
                for t in TARIFFS
            ),
            FieldSpec("device_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("voltage_at_phase_1_v", _m("voltage"), unit="v"),
            *(FieldSpec(f"voltage_at_phase_{n}_v", _m("voltage", u=n), unit="v") for n in PHASES),
            FieldSpec("current_at_phase_1_a", _m("current"), unit="a"),
            *(FieldSpec(f"current_at_phase_{n}_a", _m("current", u=n), unit="a") for n in PHASES),
            FieldSpec("frequency_hz", key("02FB2D"), unit="hz"),
        ),
        status_specs=(StatusSpec(_ERRORS, GRANSYSTEMS_FLAGS),),
        tpl_status=True,
    )
    return SynthDriver(
        name="gransystems",
        base=base,
        calc=_meter_kind,
        detect=(Detect("GSS", 0x01, 0x02),),
        outputs=("info",),
    )

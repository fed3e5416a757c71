"""Qundis Q heat 5.5 heat meters (wmbusmeters "qheatv2" and the older "qheat") and Q caloric
heat cost allocators ("qcaloric", aliases whe5x, whe46x).

Short telegrams (CI 7A/72) carry standard records: the current value, the year-end value and
date (storage 1), the month-end value and date (storage 17), an error date, the meter time.
Walk-by telegrams (CI 78) carry one record 0D FF 5F whose blob, after its length byte, holds:

  [0:9]    header (not decoded)
  [9]      the unit: the VIF of the values that follow (heat: 05 = 100 Wh, 06 = kWh,
           0D = 100 kJ, 0E = MJ; allocator: 6E = units)
  then     error date (type G), current value (8 BCD digits), year-end date (G), year-end
           value (8 BCD), month-end date (G), month-end value (8 BCD); heat meters then
           send 12 monthly deltas, signed 16-bit, in the same unit (storage 2-13).

The blob is read as the equivalent standard records (gatewayd/meters/synth.py), so the same
field table names both kinds of telegram.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage
from gatewayd.meters.synth import Calc, Layout, SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

BLOB_HEADER = bytes.fromhex("0DFF5F")
UNIT_OFFSET = 10  # in the record's data: LVAR byte + 9 header bytes
HEAT_UNITS = (0x05, 0x06, 0x0D, 0x0E)
HCA_UNIT = 0x6E
DELTAS = 12


def _layout(vif: int, deltas: int) -> Layout:
    u = f"{vif:02X}"
    items = [
        ("326C", 2),  # error date
        (f"0C{u}", 4),  # current value
        ("426C", 2),  # year-end date
        (f"4C{u}", 4),
        ("C2086C", 2),  # month-end date (storage 17)
        (f"CC08{u}", 4),
    ]
    for n in range(2, 2 + deltas):  # storage n: DIF bit 6 = storage bit 0, DIFE = the rest
        items.append((f"{0x82 | (n & 1) << 6:02X}{n >> 1:02X}{u}", 2))
    return Layout(tuple(items))


LAYOUTS: dict[int, Layout] = {
    **{u: _layout(u, DELTAS) for u in HEAT_UNITS},
    HCA_UNIT: _layout(HCA_UNIT, 0),
}


def walk_by_records(telegram: Telegram) -> tuple[Record, ...]:
    for rec in telegram.records:
        if rec.header.difvif == BLOB_HEADER and len(rec.raw) > UNIT_OFFSET:
            layout = LAYOUTS.get(rec.raw[UNIT_OFFSET])
            if layout is not None:
                return layout.records(rec.raw, UNIT_OFFSET + 1)
    return ()


def empty_when_invalid(*names: str) -> Calc:
    """wmbusmeters prints these text fields as "" when their record is sent but holds no
    valid date (e.g. FFFF); the table gives None for them then."""

    def calc(
        telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
    ) -> dict[str, object]:
        return {n: "" for n in names if n in fields and fields[n] is None}

    return calc


HEAT_ERRORS = BitLookup(
    (
        (0x0001, "NO_FLOW"),
        (0x0002, "SUPPLY_SENSOR_INTERRUPTED"),
        (0x0004, "RETURN_SENSOR_INTERRUPTED"),
        (0x0008, "TEMPERATURE_ELECTRONICS_ERROR"),
        (0x0010, "BATTERY_VOLTAGE_ERROR"),
        (0x0020, "SHORT_CIRCUIT_SUPPLY_SENSOR"),
        (0x0040, "SHORT_CIRCUIT_RETURN_SENSOR"),
        (0x0080, "MEMORY_ERROR"),
        (0x0100, "SABOTAGE"),
        (0x0200, "ELECTRONICS_ERROR"),
    ),
    mask=0xFFFF,
)
_ERROR_FLAGS = Match(vif="error flags")
_ERROR_DATE = Match(vif="date", function="error")
QHEAT_MVTS = tuple(
    (m, v, t) for m in ("QDS", "LSE") for v in (0x23, 0x3E, 0x46, 0x47, 0x48) for t in (0x04, 0x37)
)

QCALORIC_MVS = (
    ("LSE", 0x34), ("LSE", 0x35), ("QDS", 0x35), ("QDS", 0x34), ("QDS", 0x36), ("LSE", 0x18),
    ("ZRI", 0xFD),
)  # fmt: skip


def qheatv2() -> SynthDriver:
    base = TableDriver(
        name="qheatv2",
        field_specs=(
            FieldSpec("total_kwh", storage(0, "energy"), unit="kwh"),
            FieldSpec("target_kwh", storage(17, "energy"), unit="kwh"),
            FieldSpec("target_date", storage(17, "date"), kind="date"),
            FieldSpec("target_year_kwh", storage(1, "energy"), unit="kwh"),
            FieldSpec("target_year_date", storage(1, "date"), kind="date"),
            FieldSpec("device_error_date", _ERROR_DATE, kind="date"),
            *(
                FieldSpec(f"energy_delta_{n}_kwh", storage(n, "energy"), unit="kwh")
                for n in range(2, 2 + DELTAS)
            ),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("enhanced_id", Match(vif="enhanced id"), kind="hex"),
        ),
        status_specs=(StatusSpec(_ERROR_FLAGS, HEAT_ERRORS),),
        tpl_status=True,
    )
    return SynthDriver(
        name="qheatv2",
        base=base,
        records=walk_by_records,
        detect=tuple(Detect(m, v, t) for m, v, t in QHEAT_MVTS),
    )


def qheat() -> SynthDriver:
    base = TableDriver(
        name="qheat",
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", storage(0, "energy"), unit="kwh"),
            FieldSpec("last_month_date", storage(17, "date"), kind="date"),
            FieldSpec("last_month_energy_consumption_kwh", storage(17, "energy"), unit="kwh"),
            FieldSpec("last_year_date", storage(1, "date"), kind="date"),
            FieldSpec("last_year_energy_consumption_kwh", storage(1, "energy"), unit="kwh"),
            FieldSpec("device_date_time", storage(0, "datetime"), kind="datetime"),
            FieldSpec("device_error_date", _ERROR_DATE, kind="date"),
        ),
        status_specs=(StatusSpec(_ERROR_FLAGS, HEAT_ERRORS),),
        tpl_status=True,
    )
    return SynthDriver(
        name="qheat",
        base=base,
        records=walk_by_records,
        calc=empty_when_invalid(
            "last_month_date", "last_year_date", "device_date_time", "device_error_date"
        ),
    )


def qcaloric() -> SynthDriver:
    base = TableDriver(
        name="qcaloric",
        field_specs=(
            FieldSpec("current_consumption_hca", storage(0, "hca"), unit="hca"),
            FieldSpec("set_date", storage(1, "date"), kind="date"),
            FieldSpec("consumption_at_set_date_hca", storage(1, "hca"), unit="hca"),
            *(
                spec
                for n in range(1, 18)
                for spec in (
                    FieldSpec(f"set_date_{n}", storage(n, "date"), kind="date"),
                    FieldSpec(f"consumption_at_set_date_{n}_hca", storage(n, "hca"), unit="hca"),
                )
            ),
            FieldSpec("error_date", _ERROR_DATE, kind="date"),
            FieldSpec("device_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("model_version", key("01FD0C"), kind="hex"),
            FieldSpec("flow_temperature_c", storage(0, "flow temperature"), unit="c"),
        ),
        status_specs=(StatusSpec(key("01FD73"), BitLookup((), mask=0xFF, unknown="ERROR_FLAGS")),),
        tpl_status=True,
    )
    return SynthDriver(
        name="qcaloric",
        base=base,
        records=walk_by_records,
        calc=empty_when_invalid("error_date"),
        aliases=("whe5x", "whe46x"),
        detect=tuple(Detect(m, v, 0x08) for m, v in QCALORIC_MVS),
    )

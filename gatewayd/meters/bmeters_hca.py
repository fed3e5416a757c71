"""BMeters Hydroclima heat cost allocators (wmbusmeters "hydroclima" and "hydroclimav2").

After the standard records (the current units, 03 6E) and DIF 0x0F comes a frame made of
16-bit little-endian words, temperatures in 1/100 °C, read here as the equivalent records:

  0x10 (RKN0): status, time, date, average ambient, max ambient, its date, number of
               measurements, last month's average ambient and heater temperature, units of
               the last period (16-bit), total units (24-bit).
  0x11:        status, time, date, case-open date, average heater, average ambient, max
               ambient, its date, last period's average heater and ambient, units at the
               last 4 set dates (newest first), ambient at the last 3 set dates (0x8000:
               none), 9 bytes of temperature bins, total units (24-bit).

Storage numbers as the synthetic records carry them: 1 = last month, 2-5 = set dates 1-4,
10 = the total over all periods.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage
from gatewayd.meters.synth import SKIP, Layout, SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

NO_TEMPERATURE = -327.68  # 0x8000 as a signed 1/100 °C value

RKN0 = Layout(
    (
        ("02FD17", 2), (SKIP, 4), ("0265", 2), ("1265", 2), (SKIP, 4), ("4265", 2),
        ("4259", 2), (SKIP, 2), ("83056E", 3),
    )
)  # fmt: skip
V11 = Layout(
    (
        ("02FD17", 2), (SKIP, 6), ("0259", 2), ("0265", 2), ("1265", 2), (SKIP, 2),
        ("4259", 2), ("4265", 2), ("82016E", 2), ("C2016E", 2), ("82026E", 2), ("C2026E", 2),
        ("820165", 2), ("C20165", 2), ("820265", 2), (SKIP, 9), ("83056E", 3),
    )
)  # fmt: skip
LAYOUTS = {0x10: RKN0, 0x11: V11}


def mfct_records(telegram: Telegram) -> tuple[Record, ...]:
    d = telegram.manufacturer_data
    if not d or d[0] not in LAYOUTS:
        return ()
    return LAYOUTS[d[0]].records(d, 1)


def _temperatures(names: tuple[tuple[str, Match], ...]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(n, m, unit="c") for n, m in names)


_AMBIENT = "external temperature"
_HEATER = "flow temperature"


def _no_temperature(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    return {
        n: None
        for n, v in fields.items()
        if n.startswith("ambient_temperature_at_set_date") and v == NO_TEMPERATURE
    }


def hydroclimav2() -> SynthDriver:
    base = TableDriver(
        name="hydroclimav2",
        field_specs=(
            FieldSpec("consumption_hca", storage(0, "hca"), unit="hca"),
            FieldSpec("target_hca", storage(1, "hca"), unit="hca"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
            *_temperatures(
                (
                    ("average_ambient_temperature_c", storage(0, _AMBIENT)),
                    ("max_ambient_temperature_c", storage(0, _AMBIENT, "maximum")),
                    ("average_heater_temperature_c", storage(0, _HEATER)),
                    ("average_ambient_temperature_last_month_c", storage(1, _AMBIENT)),
                    ("average_heater_temperature_last_month_c", storage(1, _HEATER)),
                    *((f"ambient_temperature_at_set_date_{n}_c", storage(n + 1, _AMBIENT))
                      for n in (1, 2, 3)),
                )
            ),
            *(
                FieldSpec(f"consumption_at_set_date_{n}_hca", storage(n + 1, "hca"), unit="hca")
                for n in (1, 2, 3, 4)
            ),
            FieldSpec("total_consumption_hca", storage(10, "hca"), unit="hca"),
        ),
        status_specs=(
            StatusSpec(key("02FD17"), BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")),
        ),
        tpl_status=True,
    )  # fmt: skip
    return SynthDriver(
        name="hydroclimav2",
        base=base,
        records=mfct_records,
        calc=_no_temperature,
        detect=(Detect("BMP", 0x53, 0x08), Detect("BMP", 0x85, 0x08)),
    )


def _rkn0_records(telegram: Telegram) -> tuple[Record, ...]:
    d = telegram.manufacturer_data
    has_units = any(r.header.difvif == b"\x03\x6e" for r in telegram.records)
    if not d or d[0] != 0x10 or not has_units:
        return ()
    return RKN0.records(d, 1)


def hydroclima() -> SynthDriver:
    base = TableDriver(
        name="hydroclima",
        field_specs=(
            FieldSpec("current_consumption_hca", storage(0, "hca"), unit="hca"),
            *_temperatures(
                (
                    ("average_ambient_temperature_c", storage(0, _AMBIENT)),
                    ("max_ambient_temperature_c", storage(0, _AMBIENT, "maximum")),
                    ("average_ambient_temperature_last_month_c", storage(1, _AMBIENT)),
                    ("average_heater_temperature_last_month_c", storage(1, _HEATER)),
                )
            ),
        ),
    )
    return SynthDriver(name="hydroclima", base=base, records=_rkn0_records)

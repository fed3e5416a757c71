"""Smoke detectors: EI Electronics Ei6500 (wmbusmeters "ei6500"), Qundis Q smoke ("qsmoke"),
Lansen ("lansensm") and Techem TSD2 ("tsd2").

Ei6500: counters and dates per event, keyed by tariff (1 alarm, 2 removal, 3 test button) on
subunit 1; the head word 84 40 FF 2C holds the dust level (bits 0-4; 28 and above: cleaning
recommended), the battery voltage (bits 8-11: 2.25 V + 0.05 V per step), the obstacle
distance class (bits 20-22) and fault flags, merged into "status"; TPL status bit 0x40 means
the clock is invalid.

TSD2 (CI 0xA0): a status byte (0 OK, 1 smoke) and the previous date (16-bit: day bits 0-4,
month 5-8, year - 2000 from bit 9).
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage
from gatewayd.meters.mfct import MfctDriver
from gatewayd.meters.synth import SynthDriver, day_month_year, iso_date, raw_uint
from gatewayd.meters.tplstatus import tpl_status_tokens
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

_ERRORS = Match(vif="error flags")
EI_HEAD = "8440FF2C"
EI_ERRORS = BitLookup(
    ((0x0200, "UNKNOWN_FIELD_C"), (0x0400, "UNKNOWN_FIELD_CI"), (0x0800, "UNKNOWN_RECORD"),
     (0x1000, "ACCESS_RIGHT"), (0x2000, "RECORD_SIZE"), (0x4000, "RECORD_VALUE"),
     (0x8000, "BAD_PASSWORD")),
    mask=0xFFFF,
)  # fmt: skip
EI_HEAD_FLAGS = BitLookup(
    ((0x00000020, "SOUNDER_FAULT"), (0x00000040, "TAMPER_WHILE_REMOVED"),
     (0x00000080, "EOL_REACHED"), (0x00001000, "LOW_BATTERY_FAULT"),
     (0x00002000, "ALARM_SENSOR_FAULT"), (0x00004000, "OBSTACLE_DETECTOR_FAULT"),
     (0x00008000, "EOL_WITHIN_12_MONTH"), (0x00020000, "ENV_CHANGED_SINCE_INSTALLATION"),
     (0x00040000, "COMM_TO_HEAD_FAULT"),
     (0x00080000, "INTERFERENCE_PREVENTING_OBSTACLE_DETECTION"),
     (0x01000000, "OBSTACLE_DETECTED"), (0x02000000, "SMOKE_DETECTOR_FULLY_COVERED")),
)  # fmt: skip
SEODS_DONE = 0x00010000  # when NOT set: SEODS_NOT_YET_COMPLETED
DUST_CLEANING = 0x1C
OBSTACLE_DISTANCES = (
    "SEODS_NOT_COMPLETED", "", "45_TO_60_CM", "38_TO_53_CM", "33_TO_48_CM", "28_TO_40_CM",
    "20_TO_33_CM", "0_TO_25_CM",
)  # fmt: skip
RTC_INVALID = 0x40


def _ei6500_calc(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    tokens: list[str] = []
    errors = next((r for r in telegram.records if r.header.difvif == b"\x02\xfd\x17"), None)
    if errors is not None:
        tokens += EI_ERRORS.tokens(int.from_bytes(errors.raw, "little"))
    status = telegram.tpl.status if telegram.tpl is not None else None
    if status:
        tokens += [t for t in tpl_status_tokens(status & ~RTC_INVALID & 0xFF) if t]
        if status & RTC_INVALID:
            tokens.append("RTC_INVALID")
    out: dict[str, object] = {}
    head = raw_uint(records, EI_HEAD)
    if head is not None:
        dust = head & 0x1F
        out["dust_level"] = f"DUST_{dust:X}"
        out["dust_level_counter"] = dust
        out["battery_level"] = f"{2.25 + 0.05 * ((head >> 8) & 0x0F):.2f}V"
        out["obstacle_distance"] = OBSTACLE_DISTANCES[(head >> 20) & 0x07]
        if head & DUST_CLEANING == DUST_CLEANING:
            tokens.append("CLEANING_RECOMMENDED")
        tokens += EI_HEAD_FLAGS.tokens(head)
        if not head & SEODS_DONE:
            tokens.append("SEODS_NOT_YET_COMPLETED")
    out["status"] = " ".join(sorted(set(tokens))) if tokens else "OK"
    return out


def _tariff_sub(vif: str, tariff: int) -> Match:
    return Match(vif=vif, tariff=(tariff, tariff), subunit=(1, 1))


def ei6500() -> SynthDriver:
    base = TableDriver(
        name="ei6500",
        field_specs=(
            FieldSpec("last_alarm_date", _tariff_sub("date", 1), kind="date"),
            FieldSpec("alarm_counter", key("8250FD61"), kind="raw"),
            FieldSpec("software_version", Match(vif="software version"), kind="text"),
            FieldSpec("message_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("duration_removed_h", key("8360FD31"), unit="h"),
            FieldSpec("last_remove_date", _tariff_sub("date", 2), kind="date"),
            FieldSpec("removed_counter", key("8260FD61"), kind="raw"),
            FieldSpec("test_button_last_date", _tariff_sub("date", 3), kind="date"),
            FieldSpec("test_button_counter", key("8270FD61"), kind="raw"),
            FieldSpec("installation_date", Match(vif="date", tariff=(2, 2)), kind="date"),
            FieldSpec("last_sound_check_date", storage(1, "date"), kind="date"),
        ),
    )
    return SynthDriver(
        name="ei6500",
        base=base,
        calc=_ei6500_calc,
        detect=(Detect("EIE", 0x0C, 0x1A),),
        outputs=("dust_level", "dust_level_counter", "battery_level", "obstacle_distance",
                 "status"),
    )  # fmt: skip


def qsmoke() -> TableDriver:
    return TableDriver(
        name="qsmoke",
        detect=tuple(Detect(m, v, 0x1A) for m in ("QDS", "LSE") for v in (0x21, 0x23)),
        field_specs=(
            FieldSpec("last_alarm_date", storage(6, "date"), kind="date"),
            FieldSpec("alarm_counter", key("81037C034C4123"), kind="raw"),
            FieldSpec("message_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("test_button_last_date", storage(4, "date"), kind="date"),
            FieldSpec("test_button_counter", key("81027C03495523"), kind="raw"),
            FieldSpec("transmission_counter", Match(vif="access number"), kind="raw"),
            FieldSpec("at_error_date", Match(vif="date", function="error"), kind="date"),
            FieldSpec("some_sort_of_duration_h", key("02FDAC7E"), unit="h"),
        ),
        status_specs=(StatusSpec(_ERRORS, BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")),),
        tpl_status=True,
    )


def lansensm() -> TableDriver:
    flags = BitLookup(
        ((0x0002, "LOW_BATTERY"), (0x0004, "SMOKE"), (0x0008, "MANUAL_TEST"),
         (0x0010, "MALFUNCTION"), (0x0020, "NO_CONNECTION_TO_SMOKE_DETECTOR"),
         (0x0100, "SMOKE_SENSOR_END_OF_LIFE")),
        mask=0xFFFF,
    )  # fmt: skip
    return TableDriver(
        name="lansensm",
        detect=(Detect("LAS", 0x03, 0x1A),),
        field_specs=(
            FieldSpec("async_msg_id_counter", Match(vif="access number"), kind="raw"),
            FieldSpec(
                "minutes_since_last_manual_test_counter", Match(vif="dimensionless"), kind="raw"
            ),
        ),
        status_specs=(StatusSpec(key("02FD971D"), flags),),
        tpl_status=True,
    )


TSD2_STATES = ("OK", "SMOKE")


def tsd2_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    if d is None or telegram.ci not in range(0xA0, 0xB8):
        return {}
    if len(d) < 3:
        return {"status": "DECODING_ERROR_payload", "prev_date": None}
    state = TSD2_STATES[d[0]] if d[0] < len(TSD2_STATES) else f"STATUS_{d[0]:X}"
    day, month, year = day_month_year(d[1] | d[2] << 8)
    return {"status": state, "prev_date": iso_date(2000 + year, month, day)}


def tsd2() -> MfctDriver:
    return MfctDriver(
        name="tsd2",
        extract=tsd2_fields,
        detect=(Detect("TCH", 0x76, 0xF0),),
        outputs=("status", "prev_date"),
    )

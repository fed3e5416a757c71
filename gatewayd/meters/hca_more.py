"""More heat cost allocators and a door sensor, from standard records: Techem FHKV data IV
(wmbusmeters "fhkvdataiv"), Zenner Caltos E ("caltose", alias zennerhca) and the Lansen door
/window sensor ("lansendw").

Both allocators also send their monthly history as a compact profile (a record with VIFE 13
or 1F at storage 8; gatewayd/meters/profile.py): value N is consumption_at_set_date_N
(fhkvdataiv) or consumption_N (caltose), with its date under the same name.
The Caltos E's TPL status bits are its own: 0x04 BATTERY_WARNING, 0x08
INVALID_METROLOGICAL_TABLE, 0x20 REMOVAL, 0x40 MODE_2F, 0x80 PRODUCT_SCALE.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, storage
from gatewayd.meters.profile import expand
from gatewayd.meters.synth import SynthDriver
from gatewayd.meters.tplstatus import tpl_status_tokens
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

PROFILE_BASE = 8  # the storage number of the profile record and its base value


def _profile_fields(prefix: str, slots: int) -> tuple[FieldSpec, ...]:
    return tuple(
        spec
        for n in range(1, slots + 1)
        for spec in (
            FieldSpec(f"{prefix}_{n}_hca", storage(PROFILE_BASE + n, "hca"), unit="hca"),
            FieldSpec(f"{prefix}_{n}", storage(PROFILE_BASE + n, "date"), kind="date"),
        )
    )


def _profile(telegram: Telegram) -> tuple[Record, ...]:
    return expand(telegram.records)


def fhkvdataiv() -> SynthDriver:
    base = TableDriver(
        name="fhkvdataiv",
        field_specs=(
            FieldSpec("current_consumption_hca", storage(0, "hca"), unit="hca"),
            FieldSpec("set_date", storage(1, "date"), kind="date"),
            FieldSpec("consumption_at_set_date_hca", storage(1, "hca"), unit="hca"),
            FieldSpec("set_date_8", storage(8, "date"), kind="date"),
            *_profile_fields("consumption_at_set_date", 14),
        ),
        tpl_status=True,
    )
    return SynthDriver(
        name="fhkvdataiv",
        base=base,
        records=_profile,
        detect=(Detect("TCH", 0x69, 0x08), Detect("TCH", 0x94, 0x08)),
    )


CALTOS_TPL_BITS = BitLookup(
    ((0x04, "BATTERY_WARNING"), (0x08, "INVALID_METROLOGICAL_TABLE"), (0x20, "REMOVAL"),
     (0x40, "MODE_2F"), (0x80, "PRODUCT_SCALE")),
    mask=0xFF,
)  # fmt: skip


def _caltos_status(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    status = telegram.tpl.status if telegram.tpl is not None else None
    tokens = CALTOS_TPL_BITS.tokens(status or 0)
    return {"status": " ".join(sorted(tokens)) if tokens else "OK"}


def caltose() -> SynthDriver:
    base = TableDriver(
        name="caltose",
        field_specs=(
            FieldSpec("consumption_hca", storage(0, "hca"), unit="hca"),
            FieldSpec("target_hca", storage(1, "hca"), unit="hca"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
            FieldSpec("base_date", storage(8, "date"), kind="date"),
            FieldSpec("base_hca", storage(8, "hca"), unit="hca"),
            *_profile_fields("consumption", 32),
        ),
    )
    return SynthDriver(
        name="caltose",
        base=base,
        records=_profile,
        calc=_caltos_status,
        aliases=("zennerhca",),
        detect=(Detect("ZRI", 0xFC, 0x08),),
        outputs=("status",),
    )


DOOR_STATES = {0x11: "CLOSED", 0x55: "OPEN"}


def _door(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    out: dict[str, object] = {}
    state = next((r for r in telegram.records if r.header.vif_range == "digital input"), None)
    if state is not None:
        v = int.from_bytes(state.raw, "little") & 0xFFFF
        out["status"] = DOOR_STATES.get(v, f"STATUS_{v:X}")
    tokens = tpl_status_tokens(telegram.tpl.status if telegram.tpl is not None else None)
    flags = next((r for r in telegram.records if r.header.vif_range == "error flags"), None)
    if flags is not None:
        bits = int.from_bytes(flags.raw, "little") & 0xFFFF
        if bits:
            tokens.append(f"ERROR_FLAGS_{bits:X}")
    out["error_flags"] = " ".join(sorted(tokens)) if tokens else "OK"
    return out


def lansendw() -> SynthDriver:
    base = TableDriver(
        name="lansendw",
        field_specs=(
            FieldSpec("a_counter", Match(vif="dimensionless"), kind="round6"),
            FieldSpec("b_counter", Match(vif="dimensionless", subunit=(1, 1)), kind="round6"),
        ),
    )
    return SynthDriver(
        name="lansendw",
        base=base,
        calc=_door,
        detect=(Detect("LAS", 0x07, 0x1D),),
        outputs=("status", "error_flags"),
    )

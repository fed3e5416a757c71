"""More meters read from standard records only, named as wmbusmeters names them: the Aventies
and eurisII heat cost allocators ("aventieshca", "eurisii"), GWF and Elster gas meters
("gwfgas", "elster")."""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, TextSpec, storage

_ERRORS = Match(vif="error flags")
HCA_FLAGS = BitLookup(
    ((0x0001, "MEASUREMENT"), (0x0002, "SABOTAGE"), (0x0004, "BATTERY"), (0x0008, "CS"),
     (0x0010, "HF"), (0x0020, "RESET")),
    mask=0xFFFF,
    unknown="ERROR_FLAGS",
)  # fmt: skip


def _hca(n: int) -> Match:
    return Match(vif="hca", storage=(n, n))


def aventieshca() -> TableDriver:
    return TableDriver(
        name="aventieshca",
        detect=(Detect("AAA", 0x55, 0x08),),
        field_specs=(
            FieldSpec("current_consumption_hca", _hca(0), unit="hca"),
            FieldSpec("consumption_at_set_date_hca", _hca(1), unit="hca"),
            *(
                FieldSpec(f"consumption_at_set_date_{n}_hca", _hca(n), unit="hca")
                for n in range(2, 18)
            ),
        ),
        text_specs=(TextSpec("error_flags", _ERRORS, HCA_FLAGS, default=""),),
        status_specs=(StatusSpec(_ERRORS, HCA_FLAGS),),
        tpl_status=True,
    )


def eurisii() -> TableDriver:
    return TableDriver(
        name="eurisii",
        detect=(Detect("INE", 0x55, 0x08), Detect("RAM", 0x55, 0x08)),
        field_specs=(
            FieldSpec("current_consumption_hca", _hca(0), unit="hca"),
            *(
                FieldSpec(f"consumption_at_set_date_{n}_hca", _hca(n), unit="hca")
                for n in range(1, 18)
            ),
            FieldSpec("consumption_at_set_date_hca", _hca(1), unit="hca"),
        ),
        status_specs=(StatusSpec(_ERRORS, HCA_FLAGS),),
        tpl_status=True,
    )


def gwfgas() -> TableDriver:
    return TableDriver(
        name="gwfgas",
        detect=(Detect("GWF", 0x3C, 0x03),),
        field_specs=(
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            FieldSpec("target_m3", storage(1, "volume"), unit="m3"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
            FieldSpec("actuality_duration_s", storage(0, "actuality duration"), unit="s"),
        ),
        tpl_status=True,
    )


def elster() -> TableDriver:
    return TableDriver(
        name="elster",
        detect=(Detect("ELS", 0x81, 0x03),),
        field_specs=(
            FieldSpec("actuality_duration_s", storage(0, "actuality duration"), unit="s"),
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
        ),
    )


def fiowater() -> TableDriver:
    return TableDriver(
        name="fiowater",
        detect=(Detect("FIO", 0x01, 0x07),),
        field_specs=(
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
        ),
        tpl_status=True,
    )


def ev200() -> TableDriver:
    return TableDriver(
        name="ev200",
        detect=(Detect("ELR", 0x0D, 0x07),),
        field_specs=(
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            FieldSpec("target_m3", storage(1, "volume"), unit="m3"),
        ),
    )


def watertech() -> TableDriver:
    return TableDriver(
        name="watertech",
        detect=(Detect("WTT", 0x59, 0x07),),
        field_specs=(
            FieldSpec("software_version", Match(vif="software version"), kind="text"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
        ),
        status_specs=(StatusSpec(_ERRORS, BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")),),
        tpl_status=True,
    )

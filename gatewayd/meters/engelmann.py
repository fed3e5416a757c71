"""Engelmann FAW water meters (wmbusmeters "engelmann_faw", alias "engelmann-faw").

Full frames (CI 0x72) and compact frames (CI 0x73) whose format the meter never sends in full:
the decoder knows it from the start (wmbus/compact.py, VENDOR_SEED_FORMATS). Storage 1 is the
last reporting date, storage 2-16 the consumption 1-15 months ago.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, storage

ERROR_FLAGS = BitLookup(
    (
        (0x01, "VOLUME_DETECTION_COILS_DEFECT"),
        (0x02, "RESET"),
        (0x04, "CRC_ERROR"),
        (0x08, "REMOVAL_DETECTED"),
        (0x10, "MAGNETIC_MANIPULATION"),
        (0x20, "LEAKAGE"),
        (0x40, "BLOCKED"),
        (0x80, "REVERSE_FLOW"),
    ),
    mask=0xFF,
)
MONTHS_BACK = 15


def engelmann_faw() -> TableDriver:
    return TableDriver(
        name="engelmann_faw",
        aliases=("engelmann-faw",),
        detect=(Detect("EFE", 0x00, 0x07),),
        field_specs=(
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("reporting_date", storage(1, "date"), kind="date"),
            FieldSpec("consumption_at_reporting_date_m3", storage(1, "volume"), unit="m3"),
            *(
                FieldSpec(f"consumption_{n}_months_ago_m3", storage(n + 1, "volume"), unit="m3")
                for n in range(1, MONTHS_BACK + 1)
            ),
        ),
        status_specs=(StatusSpec(Match(vif="error flags"), ERROR_FLAGS),),
        tpl_status=True,
    )

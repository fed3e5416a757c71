"""Zenner 0B water meters (wmbusmeters "zenner0b"), Techem MK Radio 4 ("mkradio4") and eBZ
electricity meters ("ebzwmbe").

zenner0b, after DIF 0x0F: status (32-bit; 0 = OK), set-date volume and total (32-bit, in
1/256 litres). mkradio4 (CI 0xA2): the previous-period volume in bytes 3-4, the current one in
7-8 (16-bit, 1/10 m3); the total is the two added. ebzwmbe: the per-phase powers are records
04 A9 FF 0n; the total power is their sum.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import FieldSpec, Match, key, storage
from gatewayd.meters.mfct import MfctDriver, scaled
from gatewayd.meters.synth import SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

ZENNER_UNITS_PER_M3 = 256000


def zenner0b_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    if d is None or len(d) < 12:
        return {}
    status = int.from_bytes(d[0:4], "little")
    return {
        "status": "OK" if status == 0 else f"STATUS_{status:X}",
        "target_m3": round(int.from_bytes(d[4:8], "little") / ZENNER_UNITS_PER_M3, 6),
        "total_m3": round(int.from_bytes(d[8:12], "little") / ZENNER_UNITS_PER_M3, 6),
    }


def zenner0b() -> MfctDriver:
    return MfctDriver(
        name="zenner0b",
        extract=zenner0b_fields,
        detect=(Detect("ZRI", 0x0B, 0x16),),
        outputs=("status", "target_m3", "total_m3"),
    )


def mkradio4_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    if telegram.ci not in (0xA0, 0xA1, 0xA2, 0xA3) or d is None or len(d) < 9:
        return {}
    prev = d[3] | d[4] << 8
    curr = d[7] | d[8] << 8
    return {"total_m3": scaled(prev + curr, 10), "target_m3": scaled(prev, 10)}


def mkradio4() -> MfctDriver:
    return MfctDriver(
        name="mkradio4",
        extract=mkradio4_fields,
        detect=tuple(Detect("TCH", v, t) for v in (0x95, 0x70) for t in (0x62, 0x72)),
        outputs=("total_m3", "target_m3"),
    )


PHASES = (1, 2, 3)


def _total_power(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    phases = [fields.get(f"current_power_consumption_phase{n}_kw") for n in PHASES]
    if all(isinstance(p, int | float) for p in phases):
        total = round(sum(p for p in phases if isinstance(p, int | float)), 9)
    else:
        total = None
    return {"current_power_consumption_kw": total}


def ebzwmbe() -> SynthDriver:
    base = TableDriver(
        name="ebzwmbe",
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", storage(0, "energy"), unit="kwh"),
            *(
                FieldSpec(f"current_power_consumption_phase{n}_kw", key(f"04A9FF0{n}"), unit="kw")
                for n in PHASES
            ),
            FieldSpec("customer", Match(vif="customer"), kind="text"),
        ),
    )
    return SynthDriver(
        name="ebzwmbe",
        base=base,
        calc=_total_power,
        detect=(Detect("EBZ", 0x01, 0x02),),
        outputs=("current_power_consumption_kw",),
    )

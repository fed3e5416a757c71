"""Hydrodigit: the content byte's blocks in the manufacturer data after DIF 0x0F."""

from __future__ import annotations

import dataclasses

from gatewayd.meters import build_reading, driver_for
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.telegram import Telegram
from tests.meters.builders import address, telegram

# wmbusmeters' published example for this driver (not in the shared corpus)
EXAMPLE = (
    "4E44B4098686868613077AF00040052F2F0C1366380000046D27287E2A0F150E00000000C10000D10000E6"
    "0000FD00000C01002F0100410100540100680100890000A00000B30000002F2F2F2F2F2F"
)


def with_mfct(data: bytes) -> Telegram:
    t = telegram([], addr=address("BMT", "12345678", 0x13, 0x07))
    return dataclasses.replace(t, manufacturer_data=data)


def test_published_example() -> None:
    r = build_reading(Decoder().decode(bytes.fromhex(EXAMPLE))).to_dict()
    assert r["meter"] == "hydrodigit"
    assert r["total_m3"] == 3.866
    assert r["meter_datetime"] == "2019-10-30 08:39"
    assert r["voltage_v"] == 3.7
    assert r["backflow_m3"] == 0
    months = [r[f"{m}_total_m3"] for m in ("January", "February", "March", "June", "December")]
    assert months == [1.93, 2.09, 2.3, 3.03, 1.79]


def test_every_block_in_order() -> None:
    data = bytes([0x97, 0x2C])  # battery + fraud + backflow + monthly + leak; nibble C = 3.35 V
    data += bytes([0x23, 0x80 | 0x11, 0x05])  # fraud: 2023-11-05, magnetic
    data += bytes([0x24, 0x02, 0x29])  # leak: 2024-02-29
    data += (1234).to_bytes(4, "little")  # backflow, litres
    data += (12345).to_bytes(3, "little") + b"\xff\xff\xff" + bytes(30) + b"\x00"
    f = driver_for(with_mfct(data).address).fields(with_mfct(data))
    assert f["contents"] == "BACKFLOW BATTERY_VOLTAGE FRAUD_DATE LEAK_DATE MONTHLY_DATA"
    assert f["voltage_v"] == 3.35
    assert (f["fraud_date"], f["fraud_type"]) == ("2023-11-05", "MAGNETIC_FRAUD_ATTEMPT")
    assert f["leak_date"] == "2024-02-29"
    assert f["backflow_m3"] == 1.234
    assert f["January_total_m3"] == 123.45
    assert f["February_total_m3"] == 0  # FFFFFF: the module was not installed yet
    assert f["December_total_m3"] == 0


def test_absent_blocks_and_short_data() -> None:
    f = driver_for(with_mfct(b"\x00").address).fields(with_mfct(b"\x04\x01\x00"))
    assert f == {"contents": "BACKFLOW"}  # the backflow block is cut short: not read
    assert driver_for(with_mfct(b"").address).fields(with_mfct(b"")) == {}

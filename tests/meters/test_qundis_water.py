"""Qundis Q water: the walk-by blob of record 0D FF 5F, and the two drivers' names."""

from __future__ import annotations

from gatewayd.meters import driver_for
from tests.meters.builders import address, record, telegram

ADDR = address("QDS", "12345678", 0x18, 0x06)


def blob(total_bcd: str, deltas: list[int], mark: int = 0x13) -> str:
    data = bytes.fromhex("00824E00007F0007C1") + bytes([mark]) + b"\xff\xff"
    data += bytes.fromhex(total_bcd)
    data += bytes.fromhex("DF2C") + bytes.fromhex("82731200")  # 2022-12-31, 127.382 m3
    data += bytes.fromhex("FE24") + bytes.fromhex("00000000")  # 2023-04-30, 0 m3
    data += b"".join(d.to_bytes(2, "little", signed=True) for d in deltas) + b"\x2f"
    return (bytes([len(data)]) + data).hex()


def test_v2_names_and_deltas() -> None:
    deltas = [-32768, 1, 0, 250, *range(100, 108)]
    t = telegram([record("0DFF5F", blob("45230100", deltas))], addr=ADDR)
    d = driver_for(t.address)
    assert d.name == "qwaterv2"
    f = d.fields(t)
    assert f["total_m3"] == 12.345
    assert (f["target_year_date"], f["target_year_m3"]) == ("2022-12-31", 127.382)
    assert (f["target_date"], f["target_m3"]) == ("2023-04-30", 0)
    assert [f[f"volume_delta_{n}_m3"] for n in (2, 3, 4, 5, 13)] == [-32.768, 0.001, 0, 0.25, 0.107]


def test_qwater_names() -> None:
    t = telegram([record("0DFF5F", blob("99999900", [0] * 12))], addr=ADDR)
    f = driver_for(t.address, "qwater").fields(t)
    assert f["total_m3"] == 999.999
    assert (f["due_date"], f["due_date_m3"]) == ("2022-12-31", 127.382)
    assert f["due_17_date"] == "2023-04-30"
    assert not any(k.startswith("volume_delta") for k in f)


def test_blob_that_is_not_a_walk_by_set_or_not_bcd() -> None:
    other = telegram([record("0DFF5F", blob("45230100", [0] * 12, mark=0x12))], addr=ADDR)
    assert "total_m3" not in driver_for(ADDR).fields(other)
    bad = telegram([record("0DFF5F", blob("4A230100", [0] * 12))], addr=ADDR)
    assert driver_for(ADDR).fields(bad)["total_m3"] is None


def test_short_telegram_records() -> None:
    recs = [
        record("0C13", "35861200", 128.635, unit="m3", quantity="volume"),
        record("4C13", "07851200", 128.507, unit="m3", quantity="volume", storage=1),
    ]
    f = driver_for(ADDR).fields(telegram(recs, addr=ADDR, tpl_status=0))
    assert (f["total_m3"], f["target_year_m3"], f["status"]) == (128.635, 128.507, "OK")

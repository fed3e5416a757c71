"""`gatewayd decode` as a user runs it: a real subprocess, stdin/stdout, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gatewayd.wmbus.link import FrameFormat, add_crcs

KEY = "28F64A24988064A079AA2C807D6102AE"
K1 = "2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24"
K2B = "23442D2C998734761B168D20983081B2227A6FA1F10E1B79B5EB4B17E81F930E937EE06C"


def gw(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatewayd", "decode", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_single_telegram() -> None:
    p = gw(K1, "--key", KEY)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["id"] == "76348799" and r["manufacturer"] == "KAM"
    assert r["total_m3"] == 6.408 and r["current_status"] == "DRY"
    assert r["alarms"]["dry"] is True and r["alarms"]["leak"] is False
    assert {"quantity": "volume", "value": 6.408, "unit": "m3", "storage": 0}.items() <= r[
        "records"
    ][1].items()


def test_single_telegram_error_exits_1_with_id_and_raw() -> None:
    p = gw(K1)
    assert p.returncode == 1
    r = json.loads(p.stdout)
    assert r["id"] == "76348799" and "no key" in r["error"] and r["raw"] == K1
    assert KEY not in p.stdout + p.stderr


def test_wrong_key_message_does_not_show_the_key() -> None:
    p = gw(K1, "--key", "00112233445566778899AABBCCDDEEFF")
    assert p.returncode == 1
    assert "wrong key" in json.loads(p.stdout)["error"]
    assert "00112233445566778899" not in p.stdout.upper()


def test_bad_key_argument_is_a_usage_error() -> None:
    p = gw(K1, "--key", "1234")
    assert p.returncode == 2 and "32 hex digits" in p.stderr


def test_frame_format_a_and_b_with_crc_flag() -> None:
    for fmt, flag in (
        (FrameFormat.A, "--crc=a"),
        (FrameFormat.B, "--crc=b"),
        (FrameFormat.B, "--crc"),
    ):
        on_air = add_crcs(bytes.fromhex(K1), fmt).hex()
        p = gw(on_air, "--key", KEY, flag)
        assert p.returncode == 0, p.stdout
        assert json.loads(p.stdout)["total_m3"] == 6.408
    bad = bytearray(add_crcs(bytes.fromhex(K1), FrameFormat.A))
    bad[5] ^= 1
    p = gw(bytes(bad).hex(), "--key", KEY, "--crc=a")
    assert p.returncode == 1 and "CRC" in json.loads(p.stdout)["error"]


def test_batch_one_line_out_per_line_in_with_compact_learning(tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[keys]\n76348799 = "{KEY}"\n')
    lines = [K1, "not hex", json.dumps({"telegram": K2B}), "", "2A44", K2B]
    p = gw("--keys", str(keys), stdin="\n".join(lines) + "\n")
    assert p.returncode == 0
    outs = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(outs) == len(lines)  # exactly one line out per line in, blank ones too
    assert outs[0]["total_m3"] == 6.408
    assert "not hex" in outs[1]["error"]
    assert outs[2]["total_m3"] == 6.409 and outs[2]["min_external_temperature_last_month_c"] == 22
    assert "empty" in outs[3]["error"]
    assert "error" in outs[4]
    assert outs[5]["total_m3"] == 6.409


def test_json_keys_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"76348799": KEY}))
    p = gw(K1, "--keys", str(keys))
    assert p.returncode == 0 and json.loads(p.stdout)["total_m3"] == 6.408


def test_explain_annotates_each_layer() -> None:
    p = gw(K1, "--key", KEY, "--explain")
    assert p.returncode == 0
    text = p.stdout
    for expected in ("M = KAM", "A id = 76348799", "ELL SN: ENC=1", "CI = 0x78", "volume", "6.408"):
        assert expected in text, expected


def test_batch_answers_each_line_of_a_live_stream_at_once() -> None:
    # stdin is a pipe kept open: each answer must come before the next line is written
    p = subprocess.Popen([sys.executable, "-m", "gatewayd", "decode", "--key", KEY],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert p.stdin is not None and p.stdout is not None
    try:
        for want in (6.408, 6.409):
            p.stdin.write((K1 if want == 6.408 else K2B) + "\n")
            p.stdin.flush()
            assert json.loads(p.stdout.readline())["total_m3"] == want
    finally:
        p.stdin.close()
        p.wait(timeout=30)
        p.stdout.close()
    assert p.returncode == 0


def test_a_short_key_in_a_batch_line_names_the_meter_and_the_line() -> None:
    lines = [
        json.dumps({"telegram": K1, "key": KEY[:30]}),
        json.dumps({"telegram": K1, "key": KEY}),
    ]
    p = gw(stdin="\n".join(lines) + "\n")
    first, second = (json.loads(x) for x in p.stdout.splitlines())
    assert first["id"] == "76348799"
    assert "meter 76348799" in first["error"] and "line 1" in first["error"]
    assert KEY[:30] not in first["error"]
    assert second["total_m3"] == 6.408  # the next line is not affected


def test_a_value_wider_than_64_bits_is_still_printed() -> None:
    from gatewayd.wmbus.encode import oms_mode5

    wide = bytes([0x7F] * 9)  # a 9-byte binary LVAR, dimensionless: one integer of 72 bits
    frame = oms_mode5(manufacturer="ELS", meter_id="12345678", version=1, device_type=7,
                      key=None, records=[("0DFD3A", b"\xe9" + wide)])  # fmt: skip
    p = gw(frame.hex())
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["records"][0]["value"] == int.from_bytes(wide, "little", signed=True)


def test_text_with_line_separator_characters_stays_on_one_line() -> None:
    from gatewayd.wmbus.encode import oms_mode5

    text = "A\x85B\u2028"[:3].encode("latin-1")  # NEL: a line end for str.splitlines()
    frame = oms_mode5(manufacturer="ELS", meter_id="12345678", version=1, device_type=7,
                      key=None, records=[("0DFD11", bytes([len(text)]) + text[::-1])])  # fmt: skip
    p = gw(stdin=frame.hex() + "\n" + frame.hex() + "\n")
    lines = p.stdout.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["records"][0]["value"] == "A\x85B"


def test_every_line_form_replay_reads_decodes() -> None:
    """What `replay` (and the demo's recording file) holds is accepted, one line out per line in."""
    grouped = f"{K1[:10]}_{K1[10:20]}|{K1[20:]}"
    on_air = add_crcs(bytes.fromhex(K1), FrameFormat.A).hex()
    lines = [
        grouped,
        f"{K1};-71.5",
        f"{K1}  # a comment after the telegram",
        json.dumps({"hex": K1, "rssi_dbm": -80}),
        json.dumps({"hex": on_air, "frame_format": "A"}),
        f"0.70 -64 {K1}  # MULTICAL 21 full",  # gatewayd/data/demo-telegrams.txt
    ]
    p = gw("--key", KEY, stdin="\n".join(lines) + "\n")
    assert p.returncode == 0, p.stderr
    outs = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(outs) == len(lines)
    for line, r in zip(lines, outs, strict=True):
        assert "error" not in r, (line, r)
        assert (r["id"], r["total_m3"]) == ("76348799", 6.408), line
    single = gw(grouped, "--key", KEY)
    assert single.returncode == 0, single.stderr
    assert json.loads(single.stdout)["total_m3"] == 6.408


def test_batch_output_is_the_same_through_a_text_stream_and_its_bytes() -> None:
    """run_batch writes to the bytes under a text stream when it has them, else as text."""
    import io

    from gatewayd.commands.decode import BatchDecoder, run_batch
    from gatewayd.wmbus.encode import oms_mode5

    text = "A\x85B".encode("latin-1")  # non-ASCII: the standard library's escaped JSON
    frame = oms_mode5(manufacturer="ELS", meter_id="12345678", version=1, device_type=7,
                      key=None, records=[("0DFD11", bytes([len(text)]) + text[::-1])])  # fmt: skip
    lines = [K1, "not hex", json.dumps({"telegram": K2B}), "", frame.hex(), K2B]
    keys = {"76348799": bytes.fromhex(KEY)}
    as_text = io.StringIO()
    run_batch(lines, as_text, BatchDecoder(keys, None, "auto", None))
    raw = io.BytesIO()
    wrapper = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
    run_batch(lines, wrapper, BatchDecoder(keys, None, "auto", None))
    got = raw.getvalue().decode("ascii")
    assert len(got.splitlines()) == len(lines) and got.isascii()
    strip = [{k: v for k, v in json.loads(x).items() if k != "timestamp"} for x in got.splitlines()]
    want = [{k: v for k, v in json.loads(x).items() if k != "timestamp"}
            for x in as_text.getvalue().splitlines()]  # fmt: skip
    assert strip == want
    assert want[4]["records"][0]["value"] == "A\x85B" and want[5]["total_m3"] == 6.409

"""A byte-exact iU891A on a pseudo-terminal: SLIP-framed HCI (see radios/iu891a.py).

It unframes what it receives with its own SLIP decoder (not the radio's framer, so a framing
mistake cannot cancel out), checks each request's CRC-16/X-25, answers device info and the
get/set active configuration with status 0, and once set to a link mode with receive
indications on, streams a receive indication per clean frame: 7 bytes (a 4-byte time stamp
and three flag bytes), the RSSI as a signed dBm byte, then the frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gatewayd.demo.simpty import PtySimulator
from gatewayd.wmbus.crc import crc16_x25

# active configuration link-mode code -> our mode name
IU_LINK_MODES: dict[int, str] = {0x05: "c1", 0x02: "t1", 0x03: "c1+t1"}
STATUS_OK, STATUS_NOT_SUPPORTED, STATUS_WRONG_PARAMETER = 0, 2, 3


def _frame(body: bytes) -> bytes:
    """SLIP: END, the body with END -> DB DC and ESC -> DB DD, END."""
    out = bytearray([0xC0])
    for b in body + crc16_x25(body).to_bytes(2, "little"):
        out += {0xC0: b"\xdb\xdc", 0xDB: b"\xdb\xdd"}.get(b, bytes([b]))
    out.append(0xC0)
    return bytes(out)


class Iu891aSimulator(PtySimulator):
    """An iU891A-XL (module type 0x6E, UID 12345678) that starts with its radio off.

    link_modes: the link-mode codes this module accepts (others: "wrong parameter").
    """

    def __init__(
        self,
        frames: Iterable[bytes] = (),
        *,
        module_type: int = 0x6E,
        link_modes: Iterable[int] = (0x02, 0x03, 0x05),
        rssi_dbm: int = -76,
        **kwargs: Any,
    ) -> None:
        super().__init__(frames, rssi_raw=rssi_dbm & 0xFF, **kwargs)
        self.module_type = module_type
        self.link_modes = frozenset(link_modes)
        # the factory default: radio off, filter on, no indications, LED 50 ms, no recalibration
        self.config = bytes([0x00, 0x01, 0x00, 0x00, 0x00, 0x32, 0x00, 0, 0, 0, 0])
        self.requests: list[bytes] = []  # every request body (CRC stripped) in order

    def power_up(self) -> None:
        super().power_up()
        self.config = bytes([0x00]) + self.config[1:]  # the radio is off after power-up

    def handle(self, buf: bytearray) -> tuple[int, bytes] | None:
        end = buf.find(0xC0, 1 if buf[:1] == b"\xc0" else 0)
        if buf[:1] == b"\xc0" and end < 0:
            return None if len(buf) < 1024 else (len(buf), b"")
        if buf[:1] != b"\xc0":
            return 0, b""  # outside a frame: dropped byte by byte
        raw = bytes(buf[1:end]).replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")
        if not raw:
            return end, b""  # END END: an empty frame (the wake-up), leave the second END
        if len(raw) < 4 or crc16_x25(raw[:-2]) != int.from_bytes(raw[-2:], "little"):
            self.counters["bad_requests"] += 1
            return end + 1, b""
        body = raw[:-2]
        self.requests.append(body)
        return end + 1, self._answer(body)

    def _answer(self, body: bytes) -> bytes:
        ep, msg, payload = body[0], body[1], body[2:]
        if (ep, msg) == (0x01, 0x01):  # ping
            return _frame(bytes([0x01, 0x02, STATUS_OK]))
        if (ep, msg) == (0x01, 0x03):  # device info: type, UID (LE), then 3 more bytes
            info = bytes([self.module_type]) + bytes.fromhex("78563412") + bytes(3)
            return _frame(bytes([0x01, 0x04, STATUS_OK]) + info)
        if (ep, msg) == (0x09, 0x01):  # get active configuration
            return _frame(bytes([0x09, 0x02, STATUS_OK]) + self.config)
        if (ep, msg) == (0x09, 0x03):  # set active configuration
            if len(payload) != 11 or payload[0] not in self.link_modes:
                return _frame(bytes([0x09, 0x04, STATUS_WRONG_PARAMETER]))
            self.config = bytes(payload)
            indications = bool(payload[1] & 0x02)
            self.mode = IU_LINK_MODES.get(payload[0]) if indications else None
            self.config_count += 1
            return _frame(bytes([0x09, 0x04, STATUS_OK]))
        return _frame(bytes([ep, msg + 1, STATUS_NOT_SUPPORTED]))

    def data_indication(self, frame: bytes) -> bytes:
        stamp = (0x386D439F + self.counters["indications"]).to_bytes(4, "little")
        self.counters["indications"] += 1
        body = bytes([0x09, 0x20]) + stamp + bytes([0x00, 0x00, 0x02, self.rssi_raw]) + frame
        return _frame(body)

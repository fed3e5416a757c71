"""`gatewayd ble read`: connect (and pair), read Status and Meters, select a meter and read its
Reading, listen to Reading and Raw telegrams notifications, print it all decoded."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gatewayd.ble_client import render
from gatewayd.ble_client.passkey import passkey_agent
from gatewayd.ble_client.session import connected, find_one
from gatewayd.sinks.ble import gatt

Out = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ReadOptions:
    address: str | None
    as_json: bool = False
    pair: bool = False
    meter: str | None = None  # None: the first meter Meters lists
    listen_s: float = 10.0
    scan_s: float = 5.0
    adapter: str | None = None


def prompt(text: str) -> None:
    """Passkey prompts go to stderr so that --json output stays one JSON document."""
    sys.stderr.write(text)
    sys.stderr.flush()


async def read_gateway(opts: ReadOptions, out: Out) -> dict[str, Any]:
    """Run the session; print lines as they come (text) and return the JSON document."""
    text = (lambda _s: None) if opts.as_json else out
    address = await find_one(opts.address, opts.scan_s, opts.adapter)
    doc: dict[str, Any] = {"address": address}
    async with connected(address, adapter=opts.adapter) as link:
        doc["mtu"] = link.mtu
        text(f"connected to {address}, ATT MTU {link.mtu}")
        if opts.pair:
            async with passkey_agent(prompt):
                await link.pair()
            text(f"bonded with {address}")
        status = await link.status()
        doc["status"] = render.status_json(status)
        for line in render.status_lines(status):
            text(line)
        pages = await link.all_meters()
        doc["meters"] = [r for p in pages for r in render.meters_json(p)["records"]]
        doc["meters_known"] = pages[0].known
        for page in pages:
            for line in render.meters_lines(page):
                text(line)
        meter = opts.meter
        if meter is None and pages[0].records:
            meter = gatt.decode_record(pages[0].records[0]).meter_id
        rec = await link.reading(meter)
        doc["selected"] = meter
        doc["reading"] = None if rec is None else render.record_json(rec)
        shown = render.record_line(rec) if rec else "nothing heard yet"
        text(f"reading ({meter or 'latest'}): {shown}")
        readings: list[dict[str, Any]] = []
        raws: list[dict[str, Any]] = []
        if opts.listen_s > 0:
            text(f"listening {opts.listen_s:g} s to Reading and Raw telegrams")

            def on_reading(r: gatt.ReadingRecord) -> None:
                readings.append(render.record_json(r))
                text("  reading  " + render.record_line(r))

            def on_raw(seq: int, rssi: int | None, telegram: bytes) -> None:
                raws.append(render.raw_json(seq, rssi, telegram))
                text("  " + render.raw_line(seq, rssi, telegram))

            await link.listen(opts.listen_s, on_reading, on_raw)
            text(f"heard {len(readings)} reading(s), {len(raws)} raw telegram(s)")
        doc["notifications"] = {"readings": readings, "raw_telegrams": raws}
    if opts.as_json:
        out(json.dumps(doc, ensure_ascii=False))
    return doc

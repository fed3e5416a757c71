"""`gatewayd ble check ADDRESS`: the BLE hardware checklist from a client machine, one
PASS/FAIL/SKIP line per step; exit 1 if any step failed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from gatewayd.ble_client.passkey import passkey_agent
from gatewayd.ble_client.read import prompt
from gatewayd.ble_client.session import BleClientError, GatewayLink, connected, scan
from gatewayd.sinks.ble import gatt
from gatewayd.sinks.ble.agent import DEVICE
from gatewayd.sinks.ble.bluez import bluez_objects
from gatewayd.sinks.ble.bluez import connect as bus_connect

Out = Callable[[str], None]


@dataclass
class Checklist:
    out: Out
    results: list[str] = field(default_factory=list)

    def step(self, result: str, name: str, detail: str = "") -> None:
        self.results.append(result)
        self.out(f"{result:<4}  {name}{': ' + detail if detail else ''}")

    def summary(self) -> int:
        counts = {r: self.results.count(r) for r in ("PASS", "FAIL", "SKIP")}
        self.out(f"check: {counts['PASS']} pass, {counts['FAIL']} fail, {counts['SKIP']} skip")
        return 1 if counts["FAIL"] else 0


async def paired_here(address: str) -> bool:
    """Does this machine's BlueZ hold a bond with `address`?"""
    bus = await bus_connect(None)
    try:
        for ifaces in (await bluez_objects(bus)).values():
            dev = ifaces.get(DEVICE)
            if dev and str(dev["Address"].value).upper() == address.upper():
                return bool(dev["Paired"].value)
        return False
    finally:
        bus.disconnect()


async def _layouts(link: GatewayLink) -> str:
    """Read Meters (every page), Status and a selected Reading; raise ValueError on a bad layout."""
    pages = await link.all_meters()
    status = await link.status()
    first = pages[0].records[0] if pages[0].records else None
    rec = await link.reading(gatt.decode_record(first).meter_id if first else None)
    if status.meters_known != pages[0].known:
        raise ValueError(f"Status says {status.meters_known} meters, Meters {pages[0].known}")
    size = 5 + 20 * len(pages[0].records)
    reading = "no reading yet" if rec is None else f"Reading of {rec.meter_id}"
    return f"Meters {size} bytes ({pages[0].known} known), Status, {reading}"


async def run_check(
    address: str, listen_s: float, restart_s: float, adapter: str | None, out: Out
) -> int:
    c = Checklist(out)
    found = {f.address.upper(): f for f in await scan(10.0, adapter)}
    hit = found.get(address.upper())
    if hit is None:
        c.step("FAIL", "advertised", f"{address} not heard with the gatewayd service UUID in 10 s")
        return c.summary()
    c.step("PASS", "advertised", f"{hit.name} with the gatewayd service UUID, RSSI {hit.rssi} dBm")

    bonded_before = await paired_here(address)
    lost = asyncio.Event()
    async with connected(address, adapter=adapter, on_lost=lost.set) as link:
        if bonded_before:
            for name in ("unreadable without a bond", "pairing"):
                c.step("SKIP", name, f"already bonded (bluetoothctl remove {address} to check)")
        else:
            try:
                await link.meters()
                c.step("FAIL", "unreadable without a bond", "Meters was readable without a bond")
            except BleClientError as exc:
                ok = "no bond" in str(exc)
                c.step("PASS" if ok else "FAIL", "unreadable without a bond", str(exc))
            out("open a pairing window on the gateway now: sudo gatewayd ble pair")
            try:
                async with passkey_agent(prompt):
                    await link.pair()
                c.step("PASS", "pairing", "passkey entry accepted, bonded")
            except BleClientError as exc:
                c.step("FAIL", "pairing", str(exc))
                return c.summary()
        mtu = link.mtu
        try:
            c.step("PASS", f"reads at MTU {mtu}", await _layouts(link))
        except (BleClientError, ValueError) as exc:
            c.step("FAIL", f"reads at MTU {mtu}", str(exc))
        other = 247 if mtu == 23 else 23
        c.step(
            "SKIP",
            f"reads at MTU {other}",
            f"this link negotiated {mtu}; set ExchangeMTU = {other} under [GATT] in "
            "/etc/bluetooth/main.conf on this machine, restart bluetooth, run again",
        )
        readings: list[gatt.ReadingRecord] = []
        raws: list[bytes] = []
        try:
            await link.listen(listen_s, readings.append, lambda _s, _r, t: raws.append(t))
            detail = f"{len(raws)} raw telegram(s), {len(readings)} reading(s) in {listen_s:g} s"
            c.step("PASS" if raws else "FAIL", "notifications", detail)
        except BleClientError as exc:
            c.step("FAIL", "notifications", str(exc))
        if restart_s <= 0:
            c.step("SKIP", "bond survives a bluetoothd restart", "run with --restart 60")
            return c.summary()
        out(
            "now restart bluetooth on the gateway (sudo systemctl restart bluetooth); "
            f"waiting up to {restart_s:g} s"
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(restart_s):
                await lost.wait()
    if not lost.is_set():
        c.step("FAIL", "bond survives a bluetoothd restart", "the link never dropped")
        return c.summary()
    c.step(*(await _reconnect(address, adapter, restart_s)))
    return c.summary()


async def _reconnect(address: str, adapter: str | None, within_s: float) -> tuple[str, str, str]:
    name = "bond survives a bluetoothd restart"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    last = ""
    while loop.time() < deadline:
        try:
            async with connected(address, timeout=10.0, adapter=adapter) as link:
                status = await link.status()
            return (
                "PASS",
                name,
                f"reconnected and read Status (up {status.uptime_s} s) without pairing again",
            )
        except BleClientError as exc:
            last = str(exc)
            if "no bond" in last:
                return "FAIL", name, last
            await asyncio.sleep(1.0)
    return "FAIL", name, f"could not reconnect in {within_s:g} s: {last}"

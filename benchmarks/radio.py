"""Radio figures: frames/s through each framer + RadioFrame, and event-loop lag at 500 frames/s.

    .venv/bin/python benchmarks/radio.py [--frames 20000] [--seconds 10] [--rate 500]

Part 1 feeds a stream of K1 data indications to each module's pure framer in
64-byte reads (a typical USB-serial read) and builds a RadioFrame per telegram. Part 2 runs a
simulated iM871A in a child process (so its work does not load our loop), streams `rate`
frames/s through the real pty/serial path into a supervised radio, and samples the loop's lag
with a 10 ms ticker. Figures only; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gatewayd.radios import amb8465, im871a
from gatewayd.radios.amb8465 import AmberFramer, AmberMessage
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.radios.cul import CulFramer, CulTelegram, rssi_dbm
from gatewayd.radios.im871a import HciMessage, ImstFramer
from gatewayd.radios.replay import ReplayFramer
from gatewayd.radios.rtlwmbus import RtlWmbusFramer
from gatewayd.wmbus.link import FrameFormat, add_crcs

K1 = bytes.fromhex(
    "2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24"
)
READ = 64


def _frame(frame: bytes, rssi: float | None, fmt: FrameFormat = FrameFormat.CLEAN) -> RadioFrame:
    return RadioFrame(frame, rssi, LinkMode.C1, fmt, time.time(), "bench")


def _im871a(n: int) -> tuple[bytes, Callable[[bytes], int]]:
    stream = HciMessage(2, 3, K1[1:], rssi_raw=0xB4, crc=True).to_bytes() * n

    def run(data: bytes) -> int:
        framer, count = ImstFramer(), 0
        for i in range(0, len(data), READ):
            for msg in framer.feed(data[i : i + READ]):
                got = im871a.telegram(msg)
                if got is not None:
                    _frame(*got)
                    count += 1
        return count

    return stream, run


def _amb8465(n: int) -> tuple[bytes, Callable[[bytes], int]]:
    stream = AmberMessage(3, K1[1:] + b"\xb4").to_bytes() * n

    def run(data: bytes) -> int:
        framer, count = AmberFramer(), 0
        for i in range(0, len(data), READ):
            for msg in framer.feed(data[i : i + READ]):
                got = amb8465.telegram(msg, rssi_appended=True)
                if got is not None:
                    _frame(*got)
                    count += 1
        return count

    return stream, run


def _cul(n: int) -> tuple[bytes, Callable[[bytes], int]]:
    line = b"bY" + add_crcs(K1, FrameFormat.B).hex().upper().encode() + b"2AC4\r\n"
    stream = line * n

    def run(data: bytes) -> int:
        framer, count = CulFramer(), 0
        for i in range(0, len(data), READ):
            for item in framer.feed(data[i : i + READ]):
                if isinstance(item, CulTelegram):
                    _frame(item.frame, rssi_dbm(item.rssi_raw or 0), item.frame_format)
                    count += 1
        return count

    return stream, run


def _lines(
    framer_cls: type[RtlWmbusFramer] | type[ReplayFramer], line: bytes, n: int
) -> tuple[bytes, Callable[[bytes], int]]:
    def run(data: bytes) -> int:
        framer, count = framer_cls(), 0
        for i in range(0, len(data), READ):
            for t in framer.feed(data[i : i + READ]):
                _frame(t.frame, None)
                count += 1
        return count

    return line * n, run


def framer_figures(n: int) -> None:
    cases = {
        "im871a (HCI + CRC)": _im871a(n),
        "amb8465 (cmd mode)": _amb8465(n),
        "cul (bY line, DLL CRC)": _cul(n),
        "rtlwmbus (text line)": _lines(
            RtlWmbusFramer,
            b"C1;1;1;2020-01-23 10:25:13.000;97;148;76348799;0x"
            + K1.hex().upper().encode()
            + b"\n",
            n,
        ),
        "replay (hex;rssi line)": _lines(ReplayFramer, K1.hex().encode() + b";-71\n", n),
    }
    print(f"framer + RadioFrame, {n} K1 telegrams fed in {READ}-byte reads (best of 3):")
    for name, (stream, run) in cases.items():
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            count = run(stream)
            best = min(best, time.perf_counter() - t0)
        assert count == n, (name, count)
        print(f"  {name:26} {n / best:10,.0f} frames/s  ({best / n * 1e6:6.1f} µs/frame)")


SIM_CHILD = """
import asyncio, sys
from gatewayd.demo.sim import ImstSimulator
K1 = bytes.fromhex(sys.argv[2])
async def main():
    async with ImstSimulator([K1], rate=float(sys.argv[1]), repeat=True) as sim:
        print(sim.device_path, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""


async def loop_lag(rate: float, seconds: float) -> None:
    from gatewayd.radios.registry import open_radio

    repo = Path(__file__).resolve().parent.parent
    child = subprocess.Popen(
        [sys.executable, "-c", SIM_CHILD, str(rate), K1.hex()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=repo,
    )
    try:
        assert child.stdout is not None
        device = child.stdout.readline().strip()
        sup = open_radio("im871a", device, "c1", silence_reset_s=5)
        lags: list[float] = []
        frames = 0
        stop = asyncio.Event()

        async def ticker(out: list[float]) -> None:
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                t0 = loop.time()
                await asyncio.sleep(0.010)
                out.append(loop.time() - t0 - 0.010)

        async def consume() -> None:
            nonlocal frames
            async for _ in sup.frames():
                frames += 1

        idle: list[float] = []
        tick = asyncio.create_task(ticker(idle))
        await asyncio.sleep(2.0)
        stop.set()
        await tick
        stop.clear()
        consumer = asyncio.create_task(consume())
        await asyncio.sleep(1.0)  # open, configure, settle
        frames, lags = 0, []
        tick = asyncio.create_task(ticker(lags))
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - t0
        stop.set()
        got = frames
        consumer.cancel()
        await asyncio.gather(consumer, tick, return_exceptions=True)
    finally:
        if child.stdin:
            child.stdin.close()
        child.terminate()
        child.wait()
    idle_ms = sorted(x * 1000 for x in idle)
    lags_ms = sorted(x * 1000 for x in lags)
    p99 = lags_ms[int(len(lags_ms) * 0.99) - 1]
    print(
        f"event-loop lag while streaming (simulated iM871A asked for {rate:g} frames/s, "
        f"{seconds:g} s):"
    )
    print(
        f"  received {got / elapsed:,.0f} frames/s over the pty/serial path; "
        f"counters: {dict(sorted(sup.counters.items()))}"
    )
    print(
        f"  10 ms ticker lag: median {statistics.median(lags_ms):.2f} ms, "
        f"p99 {p99:.2f} ms, max {lags_ms[-1]:.2f} ms ({len(lags_ms)} samples)"
    )
    print(
        f"  same ticker on the idle loop before streaming: median "
        f"{statistics.median(idle_ms):.2f} ms, max {idle_ms[-1]:.2f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=500.0)
    args = ap.parse_args()
    framer_figures(args.frames)
    asyncio.run(loop_lag(args.rate, args.seconds))


if __name__ == "__main__":
    main()

"""CPU per frame from bytes written into the radio's FIFO or pty to the pipeline being handed
the frame, as the daemon reads its radio (a RadioGroup of one supervised radio).

    .venv/bin/python benchmarks/radio_path.py [--kind rtlwmbus|im871a] [--rate 1000]
                                              [--seconds 5] [--repeat 3]

A child process writes rtl_wmbus lines into a FIFO (or a simulated iM871A streams data
indications on a pty), one telegram per write at `rate` a second, so each arrives alone as at
radio rates. This process counts its own CPU time (time.process_time: every thread, user and
system) from the first frame to the last and divides by the frames received; the consumer is a
function that counts, standing in for Pipeline.handle. Figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gatewayd.radios.base import RadioFrame  # noqa: E402
from gatewayd.radios.group import RadioGroup  # noqa: E402
from gatewayd.radios.registry import open_radio  # noqa: E402

K1 = bytes.fromhex(
    "2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24"
)
FIFO_WRITER = """
import os, sys, time
path, rate, n, line = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
fd = os.open(path, os.O_WRONLY)
sys.stdin.readline()  # go
start = time.monotonic()
for i in range(n):
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    os.write(fd, line)
sys.stdin.readline()
"""
SIM_CHILD = """
import asyncio, sys
from gatewayd.demo.sim import ImstSimulator
K1 = bytes.fromhex(sys.argv[2])
async def main():
    async with ImstSimulator(rate=float(sys.argv[1])) as sim:
        print(sim.device_path, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # go
        sim.send(*[K1] * int(sys.argv[3]))
        await loop.run_in_executor(None, sys.stdin.readline)
asyncio.run(main())
"""


async def one_run(kind: str, rate: float, n: int, tmp: Path) -> tuple[float, int]:
    if kind == "rtlwmbus":
        fifo = tmp / f"radio-{time.monotonic_ns()}.fifo"
        os.mkfifo(fifo)
        line = f"C1;1;1;2020-01-23 10:25:13.000;97;148;76348799;0x{K1.hex().upper()}\n"
        child = subprocess.Popen(
            [sys.executable, "-c", FIFO_WRITER, str(fifo), str(rate), str(n), line],
            stdin=subprocess.PIPE,
            text=True,
        )
        device = str(fifo)
    else:
        child = subprocess.Popen(
            [sys.executable, "-c", SIM_CHILD, str(rate), K1.hex(), str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert child.stdout is not None
        device = child.stdout.readline().strip()
    assert child.stdin is not None
    group = RadioGroup([open_radio(kind, device, "c1", silence_reset_s=60)])
    got = 0
    t0 = 0.0
    done = asyncio.Event()

    def handle(frame: RadioFrame) -> None:
        nonlocal got, t0
        got += 1
        if got == 1:
            t0 = time.process_time()
        elif got == n:
            done.set()

    async def consume() -> None:
        if hasattr(group, "run"):  # the push path
            await group.run(handle)
        else:  # before it: async for, as the daemon did
            async for frame in group.frames():
                handle(frame)

    task = asyncio.create_task(consume())
    try:
        while group.state.value != "running":
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        child.stdin.write("go\n")
        child.stdin.flush()
        async with asyncio.timeout(n / rate * 3 + 10):
            await done.wait()
        cpu = time.process_time() - t0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        child.stdin.close()
        child.wait()
    return cpu / (n - 1), got


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=["rtlwmbus", "im871a"], default="rtlwmbus")
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = int(args.rate * args.seconds)
    per = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            cpu, _got = await one_run(args.kind, args.rate, n, Path(tmp))
            per.append(cpu * 1e6)
    api = "run(deliver)" if hasattr(RadioGroup, "run") else "async for frames()"
    print(
        f"{args.kind} via {api}: {n} frames at {args.rate:g}/s, CPU per frame (µs): "
        f"median {statistics.median(per):.1f}, runs {', '.join(f'{x:.1f}' for x in per)}"
    )


if __name__ == "__main__":
    asyncio.run(main())

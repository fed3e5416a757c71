"""What a `gatewayd listen` client costs the radio path: Pipeline.handle per frame, in-process.

    .venv/bin/python benchmarks/listen.py [--frames 20000]

The demo's meters (config.toml) and recording (gatewayd/data/demo-telegrams.txt), fed over and
over to one Pipeline without sinks, with the daemon's listen socket (a real unix socket in a
temporary directory) and: no client; one client that reads everything; one client that reads
nothing (its queue fills and frames are skipped). Prints microseconds per frame for each and
the frames skipped for the client. Figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from gatewayd.commands.demo import recording
from gatewayd.config.load import load_config
from gatewayd.daemon.listensock import ListenServer
from gatewayd.daemon.pipeline import Pipeline
from gatewayd.daemon.stats import Stats
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.link import FrameFormat

REPO = Path(__file__).resolve().parent.parent


async def run(n: int) -> None:
    config = load_config(REPO / "config.toml", credentials_dir=None)
    frames = [
        RadioFrame(f, rssi, LinkMode.C1, FrameFormat.CLEAN, 0.0, "bench")
        for _t, rssi, f in recording()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = Pipeline(config, stats=Stats())
        pipeline.dedup.window_s = 0  # every frame through the whole path

        def attach(tap: object) -> None:
            pipeline.frame_tap = tap  # type: ignore[assignment]

        server = ListenServer(Path(tmp) / "listen.sock", attach=attach, gateway="b", radios=[])
        assert await server.start()

        async def measure(label: str) -> None:
            skipped = server.skipped
            t0 = time.perf_counter()
            for i in range(n):
                pipeline.handle(frames[i % len(frames)])
                await asyncio.sleep(0)  # the radio loop awaits its next frame: writers run
            dt = time.perf_counter() - t0
            print(
                f"{label:34} {dt / n * 1e6:7.1f} µs/frame, "
                f"{server.skipped - skipped} frames skipped for the client"
            )

        await measure("no client")
        reader, writer = await asyncio.open_unix_connection(str(server.path), limit=1 << 20)

        async def drain() -> None:
            while await reader.read(1 << 16):
                pass

        reading = asyncio.create_task(drain())
        while server.clients == 0:
            await asyncio.sleep(0.01)
        await measure("one client reading everything")
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await measure("one client reading nothing")
        writer.close()
        await server.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=20000)
    asyncio.run(run(p.parse_args().frames))


if __name__ == "__main__":
    main()

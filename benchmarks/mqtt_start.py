"""CPU of constructing the MQTT sink (its part of the start before READY=1), for N meters.

    python benchmarks/mqtt_start.py [--meters 10000] [--repeat 7] [--ha] [--configs 8]

Times `MqttSink(settings, meters=...)` with time.process_time: `fresh` on an empty state dir,
`restart` on the state dir the fresh start left (the same meters). With `--configs K` (and
`--ha`) the record first gets K discovery config topics per meter, as after every meter has
been heard with discovery on. No broker is needed (nothing is sent). Prints the median and
the smallest of the runs, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from gatewayd.sinks.mqtt.ha_state import ANNOUNCED_FILE, Discovery
from gatewayd.sinks.mqtt.payload import Topics


def timed(settings: MqttSettings, meters: list[str]) -> float:
    t = time.process_time()
    sink = MqttSink(settings, meters=meters)
    took = time.process_time() - t
    asyncio.run(sink.stop(0.1))
    return took


def add_configs(settings: MqttSettings, meters: list[str], per_meter: int) -> None:
    """K config topics per meter on record, where discovery.py puts them (one write)."""
    topics = Topics(settings.prefix, settings.gateway_id)
    record = Discovery(None, state_prefixes=(topics.meter(""), topics.health("")))
    record._load(settings.state_dir / ANNOUNCED_FILE)
    for mid in meters:
        node = f"{settings.prefix}_{mid}"
        configs = tuple(
            (f"{settings.ha_prefix}/sensor/{node}/f{i}/config", b"{}") for i in range(per_meter)
        )
        record.update(mid, configs)
    record._path = settings.state_dir / ANNOUNCED_FILE
    record.save()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meters", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--ha", action="store_true", help="ha_discovery on")
    ap.add_argument("--configs", type=int, default=0, help="config topics per meter on record")
    args = ap.parse_args()
    meters = [f"{0x10000000 + i:08x}" for i in range(args.meters)]
    fresh: list[float] = []
    restart: list[float] = []
    for _ in range(args.repeat):
        state = Path(tempfile.mkdtemp(prefix="mqtt-start-"))
        try:
            settings = MqttSettings(
                gateway_id="site-17",
                state_dir=state,
                host="127.0.0.1",
                port=9,
                ha_discovery=args.ha,
            )
            fresh.append(timed(settings, meters))
            if args.configs:
                add_configs(settings, meters, args.configs)
                timed(settings, meters)  # the first start after: it checks the configs' prefix
            restart.append(timed(settings, meters))
        finally:
            shutil.rmtree(state)

    def ms(xs: list[float]) -> str:
        return f"median {statistics.median(xs) * 1e3:.1f} ms, min {min(xs) * 1e3:.1f} ms"

    print(f"meters={args.meters} ha={args.ha} configs={args.configs}")
    print(f"  fresh:   {ms(fresh)}")
    print(f"  restart: {ms(restart)}")


if __name__ == "__main__":
    main()

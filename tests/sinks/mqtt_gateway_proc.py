"""A gateway-like process for the kill tests: an MqttSink fed numbered readings.

    python -m tests.sinks.mqtt_gateway_proc SETTINGS_JSON START COUNT

Stores readings START..START+COUNT-1, prints "stored", then keeps delivering until SIGTERM
(clean stop: drain, `offline`, exit 0) or SIGKILL (nothing: the broker fires the will).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from tests.sinks.mqtt_readings import numbered


async def main(cfg: dict[str, Any], start: int, count: int) -> int:
    required = MqttSettings(
        gateway_id=str(cfg.pop("gateway_id")), state_dir=Path(str(cfg.pop("state_dir")))
    )
    sink = MqttSink(dataclasses.replace(required, **cfg))
    await sink.start()
    for i in range(start, start + count):
        sink.publish(from_dict(numbered(i)))
    print("stored", flush=True)
    done = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
    await done.wait()
    await sink.stop(2.0)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    sys.exit(asyncio.run(main(json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))

"""The one exception tree, how the daemon handles each branch, and how long it waits to retry.

Pure: imports nothing that does I/O.

GatewaydError                       root; `str()` never contains a key or a secret
├── ConfigurationError              the configuration asks for something impossible or malformed
│                                   -> the command prints it and exits 2; the daemon never retries
├── TelegramError                   one telegram could not be decoded (leaves in wmbus/errors.py)
│                                   -> counted by class, logged rate-limited, the telegram dropped
├── RadioError                      the radio module is gone or misbehaves
│                                   -> the radio supervisor closes it and reconnects with backoff
│                                   (RadioConfigError is also a ConfigurationError: exit 2)
└── SinkError                       a sink cannot deliver now (broker away, outbox full, bus gone)
                                    -> the sink keeps what it has accepted and retries on its own;
                                    the radio and the other sinks carry on

Anything else escaping a handler is a bug: it is logged with its traceback, and the process exits
1 so that systemd restarts it. Handlers match on these classes, never on message text.
"""

from __future__ import annotations

from collections.abc import Callable


class GatewaydError(Exception):
    """Root of every error gatewayd raises on purpose."""


class ConfigurationError(GatewaydError):
    """A configuration or usage error: exit 2, no retry."""


class TelegramError(GatewaydError):
    """Base of every decoder error. The message names the meter (when known) and the reason."""

    kind = "error"

    def __init__(self, reason: str, meter_id: str | None = None) -> None:
        self.reason = reason
        self.meter_id = meter_id
        super().__init__(f"meter {meter_id}: {reason}" if meter_id else reason)


class RadioError(GatewaydError):
    """The radio module is lost or misbehaves: reconnect."""


class SinkError(GatewaydError):
    """A sink cannot deliver now: it retries by itself."""


def backoff_delay(failures: int, lo: float, hi: float, rnd: Callable[[], float]) -> float:
    """How long to wait before retrying after `failures` (>= 1) failures in a row.

    Doubles from `lo`, capped at `hi`, then scaled by a random factor in [0.5, 1) so that many
    gateways (or radios) restarted together do not retry in lockstep. Both the radio
    supervisor and the MQTT supervisor wait this long.
    """
    base = min(hi, lo * 2.0 ** min(failures - 1, 32))
    return base * (0.5 + 0.5 * rnd())

"""The link modes, and the radio kinds by name: what the configuration needs to be checked,
without importing a radio (the daemon reports READY=1 before it opens one)."""

from __future__ import annotations

import enum
from typing import NamedTuple


class LinkMode(enum.Enum):
    C1 = "c1"
    T1 = "t1"
    S1 = "s1"
    UNKNOWN = "unknown"


class ListenMode(enum.Enum):
    """What the module is told to receive (the `mode` in config and `--mode`)."""

    C1 = "c1"
    T1 = "t1"
    C1_T1 = "c1+t1"

    @property
    def link_mode(self) -> LinkMode:
        """The link mode stamped on frames when the module does not say (UNKNOWN for C1+T1)."""
        return {"c1": LinkMode.C1, "t1": LinkMode.T1}.get(self.value, LinkMode.UNKNOWN)


class RadioKind(NamedTuple):
    target: str  # "module:Class"
    description: str
    silence_reset: bool = True  # a file replay is allowed to be quiet


KINDS: dict[str, RadioKind] = {
    "im871a": RadioKind("gatewayd.radios.im871a:Im871aRadio", "IMST iM871A / iM170A (57600 Bd)"),
    "iu891a": RadioKind(
        "gatewayd.radios.iu891a:Iu891aRadio", "IMST iU891A / iM891A (115200 Bd, SLIP)"
    ),
    "amb8465": RadioKind(
        "gatewayd.radios.amb8465:Amb8465Radio", "Amber AMB8465 / AMB8665 / Metis-II (9600 Bd)"
    ),
    "cul": RadioKind("gatewayd.radios.cul:CulRadio", "CUL / nanoCUL with culfw (38400 Bd)"),
    "rtlwmbus": RadioKind(
        "gatewayd.radios.rtlwmbus:RtlWmbusRadio",
        "rtl_wmbus output: '| command', a FIFO, a file or '-' (stdin)",
    ),
    "tcp": RadioKind(
        "gatewayd.radios.tcp:TcpRadio",
        "telegram lines from remote receivers: HOST:PORT to listen on",
        silence_reset=False,  # no receiver connected is not a fault of ours
    ),
    "replay": RadioKind(
        "gatewayd.radios.replay:ReplayRadio",
        "hex telegrams from a file or '-' (stdin)",
        silence_reset=False,
    ),
}
ALIASES: dict[str, str] = {
    "im170a": "im871a",
    "amb8665": "amb8465",
    "im891a": "iu891a",
    "metis": "amb8465",
    "nanocul": "cul",
    "rtl_wmbus": "rtlwmbus",
}

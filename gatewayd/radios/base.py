"""RadioFrame (what every radio yields) and the small Radio interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from gatewayd.errors import ConfigurationError
from gatewayd.errors import RadioError as GatewaydRadioError
from gatewayd.radios.modes import LinkMode, ListenMode

if TYPE_CHECKING:
    from gatewayd.wmbus.link import FrameFormat

__all__ = [
    "Lifecycle",
    "LinkMode",
    "ListenMode",
    "Radio",
    "RadioConfigError",
    "RadioError",
    "RadioFrame",
    "RadioLost",
]


@dataclass(frozen=True, slots=True)
class RadioFrame:
    """One telegram as a module delivered it, made clean.

    frame: link-layer bytes, DLL CRCs stripped and checked, L = len(frame) - 1.
    frame_format: how it was on air (A or B), or CLEAN when the module strips CRCs itself and
    does not say which. rssi_dbm: None when the module gives none. received_at: Unix seconds.
    """

    frame: bytes
    rssi_dbm: float | None
    link_mode: LinkMode
    frame_format: FrameFormat
    received_at: float
    radio: str = ""
    heard_by: tuple[str, ...] = ()  # every receiver that heard it (a radio group); () = `radio`


class Lifecycle:
    """`async with x:` is `await x.open()` ... `await x.aclose()`; aclose() also runs when open()
    fails half way, so it must cope with whatever open() got done."""

    async def open(self) -> None:
        """Acquire what the object needs (port, process, pty)."""

    async def aclose(self) -> None:
        """Release it; never raises for a resource that is already gone."""

    async def __aenter__(self) -> Self:
        try:
            await self.open()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Radio(Protocol):
    """An open, configured radio: `async with radio: await radio.run(deliver)`, every frame
    handed to `deliver` as it is heard (gatewayd.radios.delivery)."""

    kind: str

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def run(self, deliver: Callable[[RadioFrame], object]) -> None: ...


class RadioError(GatewaydRadioError):
    """Root of the radio errors.

    RadioError
    ├── RadioConfigError   the configuration asks for something impossible: do not retry (exit 2)
    └── RadioLost          the port vanished, closed, or the module stopped answering: reconnect
    """


class RadioConfigError(RadioError, ConfigurationError):
    pass


class RadioLost(RadioError):
    pass

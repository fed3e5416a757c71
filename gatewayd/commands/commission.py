"""What `gatewayd listen` proves about each frame and each meter, without printing a key.

For a frame: who sent it, whether a repeater passed it on (ELL CC or TPL CFG hop/repeated
bits), and for an encrypted one the key result, found by decrypting it:

    ok         the meter's own key decrypts it
    wrong_key  the meter's key does not (`key_of` names another meter whose key does)
    no_key     no key for the meter (an all-zero key that does not decrypt counts as none)
    none       sent in clear: no key needed

and, once decoded, the driver `auto` picks (or the configured one) and the headline value.
For a meter: frames, RSSI min/avg/max, the interval between its telegrams, the key result and
the driver, printed by `summary_lines()` when listen ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gatewayd.config.schema import MeterSettings
from gatewayd.daemon.pipeline import radio_id
from gatewayd.meters.model import Field, Reading
from gatewayd.meters.reading import MeterState, build_reading
from gatewayd.meters.roles import Role
from gatewayd.radios.base import RadioFrame
from gatewayd.wmbus.decode import Decoder, describe
from gatewayd.wmbus.ell import CC_HOP, CC_REPEATED
from gatewayd.wmbus.errors import NoKeyError, TelegramError, WrongKeyError
from gatewayd.wmbus.headers import walk_headers
from gatewayd.wmbus.link import FrameFormat, device_type_name
from gatewayd.wmbus.telegram import Telegram
from gatewayd.wmbus.tpl import CFG_HOP, CFG_REPEATED

ZERO_KEYS = (bytes(16), bytes(8))  # placeholders (AES-128, DES): counted as no key
MAX_OTHER_KEYS = 64  # keys of other meters tried on a frame its own key does not open
HEADLINE_ROLES = (
    Role.TOTAL_VOLUME,
    Role.TOTAL_ENERGY,
    Role.HEAT_COST,
    Role.VOLUME,
    Role.ENERGY,
    Role.POWER,
    Role.VOLUME_FLOW,
    Role.WATER_TEMPERATURE,
    Role.TEMPERATURE,
    Role.AMBIENT_TEMPERATURE,
    Role.HUMIDITY,
)
KEY_WORDS = {
    "ok": "key OK",
    "wrong_key": "WRONG KEY",
    "no_key": "NO KEY",
    "none": "",
}


def is_repeated(frame: bytes) -> bool:
    """A repeater's copy: the hop or repeated bit in the ELL CC or in the TPL CFG field."""
    try:
        h = walk_headers(frame, open_ell_payload=False, lenient=True)
    except TelegramError:
        return False
    if h.ell is not None and h.ell.cc & (CC_HOP | CC_REPEATED):
        return True
    cfg = None if h.tpl is None else h.tpl.cfg
    return cfg is not None and bool(cfg & (CFG_HOP | CFG_REPEATED))


def headline(reading: Reading) -> Field | None:
    """The reading's most telling number: the headline of the first role that has one."""
    return next(filter(None, map(reading.headline_field, HEADLINE_ROLES)), None)


@dataclass
class MeterTally:
    """Everything heard from one meter during the session."""

    id: str
    manufacturer: str = "?"
    media: str = "?"
    name: str | None = None
    frames: int = 0
    repeated: int = 0
    rssi: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # originals only: copies are not new sends
    key: str | None = None  # the last frame's key result that said something
    key_of: str | None = None
    driver: str | None = None
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        rssi = self.rssi
        return {
            "id": self.id,
            "name": self.name,
            "manufacturer": self.manufacturer,
            "device_type": self.media,
            "frames": self.frames,
            "repeated": self.repeated,
            "rssi_dbm": {
                "min": min(rssi),
                "avg": round(sum(rssi) / len(rssi), 1),
                "max": max(rssi),
            }
            if rssi
            else None,
            "interval_s": self.interval_s(),
            "key": self.key,
            "key_of": self.key_of,
            "driver": self.driver,
            "value": self.value,
        }

    def interval_s(self) -> float | None:
        """The median gap between its telegrams (robust against a missed one)."""
        gaps = sorted(b - a for a, b in zip(self.times, self.times[1:], strict=False) if b > a)
        return gaps[len(gaps) // 2] if gaps else None


class Commissioner:
    """Feed it frames (`check`), then ask for the `summary_lines()`."""

    def __init__(
        self, keys: Mapping[str, bytes], meters: Mapping[str, MeterSettings] | None = None
    ) -> None:
        self.keys = {k.lower(): v for k, v in keys.items()}
        self.meters = dict(meters or {})
        self.decoder = Decoder(keys=lambda _id: None)  # keys are given per try, never looked up
        self.state = MeterState()
        self.tallies: dict[str, MeterTally] = {}
        self._key_of: dict[str, str] = {}  # meter id -> the other meter whose key opened it
        self._heard_as: dict[str, str] = {}  # a radio module's configured id -> the meter's id

    def check(self, rf: RadioFrame) -> dict[str, Any]:
        """The --json object for one frame (the human line is made from it)."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(rf.received_at, UTC).isoformat(timespec="seconds"),
        }
        frame = rf.frame
        try:
            summary = describe(frame)
        except TelegramError as exc:
            out |= _bare(rf)
            out["error"] = str(exc)
            return out
        a = summary.address
        config_id = self._config_id(frame, a.id.lower())
        meter = self.meters.get(config_id)
        out |= {
            "id": a.id,
            "manufacturer": a.manufacturer,
            "version": a.version,
            "device_type": device_type_name(a.device_type),
        }
        if meter is not None and meter.name != meter.id:
            out["name"] = meter.name
        out |= _bare(rf)
        out["ci"] = f"{summary.ci:02X}"
        out["encrypted"] = summary.encrypted
        out["repeated"] = is_repeated(frame)
        key_result, key_of, telegram, error = self._open(config_id, frame, summary.encrypted)
        out["key"] = key_result
        if key_of is not None:
            out["key_of"] = key_of
        reading = None
        if telegram is not None:
            driver = meter.driver if meter is not None else "auto"
            try:
                reading = build_reading(
                    telegram, driver=driver, state=self.state, rssi_dbm=rf.rssi_dbm
                )
            except Exception as exc:  # a driver bug must not end the session
                error = f"driver {driver} failed: {exc!r}"
        if reading is not None:
            out["driver"] = reading.meter
            best = headline(reading)
            if best is not None:
                out["value"] = {"field": best.name, "value": best.number, "unit": best.unit}
        if error is not None:
            out["error"] = error
        self._tally(out, a.id.lower(), rf)
        return out

    def _config_id(self, frame: bytes, meter_id: str) -> str:
        """The id the meter is configured (or keyed) by: its own, else its radio module's when
        only that one is (as the daemon finds a meter's entry)."""
        if meter_id in self.meters or meter_id in self.keys:
            return meter_id
        try:
            radio = radio_id(walk_headers(frame, open_ell_payload=False, lenient=True))
        except TelegramError:
            return meter_id
        if radio is not None and (radio in self.meters or radio in self.keys):
            self._heard_as[radio] = meter_id
            return radio
        return meter_id

    def _open(
        self, meter_id: str, frame: bytes, encrypted: bool
    ) -> tuple[str | None, str | None, Telegram | None, str | None]:
        """(key result, key_of, telegram, error): try the meter's key, then the others'."""
        if not encrypted:
            try:
                return "none", None, self.decoder.decode(frame, FrameFormat.CLEAN), None
            except NoKeyError:  # encrypted after all (describe could not tell)
                pass
            except TelegramError as exc:
                return "none", None, None, str(exc)
        own = self.keys.get(meter_id)
        result: str = "no_key"
        error: str | None = None
        if own is not None:
            try:
                return "ok", None, self.decoder.decode(frame, FrameFormat.CLEAN, own), None
            except WrongKeyError:
                result = "no_key" if own in ZERO_KEYS else "wrong_key"
            except TelegramError as exc:  # e.g. a compact frame before its full frame
                return None, None, None, str(exc)
        for other_id in self._others(meter_id):
            try:
                telegram = self.decoder.decode(frame, FrameFormat.CLEAN, self.keys[other_id])
            except TelegramError:
                continue
            self._key_of[meter_id] = other_id
            return result, other_id, telegram, error
        return result, None, None, error

    def _others(self, meter_id: str) -> list[str]:
        """Other meters' keys, the one that opened this meter before first."""
        known = self._key_of.get(meter_id)
        ids = [i for i in self.keys if i != meter_id and self.keys[i] not in ZERO_KEYS]
        if known in ids:
            ids.remove(known)
            ids.insert(0, known)
        return ids[:MAX_OTHER_KEYS]

    def _tally(self, out: Mapping[str, Any], meter_id: str, rf: RadioFrame) -> None:
        t = self.tallies.get(meter_id)
        if t is None:
            t = self.tallies[meter_id] = MeterTally(out["id"])
        t.manufacturer, t.media, t.name = out["manufacturer"], out["device_type"], out.get("name")
        t.frames += 1
        if out["repeated"]:
            t.repeated += 1
        else:
            t.times.append(rf.received_at)
        if rf.rssi_dbm is not None:
            t.rssi.append(rf.rssi_dbm)
        if out.get("key") is not None:
            t.key, t.key_of = out["key"], out.get("key_of")
        if "driver" in out:
            t.driver = out["driver"]
        if "value" in out:
            v = out["value"]
            t.value = f"{v['field']} {v['value']:g} {v['unit']}".rstrip()

    def summaries(self) -> list[dict[str, Any]]:
        """The summary as JSON objects: meters heard, then configured ones never heard."""
        out = [t.to_dict() for t in sorted(self.tallies.values(), key=lambda t: t.id)]
        for meter_id, m in sorted(self.meters.items()):
            if meter_id not in self.tallies and meter_id not in self._heard_as:
                out.append({"id": meter_id, "name": m.name, "frames": 0, "never_heard": True})
        return out

    def summary_lines(self) -> list[str]:
        """One line per meter heard, configured meters that were never heard at the end."""
        lines = []
        for t in sorted(self.tallies.values(), key=lambda t: t.id):
            rssi = (
                f"RSSI min/avg/max {min(t.rssi):g}/{sum(t.rssi) / len(t.rssi):.1f}/"
                f"{max(t.rssi):g} dBm"
                if t.rssi
                else "RSSI ?"
            )
            interval = t.interval_s()
            every = f"every {interval:.0f} s" if interval is not None else "interval ?"
            copies = f" ({t.repeated} via a repeater)" if t.repeated else ""
            key = "no key needed" if t.key == "none" else key_words(t.key, t.key_of)
            parts = [
                f"{t.id} {t.manufacturer} {t.media}" + (f" '{t.name}'" if t.name else ""),
                f"{t.frames} frame{'' if t.frames == 1 else 's'}{copies}",
                rssi,
                every,
                key,
                f"driver {t.driver}" if t.driver else "driver ? (not decrypted)",
            ]
            if t.value:
                parts.append(t.value)
            lines.append(", ".join(parts))
        for meter_id, m in sorted(self.meters.items()):
            if meter_id not in self.tallies and meter_id not in self._heard_as:
                lines.append(f"{meter_id} '{m.name}': configured, never heard")
        return lines


def key_words(result: str | None, key_of: str | None) -> str:
    if result is None:
        return "key ?"
    words = KEY_WORDS[result]
    if key_of is not None:
        words += f" (the key of {key_of} decrypts it)"
    return words


def _bare(rf: RadioFrame) -> dict[str, Any]:
    return {
        "rssi_dbm": rf.rssi_dbm,
        "link_mode": rf.link_mode.value,
        "frame_format": rf.frame_format.value,
        "radio": rf.radio,
        "hex": rf.frame.hex().upper(),
    }

"""The Driver contract and the table-driven driver every built-in meter driver is made of.

A driver turns a decoded Telegram into named fields (wmbusmeters-compatible names) and, for
meters that report them, normalised alarm flags. TableDriver walks the records once and looks up,
per header byte string, which specs apply (cached: a meter repeats the same headers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gatewayd.meters.fields import (
    RENDER,
    FieldSpec,
    Match,
    StatusSpec,
    TextSpec,
    flag_value,
    scaled_number,
)
from gatewayd.meters.tplstatus import tpl_status_tokens
from gatewayd.meters.units import factor
from gatewayd.wmbus.records import Record, RecordHeader
from gatewayd.wmbus.telegram import Telegram

ALARM_NAMES = ("dry", "reverse", "leak", "burst", "tamper")
MAX_PLANS = 1024  # header plans kept per driver (emptied when full: a meter repeats a few)


class Driver(Protocol):
    """name: wmbusmeters' driver name, printed as "meter" in a reading."""

    name: str

    def fields(self, telegram: Telegram) -> dict[str, object]: ...

    def alarms(self, telegram: Telegram) -> dict[str, bool] | None: ...

    def decode(self, telegram: Telegram) -> tuple[dict[str, object], dict[str, bool] | None]: ...


@dataclass(frozen=True, slots=True)
class AlarmRule:
    """Alarm `alarm` is on when any of `bits` is set in a flag word matched by `match`."""

    alarm: str
    match: Match
    bits: int


@dataclass(frozen=True, slots=True)
class Detect:
    """A meter this driver is for: manufacturer, version and device type (wmbusmeters "mvt")."""

    manufacturer: str
    version: int
    device_type: int


@dataclass(frozen=True, slots=True)
class _Plan:
    key: bytes  # the record header bytes the plan is for
    # (field name, unit factor for numbers (None: not convertible), renderer for other kinds)
    fields: tuple[tuple[str, float | None, Callable[[Record], object] | None], ...]
    texts: tuple[TextSpec, ...]
    status: tuple[StatusSpec, ...]
    alarms: tuple[AlarmRule, ...]


# text fields, status tokens and alarms one flag word gives under one plan
_FlagReading = tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...]]
# What one record of a telegram layout sets: (record index, the fields it names first, its plan
# when it carries flags (else None), which of the plan's text fields are not named before it).
_Step = tuple[
    int,
    tuple[tuple[str, float | None, Callable[[Record], object] | None], ...],
    "_Plan | None",
    tuple[int, ...],
]


def _unit_factor(spec: FieldSpec, h: RecordHeader) -> float | None:
    """What a record's value is multiplied by for this field (None: not convertible)."""
    f = factor(spec.unit, h.unit) if spec.unit else 1.0
    return None if f is None else f * spec.scale


def _field(
    s: FieldSpec, h: RecordHeader
) -> tuple[str, float | None, Callable[[Record], object] | None]:
    """How a record with header h feeds the field of spec s: (name, unit factor, renderer)."""
    return (
        s.name.format(subunit=h.subunit) if "{" in s.name else s.name,
        _unit_factor(s, h) if s.kind == "number" else None,
        None if s.kind == "number" else RENDER[s.kind],
    )


@dataclass(slots=True)
class TableDriver:
    """A driver declared as tables.

    status_specs/tpl_status: when either is given, the reading has a "status" field: the sorted,
    space-separated tokens of every matched flag word (and of the TPL status byte when
    tpl_status), or "OK" when none is set. alarm_rules: when given, alarms() returns all five
    flags (dry, reverse, leak, burst, tamper); otherwise None (the meter reports no such flags).
    """

    name: str
    detect: tuple[Detect, ...] = ()
    aliases: tuple[str, ...] = ()
    field_specs: tuple[FieldSpec, ...] = ()
    text_specs: tuple[TextSpec, ...] = ()
    status_specs: tuple[StatusSpec, ...] = ()
    tpl_status: bool = False
    tpl_mfct_bits: tuple[tuple[int, str], ...] = ()  # names of the TPL status bits 0xE0
    alarm_rules: tuple[AlarmRule, ...] = ()
    _plans: dict[bytes, _Plan] = field(default_factory=dict, repr=False, compare=False)
    _flags: dict[tuple[bytes, int], _FlagReading] = field(
        default_factory=dict, repr=False, compare=False
    )
    # per sequence of record headers (a meter sends the same few layouts): the steps that set
    # the same fields in the same order as walking the records one by one would
    _layouts: dict[tuple[bytes, ...], tuple[_Step, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def fields(self, telegram: Telegram) -> dict[str, object]:
        return self.decode(telegram)[0]

    def alarms(self, telegram: Telegram) -> dict[str, bool] | None:
        return self.decode(telegram)[1]

    def decode(self, telegram: Telegram) -> tuple[dict[str, object], dict[str, bool] | None]:
        """The first record that matches a field names it (the fields in that order), then the
        flag words' text fields, status tokens and alarms."""
        out: dict[str, object] = {}
        tokens: list[str] = []
        alarms: dict[str, bool] | None = None
        records = telegram.records
        heads = tuple([rec.header.difvif for rec in records])
        layout = self._layouts.get(heads)
        if layout is None:
            layout = self._layout(records, heads)
        for index, fields, plan, text_at in layout:
            rec = records[index]
            value = rec.value
            for name, unit_factor, render in fields:
                if render is not None:
                    out[name] = render(rec)
                elif unit_factor == 1.0 and type(value) is int:
                    out[name] = value  # what scaled_number gives for it
                else:
                    out[name] = scaled_number(value, unit_factor)
            if plan is not None:
                raw = rec.raw
                flags = int.from_bytes(raw, "little") if raw else flag_value(rec)
                seen = self._flags.get((plan.key, flags))
                if seen is None:
                    seen = self._read_flags(plan, flags)
                texts, flag_tokens, alarm_names = seen
                for at in text_at:
                    name, text = texts[at]
                    out[name] = text
                tokens.extend(flag_tokens)
                if plan.alarms:
                    if alarms is None:
                        alarms = dict.fromkeys(ALARM_NAMES, False)
                    for alarm in alarm_names:
                        alarms[alarm] = True
        if self.status_specs or self.tpl_status:
            if self.tpl_status and telegram.tpl is not None and telegram.tpl.status:
                # (no status byte, or 0: no tokens)
                tokens.extend(tpl_status_tokens(telegram.tpl.status, self.tpl_mfct_bits))
            out["status"] = " ".join(sorted(set(tokens))) if tokens else "OK"
        return out, alarms

    def _layout(self, records: tuple[Record, ...], heads: tuple[bytes, ...]) -> tuple[_Step, ...]:
        """The steps for one sequence of record headers: which record names which field first
        (a field is named once, by the first record that matches it)."""
        plans = self._plans
        named: set[str] = set()
        steps: list[_Step] = []
        later = [s for s in self.field_specs if s.match.index > 1]  # the Nth matching record
        seen = [0] * len(later)
        for index, rec in enumerate(records):
            h = rec.header
            plan = plans.get(h.difvif)
            if plan is None:
                if len(plans) >= MAX_PLANS:
                    plans.clear()
                plan = plans[h.difvif] = self._plan(h)
            fields = []
            for spec in plan.fields:
                if spec[0] not in named:
                    named.add(spec[0])
                    fields.append(spec)
            for at, s in enumerate(later):
                if s.match.matches(h):
                    seen[at] += 1
                    spec = _field(s, h)
                    if seen[at] == s.match.index and spec[0] not in named:
                        named.add(spec[0])
                        fields.append(spec)
            flagged = bool(plan.texts or plan.status or plan.alarms)
            text_at = []
            if flagged:
                for at, text in enumerate(plan.texts):
                    if text.name not in named:
                        named.add(text.name)
                        text_at.append(at)
            if fields or flagged:
                steps.append((index, tuple(fields), plan if flagged else None, tuple(text_at)))
        if len(self._layouts) >= MAX_PLANS:
            self._layouts.clear()
        layout = self._layouts[heads] = tuple(steps)
        return layout

    def _read_flags(self, plan: _Plan, flags: int) -> _FlagReading:
        """What one flag word says under a plan (kept: a meter repeats the same few words)."""
        seen = (
            tuple((t.name, t.render(flags)) for t in plan.texts),
            tuple(tok for s in plan.status for tok in s.lookup.tokens(flags)),
            tuple(a.alarm for a in plan.alarms if flags & a.bits),
        )
        if len(self._flags) >= MAX_PLANS:
            self._flags.clear()
        self._flags[(plan.key, flags)] = seen
        return seen

    def _plan(self, h: RecordHeader) -> _Plan:
        fields = tuple(
            _field(s, h) for s in self.field_specs if s.match.index == 1 and s.match.matches(h)
        )
        return _Plan(
            key=h.difvif,
            fields=fields,
            texts=tuple(t for t in self.text_specs if t.match.matches(h)),
            status=tuple(s for s in self.status_specs if s.match.matches(h)),
            alarms=tuple(a for a in self.alarm_rules if a.match.matches(h)),
        )

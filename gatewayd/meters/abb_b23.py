"""The ABB B23 electricity meter ("abbb23", as wmbusmeters names it).

Quantities are told apart by subunit: 0 active import, 1 active export, 2 reactive import,
3 reactive export, 4 apparent import, 5 apparent export, 6-8 net active / reactive / apparent.
Phases are marked by the manufacturer VIFE pair FF 0n (n = 1-3 phase Ln; 5-7 line to line
L1-L2, L2-L3, L3-L1); resettable counters by FF 72. The meter also sends records with a
manufacturer VIF (FF xx): transformer ratios, flags, frequency, power factors and phase angles.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, TextSpec, key

PLAIN = (0x00,)  # a VIFE 00 after the VIF (the meter sends it on its plain totals)
RESETTABLE = (0x7F, 0x172)
PHASES = (1, 2, 3)
TARIFFS = (1, 2, 3, 4)


def _phase(n: int) -> tuple[int, ...]:
    return (0x7F, 0x100 | n)


def _m(vif: str, u: int = 0, t: int = 0, s: int = 0, c: tuple[int, ...] | None = ()) -> Match:
    return Match(vif=vif, storage=(s, s), tariff=(t, t), subunit=(u, u), combinables=c)


def _energy(name: str, u: int, unit: str, c: tuple[int, ...] = ()) -> tuple[FieldSpec, ...]:
    """A subunit's total (name_unit) and its phases (name_l1_kwh ...: wmbusmeters names the
    phase values in kWh whatever the subunit holds)."""
    return (
        FieldSpec(f"{name}_{unit}", _m("energy", u=u, c=c), unit=unit),
        *(
            FieldSpec(f"{name}_l{n}_{unit if u >= 6 else 'kwh'}", _m("energy", u=u, c=_phase(n)),
                      unit=unit if u >= 6 else "kwh")
            for n in PHASES
        ),
    )  # fmt: skip


def _tariffs(name: str, u: int, unit: str, c: tuple[int, ...] = ()) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(f"{name}_tariff_{t}_{unit}", _m("energy", u=u, t=t, c=c), unit=unit)
        for t in TARIFFS
    )


def _power(name: str, u: int) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec(f"{name}_kw", _m("power", u=u, c=PLAIN), unit="kw"),
        *(FieldSpec(f"{name}_l{n}_kw", _m("power", u=u, c=_phase(n)), unit="kw") for n in PHASES),
    )


def _vendor(name: str, hexkey: str, scale: float = 1.0) -> FieldSpec:
    return FieldSpec(name, key(hexkey), unit="", scale=scale)


def _vendor_phases(
    name: str, suffix: str, hexkey: str, scale: float = 1.0
) -> tuple[FieldSpec, ...]:
    """name_suffix from the key, name_l<n>_suffix from the key followed by FF 8n 00."""
    return (
        _vendor(f"{name}_{suffix}", f"{hexkey}00", scale),
        *(_vendor(f"{name}_l{n}_{suffix}", f"{hexkey}FF8{n}00", scale) for n in PHASES),
    )


def _flags(name: str, hexkey: str, word: str, default: str, bits: int = 64) -> TextSpec:
    return TextSpec(name, key(hexkey), BitLookup((), mask=(1 << bits) - 1, unknown=word), default)


ERROR_FLAGS = _flags("error_flags", "07FFA600", "ERROR_FLAGS", "OK")
WARNING_FLAGS = _flags("warning_flags", "07FFA700", "WARNING_FLAGS", "OK")
ALARM_FLAGS = _flags(
    "alarm_flags", "07FFA900", "ALARM_FLAGS", "OK", bits=60
)  # as wmbusmeters masks it


def abbb23() -> TableDriver:
    return TableDriver(
        name="abbb23",
        detect=(Detect("ABB", 0x20, 0x02),),
        field_specs=(
            *_energy("total_energy_consumption", 0, "kwh", PLAIN),
            *_tariffs("total_energy_consumption", 0, "kwh", PLAIN),
            *_energy("total_energy_production", 1, "kwh", PLAIN),
            *_tariffs("total_energy_production", 1, "kwh", PLAIN),
            *_energy("total_reactive_energy_consumption", 2, "kvarh"),
            *_tariffs("total_reactive_energy_consumption", 2, "kvarh"),
            *_energy("total_reactive_energy_production", 3, "kvarh"),
            *_tariffs("total_reactive_energy_production", 3, "kvarh"),
            *_energy("total_apparent_energy_consumption", 4, "kvah"),
            *_energy("total_apparent_energy_production", 5, "kvah"),
            *_energy("total_net_energy", 6, "kwh"),
            *_energy("total_net_reactive_energy", 7, "kvarh"),
            *_energy("total_net_apparent_energy", 8, "kvah"),
            FieldSpec("resettable_energy_consumption_kwh", _m("energy", c=RESETTABLE), unit="kwh"),
            FieldSpec(
                "resettable_energy_production_kwh", _m("energy", u=1, c=RESETTABLE), unit="kwh"
            ),
            FieldSpec(
                "resettable_reactive_energy_consumption_kwh",
                _m("energy", u=2, c=RESETTABLE),
                unit="kwh",
            ),
            FieldSpec(
                "resettable_reactive_energy_production_kwh",
                _m("energy", u=3, c=RESETTABLE),
                unit="kwh",
            ),
            *_power("active_consumption", 0),
            *_power("reactive_consumption", 2),
            *_power("apparent_consumption", 4),
            *(FieldSpec(f"voltage_l{n}_n_v", _m("voltage", c=_phase(n)), unit="v") for n in PHASES),
            FieldSpec("voltage_l1_l2_v", _m("voltage", c=_phase(5)), unit="v"),
            FieldSpec("voltage_l2_l3_v", _m("voltage", c=_phase(6)), unit="v"),
            FieldSpec("voltage_l3_l1_v", _m("voltage", c=_phase(7)), unit="v"),
            *(FieldSpec(f"current_l{n}_a", _m("current", c=_phase(n)), unit="a") for n in PHASES),
            FieldSpec("firmware_version", _m("firmware version", c=PLAIN), kind="text"),
            FieldSpec("product_no", key("0DFFAA00"), kind="ascii"),
            _vendor("active_tariff_nr", "01FF9300"),
            _vendor("ct_numerator_factor", "04FFA015"),
            _vendor("vt_numerator_factor", "04FFA115"),
            _vendor("ct_denominator_factor", "04FFA215"),
            _vendor("vt_denominator_factor", "04FFA315"),
            _vendor("power_fail_counter", "04FF9800"),
            _vendor("frequency_hz", "0AFFD900", 0.01),
            _vendor("power_factor", "02FFE000", 0.001),
            *(_vendor(f"power_l{n}_factor", f"02FFE0FF8{n}00", 0.001) for n in PHASES),
            _vendor("power_phase_angle_deg", "02FFD200", 0.1),
            *(_vendor(f"phase_angle_power_l{n}_deg", f"02FFD2FF8{n}00", 0.1) for n in PHASES),
            *_vendor_phases("current_quadrant", "nr", "01FF97"),
            _vendor("energy_co2_kg", "0EFFF9C400", 0.01),
            _vendor("co2_conversion_factor", "04FFA400"),
            _vendor("energy_currency_counter", "0EFFF9C900"),
            _vendor("currency_conversion_factor", "04FFA500"),
            *(
                FieldSpec(f"digital_input_{u - 2}_counter", _m("cumulation counter", u=u))
                for u in (3, 4)
            ),
        ),
        text_specs=(
            ERROR_FLAGS,
            WARNING_FLAGS,
            _flags("information_flags", "07FFA800", "INFORMATION_FLAGS", ""),
            ALARM_FLAGS,
            TextSpec("unknown_vif_FFAD", key("01FFAD00"), BitLookup((), 0xFF, "UNKNOWN"), "OK"),
            *(
                TextSpec(
                    f"digital_output_{u}", _m("digital output", u=u), BitLookup((), 0xFF, "OUTPUT")
                )
                for u in (1, 2)
            ),
            *(
                TextSpec(
                    f"digital_input_{u - 2}", _m("digital input", u=u), BitLookup((), 0xFF, "INPUT")
                )
                for u in (3, 4)
            ),
            *(
                TextSpec(
                    f"digital_historic_input_{u - 2}",
                    _m("digital input", u=u, s=1),
                    BitLookup((), 0xFF, "INPUT"),
                )
                for u in (3, 4)
            ),
        ),
        status_specs=tuple(
            StatusSpec(f.match, f.lookup)
            for f in (ERROR_FLAGS, WARNING_FLAGS, ALARM_FLAGS)
            if isinstance(f.lookup, BitLookup)
        ),
        tpl_status=True,
    )

"""More heat meters read from standard records, named as wmbusmeters names them: Maddalena
microClima ("microclima"), Sensus PolluCom F ("pollucomf"), Qundis Q heat 5 US ("qheat5us"),
Landis+Gyr/Qundis Q heat 5.5 US ("qheat_55_us"; Q heat 5 US is by name only: auto-detection
gives its meters to qheatv2), Engelmann SensoStar ("sensostar"), Diehl
Sharky 775 ("sharky"), Sontex Supercal ("supercal") and Techem vario 4.11 / vario 4.51 MID
("vario411", "vario451mid").

Storage numbers name the history: the microClima's consumption_at_set_date_N is storage N, its
set_date_N_date the billing date (storage 1) N - 1 months back; the Q heat 5.5 US's
prev_N_month is storage N + 1; the SensoStar's target_N is storage N. Tariff 1 on the Sharky
is its cooling register, tariff 2 of the volume its second volume input.
"""

from __future__ import annotations

import calendar

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, TextSpec
from gatewayd.meters.synth import SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

_ERRORS = Match(vif="error flags")
_ERROR_FLAGS = BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")


def _m(
    vif: str, s: int = 0, t: int = 0, u: int = 0, f: str = "instantaneous", c: tuple[int, ...] = ()
) -> Match:
    return Match(vif=vif, function=f, storage=(s, s), tariff=(t, t), subunit=(u, u), combinables=c)


def _text(name: str, vif: str) -> FieldSpec:
    return FieldSpec(name, Match(vif=vif), kind="text")


METER_DATETIME = FieldSpec("meter_datetime", _m("datetime"), kind="minutes")
FLOW_TEMPERATURE = FieldSpec("flow_temperature_c", _m("flow temperature"), unit="c")
RETURN_TEMPERATURE = FieldSpec("return_temperature_c", _m("return temperature"), unit="c")
VOLUME_FLOW = FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h")
ON_TIME = FieldSpec("on_time_h", _m("on time"), unit="h")
ON_TIME_AT_ERROR = FieldSpec("on_time_at_error_h", _m("on time", f="error"), unit="h")
OPERATING_TIME = FieldSpec("operating_time_h", _m("operating time"), unit="h")

MICROCLIMA_HISTORY = range(1, 32)


def _months_back(date: str, months: int) -> str | None:
    """date (YYYY-MM-DD) `months` months earlier, the day clamped to that month's last."""
    try:
        y, m, d = int(date[:4]), int(date[5:7]), int(date[8:10])
    except ValueError:
        return None
    total = y * 12 + (m - 1) - months
    ny, nm = divmod(total, 12)
    nm += 1
    if not 1 <= ny <= 9999 or not 1 <= d <= 31:
        return None
    return f"{ny:04d}-{nm:02d}-{min(d, calendar.monthrange(ny, nm)[1]):02d}"


def _microclima_dates(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    set_date = next(
        (
            r.value
            for r in telegram.records
            if r.header.vif_range == "date"
            and r.header.storage == 1
            and r.header.function == "instantaneous"
        ),
        None,
    )
    out: dict[str, object] = {}
    for n in MICROCLIMA_HISTORY:
        if f"consumption_at_set_date_{n}_kwh" in fields:
            out[f"set_date_{n}_date"] = (
                _months_back(set_date, n - 1) if isinstance(set_date, str) else None
            )
    return out


def microclima() -> SynthDriver:
    base = TableDriver(
        name="microclima",
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_volume_m3", _m("volume"), unit="m3"),
            VOLUME_FLOW,
            FieldSpec("power_kw", _m("power"), unit="kw"),
            FieldSpec("temperature_difference_c", _m("temperature difference"), unit="c"),
            *(
                FieldSpec(f"consumption_at_set_date_{n}_kwh", _m("energy", s=n), unit="kwh")
                for n in MICROCLIMA_HISTORY
            ),
            METER_DATETIME,
            _text("model_version", "model version"),
            _text("parameter_set", "parameter set id"),
            FLOW_TEMPERATURE,
            RETURN_TEMPERATURE,
        ),
        status_specs=(StatusSpec(_ERRORS, _ERROR_FLAGS),),
        tpl_status=True,
    )
    return SynthDriver(
        name="microclima",
        base=base,
        calc=_microclima_dates,
        detect=(Detect("MAD", 0x00, 0x04),),
        outputs=tuple(f"set_date_{n}_date" for n in MICROCLIMA_HISTORY),
    )


def pollucomf() -> TableDriver:
    return TableDriver(
        name="pollucomf",
        detect=(Detect("SEN", 0x1D, 0x04),),
        field_specs=(
            FieldSpec("total_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("power_kw", _m("power"), unit="kw"),
            FieldSpec("flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("forward_c", _m("flow temperature"), unit="c"),
            FieldSpec("return_c", _m("return temperature"), unit="c"),
            FieldSpec("target_date", _m("date", s=1), kind="date"),
            FieldSpec("target_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("target_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("forward_max_c", _m("flow temperature", s=1, f="maximum"), unit="c"),
            FieldSpec("return_max_c", _m("return temperature", s=1, f="maximum"), unit="c"),
            FieldSpec("flow_max_m3h", _m("volume flow", s=1, f="maximum"), unit="m3h"),
            OPERATING_TIME,
            ON_TIME,
            ON_TIME_AT_ERROR,
            METER_DATETIME,
        ),
        tpl_status=True,
    )


def qheat5us() -> TableDriver:
    return TableDriver(
        name="qheat5us",
        # by name only: wmbusmeters' qheatv2 also lists LSE 0x23 heat meters, and keeps them
        field_specs=(
            FieldSpec("total_kwh", _m("energy"), unit="kwh"),
            FieldSpec("target_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("target_date", _m("date", s=1), kind="date"),
            FieldSpec("meter_date_at_error", _m("date", f="error"), kind="date_or_empty"),
            _text("fabrication_no", "fabrication no"),
            METER_DATETIME,
        ),
        tpl_status=True,
    )


QHEAT55_MONTHS = range(2, 15)  # storage 2-14: prev_1_month .. prev_13_month


def qheat_55_us() -> TableDriver:
    return TableDriver(
        name="qheat_55_us",
        detect=(Detect("LUG", 0x07, 0x04), Detect("LUG", 0x0A, 0x04)),
        field_specs=(
            FieldSpec("device_datetime", _m("datetime"), kind="minutes"),
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("key_datetime", _m("datetime", s=1), kind="minutes"),
            FieldSpec("key_datetime_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("prev_month_datetime", _m("datetime", s=2), kind="minutes"),
            *(
                FieldSpec(f"prev_{n - 1}_month_kwh", _m("energy", s=n), unit="kwh")
                for n in QHEAT55_MONTHS
            ),
            FieldSpec("actuality_duration_h", _m("actuality duration"), unit="h"),
            FieldSpec("time_without_measurement_h", _m("on time", f="error"), unit="h"),
        ),
    )


SENSOSTAR_ERRORS = BitLookup(
    ((0x01, "ERROR_TEMP_SENSOR_1_CABLE_BREAK"), (0x02, "ERROR_TEMP_SENSOR_1_SHORT_CIRCUIT"),
     (0x04, "ERROR_TEMP_SENSOR_2_CABLE_BREAK"), (0x08, "ERROR_TEMP_SENSOR_2_SHORT_CIRCUIT"),
     (0x10, "ERROR_FLOW_MEASUREMENT_SYSTEM_ERROR"), (0x20, "ERROR_ELECTRONICS_DEFECT"),
     (0x40, "OK_INSTRUMENT_RESET"), (0x80, "OK_BATTERY_LOW")),
    mask=0xFF,
    unknown="ERROR_FLAGS",
)  # fmt: skip
SENSOSTAR_HISTORY = range(2, 33)


def sensostar() -> TableDriver:
    return TableDriver(
        name="sensostar",
        detect=(Detect("EFE", 0x00, 0x04),),
        field_specs=(
            FieldSpec("total_kwh", _m("energy"), unit="kwh"),
            *(FieldSpec(f"total_tariff{t}_kwh", _m("energy", t=t), unit="kwh") for t in (2, 3)),
            *(FieldSpec(f"total_subunit{u}_m3", _m("volume", u=u), unit="m3") for u in (1, 2, 3)),
            FieldSpec("total_water_m3", _m("volume"), unit="m3"),
            FieldSpec("total_water_tariff2_m3", _m("volume", t=2), unit="m3"),
            FieldSpec("target_water_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("power_kw", _m("power"), unit="kw"),
            FieldSpec("power_max_kw", _m("power", f="maximum"), unit="kw"),
            FieldSpec("flow_water_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("flow_water_max_m3h", _m("volume flow", f="maximum"), unit="m3h"),
            FieldSpec("forward_c", _m("flow temperature"), unit="c"),
            FieldSpec("return_c", _m("return temperature"), unit="c"),
            FieldSpec("difference_c", _m("temperature difference"), unit="c"),
            FieldSpec("target_date", _m("date", s=1), kind="date"),
            FieldSpec("target_kwh", _m("energy", s=1), unit="kwh"),
            *(
                FieldSpec(f"target_tariff{t}_kwh", _m("energy", s=1, t=t), unit="kwh")
                for t in (2, 3)
            ),
            *(
                FieldSpec(f"target_subunit{u}_m3", _m("volume", s=1, u=u), unit="m3")
                for u in (1, 2, 3)
            ),
            *(
                FieldSpec(f"target_{n}_kwh", _m("energy", s=n), unit="kwh")
                for n in SENSOSTAR_HISTORY
            ),
            METER_DATETIME,
            _text("fabrication_no", "fabrication no"),
            _text("model_version", "model version"),
            ON_TIME,
            _text("parameter_set", "parameter set id"),
        ),
        status_specs=(StatusSpec(_ERRORS, SENSOSTAR_ERRORS),),
        tpl_status=True,
    )


def sharky() -> TableDriver:
    return TableDriver(
        name="sharky",
        detect=(Detect("HYD", 0x20, 0x04), Detect("DME", 0x40, 0x04)),
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_energy_consumption_tariff1_kwh", _m("energy", t=1), unit="kwh"),
            FieldSpec("total_volume_m3", _m("volume"), unit="m3"),
            FieldSpec("total_volume_tariff2_m3", _m("volume", t=2), unit="m3"),
            VOLUME_FLOW,
            FieldSpec("power_kw", _m("power"), unit="kw"),
            FLOW_TEMPERATURE,
            RETURN_TEMPERATURE,
            FieldSpec("temperature_difference_c", _m("temperature difference"), unit="c"),
            FieldSpec("target_energy_consumption_kwh", _m("energy", s=5), unit="kwh"),
            FieldSpec("target_volume_m3", _m("volume", s=5), unit="m3"),
            FieldSpec("target_date", _m("date", s=5), kind="date"),
            OPERATING_TIME,
        ),
        # the meter's error flags are not interpreted: "OK" whenever it sends them
        text_specs=(TextSpec("status", _ERRORS, BitLookup((), mask=0), default="OK"),),
    )


def supercal() -> TableDriver:
    return TableDriver(
        name="supercal",
        detect=(Detect("SON", 0x1B, 0x04),),
        field_specs=(
            FieldSpec("total_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("target_kwh", _m("energy", s=20), unit="kwh"),
            FieldSpec("target_m3", _m("volume", s=20), unit="m3"),
            FieldSpec("target_date", _m("date", s=20), kind="date"),
            FieldSpec("power_kw", _m("power"), unit="kw"),
            METER_DATETIME,
            FLOW_TEMPERATURE,
            RETURN_TEMPERATURE,
            VOLUME_FLOW,
        ),
    )


def vario411() -> TableDriver:
    return TableDriver(
        name="vario411",
        detect=(Detect("TCH", 0x28, 0x04),),
        field_specs=(
            FieldSpec("target_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("target_date", _m("date", s=1), kind="date"),
        ),
    )


def vario451mid() -> TableDriver:
    return TableDriver(
        name="vario451mid",
        detect=(Detect("TCH", 0x17, 0x04),),
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("energy_at_old_date_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("old_date", _m("date", s=1), kind="date"),
            FieldSpec("energy_at_set_date_kwh", _m("energy", s=8), unit="kwh"),
            FieldSpec("set_date", _m("date", s=8), kind="date"),
        ),
    )

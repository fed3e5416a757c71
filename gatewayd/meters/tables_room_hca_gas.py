"""Room sensors, a heat cost allocator and a gas meter read from standard records, named as
wmbusmeters names them: Weptech Munia ("munia"), BMeters RFM-AMB ("rfmamb"), Sontex 868
("sontex868") and Itron/Actaris Unismart ("unismart").

The RFM-AMB gives the whole TPL status byte its own meaning (0x01 APP_BUSY, 0x02 APP_ERROR,
0x04 LOW_BATTERY, 0x08 MODULE_REMOVED, 0x10 SENSOR_READ_ERROR, 0x20 TEMP_OUT_OF_RANGE, 0x40
RH_OUT_OF_RANGE). Unismart's volumes are in uncorrected meter units (VIFE 3A); its status is
the raw 02FD74 word (STATUS_FLAGS_<hex>), "other" the manufacturer byte 017F; its model
version text (wmbusmeters' "version") is model_version.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, TextSpec, key


def _m(vif: str, s: int = 0, f: str = "instantaneous", c: tuple[int, ...] = ()) -> Match:
    return Match(vif=vif, function=f, storage=(s, s), combinables=c)


def munia() -> TableDriver:
    return TableDriver(
        name="munia",
        detect=(Detect("WEP", 0x02, 0x1B), Detect("WEP", 0x04, 0x1B)),
        field_specs=(
            FieldSpec("current_temperature_c", _m("external temperature"), unit="c"),
            FieldSpec("current_relative_humidity_rh", _m("relative humidity"), unit="rh"),
        ),
        status_specs=(
            StatusSpec(key("02FD971D"), BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")),
        ),
        tpl_status=True,
    )


RFMAMB_TPL_BITS = (
    (0x01, "APP_BUSY"), (0x02, "APP_ERROR"), (0x04, "LOW_BATTERY"), (0x08, "MODULE_REMOVED"),
    (0x10, "SENSOR_READ_ERROR"), (0x20, "TEMP_OUT_OF_RANGE"), (0x40, "RH_OUT_OF_RANGE"),
)  # fmt: skip


def _climate(quantity: str, vif: str, unit: str) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec(f"current_{quantity}_{unit}", _m(vif), unit=unit),
        FieldSpec(f"average_{quantity}_1h_{unit}", _m(vif, s=1), unit=unit),
        FieldSpec(f"average_{quantity}_24h_{unit}", _m(vif, s=2), unit=unit),
        FieldSpec(f"maximum_{quantity}_1h_{unit}", _m(vif, f="maximum"), unit=unit),
        FieldSpec(f"maximum_{quantity}_24h_{unit}", _m(vif, s=1, f="maximum"), unit=unit),
        FieldSpec(f"minimum_{quantity}_1h_{unit}", _m(vif, f="minimum"), unit=unit),
        FieldSpec(f"minimum_{quantity}_24h_{unit}", _m(vif, s=1, f="minimum"), unit=unit),
    )


def rfmamb() -> TableDriver:
    return TableDriver(
        name="rfmamb",
        detect=(Detect("BMT", 0x10, 0x1B),),
        field_specs=(
            *_climate("temperature", "external temperature", "c"),
            *_climate("relative_humidity", "relative humidity", "rh"),
            FieldSpec("device_datetime", _m("datetime"), kind="minutes"),
        ),
        tpl_status=True,
        tpl_mfct_bits=RFMAMB_TPL_BITS,
    )


def sontex868() -> TableDriver:
    return TableDriver(
        name="sontex868",
        detect=(Detect("SON", 0x16, 0x08),),
        field_specs=(
            FieldSpec("current_consumption_hca", _m("hca"), unit="hca"),
            FieldSpec("set_date", _m("date", s=1), kind="date"),
            FieldSpec("consumption_at_set_date_hca", _m("hca", s=1), unit="hca"),
            FieldSpec("current_temp_c", _m("flow temperature"), unit="c"),
            FieldSpec("current_room_temp_c", _m("external temperature"), unit="c"),
            FieldSpec("max_temp_c", _m("flow temperature", f="maximum"), unit="c"),
            FieldSpec(
                "max_temp_previous_period_c", _m("flow temperature", s=1, f="maximum"), unit="c"
            ),
            FieldSpec("device_datetime", _m("datetime"), kind="minutes"),
        ),
    )


UNCORRECTED = (0x3A,)


def unismart() -> TableDriver:
    return TableDriver(
        name="unismart",
        detect=(Detect("AMX", 0x01, 0x03),),
        field_specs=(
            FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text"),
            FieldSpec("total_datetime", _m("datetime"), kind="minutes"),
            FieldSpec("total_m3", _m("volume", c=UNCORRECTED), unit="m3"),
            FieldSpec("target_datetime", _m("datetime", s=1), kind="minutes"),
            FieldSpec("target_m3", _m("volume", s=1, c=UNCORRECTED), unit="m3"),
            # wmbusmeters calls it "version", which a reading uses for the device version byte
            FieldSpec("model_version", Match(vif="model version"), kind="text"),
            FieldSpec("supplier_info", key("01FD67"), kind="hex"),
            FieldSpec("parameter_set", Match(vif="parameter set id"), kind="text"),
            # the second date-time record is the meter's clock (the first is the total's)
            FieldSpec("meter_datetime", Match(vif="datetime", index=2), kind="minutes"),
        ),
        text_specs=(
            TextSpec("other", key("017F"), BitLookup((), mask=0xFF, unknown="OTHER_FLAGS")),
        ),
        status_specs=(
            StatusSpec(key("02FD74"), BitLookup((), mask=0xFFFF, unknown="STATUS_FLAGS")),
        ),
    )

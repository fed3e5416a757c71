"""Conditions a meter reports in its "status" tokens, named once for every consumer.

The normalised alarms (dry, reverse, leak, burst, tamper) are in a reading's "alarms"; the other
info codes a driver knows (low battery, Kamstrup's low ambient temperature or flow above Q4, a
heat meter's sensor errors, a pressure sensor's limits) are tokens of its "status" text. A
StatusFlag says which tokens make one condition, so that a sink can show it as on/off (Home
Assistant: a binary sensor) without knowing a vendor's spelling.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gatewayd.meters.model import Reading

MULTICAL21_VERSION = 0x1B


class FlagKind(enum.StrEnum):
    BATTERY = "battery"  # on: the battery is low
    COLD = "cold"  # on: too cold
    PROBLEM = "problem"  # on: something is wrong


@dataclass(frozen=True, slots=True)
class StatusFlag:
    key: str  # stable identifier (topic and unique_id part)
    label: str  # in words, for a person
    kind: FlagKind
    tokens: tuple[str, ...]  # on when any of these is a token of the reading's "status"
    primary: bool = True  # worth showing by default


# EN 13757-7 TPL status "power low" and the vendors' own low-battery bits.
BATTERY = StatusFlag(
    "battery_low", "Battery", FlagKind.BATTERY, ("LOW_BATTERY", "LOW_BATTERY_LEVEL", "POWER_LOW")
)

# Kamstrup water meters with the 32-bit info code (record 04FF23: flowIQ 2200, KWM): the
# bits that are not already normalised alarms.
KAMWATER_INFO32: tuple[StatusFlag, ...] = (
    StatusFlag(
        "low_ambient_temperature",
        "Low ambient temperature",
        FlagKind.COLD,
        ("LOW_ABIENT_TEMPERATURE",),
    ),
    StatusFlag("flow_above_q4", "Flow above Q4", FlagKind.PROBLEM, ("FLOW_ABOVE_Q4",)),
    StatusFlag("no_consumption", "No consumption", FlagKind.PROBLEM, ("NO_CONSUMPTION",), False),
)

KAMHEAT: tuple[StatusFlag, ...] = (
    StatusFlag(
        "voltage_interrupted", "Supply interrupted", FlagKind.PROBLEM, ("VOLTAGE_INTERRUPTED",)
    ),
    StatusFlag(
        "temperature_sensor_error",
        "Temperature sensor error",
        FlagKind.PROBLEM,
        (
            "SENSOR_ERROR",
            "SENSOR_T1_ABOVE_MEASURING_RANGE",
            "SENSOR_T2_ABOVE_MEASURING_RANGE",
            "SENSOR_T1_BELOW_MEASURING_RANGE",
            "SENSOR_T2_BELOW_MEASURING_RANGE",
            "SENSOR_T1_OUTSIDE_MEASURING_RANGE",
            "SENSOR_T2_OUTSIDE_MEASURING_RANGE",
            "SENSOR_T3_OUTSIDE_MEASURING_RANGE",
            "TEMP_DIFF_WRONG_POLARITY",
        ),
    ),
    StatusFlag(
        "flow_sensor_error",
        "Flow sensor error",
        FlagKind.PROBLEM,
        (
            "FLOW_SENSOR_WEAK_OR_AIR",
            "V1_AIR",
            "V2_AIR",
            "V1_COMMUNICATION_ERROR",
            "V2_COMMUNICATION_ERROR",
            "V1_WRONG_PULSE_FIGURE",
            "V2_WRONG_PULSE_FIGURE",
        ),
    ),
    StatusFlag(
        "external_alarm",
        "External alarm",
        FlagKind.PROBLEM,
        ("IN_A1_A2_EXTERNAL_ALARM", "IN_B1_B2_EXTERNAL_ALARM"),
    ),
)

KAMPRESS: tuple[StatusFlag, ...] = (
    StatusFlag("pressure_drop", "Pressure drop", FlagKind.PROBLEM, ("DROP",)),
    StatusFlag("pressure_surge", "Pressure surge", FlagKind.PROBLEM, ("SURGE",)),
    StatusFlag("pressure_high", "Pressure high", FlagKind.PROBLEM, ("HIGH",)),
    StatusFlag("pressure_low", "Pressure low", FlagKind.PROBLEM, ("LOW",)),
    StatusFlag("pressure_transient", "Pressure fluctuating", FlagKind.PROBLEM, ("TRANSIENT",)),
    StatusFlag("sensor_error", "Sensor error", FlagKind.PROBLEM, ("COMM_ERROR",)),
)


def status_flags(reading: Reading) -> tuple[StatusFlag, ...]:
    """The conditions this meter's status can report (empty for a meter without "status").

    Every meter with a status text gets the battery flag (the TPL status byte has a "power
    low" bit); the Kamstrup drivers add the info codes their telegrams carry.
    """
    if not isinstance(reading.values.get("status"), str):
        return ()
    meter = reading.meter
    if meter == "kamwater":
        # MULTICAL 21 (version 0x1B) sends the 16-bit info code; the others the 32-bit one.
        # Decided by the model, not by the records of one telegram, so the set stays put.
        info32 = reading.identity.version != MULTICAL21_VERSION
        return (BATTERY, *KAMWATER_INFO32) if info32 else (BATTERY,)
    if meter == "kamheat":
        return (BATTERY, *KAMHEAT)
    if meter == "kampress":
        return KAMPRESS  # mains-powered sensor with no battery bit
    return (BATTERY,)

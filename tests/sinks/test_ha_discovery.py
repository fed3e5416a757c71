"""Home Assistant discovery: every config of every driver's vectors checked against Home
Assistant's own MQTT discovery schema (ha_schema.py), and every value template rendered with
Jinja against the payload it will read, as Home Assistant does."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
import pytest

from gatewayd import __version__
from gatewayd.meters.model import READING_KEYS, Reading, from_dict
from gatewayd.meters.roles import Role
from gatewayd.sinks.ble.records import record_from_reading
from gatewayd.sinks.mqtt.discovery import DiscoveryConfig, config_key, discovery_configs
from gatewayd.sinks.mqtt.ha_gateway import gateway_configs
from gatewayd.sinks.mqtt.payload import Topics
from tests.conftest import REPO, shared_vector_files
from tests.sinks import ha_schema
from tests.sinks.mqtt_readings import KAMSTRUP
from tests.sinks.test_mqtt_payload import _decoded_readings

TOPICS = Topics("metersync", "site-17")
HA = "homeassistant"
NODE = "metersync_76348799"
JINJA = jinja2.Environment(autoescape=False)
HEALTH = (
    {"state": "ok", "last_seen": "2026-11-26T08:40:30Z"},
    {"state": "silent", "last_seen": "2026-11-26T08:40:30Z"},
    {"state": "never_heard", "last_seen": None},
)
STATS = {
    "timestamp": "2026-11-26T08:40:30Z",
    "mqtt": {"queued": 3, "dropped": 0, "connected": 1},
    "uptime_s": 3600,
    "frames": 120,
    "radio_state": "up",
    "frames_per_s": 0.033,
}


def render(template: str, payload: dict[str, Any]) -> str:
    return JINJA.from_string(template).render(value_json=payload)


@cache
def vector_readings() -> list[tuple[str, Reading]]:
    return [(name, from_dict(r)) for name, r in _decoded_readings()]


def by_object(configs: list[DiscoveryConfig]) -> dict[str, dict[str, Any]]:
    return {c.topic.split("/")[3]: dict(c.config) for c in configs}


def kamwater(**changes: Any) -> Reading:
    return from_dict({**KAMSTRUP, "meter": "kamwater", **changes})


def check_rendering(component: str, cfg: dict[str, Any], payload: dict[str, Any]) -> str | None:
    """What Home Assistant would make of the template's output; None when it is fine."""
    out = render(cfg["value_template"], payload)
    if component == "binary_sensor":
        return None if out in (cfg["payload_on"], cfg["payload_off"]) else f"binary {out!r}"
    if out == "None":  # Home Assistant: unknown
        return None
    dc = cfg.get("device_class")
    if dc == "timestamp":
        datetime.fromisoformat(out)
        return None
    if dc == "enum":
        return None if out in cfg["options"] else f"not an option: {out!r}"
    if "state_class" in cfg or "unit_of_measurement" in cfg:
        float(out)
        return None
    return None if out.strip() else "empty text state"


# ------------------------------------------------------------------ against HA's schema


def test_the_validator_refuses_what_home_assistant_refuses() -> None:
    good = by_object(discovery_configs(kamwater(), TOPICS, HA))["total_m3"]
    assert ha_schema.problems("sensor", good) == []
    bad_changes: list[dict[str, Any]] = [
        {"unit_of_measurment": "m³"},  # misspelt key
        {"unit_of_measurement": "m3"},  # not a Home Assistant unit
        {"state_class": "measurement"},  # water is a total
        {"device_class": "volume_flow"},  # no such class
        {"entity_category": "config"},
        {"options": ["a"]},
        {"device": {"name": "x"}},  # no identifier
        {"origin": {"sw_version": "1"}},  # no name
        {"availability": [{"topic": "x"}]},  # exclusive with availability_topic
    ]
    for change in bad_changes:
        assert ha_schema.problems("sensor", {**good, **change}), change
    missing = {k: v for k, v in good.items() if k != "state_topic"}
    assert ha_schema.problems("sensor", missing)
    enum = {**good, "device_class": "enum", "options": ["up"]}
    assert ha_schema.problems("sensor", enum)  # options with a unit and a state class
    assert ha_schema.problems("binary_sensor", {**good})  # sensor keys on a binary sensor


def test_every_config_of_every_vector_is_valid_and_renders() -> None:
    readings = vector_readings()
    assert len(readings) >= (250 if shared_vector_files() else 8)  # shared corpus: when present
    failures: dict[str, list[str]] = {}
    drivers, configs_seen = set(), 0
    for name, reading in readings:
        drivers.add(reading.meter)
        configs = discovery_configs(reading, TOPICS, HA)
        payload = json.loads(reading.json_bytes())
        ids = [c.config["unique_id"] for c in configs]
        errs = [f"duplicate unique_id {i}" for i in set(ids) if ids.count(i) > 1]
        for c in configs:
            configs_seen += 1
            prefix, component, node, obj, last = c.topic.split("/")
            assert (prefix, node, last) == (HA, NODE.replace("76348799", reading.id), "config")
            cfg = dict(c.config)
            errs += [f"{obj}: {p}" for p in ha_schema.problems(component, cfg)]
            feeds = HEALTH if cfg["state_topic"] == TOPICS.health(reading.id) else (payload,)
            for p in feeds:
                try:
                    if (why := check_rendering(component, cfg, p)) is not None:
                        errs.append(f"{obj}: {why}")
                except (ValueError, jinja2.TemplateError) as exc:
                    errs.append(f"{obj}: template {cfg['value_template']!r}: {exc}")
        if errs:
            failures[name] = errs[:4]
    assert failures == {}
    assert configs_seen > 10 * len(readings)
    assert len(drivers) >= 5


def test_gateway_configs_are_valid_and_render() -> None:
    configs = gateway_configs(TOPICS, HA)
    assert {c.topic.split("/")[3] for c in configs} == {
        "radio_state", "outbox_backlog", "frames_per_s", "uptime",
    }  # fmt: skip
    rendered = {}
    for c in configs:
        cfg = dict(c.config)
        assert ha_schema.problems("sensor", cfg) == []
        assert cfg["state_topic"] == "metersync/site-17/stats"
        assert check_rendering("sensor", cfg, STATS) is None
        rendered[c.topic.split("/")[3]] = render(cfg["value_template"], STATS)
    assert rendered == {
        "radio_state": "up",
        "outbox_backlog": "3",
        "frames_per_s": "0.033",
        "uptime": "3600",
    }
    no_radio = {k: v for k, v in STATS.items() if k != "radio_state"}
    radio = next(c for c in configs if c.topic.endswith("/radio_state/config"))
    assert render(radio.config["value_template"], no_radio) == "None"


# ------------------------------------------------------------------ device, names, identity


def test_device_named_in_full_and_via_the_gateway() -> None:
    cfg = discovery_configs(kamwater(), TOPICS, HA)[0].config
    assert cfg["device"] == {
        "identifiers": [NODE],
        "name": "Kamstrup MULTICAL 21 76348799",
        "manufacturer": "Kamstrup",
        "model": "MULTICAL 21",
        "model_id": "kamwater",
        "serial_number": "76348799",
        "via_device": "metersync_gateway_site-17",
    }
    gateway = gateway_configs(TOPICS, HA)[0].config["device"]
    assert cfg["device"]["via_device"] in gateway["identifiers"]
    named = discovery_configs(kamwater(name="Kitchen cold"), TOPICS, HA)[0].config["device"]
    assert named["name"] == "Kitchen cold"
    by_id = discovery_configs(kamwater(name="76348799"), TOPICS, HA)[0].config["device"]
    assert by_id["name"] == "Kamstrup MULTICAL 21 76348799"  # the default name is the id
    flowiq = kamwater(manufacturer="KAW", version=0x3A)
    assert discovery_configs(flowiq, TOPICS, HA)[0].config["device"]["name"] == (
        "Kamstrup flowIQ 2200 76348799"
    )
    odd = from_dict({**KAMSTRUP, "manufacturer": "QQQ", "meter": "oms", "alarms": None})
    assert discovery_configs(odd, TOPICS, HA)[0].config["device"]["name"] == "QQQ oms 76348799"


def test_origin_block_names_gatewayd_and_its_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for c in [*discovery_configs(kamwater(), TOPICS, HA), *gateway_configs(TOPICS, HA)]:
        origin = c.config["origin"]
        assert origin["name"] == "gatewayd"
        assert origin["sw_version"] == project["version"] == __version__
        # no support_url: the project publishes no URL (pyproject has none)
        assert "support_url" not in origin and "urls" not in project


def test_entity_names_are_words_without_units() -> None:
    names = {k: v["name"] for k, v in by_object(discovery_configs(kamwater(), TOPICS, HA)).items()}
    assert names["total_m3"] == "Total volume"
    assert names["target_m3"] == "Target volume"
    assert names["flow_temperature_c"] == "Flow temperature"
    assert names["min_external_temperature_last_month_c"] == ("Min external temperature last month")
    assert names["rssi_dbm"] == "Signal strength"
    unit_words = {"m3", "m3h", "c", "kwh", "mwh", "gj", "kw", "bar", "dbm", "hca", "rh"}
    for name, reading in vector_readings():
        for c in discovery_configs(reading, TOPICS, HA):
            words = set(c.config["name"].lower().split())
            assert not words & unit_words, (name, c.config["name"])


def test_unique_ids_do_not_change_with_the_gateway_id() -> None:
    a = discovery_configs(kamwater(), Topics("metersync", "pi-kitchen"), HA)
    b = discovery_configs(kamwater(), Topics("metersync", "pi-cellar"), HA)
    assert [c.topic for c in a] == [c.topic for c in b]
    assert [c.config["unique_id"] for c in a] == [c.config["unique_id"] for c in b]
    assert {json.dumps(c.config["device"]["identifiers"]) for c in a + b} == {f'["{NODE}"]'}
    assert a[0].config["state_topic"] == "metersync/pi-kitchen/meters/76348799"
    assert b[0].config["state_topic"] == "metersync/pi-cellar/meters/76348799"
    other = discovery_configs(kamwater(), Topics("site2", "pi-kitchen"), HA)
    assert other[0].config["unique_id"].startswith("site2_76348799_")


# ------------------------------------------------------------------ which entities, which state


def test_primary_entities_are_enabled_secondary_ones_are_not() -> None:
    configs = by_object(discovery_configs(kamwater(), TOPICS, HA))
    enabled = {k for k, v in configs.items() if v.get("enabled_by_default", True)}
    assert enabled == {
        "total_m3", "flow_temperature_c", "status", "alarm_dry", "alarm_reverse", "alarm_leak",
        "alarm_burst", "alarm_tamper", "flag_battery_low", "reception", "last_seen",
    }  # fmt: skip
    assert set(configs) - enabled == {
        "rssi_dbm", "target_m3", "min_external_temperature_last_month_c", "current_status",
    }  # fmt: skip
    heat = from_dict(
        {"id": "78780102", "meter": "kamheat", "media": "heat",
         "total_energy_consumption_kwh": 723, "target_energy_kwh": 239,
         "volume_flow_m3h": 0.237, "max_flow_m3h": 0.5, "power_kw": 1.9,
         "max_power_kw": 2.5, "t1_temperature_c": 17.24, "total_volume_m3": 3.1}
    )  # fmt: skip
    configs = by_object(discovery_configs(heat, TOPICS, HA))
    enabled = {k for k, v in configs.items() if v.get("enabled_by_default", True)}
    assert enabled == {
        "total_energy_consumption_kwh", "volume_flow_m3h", "power_kw", "t1_temperature_c",
        "total_volume_m3", "reception", "last_seen",
    }  # fmt: skip


def test_an_empty_status_is_shown_as_ok_never_blank() -> None:
    configs = by_object(discovery_configs(kamwater(current_status="", status="OK"), TOPICS, HA))
    payload = json.loads(kamwater(current_status="", status="OK").json_bytes())
    assert render(configs["current_status"]["value_template"], payload) == "OK"
    assert render(configs["status"]["value_template"], payload) == "OK"
    assert (
        render(configs["current_status"]["value_template"], {**payload, "current_status": "DRY"})
        == "DRY"
    )


def test_kamstrup_no_value_temperature_is_null_for_every_consumer() -> None:
    r = kamwater()
    assert r.values["flow_temperature_c"] == 127  # the payload keeps what the meter sent ...
    payload = json.loads(r.json_bytes())
    assert payload["flow_temperature_c"] == 127
    assert payload["no_value"] == ["flow_temperature_c"]  # ... and says it means no value
    field = r.named("flow_temperature_c")
    assert field is not None and field.no_value and field.number is None
    assert r.headline(Role.WATER_TEMPERATURE) is None  # BLE's water temperature, the journal
    ble = record_from_reading(r)
    assert (ble.water_c, ble.ambient_c) == (None, 19)
    tpl = by_object(discovery_configs(r, TOPICS, HA))["flow_temperature_c"]["value_template"]
    assert render(tpl, payload) == "None"  # Home Assistant: unknown, not 127 °C
    warm = kamwater(flow_temperature_c=14)
    assert "no_value" not in json.loads(warm.json_bytes())
    assert render(tpl, json.loads(warm.json_bytes())) == "14"
    assert warm.headline(Role.WATER_TEMPERATURE) == 14.0
    other = from_dict({**KAMSTRUP, "meter": "oms", "flow_temperature_c": 127})
    assert other.headline(Role.WATER_TEMPERATURE) == 127.0  # only Kamstrup water says 127 = none


def test_health_feeds_a_problem_sensor_and_last_seen() -> None:
    configs = by_object(discovery_configs(kamwater(), TOPICS, HA))
    reception, seen = configs["reception"], configs["last_seen"]
    assert reception["state_topic"] == seen["state_topic"] == "metersync/site-17/health/76348799"
    assert (reception["device_class"], seen["device_class"]) == ("problem", "timestamp")
    states = [render(reception["value_template"], h) for h in HEALTH]
    assert states == ["OFF", "ON", "ON"]
    assert [render(seen["value_template"], h) for h in HEALTH] == [
        "2026-11-26T08:40:30Z", "2026-11-26T08:40:30Z", "None",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "on"),
    [
        ("OK", set()),
        ("LOW_BATTERY", {"flag_battery_low"}),
        (
            "FLOW_ABOVE_Q4 LOW_ABIENT_TEMPERATURE",
            {"flag_flow_above_q4", "flag_low_ambient_temperature"},
        ),
        ("NO_CONSUMPTION POWER_LOW", {"flag_no_consumption", "flag_battery_low"}),
    ],
)
def test_kamstrup_info_codes_are_binary_sensors(status: str, on: set[str]) -> None:
    flowiq = kamwater(manufacturer="KAW", version=0x3A, status=status)
    configs = by_object(discovery_configs(flowiq, TOPICS, HA))
    flags = {k: v for k, v in configs.items() if k.startswith("flag_")}
    assert set(flags) == {
        "flag_battery_low", "flag_low_ambient_temperature", "flag_flow_above_q4",
        "flag_no_consumption",
    }  # fmt: skip
    assert flags["flag_battery_low"]["device_class"] == "battery"
    assert flags["flag_low_ambient_temperature"]["device_class"] == "cold"
    payload = json.loads(flowiq.json_bytes())
    assert {k for k, v in flags.items() if render(v["value_template"], payload) == "ON"} == on
    mc21 = by_object(discovery_configs(kamwater(status=status), TOPICS, HA))
    assert {k for k in mc21 if k.startswith("flag_")} == {"flag_battery_low"}  # 16-bit info


def test_heat_meter_flow_energy_power() -> None:
    # multical403/My403Cooling#1 expected fields (shared vectors), abridged.
    heat = {
        "id": "78780102",
        "meter": "kamheat",
        "media": "cooling load volume at outlet",
        "total_energy_consumption_kwh": 723.611111,
        "target_energy_kwh": 239.722222,
        "volume_flow_m3h": 0.237,
        "max_power_kw": -2.5,
        "t1_temperature_c": 17.24,
        "forward_energy_m3c": 65528,
    }
    configs = by_object(discovery_configs(from_dict(heat), TOPICS, HA))
    summary = {
        k: (v["device_class"], v["state_class"], v["unit_of_measurement"])
        for k, v in configs.items()
        if "state_class" in v
    }
    assert summary == {
        "total_energy_consumption_kwh": ("energy", "total_increasing", "kWh"),
        "target_energy_kwh": ("energy", "total", "kWh"),
        "volume_flow_m3h": ("volume_flow_rate", "measurement", "m³/h"),
        "max_power_kw": ("power", "measurement", "kW"),
        "t1_temperature_c": ("temperature", "measurement", "°C"),
    }  # forward_energy_m3c (m³·°C) has no Home Assistant unit: no entity


def test_gas_volume() -> None:
    gas = {"id": "12345678", "meter": "oms", "media": "gas", "total_m3": 1.5}
    configs = by_object(discovery_configs(from_dict(gas), TOPICS, HA))
    assert configs["total_m3"]["device_class"] == "gas"
    assert set(configs) == {"total_m3", "reception", "last_seen"}


def test_refuses_a_reading_without_id() -> None:
    with pytest.raises(ValueError):
        discovery_configs(from_dict({"total_m3": 1.0}), TOPICS, HA)


def named(key: str) -> bool:
    return key not in READING_KEYS


def test_configs_depend_only_on_what_config_key_holds() -> None:
    """The sink rebuilds configs only when config_key changes: a reading with other values of
    the same types must give the same configs (checked on every vector)."""
    for name, reading in vector_readings():
        payload = json.loads(reading.json_bytes())
        bumped = {
            k: (v + 1 if named(k) and isinstance(v, int | float) and not isinstance(v, bool) else v)
            for k, v in payload.items()
        }
        other = from_dict(bumped)
        assert config_key(other) == config_key(reading), name
        a = [(c.topic, c.payload()) for c in discovery_configs(reading, TOPICS, HA)]
        b = [(c.topic, c.payload()) for c in discovery_configs(other, TOPICS, HA)]
        assert a == b, name
    r = kamwater()
    assert config_key(kamwater(total_m3=None)) != config_key(r)
    assert config_key(kamwater(name="Kitchen")) != config_key(r)

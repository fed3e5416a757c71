"""MQTT sink: readings through the on-disk outbox to a broker (docs/mqtt.md)."""

from gatewayd.config.sections import MqttSettings
from gatewayd.sinks.mqtt.sink import MqttSink

__all__ = ["MqttSettings", "MqttSink"]

"""gatewayd: a wireless M-Bus gateway daemon."""

__version__ = "0.1.0"

"""BlueZ's rules between D-Bus and ATT, as the fake bluetoothds apply them (facts from BlueZ's
src/gatt-database.c, src/shared/gatt-server.c and src/gatt-client.c).

- Which characteristic flags BlueZ accepts, and the link security level each one demands
  (check_permissions: secure-* needs level 4 = LE Secure Connections with MITM, the kernel's
  BT_SECURITY_FIPS; encrypt-authenticated-* needs 3 = any MITM bond, legacy passkey included;
  encrypt-* needs 2 = an encrypted link, Just Works bonds included).
- How an application's D-Bus error becomes an ATT error code (dbus_error_to_att_ecode), and how
  an ATT error code reaches a client as a D-Bus error (create_gatt_dbus_error).
"""

from __future__ import annotations

import re
from typing import Literal

from dbus_fast import DBusError

# src/gatt-database.c parse_chrc_flags: every flag it accepts.
BLUEZ_FLAGS = frozenset(
    [
        "broadcast",
        "read",
        "write-without-response",
        "write",
        "notify",
        "indicate",
        "authenticated-signed-writes",
        "extended-properties",
        "reliable-write",
        "writable-auxiliaries",
        "encrypt-read",
        "encrypt-write",
        "encrypt-authenticated-read",
        "encrypt-authenticated-write",
        "secure-read",
        "secure-write",
        "authorize",
        "encrypt-notify",
        "encrypt-authenticated-notify",
        "secure-notify",
        "encrypt-indicate",
        "encrypt-authenticated-indicate",
        "secure-indicate",
    ]
)

# Link security levels (the kernel's BT_SECURITY_*): what a bond gives when the link encrypts.
NO_SECURITY = 1  # no bond: plain link
ENCRYPTED = 2  # Just Works bond (unauthenticated key)
AUTHENTICATED = 3  # MITM bond made with legacy pairing (passkey)
SECURE = 4  # MITM bond made with LE Secure Connections (FIPS)

Access = Literal["read", "write", "notify"]

_PREFIX_LEVEL = (
    ("secure-", SECURE),
    ("encrypt-authenticated-", AUTHENTICATED),
    ("encrypt-", ENCRYPTED),
)

ATT_READ_NOT_PERMITTED = 0x02
ATT_WRITE_NOT_PERMITTED = 0x03
ATT_AUTHENTICATION = 0x05
ATT_REQUEST_NOT_SUPPORTED = 0x06
ATT_INVALID_OFFSET = 0x07
ATT_AUTHORIZATION = 0x08
ATT_INVALID_VALUE_LENGTH = 0x0D
ATT_UNLIKELY = 0x0E
ATT_INSUFFICIENT_ENCRYPTION = 0x0F


def allows(flags: list[str], access: Access) -> bool:
    """Does the characteristic allow this access at all (the ATT properties a client sees)?"""
    return any(f == access or f.endswith("-" + access) for f in flags)


def required_level(flags: list[str], access: Access) -> int:
    """The lowest link security level at which BlueZ lets `access` through."""
    level = NO_SECURITY
    for flag in flags:
        for prefix, needed in _PREFIX_LEVEL:
            if flag == prefix + access:
                level = max(level, needed)
    return level


def client_properties(flags: list[str]) -> list[str]:
    """The characteristic properties a remote client's BlueZ shows (security is not among them)."""
    return [a for a in ("read", "write", "notify") if allows(flags, a)]


def security_error(flags: list[str], access: Access, level: int) -> int | None:
    """The ATT error gatt-server.c check_permissions answers at this link level, or None."""
    if not allows(flags, access):
        return ATT_WRITE_NOT_PERMITTED if access != "read" else ATT_READ_NOT_PERMITTED
    needed = required_level(flags, access)
    if level >= needed:
        return None
    return ATT_INSUFFICIENT_ENCRYPTION if needed == ENCRYPTED else ATT_AUTHENTICATION


def app_error_to_att(exc: DBusError, access: Access) -> int:
    """src/gatt-database.c dbus_error_to_att_ecode."""
    name = exc.type.removeprefix("org.bluez.Error.")
    if name == "Failed":
        text = exc.text or ""
        if re.fullmatch(r"0x[0-9a-fA-F]+|[0-9]+", text):
            code = int(text, 0)
            return code if 0x80 <= code <= 0x9F else ATT_UNLIKELY
        return 0x80  # no code in the message: BlueZ sends the first application error
    table = {
        "NotSupported": ATT_REQUEST_NOT_SUPPORTED,
        "NotAuthorized": ATT_AUTHORIZATION,
        "InvalidValueLength": ATT_INVALID_VALUE_LENGTH,
        "InvalidOffset": ATT_INVALID_OFFSET,
        "NotPermitted": ATT_READ_NOT_PERMITTED if access == "read" else ATT_WRITE_NOT_PERMITTED,
    }
    return table.get(name, ATT_UNLIKELY)


def att_to_client_error(code: int) -> DBusError:
    """src/gatt-client.c create_gatt_dbus_error: what the client's ReadValue/WriteValue raises."""
    e = "org.bluez.Error."
    if code == ATT_READ_NOT_PERMITTED:
        return DBusError(e + "NotPermitted", "Read not permitted")
    if code == ATT_WRITE_NOT_PERMITTED:
        return DBusError(e + "NotPermitted", "Write not permitted")
    if code in (ATT_AUTHENTICATION, ATT_INSUFFICIENT_ENCRYPTION, 0x0C):
        return DBusError(e + "NotPermitted", "Not paired")
    if code == ATT_INVALID_OFFSET:
        return DBusError(e + "InvalidArguments", "Invalid offset")
    if code == ATT_INVALID_VALUE_LENGTH:
        return DBusError(e + "InvalidArguments", "Invalid Length")
    if code == ATT_AUTHORIZATION:
        return DBusError(e + "NotAuthorized", "Not Authorized")
    if code == ATT_REQUEST_NOT_SUPPORTED:
        return DBusError(e + "NotSupported", "Not Supported")
    return DBusError(e + "Failed", f"Operation failed with ATT error: 0x{code:02x}")

"""Builds KEM files (Kamstrup's key export) independently of gatewayd.keys.

The plaintext XML, padding, AES-128-CBC (key = IV = password zero-padded to 16 bytes), base64
and the XML-Encryption wrapper are all written here from the spec, so the tests check the
importer against the format, not against itself.
"""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

XMLENC = "http://www.w3.org/2001/04/xmlenc#"


@dataclass(frozen=True)
class Meter:
    serial: str
    dek: str
    model: str


METERS = (
    Meter("76348799", "28F64A24988064A079AA2C807D6102AE", "MC21"),
    Meter("12345678", "000102030405060708090A0B0C0D0E0F", "MC21"),
    Meter("5551234", "F0E1D2C3B4A5968778695A4B3C2D1E0F", "KWM2210"),  # 7 digits: id 05551234
)


def kem1_xml(meters: tuple[Meter, ...] = METERS) -> str:
    rows = "".join(
        "<Meter>"
        f"<MeterName>{m.model}</MeterName><ConsumptionType>VolumeCold</ConsumptionType>"
        f"<MeterNo>{int(m.serial) + 1000}</MeterNo><SerialNo>{m.serial}</SerialNo>"
        "<VendorId>KAM</VendorId><ConfigNo>123</ConfigNo><TypeNo>021A1B2C3D</TypeNo>"
        f"<DEK>{m.dek}</DEK>"
        "</Meter>"
        for m in meters
    )
    return f'<?xml version="1.0" encoding="utf-8"?>\r\n<MetersInOrder>{rows}</MetersInOrder>'


def kem2_xml(meters: tuple[Meter, ...] = METERS) -> str:
    rows = "".join(
        "<Device>"
        f"<ShortName>{m.model}</ShortName><ConsumptionTypeName>Cold water</ConsumptionTypeName>"
        f"<CustomerDeviceNumber>C-{m.serial}</CustomerDeviceNumber>"
        f"<SerialNumber>{m.serial}</SerialNumber><ManufacturerId>KAM</ManufacturerId>"
        "<ConfigNumber>A1</ConfigNumber><TypeNumber>021</TypeNumber>"
        "<DeviceKeys>"
        "<DeviceKey><Name>GPK1</Name><Value>11111111111111111111111111111111</Value></DeviceKey>"
        f"<DeviceKey><Name>DEK</Name><Value>{m.dek}</Value></DeviceKey>"
        "</DeviceKeys>"
        "</Device>"
        for m in meters
    )
    return f'<?xml version="1.0" encoding="utf-8"?><Devices>{rows}</Devices>'


def password_bytes(password: str) -> bytes:
    raw = password.encode("utf-8")
    raw = raw[:16]
    return raw + b"\x00" * (16 - len(raw))


def encrypt(plaintext: bytes, password: str, *, pkcs7: bool = False) -> bytes:
    if pkcs7:
        n = 16 - len(plaintext) % 16
        padded = plaintext + bytes([n]) * n
    else:
        padded = plaintext + b"\x00" * (-len(plaintext) % 16)
    key = password_bytes(password)
    enc = Cipher(algorithms.AES(key), modes.CBC(key)).encryptor()
    return enc.update(padded) + enc.finalize()


def wrap(ciphertext: bytes) -> bytes:
    b64 = base64.b64encode(ciphertext).decode("ascii")
    lines = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<EncryptedData Type="{XMLENC}Element" xmlns="{XMLENC}">'
        f'<EncryptionMethod Algorithm="{XMLENC}aes128-cbc" />'
        f"<CipherData><CipherValue>{lines}</CipherValue></CipherData>"
        "</EncryptedData>"
    ).encode()


def kem_file(xml: str, password: str, *, pkcs7: bool = False) -> bytes:
    return wrap(encrypt(xml.encode("utf-8"), password, pkcs7=pkcs7))


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()

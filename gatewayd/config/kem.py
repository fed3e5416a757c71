"""Kamstrup KEM key files, bytes in, meter keys out. No I/O.

A KEM file is an XML-Encryption document, sometimes inside a zip. Its one `CipherValue` is
AES-128-CBC with key = IV = the password as UTF-8, zero-padded or truncated to 16 bytes. There
is no MAC: a wrong password shows up as plaintext that is not UTF-8 text or not XML. The
plaintext lists meters in one of two schemas:

    KEM v1  <MetersInOrder><Meter><MeterName>MC21</MeterName><SerialNo>…</SerialNo><DEK>hex</DEK>
    KEM2    <Devices><Device><ShortName>…</ShortName><SerialNumber>…</SerialNumber>
              … <Name>DEK</Name><Value>hex</Value> …

Errors (`KemError` and its two kinds) say what is wrong with the file, never a key.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final
from xml.etree import ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gatewayd.errors import ConfigurationError

__all__ = [
    "DamagedKemError",
    "KemError",
    "KemFile",
    "KemMeter",
    "WrongPasswordError",
    "driver_guess",
    "password_key",
    "read_kem",
]

MAX_MEMBER_BYTES: Final = 16 * 1024 * 1024  # a KEM for thousands of meters is well under 1 MB
KEM_SUFFIXES: Final = (".kem", ".kem2")
_HEX_KEY = re.compile(r"[0-9A-Fa-f]{32}")
_METER_ID = re.compile(r"[0-9]{1,8}")
# Trailing bytes after the XML: NUL padding, PKCS#7-style padding, line ends (all < 0x20).
_TRAILING_JUNK = bytes(range(0x20))


class KemError(ConfigurationError):
    """The file cannot be read as a KEM file. `str()` never contains key material."""


class WrongPasswordError(KemError):
    """The ciphertext decrypted to something that is not XML text: almost always the password."""


class DamagedKemError(KemError):
    """The file is truncated, not a KEM file, or otherwise damaged."""


@dataclass(frozen=True, slots=True)
class KemMeter:
    """One meter's key. `id` is the 8-digit wM-Bus address as used in keys.toml."""

    id: str
    key: bytes = field(repr=False)
    model: str = ""
    manufacturer: str = ""


@dataclass(frozen=True, slots=True)
class KemFile:
    """What a KEM file held: its schema ("KEM v1" or "KEM2"), meters, and entries skipped."""

    schema: str
    meters: tuple[KemMeter, ...]
    skipped: tuple[str, ...] = ()  # one reason per unusable entry, without key material


def password_key(password: str) -> bytes:
    """The AES key (and IV): the password as UTF-8, zero-padded or truncated to 16 bytes."""
    return password.encode("utf-8")[:16].ljust(16, b"\0")


def read_kem(data: bytes, password: str) -> KemFile:
    """Decrypt and parse a KEM file (raw XML or a zip holding *.kem / *.kem2 members)."""
    documents = _zip_members(data) if data[:2] == b"PK" else [("KEM file", data)]
    schemas: list[str] = []
    meters: list[KemMeter] = []
    skipped: list[str] = []
    for name, document in documents:
        try:
            plaintext = _decrypt(_cipher_value(document), password)
            kem = _parse_plaintext(plaintext)
        except KemError as exc:
            raise type(exc)(f"{name}: {exc}") from None
        schemas.append(kem.schema)
        meters.extend(kem.meters)
        skipped.extend(kem.skipped)
    return KemFile(" + ".join(dict.fromkeys(schemas)), tuple(meters), tuple(skipped))


# ---------------------------------------------------------------- container


def _zip_members(data: bytes) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if i.filename.lower().endswith(KEM_SUFFIXES)]
            if not infos:
                names = ", ".join(zf.namelist()) or "nothing"
                raise DamagedKemError(f"the zip holds no .kem or .kem2 file (it holds {names})")
            out = []
            for info in infos:
                if info.file_size > MAX_MEMBER_BYTES:
                    raise DamagedKemError(f"{info.filename}: {info.file_size} bytes is too large")
                out.append((info.filename, zf.read(info)))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DamagedKemError(f"damaged zip file ({exc})") from None


# ---------------------------------------------------------------- encryption


def _cipher_value(document: bytes) -> bytes:
    root = _parse_xml(document, DamagedKemError, "not an XML-Encryption document")
    texts = [el.text or "" for el in root.iter() if _local(el.tag) == "CipherValue"]
    if not texts:
        raise DamagedKemError("no <CipherValue> in the document (not a KEM file?)")
    compact = "".join(texts[0].split())
    try:
        ciphertext = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise DamagedKemError("<CipherValue> is not valid base64 (file truncated?)") from None
    if not ciphertext or len(ciphertext) % 16:
        raise DamagedKemError(
            f"ciphertext is {len(ciphertext)} bytes, not a non-zero multiple of 16 "
            "(file truncated?)"
        )
    return ciphertext


def _decrypt(ciphertext: bytes, password: str) -> bytes:
    key = password_key(password)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key)).decryptor()
    plaintext = decryptor.update(ciphertext) + decryptor.finalize()
    return plaintext.rstrip(_TRAILING_JUNK)


# ---------------------------------------------------------------- plaintext


def _parse_plaintext(plaintext: bytes) -> KemFile:
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise WrongPasswordError("wrong password (the decrypted data is not text)") from None
    if not text.lstrip("\ufeff \t\r\n").startswith("<"):
        raise WrongPasswordError("wrong password (the decrypted data is not XML)")
    root = _parse_xml(text.encode("utf-8"), WrongPasswordError, "wrong password or damaged file")
    kind = _local(root.tag)
    if kind == "MetersInOrder":
        return _collect("KEM v1", _kem1_entries(root))
    if kind == "Devices":
        return _collect("KEM2", _kem2_entries(root))
    raise DamagedKemError(f"unknown KEM schema: root element <{kind}>")


# (id text, key text, model, manufacturer) per entry; None where the field is absent.
_Entry = tuple[str | None, str | None, str, str]


def _kem1_entries(root: ET.Element) -> Iterator[_Entry]:
    for meter in (el for el in root.iter() if _local(el.tag) == "Meter"):
        yield (
            _child_text(meter, "SerialNo"),
            _child_text(meter, "DEK"),
            _child_text(meter, "MeterName") or "",
            _child_text(meter, "VendorId") or "",
        )


def _kem2_entries(root: ET.Element) -> Iterator[_Entry]:
    for device in (el for el in root.iter() if _local(el.tag) == "Device"):
        dek = None
        for holder in device.iter():
            if (_child_text(holder, "Name") or "").upper() == "DEK":
                dek = _child_text(holder, "Value")
                break
        yield (
            _child_text(device, "SerialNumber"),
            dek,
            _child_text(device, "ShortName") or "",
            _child_text(device, "ManufacturerId") or "",
        )


def _collect(schema: str, entries: Iterator[_Entry]) -> KemFile:
    meters: list[KemMeter] = []
    skipped: list[str] = []
    for n, (serial, dek, model, manufacturer) in enumerate(entries, 1):
        where = f"entry {n}" + (f" (serial {serial})" if serial else "")
        if serial is None or not _METER_ID.fullmatch(serial):
            skipped.append(f"{where}: serial number is not 1-8 decimal digits")
        elif dek is None:
            skipped.append(f"{where}: no DEK key")
        elif not _HEX_KEY.fullmatch(dek):
            skipped.append(f"{where}: DEK is not 32 hex digits")
        else:
            meters.append(KemMeter(serial.zfill(8), bytes.fromhex(dek), model, manufacturer))
    return KemFile(schema, tuple(meters), tuple(skipped))


# A KEM's meter type (MeterName / ShortName) -> the driver that reads that meter. Only names
# known for sure; anything else is left to "auto", which picks by the telegram's header.
_DRIVER_BY_MODEL: Final = (
    (re.compile(r"(MC|MULTICAL)[ -]?21|FLOW[ -]?IQ", re.IGNORECASE), "kamwater"),
    (re.compile(r"(MC|MULTICAL)[ -]?[3468]0[23]", re.IGNORECASE), "kamheat"),
    (re.compile(r"OMNIPOWER", re.IGNORECASE), "omnipower"),
)


def driver_guess(model: str) -> str:
    """The driver for a KEM meter type, e.g. "MC21" -> "kamwater"; "auto" when not known."""
    for pattern, driver in _DRIVER_BY_MODEL:
        if pattern.search(model):
            return driver
    return "auto"


# ---------------------------------------------------------------- XML helpers


def _parse_xml(data: bytes, error: type[KemError], what: str) -> ET.Element:
    # KEM files carry no DTD; refusing one rules out entity expansion of any kind.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise error(f"{what} (the XML declares a DTD)")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise error(f"{what} (XML error at line {exc.position[0]})") from None


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child_text(parent: ET.Element, name: str) -> str | None:
    for child in parent:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return None

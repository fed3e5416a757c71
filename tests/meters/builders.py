"""Hand-built Records and Telegrams for driver tests (values independent of the record parser)."""

from __future__ import annotations

from gatewayd.wmbus.link import Address, LinkHeader, manufacturer_value
from gatewayd.wmbus.records import Record, RecordHeader, parse_header
from gatewayd.wmbus.telegram import Telegram, TplHeader


def record(
    difvif: str,
    raw: str = "",
    value: int | float | str | None = None,
    *,
    quantity: str = "",
    unit: str = "",
    function: str = "instantaneous",
    storage: int = 0,
    tariff: int = 0,
    subunit: int = 0,
    kind: str = "number",
) -> Record:
    """A record as the parser would give it; the caller states what the header means, except
    the VIF range and combinable codes drivers match on, which come from the header bytes."""
    data = bytes.fromhex(raw)
    parsed, _ = parse_header(bytes.fromhex(difvif))
    if value is None and data and kind in ("number", "bits"):
        value = int.from_bytes(data, "little")
    header = RecordHeader(
        difvif=bytes.fromhex(difvif),
        data_code=bytes.fromhex(difvif)[0] & 0x0F,
        size=len(data),
        function=function,
        storage=storage,
        tariff=tariff,
        subunit=subunit,
        quantity=quantity,
        unit=unit,
        scale=1.0,
        kind=kind,
        combinables=(),
        vif_range=parsed.vif_range,
        combinable_codes=parsed.combinable_codes,
    )
    return Record(header=header, value=value, raw=data)


def address(
    manufacturer: str = "KAM", meter_id: str = "76348799", version: int = 0x1B, dtype: int = 0x16
) -> Address:
    m = manufacturer_value(manufacturer)
    raw = m.to_bytes(2, "little") + bytes.fromhex(meter_id)[::-1] + bytes((version, dtype))
    return Address(manufacturer, meter_id, version, dtype, raw)


def telegram(
    records: list[Record],
    *,
    addr: Address | None = None,
    tpl_status: int | None = None,
) -> Telegram:
    a = addr or address()
    tpl = None
    if tpl_status is not None:
        tpl = TplHeader(
            ci=0x7A, acc=1, status=tpl_status, cfg=0, security_mode=0, long_address=None
        )
    return Telegram(
        frame=b"",
        link=LinkHeader(length=0, c_field=0x44, address=a),
        address=a,
        ell=None,
        tpl=tpl,
        ci=0x7A if tpl else 0x78,
        encrypted=False,
        apl=b"",
        records=tuple(records),
        manufacturer_data=None,
        compact=False,
        format_signature=None,
    )

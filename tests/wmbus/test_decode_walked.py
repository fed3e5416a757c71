"""Decoder.decode_walked, from the pipeline's lenient walk without opening the ELL payload,
gives what Decoder.decode gives from the frame (the same telegram, or the same error), for
every telegram of every vector, with the right key, no key and a wrong one."""

from __future__ import annotations

from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.headers import Headers, walk_headers
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import OWN_VECTORS, load_vectors, shared_vector_files

VECTORS = load_vectors(sorted(OWN_VECTORS.rglob("*.jsonl")) + shared_vector_files())
WRONG = bytes(range(16))


def decoded(decoder: Decoder, frame: bytes) -> object:
    try:
        return decoder.decode(frame, FrameFormat.CLEAN)
    except TelegramError as exc:
        return (type(exc), str(exc))


def walked(decoder: Decoder, heads: Headers) -> object:
    try:
        return decoder.decode_walked(heads)
    except TelegramError as exc:
        return (type(exc), str(exc))


def test_decode_walked_is_decode_for_every_vector_telegram() -> None:
    seen = {"telegrams": 0, "errors": 0, "ell": 0}
    for keys in ("right", "none", "wrong"):
        one, other = Decoder(keys={}), Decoder(keys={})  # each learns formats as it goes
        for v in VECTORS:
            key = bytes.fromhex(v["key"]) if v.get("key") else None
            table = {} if keys == "none" or key is None else {v["id"]: key}
            if keys == "wrong" and key is not None:
                table = {v["id"]: WRONG}
            one._keys = other._keys = table
            for t in v["telegrams"]:
                frame = bytes.fromhex(t)
                try:
                    heads = walk_headers(frame, open_ell_payload=False, lenient=True)
                except TelegramError:
                    continue  # not even a DLL header: the pipeline counts it as a bad frame
                seen["ell"] += heads.ell is not None
                want = decoded(one, frame)
                got = walked(other, heads)
                assert got == want, (v["name"], keys)
                seen["telegrams"] += 1
                seen["errors"] += isinstance(want, tuple)
    assert seen["telegrams"] > 1500 and seen["errors"] > 100 and seen["ell"] > 50, seen

"""Extract the published driver tests of wmbusmeters into wmbusmeters.jsonl beside this file.

Run: python tests/vectors/published/extract.py CHECKOUT COMMIT > \
         tests/vectors/published/wmbusmeters.jsonl

wmbusmeters (https://github.com/wmbusmeters/wmbusmeters, GPL-3.0-or-later) publishes, beside
each driver, real telegrams and the JSON its decoder prints for them (drivers/src/*.xmq "tests"
blocks, and "// Test:" comments in src/driver_*.cc). This script copies those facts (telegram,
key, expected values) into our vector format, naming each vector's source file; it copies no
code. Wired M-Bus frames (68 L L 68) are left out: gatewayd is a wireless gateway.

Each vector's "expected" is wmbusmeters' JSON without "_", "name" and "timestamp"; when a test
sends several telegrams, it is the JSON for the last one.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

XMQ_TEST = re.compile(r"test\s*\{(.*?)\n\s*\}", re.S)
XMQ_VALUE = re.compile(r"^\s*(args|telegram|json)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))", re.M)
CC_TEST = re.compile(r"^// Test:\s*(.+)$", re.M)
CC_TELEGRAM = re.compile(r"^// telegram=\|?([0-9A-Fa-f_]+)\|?", re.M)
CC_JSON = re.compile(r"^// (\{.*\})\s*$", re.M)
DROPPED = ("_", "name", "timestamp")


def _vector(source: str, args: str, telegrams: list[str], js: str) -> dict[str, Any] | None:
    parts = args.split()
    if len(parts) < 4:
        return None
    name, driver, meter_id, key = parts[0], parts[1], parts[2], parts[3]
    # "_", "|" and "#" only mark parts of a telegram in wmbusmeters' tests ("#": the rest is
    # stored decrypted); "," separates telegrams sent one after the other
    hexes = [re.sub(r"[_|#]", "", t).upper() for group in telegrams for t in group.split(",") if t]
    if any(h.startswith("68") and h[6:8] == "68" for h in hexes):
        return None
    if any(len(h) % 2 for h in hexes):  # a typo in the published test (an odd digit count)
        return None
    try:
        expected = json.loads(js)
    except json.JSONDecodeError:
        return None
    for k in DROPPED:
        expected.pop(k, None)
    return {
        "name": f"{driver}/{name}",
        "source": f"wmbusmeters {source}",
        "driver": driver,
        "id": meter_id,
        "key": None if key.upper() == "NOKEY" else key.upper(),
        "telegrams": hexes,
        "expected": expected,
    }


def from_xmq(path: Path, source: str) -> list[dict[str, Any]]:
    out = []
    for block in XMQ_TEST.findall(path.read_text()):
        vals: dict[str, str] = {}
        for key, quoted, bare in XMQ_VALUE.findall(block):
            vals[key] = quoted if quoted else bare
        if {"args", "telegram", "json"} <= vals.keys():
            v = _vector(source, vals["args"], [vals["telegram"]], vals["json"])
            if v is not None:
                out.append(v)
    return out


def from_cc(path: Path, source: str) -> list[dict[str, Any]]:
    text = path.read_text()
    out = []
    starts = [m.start() for m in CC_TEST.finditer(text)] + [len(text)]
    for a, b in itertools.pairwise(starts):
        chunk = text[a:b]
        args = CC_TEST.match(chunk)
        tels = CC_TELEGRAM.findall(chunk)
        jsons = CC_JSON.findall(chunk)
        if args and tels and jsons:
            # several telegrams for one meter: the JSON after the last one is what is checked
            v = _vector(source, args.group(1), tels, jsons[-1])
            if v is not None:
                out.append(v)
    return out


def main(checkout: str, commit: str) -> None:
    root = Path(checkout)
    names: set[str] = set()
    vectors = []
    for p in sorted((root / "drivers" / "src").glob("*.xmq")):
        vectors += from_xmq(p, f"drivers/src/{p.name} (commit {commit})")
    for p in sorted((root / "src").glob("driver_*.cc")):
        vectors += from_cc(p, f"src/{p.name} (commit {commit})")
    for v in vectors:
        base, n = v["name"], 2
        while v["name"] in names:
            v["name"] = f"{base}#{n}"
            n += 1
        names.add(v["name"])
        sys.stdout.write(json.dumps(v, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

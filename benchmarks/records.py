"""Records/s of gatewayd.wmbus.records.parse_records on typical APLs (a figure, not a test).

Run: .venv/bin/python benchmarks/records.py
"""

from __future__ import annotations

import functools
import timeit

from gatewayd.wmbus.records import HeaderCache, parse_records

APLS = {
    "MC21 full (5 records)": "02FF207100041308190000441308190000615B7F616713",
    "flowIQ 2200 full (11 records)": (
        "04FF23000000000413AEAC0000441364A80000426C812A023B000092013BEF01A2013B0000"
        "06FF1B067000097000A1015B0C91015B14A1016713"
    ),
    "OMS gas, fillers (3 records)": "2F2F0C1427048502046D32371F1502FD1700002F2F2F2F2F2F2F2F2F",
    "Unismart LVAR + type I (3 records)": "0DFD0C06554747342020 066D1E120DAF296D 0C943A00170900",
}


def main() -> None:
    cache = HeaderCache()  # as the decoder keeps one
    for name, text in APLS.items():
        apl = bytes.fromhex(text.replace(" ", ""))
        count = len(parse_records(apl, cache=cache).records)
        number = 20_000
        best = min(
            timeit.repeat(
                functools.partial(parse_records, apl, cache=cache), number=number, repeat=5
            )
        )
        per_apl = best / number
        print(
            f"{name:38s} {per_apl * 1e6:6.2f} us/APL  {per_apl / count * 1e6:5.2f} us/record  "
            f"{count / per_apl:10,.0f} records/s"
        )


if __name__ == "__main__":
    main()

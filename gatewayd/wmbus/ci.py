"""The one CI table: what each control-information byte starts (ELL, AFL or a TPL variant).

layer: "ell" | "afl" | "tpl". header (TPL only): "none" | "short" | "long". apl (TPL only):
"full" | "compact" | "format" | "none" | "cosem" | "manufacturer". name: how `--explain` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CiInfo:
    layer: str
    header: str
    apl: str
    name: str


CI_AFL = 0x90

CI_TABLE: dict[int, CiInfo] = {
    0x8C: CiInfo("ell", "", "", "ELL I"),
    0x8D: CiInfo("ell", "", "", "ELL II"),
    0x8E: CiInfo("ell", "", "", "ELL III"),
    0x8F: CiInfo("ell", "", "", "ELL IV"),
    CI_AFL: CiInfo("afl", "", "", "AFL"),
    0x78: CiInfo("tpl", "none", "full", "TPL none, full APL"),
    0x79: CiInfo("tpl", "none", "compact", "TPL none, compact APL"),
    0x7A: CiInfo("tpl", "short", "full", "TPL short"),
    0x72: CiInfo("tpl", "long", "full", "TPL long"),
    0x7B: CiInfo("tpl", "short", "compact", "TPL short, compact APL"),
    0x73: CiInfo("tpl", "long", "compact", "TPL long, compact APL"),
    0x69: CiInfo("tpl", "none", "format", "format frame"),
    0x6A: CiInfo("tpl", "short", "format", "format frame, short TPL"),
    0x6B: CiInfo("tpl", "long", "format", "format frame, long TPL"),
    0x8A: CiInfo("tpl", "short", "none", "TPL short, no APL"),
    0x8B: CiInfo("tpl", "long", "none", "TPL long, no APL"),
    0x7C: CiInfo("tpl", "long", "cosem", "TPL long, DLMS/COSEM APL"),
    0x7D: CiInfo("tpl", "short", "cosem", "TPL short, DLMS/COSEM APL"),
    **{
        ci: CiInfo("tpl", "none", "manufacturer", "manufacturer specific")
        for ci in range(0xA0, 0xB8)
    },
}

ELL_CIS = frozenset(ci for ci, info in CI_TABLE.items() if info.layer == "ell")

"""Reading ha-announced.json in tests, from its documented layout (not through Discovery)."""

from __future__ import annotations

import json
from typing import Any


def recorded_state(text: str) -> dict[str, set[str]]:
    """Meter -> the retained state topics the file's `text` keeps on record: the "state" map,
    plus (version 2) each id of "default_state" with its topic under every prefix."""
    doc: Any = json.loads(text)
    state = {o: set(ts) for o, ts in doc["state"].items()}
    default = doc.get("default_state", {"prefixes": [], "meters": []})
    for mid in default["meters"]:
        state.setdefault(mid, set()).update(p + mid for p in default["prefixes"])
    return state

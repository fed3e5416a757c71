"""Shared test helpers: where the repo's own vectors and the shared conformance corpus live."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
OWN_VECTORS = REPO / "tests" / "vectors"
SHARED_VECTORS = Path(os.environ.get("GATEWAYD_SHARED_VECTORS", REPO.parent / "shared" / "vectors"))


def shared_vector_files() -> list[Path]:
    """The shared corpus's files, or [] in a user's plain clone (CI insists on them)."""
    if SHARED_VECTORS.is_dir():
        return sorted(SHARED_VECTORS.glob("*.jsonl"))
    if os.environ.get("GATEWAYD_REQUIRE_SHARED_VECTORS"):
        raise RuntimeError(f"shared vectors required but missing: {SHARED_VECTORS}")
    return []


def load_vectors(files: list[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in files:
        with f.open() as fh:
            for line in fh:
                if line.strip():
                    v = json.loads(line)
                    v["_file"] = f.name
                    out.append(v)
    return out


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO

"""One booted container for the whole system-test session (see container.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.system.container import Container, booted


@pytest.fixture(scope="session")
def machine() -> Iterator[Container]:
    if os.geteuid() != 0:
        # Mounting the overlay and booting systemd-nspawn need root; CI runs as root.
        pytest.skip("system tests boot systemd-nspawn and need root")
    for tool in ("systemd-nspawn", "debootstrap", "nsenter"):
        assert shutil.which(tool), f"{tool} is missing: bash dev.sh test installs it"
    with booted() as container:
        yield container

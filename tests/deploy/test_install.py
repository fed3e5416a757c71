"""deploy/install.sh and uninstall.sh in a throwaway root (see target.py)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.deploy.target import Target, copy_source

OPT = "/opt/gatewayd"


@pytest.fixture
def target(tmp_path: Path) -> Target:
    return Target.create(tmp_path)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """The checkout as it is now (others may edit the work tree while a test runs)."""
    return copy_source(tmp_path / "src")


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"rc={done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stderr


def _release(target: Target, link: str) -> str:
    return os.readlink(target.path(f"{OPT}/{link}"))


def _variant(tmp_path: Path, name: str, marker: str) -> Path:
    """A copy of the checkout whose package differs by one comment line."""
    src = copy_source(tmp_path / name)
    init = src / "gatewayd" / "__init__.py"
    init.write_text(init.read_text() + f"# {marker}\n")
    return src


def test_install_twice_gives_the_same_tree_then_uninstall(target: Target, source: Path) -> None:
    done = target.run("install.sh", src=source)
    assert "check-config: ok" in _ok(done)
    # gatewayd check-config's own summary, from the installed release, on the installed config
    assert "config.toml: ok: gateway site-17, radio im871a on /dev/wmbus0" in done.stdout
    first = target.snapshot()
    err = _ok(target.run("install.sh", src=source))
    assert "already built" in err
    assert "check-config: ok" in err
    assert target.snapshot() == first

    user = target.ids("passwd", "gatewayd")
    uid, gid = int(user[2]), int(user[3])
    assert user[5:] == ["/var/lib/gatewayd", "/usr/sbin/nologin"]
    for group in ("dialout", "bluetooth"):
        assert "gatewayd" in target.ids("group", group)[3].split(",")
    expect = {
        "etc/gatewayd": ["0o755", 0, 0, "dir"],
        "var/lib/gatewayd": ["0o750", uid, gid, "dir"],
    }
    for rel, want in expect.items():
        assert first[rel] == want, rel
    for rel, mode in {
        "etc/gatewayd/config.toml": "0o644",
        "etc/gatewayd/keys.toml": "0o600",
        "etc/systemd/system/gatewayd.service": "0o644",
        "etc/udev/rules.d/99-gatewayd-wmbus.rules": "0o644",
    }.items():
        assert first[rel][:3] == [mode, 0, 0], rel

    # The committed unit and udev rule, byte for byte; the unit enabled as systemctl does it.
    unit = target.path("/etc/systemd/system/gatewayd.service")
    assert unit.read_bytes() == (source / "systemd" / "gatewayd.service").read_bytes()
    rules = target.path("/etc/udev/rules.d/99-gatewayd-wmbus.rules")
    assert rules.read_bytes() == (source / "deploy" / "99-gatewayd-wmbus.rules").read_bytes()
    wants = target.path("/etc/systemd/system/multi-user.target.wants/gatewayd.service")
    assert os.readlink(wants) == "/etc/systemd/system/gatewayd.service"

    # Config written from the template with the host name; keys.toml empty but valid.
    config = tomllib.loads(target.path("/etc/gatewayd/config.toml").read_text())
    assert config["gateway"]["id"] == "site-17"
    assert tomllib.loads(target.path("/etc/gatewayd/keys.toml").read_text()) == {"keys": {}}

    # The venv symlink is relative (valid inside the root and on the gateway alike) and its
    # gatewayd is the one built from the checkout, in the release's own site-packages.
    current = _release(target, "venv")
    assert current.startswith("releases/0.1.0-")
    assert not target.path(f"{OPT}/venv.prev").exists()
    py = target.path(f"{OPT}/venv/bin/python")
    done = subprocess.run(
        [py, "-c", "import gatewayd; print(gatewayd.__file__)"],
        env={"PATH": os.environ["PATH"]},
        cwd=target.root,  # not the checkout, which `python -c` would put first on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    imported = Path(done.stdout.strip()).resolve()
    assert imported.is_relative_to(target.path(f"{OPT}/{current}/lib").resolve())

    cache = target.path("/var/cache/gatewayd")  # as the service's CacheDirectory= leaves it
    cache.mkdir(parents=True)
    (cache / "toml-0123456789abcdef0123.bin").write_bytes(b"entry")
    err = _ok(target.run("uninstall.sh"))
    assert not target.path(OPT).exists()
    assert not cache.exists()
    assert not unit.exists()
    assert not wants.exists()
    assert not rules.exists()
    assert target.path("/etc/gatewayd/config.toml").exists()
    assert target.path("/etc/gatewayd/keys.toml").exists()
    assert target.path("/var/lib/gatewayd").is_dir()
    assert target.ids("passwd", "gatewayd")

    _ok(target.run("uninstall.sh", "--purge"))
    assert not target.path("/etc/gatewayd").exists()
    assert not target.path("/var/lib/gatewayd").exists()
    assert "gatewayd:" not in target.path("/etc/passwd").read_text()
    assert "gatewayd:" not in target.path("/etc/group").read_text().replace(",gatewayd", "")


def test_reinstall_keeps_config_and_keys_and_can_pin_the_radio(
    target: Target, source: Path
) -> None:
    # A group gatewayd made beforehand (e.g. for the listen socket's users) becomes the
    # service user's own group; the installer does not trip over it.
    for table in ("group", "gshadow"):
        with target.path(f"/etc/{table}").open("a") as f:
            f.write("gatewayd:x:977:\n" if table == "group" else "gatewayd:!::\n")
    _ok(target.run("install.sh", src=source))
    assert target.ids("passwd", "gatewayd")[3] == "977"
    config = target.path("/etc/gatewayd/config.toml")
    keys = target.path("/etc/gatewayd/keys.toml")
    edited = config.read_text().replace('mode = "c1"', 'mode = "t1"')
    config.write_text(edited)
    keys.write_text('[keys]\n76348799 = "28F64A24988064A079AA2C807D6102AE"\n')
    keys.chmod(0o644)  # a careless edit: the installer puts 0600 back
    _ok(target.run("install.sh", "--radio-serial", "A1B2C3", src=source))
    assert config.read_text() == edited
    assert "76348799" in keys.read_text()
    assert target.snapshot()["etc/gatewayd/keys.toml"][:3] == ["0o600", 0, 0]
    # --radio-serial ties every udev rule to the one USB serial number.
    rules = target.path("/etc/udev/rules.d/99-gatewayd-wmbus.rules").read_text()
    active = [ln for ln in rules.splitlines() if ln.startswith("SUBSYSTEM==")]
    assert len(active) == 5
    assert all('ATTRS{serial}=="A1B2C3", SYMLINK+="wmbus0"' in ln for ln in active)


def test_upgrade_is_gated_by_check_config_and_rolls_back(
    target: Target, source: Path, tmp_path: Path
) -> None:
    _ok(target.run("install.sh", src=source))
    first = _release(target, "venv")
    config = target.path("/etc/gatewayd/config.toml")
    good = config.read_text()

    # A broken config stops the upgrade before the switch: the old release stays current.
    config.write_text(good.replace('kind = "im871a"', 'kind = "no-such-radio"'))
    upgrade = _variant(tmp_path, "v2", "upgrade")
    done = target.run("install.sh", src=upgrade)
    assert done.returncode != 0
    assert "gatewayd check-config failed" in done.stderr
    assert "kind" in done.stderr  # check-config's own message names the key
    assert _release(target, "venv") == first

    config.write_text(good)
    _ok(target.run("install.sh", src=upgrade))
    second = _release(target, "venv")
    assert second != first
    assert _release(target, "venv.prev") == first
    site = next(target.path(f"{OPT}/venv/lib").glob("python3*/site-packages"))
    assert (site / "gatewayd" / "__init__.py").read_text().endswith("# upgrade\n")

    err = _ok(target.run("install.sh", "--rollback"))
    assert "rolled back" in err
    assert (_release(target, "venv"), _release(target, "venv.prev")) == (first, second)
    _ok(target.run("install.sh", "--rollback"))
    assert (_release(target, "venv"), _release(target, "venv.prev")) == (second, first)

    # A third release replaces the oldest: only current and previous are kept.
    _ok(target.run("install.sh", src=_variant(tmp_path, "v3", "third")))
    third = _release(target, "venv")
    assert _release(target, "venv.prev") == second
    kept = {f"releases/{p.name}" for p in target.path(f"{OPT}/releases").iterdir()}
    assert kept == {third, second}


def test_the_release_has_bytecode_for_every_module_even_when_pip_wrote_none(
    target: Target, source: Path
) -> None:
    """The service cannot write .pyc files under /opt; without them each start compiles every
    module again. The installer compiles the release itself, whatever pip was told."""
    _ok(target.run("install.sh", src=source, pip_args="--no-compile"))
    lib = target.path(f"{OPT}/venv/lib")
    package = next(lib.glob("python3*/site-packages/gatewayd"))
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 50
    stale = [str(py.relative_to(package)) for py in sources if not _fresh_bytecode(py)]
    assert stale == []


def _fresh_bytecode(py: Path) -> bool:
    """A .pyc beside `py` that this interpreter would load (magic, source mtime and size)."""
    pyc = Path(importlib.util.cache_from_source(str(py)))
    if not pyc.exists():
        return False
    head = pyc.read_bytes()[:16]
    st = py.stat()
    flags = int.from_bytes(head[4:8], "little")
    mtime = int.from_bytes(head[8:12], "little")
    size = int.from_bytes(head[12:16], "little")
    return (
        head[:4] == importlib.util.MAGIC_NUMBER
        and flags == 0
        and mtime == int(st.st_mtime) & 0xFFFFFFFF
        and size == st.st_size & 0xFFFFFFFF
    )


def test_rollback_without_a_previous_release_fails(target: Target) -> None:
    done = target.run("install.sh", "--rollback")
    assert done.returncode == 1
    assert "no previous release" in done.stderr


def test_a_build_without_check_config_is_refused(target: Target, source: Path) -> None:
    (source / "gatewayd" / "commands" / "check_config.py").unlink()
    done = target.run("install.sh", src=source)
    assert done.returncode != 0
    assert "'check-config' is not available" in done.stderr
    assert "gatewayd check-config failed" in done.stderr
    assert not target.path(f"{OPT}/venv").exists()


def test_bad_radio_serial_and_unknown_options_are_usage_errors(target: Target) -> None:
    done = target.run("install.sh", "--radio-serial", 'x", RUN+="/bin/sh')
    assert done.returncode == 1
    assert "--radio-serial" in done.stderr
    done = target.run("install.sh", "--frobnicate")
    assert done.returncode == 2
    assert "unknown option" in done.stderr

"""A hall box as `make install` leaves it: the wheel built and installed into a fresh venv (no
editable install, no source tree on the path), the hardened unit naming that venv, the udev
rules, the kioskd user; and the example hall run from the installed venv alone."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from support.helpers import REPO, read_until

PREFIX = "/opt/kioskd"
READY = re.compile(r"kioskd\.supervisor: (\S+) \(\S+\) ready: ")
ROOTS = {"kioskd": "kioskd", "kioskd.drivers": "drivers", "kioskd.sim": "sim"}


def make(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(REPO), *args, f"PY={sys.executable}"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


@pytest.fixture(scope="module")
def box(tmp_path_factory) -> Path:
    """One `make install` into a temporary DESTDIR for the whole module (it takes ~20 s:
    the dependencies come from pip's cache or the package index)."""
    dest = tmp_path_factory.mktemp("box")
    done = make("install", f"DESTDIR={dest}")
    assert done.returncode == 0, done.stdout + done.stderr
    return dest


def venv_python(box: Path) -> list[str]:
    # -I: no current folder, no PYTHONPATH, no user site: only what the venv holds
    return [str(box / PREFIX.lstrip("/") / "bin/python"), "-I"]


def test_the_tree_make_install_leaves(box):
    venv = box / PREFIX.lstrip("/")
    unit = (box / "etc/systemd/system/kioskd.service").read_text()
    assert f"ExecStart={PREFIX}/bin/kioskd run -c /etc/kioskd/devices.toml" in unit
    assert f"ExecStartPre={PREFIX}/bin/kioskd check-config" in unit
    assert os.access(venv / "bin/kioskd", os.X_OK)
    # the venv's scripts name where it runs, never the DESTDIR it was built in
    assert (venv / "bin/kioskd").read_text().splitlines()[0].startswith(f"#!{PREFIX}/bin/python")
    for f in [*(venv / "bin").iterdir(), venv / "pyvenv.cfg"]:
        if f.is_file() and not f.is_symlink():
            assert str(box) not in f.read_bytes().decode("latin-1"), f
    assert (box / "etc/kioskd/devices.toml").read_bytes() == (REPO / "devices.toml").read_bytes()
    assert (box / "etc/udev/rules.d/99-kioskd.rules").read_bytes() == \
        (REPO / "udev/99-kioskd.rules").read_bytes()
    users = (box / "etc/sysusers.d/kioskd.conf").read_text()
    assert re.search(r"^u kioskd ", users, re.M) and re.search(r"^m kioskd dialout$", users, re.M)


def test_the_wheel_holds_every_module_and_file_of_the_tree(box):
    tree = sorted(".".join([name, *py.relative_to(REPO / folder).with_suffix("").parts])
                  .removesuffix(".__init__")
                  for name, folder in ROOTS.items() for py in (REPO / folder).rglob("*.py"))
    data = sorted(str(Path(name.replace(".", "/")) / f.relative_to(REPO / folder))
                  for name, folder in ROOTS.items() for f in (REPO / folder).rglob("*")
                  if f.is_file() and f.suffix not in (".py", ".pyc"))
    probe = (
        "import importlib, json, pathlib, pkgutil, sys, kioskd\n"
        "root = pathlib.Path(kioskd.__file__).parent\n"
        "mods = ['kioskd'] + [m.name for m in pkgutil.walk_packages(kioskd.__path__, 'kioskd.')]\n"
        "for m in mods:\n"
        "    if m != 'kioskd.__main__': importlib.import_module(m)\n"
        "files = [str(p.relative_to(root.parent)) for p in root.rglob('*')\n"
        "         if p.is_file() and p.suffix not in ('.py', '.pyc')]\n"
        "print(json.dumps({'root': str(root), 'mods': mods, 'files': files}))\n")
    out = subprocess.run([*venv_python(box), "-c", probe], capture_output=True, text=True,
                         cwd=box, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["root"].startswith(str(box)), "kioskd came from outside the installed venv"
    assert sorted(got["mods"]) == tree
    assert set(data) <= set(got["files"]), "package data missing from the wheel"


def test_check_config_from_the_installed_venv(box):
    ok = subprocess.run([*venv_python(box), "-m", "kioskd", "check-config", "-c",
                         str(box / "etc/kioskd/devices.toml")], capture_output=True, text=True,
                        cwd=box, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr


async def test_the_example_hall_runs_from_the_installed_venv(box, tmp_path):
    # the hall box's venv has no sim extra (amqtt): the broker is mosquitto (system-deps)
    proc = await asyncio.create_subprocess_exec(
        *venv_python(box), "-m", "kioskd", "sim", "-c", str(box / "etc/kioskd/devices.toml"),
        "--state", str(tmp_path / "state"), "--api-port", "0", "--broker", "mosquitto",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True)
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            # every device of the example hall says it is ready, from the installed code
            await read_until(proc.stdout, lines, lambda ls: "Ctrl-C stops everything" in
                             "".join(ls) and len(set(READY.findall("".join(ls)))) == 19)
            api = re.search(r"API\s+(http://\S+)/api/health", "".join(lines)).group(1)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{api}/api/health") as r:
                    assert (await r.json())["devices"] == {"ready": 19}
        proc.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(proc.stdout.read(), 20)).decode()
        assert await proc.wait() == 0, "".join(lines) + rest
        assert "Traceback" not in "".join(lines) + rest
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


def test_upgrade_keeps_the_config_and_uninstall_keeps_config_and_state(box, tmp_path):
    dest = tmp_path / "box"
    shutil.copytree(box, dest, symlinks=True)
    conf = dest / "etc/kioskd/devices.toml"
    conf.write_text(conf.read_text().replace("示范区政务服务中心", "本机大厅"))
    old = dest / PREFIX.lstrip("/") / "old-venv-marker"
    old.write_text("from the last install")
    state = dest / "var/lib/kioskd"
    state.mkdir(parents=True)
    (state / "journal.sqlite3").write_bytes(b"the hall's journal")

    done = make("install", f"DESTDIR={dest}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "本机大厅" in conf.read_text(), "an upgrade overwrote the hall's devices.toml"
    assert not old.exists(), "the upgrade did not replace the venv whole"
    assert os.access(dest / PREFIX.lstrip("/") / "bin/kioskd", os.X_OK)

    gone = make("uninstall", f"DESTDIR={dest}")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not (dest / PREFIX.lstrip("/")).exists()
    assert not (dest / "etc/systemd/system/kioskd.service").exists()
    assert not (dest / "etc/udev/rules.d/99-kioskd.rules").exists()
    assert "本机大厅" in conf.read_text()
    assert (state / "journal.sqlite3").read_bytes() == b"the hall's journal"


def test_a_destdir_that_cannot_be_written_is_named_and_nothing_is_installed(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    done = make("install", f"DESTDIR={blocker}/box")
    assert done.returncode != 0
    assert f"{blocker} is not a folder" in done.stderr
    assert blocker.read_text() == "" and list(tmp_path.iterdir()) == [blocker]


def _exposure(unit: Path) -> float:
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                         capture_output=True, text=True, timeout=60)
    score = re.search(r"Overall exposure level for \S+: ([\d.]+)", out.stdout + out.stderr)
    assert score, out.stdout + out.stderr
    return float(score.group(1))


def test_the_unit_is_hardened_and_verifies_clean(box, tmp_path, capsys):
    unit = box / "etc/systemd/system/kioskd.service"
    score = _exposure(unit)
    with capsys.disabled():  # CI's log shows the score
        print(f"\n  systemd-analyze security --offline=true kioskd.service: {score}")
    assert score <= 2.0
    text = unit.read_text()
    for line in ("ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "UMask=0077",
                 "SystemCallFilter=@system-service", "DevicePolicy=closed",
                 "RestartPreventExitStatus=2",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK"):
        assert line in text, line
    for cls in ("ttyUSB", "ttyACM", "usb_device", "input", "video4linux", "alsa"):
        assert f"DeviceAllow=char-{cls} rw" in text
    # verify checks that every Exec path is executable: here, the installed one in DESTDIR
    here = tmp_path / "kioskd.service"
    here.write_text(text.replace(f"{PREFIX}/bin/", f"{box}{PREFIX}/bin/"))
    out = subprocess.run(["systemd-analyze", "verify", str(here)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr


def test_a_broken_config_exits_2_which_systemd_does_not_restart(tmp_path):
    bad = tmp_path / "devices.toml"
    bad.write_text((REPO / "devices.toml").read_text().replace('[hall]', '[hall]\nzone = 3', 1))
    out = subprocess.run([sys.executable, "-m", "kioskd", "check-config", "-c", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and f"{bad}:" in out.stdout + out.stderr
    unit = (REPO / "systemd/kioskd.service").read_text()
    assert "RestartPreventExitStatus=2" in unit and "ExecStartPre=" in unit

"""`make run` on a machine with nothing but Python: no system font, no mosquitto, no espeak-ng,
sox or libzbar. The twins draw their pictures without a font file, the broker is the embedded
one, calls are a chime. And `scripts/system-deps`, which `make test` runs first, names exactly
the packages the README lists."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import zxingcpp

from support.helpers import REPO, read_until
from kioskd.sim import camera, glyphs, printer


def test_the_twins_draw_their_pictures_without_a_font(monkeypatch):
    monkeypatch.setattr(glyphs, "FONTS", ())  # a machine without fonts-wqy-microhei
    assert glyphs.cjk_font_path() is None
    page = camera.document("不动产登记申请表", "kioskd-doc-0001")
    assert [r.text for r in zxingcpp.read_barcodes(page)] == ["kioskd-doc-0001"]
    heading = page[24:52, 30:240]  # where the title is drawn: ink, not a blank page
    assert (heading < 128).sum() > 200

    from kioskd.drivers.printer import escpos

    t = escpos.TicketText("示范区政务服务中心", "综合受理", "A001", 3, "2026-11-24 09:30",
                          "demo-hall/2026-11-24/A001", wait_min=12)
    interp = printer.EscposInterpreter()
    interp.feed(escpos.build_ticket(t))
    img = np.asarray(printer.render(interp.done[0]))
    assert [r.text for r in zxingcpp.read_barcodes(img)] == ["demo-hall/2026-11-24/A001"]
    rows = (img < 128).any(axis=1)
    assert rows[:60].any(), "the hall's name left no mark on the paper"


def test_without_a_font_a_chinese_line_is_as_wide_as_its_characters(monkeypatch):
    monkeypatch.setattr(glyphs, "FONTS", ())
    assert glyphs.text_width("综合受理", 24) == 4 * 24
    assert 0 < glyphs.text_width("A001", 24) < 4 * 24


HIDE = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/bin/espeak-ng", "/usr/bin/sox"]


def _bare_script() -> str:
    """Shell lines that hide the system parts inside a private mount namespace."""
    lines = ["set -e", "mount -t tmpfs none /usr/share/fonts"]
    lines += [f"[ -e {p} ] && mount --bind /dev/null {p} || true" for p in HIDE]
    lines.append("for f in /usr/lib/*/libzbar.so*; do [ -e \"$f\" ] && "
                 "mount --bind /dev/null \"$f\"; done; true")
    return "\n".join(lines)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="hiding system packages needs root and unshare (CI has both)")
async def test_make_run_needs_no_system_package(tmp_path):
    env = {**os.environ, "KIOSKD_SIM_CACHE": str(tmp_path / "cache")}
    cmd = (f"{_bare_script()}\n"
           f"exec {sys.executable} -m kioskd sim -c {REPO / 'devices.toml'} --demo "
           f"--state {tmp_path / 'state'} --api-port 0")
    proc = await asyncio.create_subprocess_exec(
        "unshare", "--mount", "--propagation", "private", "bash", "-c", cmd, cwd=tmp_path,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True)
    lines: list[str] = []
    try:
        async with asyncio.timeout(90):
            await read_until(proc.stdout, lines, lambda ls: any(
                ln.startswith("demo: ") and "accepted" in ln for ln in ls))
        out = "".join(lines)
        assert re.search(r"broker\s+embedded at mqtt://", out), out
        assert "espeak-ng is not installed" in out and "chime" in out
        assert "camera-w1 (camera.uvc) ready" in out
        assert "transitions.core" not in out, "the embedded broker's state machine is chatty"
        proc.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(proc.stdout.read(), 20)).decode()
        assert await proc.wait() == 0, out + rest
        assert "Traceback" not in out + rest
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


def test_system_deps_lists_what_the_readme_lists():
    listed = subprocess.run([str(REPO / "scripts/system-deps"), "--list"], capture_output=True,
                            text=True, check=True).stdout.split()
    readme = (REPO / "README.md").read_text()
    line = re.search(r"sudo apt-get install ([a-z0-9 .-]+)", readme)
    assert line and line.group(1).split() == listed


@pytest.mark.skipif(not shutil.which("setpriv") or os.geteuid() != 0,
                    reason="running the script as a user who cannot install needs root's setpriv")
def test_system_deps_without_root_prints_the_missing_line_and_fails(tmp_path):
    # a PATH where espeak-ng, sox, faketime, openssl and systemd-analyze are not found, run as
    # nobody (no root, no sudo): the script must name them in one apt-get line and exit 1
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("ls", "grep", "id", "ldconfig", "dirname"):
        if (path := shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")):
            (bin_ / tool).symlink_to(path)
    tmp_path.chmod(0o755)
    out = subprocess.run([shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
                          "/bin/bash", str(REPO / "scripts/system-deps")],
                         env={"PATH": str(bin_)}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    missing = re.search(r"sudo apt-get install (.+)", out.stderr)
    assert missing, out.stderr
    assert {"espeak-ng", "sox", "faketime", "openssl", "systemd"} <= set(missing.group(1).split())

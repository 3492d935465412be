"""`kioskd check-config`: every mistake named as PATH:LINE: key.path: problem, exit 2."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from kioskd.cli import main
from support.helpers import REPO

BASE = (REPO / "devices.toml").read_text(encoding="utf-8")


def check(tmp_path, text: str, capsys) -> tuple[int, list[str], str]:
    path = tmp_path / "devices.toml"
    path.write_text(text, encoding="utf-8")
    rc = main(["check-config", "-c", str(path)])
    err = capsys.readouterr().err
    return rc, [line for line in err.splitlines() if line.startswith(str(path))], str(path)


def test_repository_config_is_valid(capsys):
    assert main(["check-config", "-c", str(REPO / "devices.toml")]) == 0
    assert "19 devices" in capsys.readouterr().out


MISTAKES = [
    # (what, replace this, with this, key path expected, words expected)
    ("a clerk's photo that is no image", 'staff_no = "0104"\n',
     'staff_no = "0104"\nphoto = "devices.toml"\n', "api.client[5].photo",
     "is not a JPEG or PNG image"),
    ("a rating tablet with a url", 'type = "pad.web"\nwindow = 4\n',
     'type = "pad.web"\nwindow = 4\nurl = "tcp://127.0.0.1:9"\n', "device[8].url",
     "a rating tablet has no url"),
    ("unknown device type", 'type = "board.bx"', 'type = "board.xyz"', "device[2].type",
     "unknown device type"),
    ("missing url", 'url = "serial:///dev/kioskd/idreader?baud=115200"\n', "",
     "device[0].url", "missing"),
    ("bad port syntax", 'url = "serial:///dev/kioskd/pad-w1?baud=9600"',
     'url = "tcp://127.0.0.1:99999"', "device[3].url", "bad port"),
    ("port not a number", 'listen = "127.0.0.1:8470"', 'listen = "127.0.0.1:http"',
     "api.listen", "HOST:PORT"),
    ("duplicate ids", 'id = "pad-w2"', 'id = "pad-w1"', "device[5].id", "duplicate"),
    ("unknown category", 'categories = ["B", "A"]', 'categories = ["B", "Z"]',
     "window[1].categories", "unknown category 'Z'"),
    ("wrong value type", "poll_ms = 300", 'poll_ms = "300"', "device[0].poll_ms",
     "expected an integer"),
    ("boolean for an integer", "address = 1", "address = true", "device[2].address",
     "expected an integer"),
    ("unreadable token file", 'token = "demo-kiosk-1-token-change-me"',
     'token_file = "/nonexistent/kiosk.token"', "api.client[0].token_file", "cannot read"),
    ("misspelt key", "poll_ms = 300", "pol_ms = 300", "device[0].pol_ms", "unknown key"),
    ("unknown time zone", 'timezone = "Asia/Shanghai"', 'timezone = "Mars/Base"',
     "hall.timezone", "unknown time zone"),
    ("bad baud rate", "?baud=115200", "?baud=12345", "device[0].url", "baud"),
    ("device at an unknown kiosk", 'kiosk = "kiosk-1"\nurl = "serial:///dev/kioskd/printer',
     'kiosk = "kiosk-9"\nurl = "serial:///dev/kioskd/printer', "device[1].kiosk", "no [[kiosk]]"),
    ("clerk without a window", 'role = "clerk"\nwindow = 1\n', 'role = "clerk"\n',
     "api.client[2].window", "missing"),
    ("usb url without a product id", 'url = "usb://0400:c35a"', 'url = "usb://0400"',
     "device[10].url", "expected usb://VID:PID"),
    ("usb board (not usable)", 'url = "serial:///dev/kioskd/board-w1?baud=9600"',
     'url = "usb://0416:5011"', "device[2].url", "not usable here"),
    ("unknown printer profile", 'profile = "default"', 'profile = "XP-58"', "device[1].profile",
     "POS-5890"),
    ("ticket without its number", '[ticket]\n', '[ticket]\nfields = ["title", "qr"]\n',
     "ticket.fields", "keep \"number\""),
    ("ticket qr placeholder", 'qr = "https://hcp.example.gov.cn/r/{hall}/{date}/{number}/{sig}"',
     'qr = "https://x/{ticket}"',
     "ticket.qr", "placeholders"),
    ("bad uplink scheme", 'url = "mqtt://127.0.0.1:1883"', 'url = "http://127.0.0.1:1883"',
     "uplink.url", "mqtt://"),
    ("voice without the number", 'template = "请 {ticket} 号 到 {window} 号窗口办理"',
     'template = "请到{window}号窗口"', "voice.template", "{ticket}"),
    ("voice output", 'output = "auto"                 # alsa', 'output = "speaker"  # alsa',
     "voice.output", "auto, alsa, wav"),
    ("uplink liveness", 'url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://127.0.0.1:1883"\n'
     'liveness_s = 1', "uplink.liveness_s", "outside 2-600"),
    ("client certificate without TLS", 'url = "mqtt://127.0.0.1:1883"',
     'url = "mqtt://127.0.0.1:1883"\ncert_file = "devices.toml"\nkey_file = "devices.toml"',
     "uplink.cert_file", "mqtts://"),
    ("category prefix", 'code = "C"', 'code = "c1"', "category[2].code", "capital letters"),
    ("two pads on one window", 'id = "pad-w3"\ntype = "pad.mqtt"              # a tablet pad on '
     'the hall\'s network (docs/pad-mqtt.md)\nwindow = 3',
     'id = "pad-w3"\ntype = "pad.mqtt"\nwindow = 1', "device[7]", "already is the pad"),
    ("pad without a key", 'key = "c2a97e41d05b3f68e1904a7cd2b65f13"', "", "device[5].key",
     "device key"),
    ("two pads with one key", 'key = "c2a97e41d05b3f68e1904a7cd2b65f13"',
     'key = "5f1c0e7a3b9d4c2e8a6f0b1d7e3c9a24"', "device[5].key", "same key"),
    ("pad key too short", 'key = "c2a97e41d05b3f68e1904a7cd2b65f13"', 'key = "c2a97e41"',
     "device[5].key", "at least 16"),
    ("rating reason code out of a byte", '{ code = 5, name = "环境设施" }',
     '{ code = 300, name = "环境设施" }', "rating.reasons[4].code", "1-255"),
    ("rating reason listed twice", '{ code = 5, name = "环境设施" }',
     '{ code = 4, name = "环境设施" }', "rating.reasons[4].code", "twice"),
    ("pad.mqtt on a serial url", 'url = "mqtt://127.0.0.1:1883"  # topics',
     'url = "serial:///dev/ttyS0"  # topics', "device[7].url", "not usable here"),
    ("unknown priority lane", '"military", "assisted"]', '"military", "vip"]', "queue.lanes",
     "unknown lane 'vip'"),
    ("queue rule out of range", "recall_limit = 3", "recall_limit = -1", "queue.recall_limit",
     "outside"),
    ("backup for an unknown window", "backup_for = [1]", "backup_for = [7]",
     "window[2].backup_for", "no [[window]] with number 7"),
    ("a window its own backup", "backup_for = [1]", "backup_for = [3]", "window[2].backup_for",
     "own backup"),
    ("time limit not positive", "wait_limit_min = 40", "wait_limit_min = 0",
     "category[0].wait_limit_min", "positive"),
    ("retention out of range", "elderly_age = 60", "elderly_age = 60\nretention_days = 0",
     "hall.retention_days", "outside 1-3650"),
    ("unknown encoding", 'encoding = "gb18030"', 'encoding = "gb9999"', "device[1].encoding",
     "unknown encoding"),
    ("flag not a boolean", "transfer_keeps_place = true", 'transfer_keeps_place = "yes"',
     "queue.transfer_keeps_place", "expected a boolean"),
    ("an empty token", 'token = "demo-kiosk-1-token-change-me"', 'token = ""',
     "api.client[0].token", "empty"),
    ("the demo's tokens on the hall's LAN", 'listen = "127.0.0.1:8470"',
     'listen = "0.0.0.0:8470"', "api.client[0].token", "the demo's token"),
    ("a broker login without its password", 'key = "8e03d6b2f47a19c5e60b3d8f2a71c4e9"',
     'key = "8e03d6b2f47a19c5e60b3d8f2a71c4e9"\nusername = "kioskd"', "device[7].username",
     "both username and password_file"),
    ("a broker password file that is not there", 'key = "8e03d6b2f47a19c5e60b3d8f2a71c4e9"',
     'key = "8e03d6b2f47a19c5e60b3d8f2a71c4e9"\nusername = "kioskd"\n'
     'password_file = "no-such.pass"', "device[7].password_file", "cannot read"),
    ("two devices on one port", "serial:///dev/kioskd/pad-w1?baud=9600",
     "serial:///dev/kioskd/board-w1?baud=9600", "device[3].url", "one port, one device"),
    # the 24-hour zone and its lockers
    ("zone hours that are no hours", 'hours = "00:00-24:00"           # e.g.',
     'hours = "24:00-08:00"           # e.g.', "zone[0].hours", "expected HH:MM-HH:MM"),
    ("a fail mode that is none", 'fails = "secure"', 'fails = "open"', "zone[0].fails",
     "not one of secure, safe"),
    ("a door in no zone", 'type = "gate.modbus"\nzone = "night"',
     'type = "gate.modbus"\nzone = "day"', "device[16].zone", "no [[zone]] with id 'day'"),
    ("a door at a window", 'type = "gate.modbus"\nzone = "night"',
     'type = "gate.modbus"\nwindow = 1', "device[16]", "serves a zone, not a window"),
    ("a locker's reader that is not there", 'reader = "locker-reader"', 'reader = "nobody"',
     "device[17].reader", "no other [[device]] with id 'nobody'"),
    ("sizes for too few compartments", 'sizes = ["S", "S", "S", "S", "S", "S", "M", "M", "M", '
     '"M", "L", "L"]', 'sizes = ["S", "M"]', "device[17].sizes", "for each of the 12"),
    ("a locker page for no locker", 'locker = "locker-1"', 'locker = "locker-2"',
     "api.client[9].locker", "no locker.modbus [[device]] 'locker-2'"),
]


@pytest.mark.parametrize("what,old,new,keypath,words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_named(tmp_path, capsys, what, old, new, keypath, words):
    assert old in BASE, f"test data out of date: {old!r}"
    rc, lines, path = check(tmp_path, BASE.replace(old, new, 1), capsys)
    assert rc == 2
    hits = [ln for ln in lines if f": {keypath}: " in ln]
    assert hits, f"no line for {keypath} in {lines}"
    assert words in hits[0]
    m = re.match(re.escape(path) + r":(\d+): ", hits[0])
    assert m, f"no line number in {hits[0]!r}"
    line = (tmp_path / "devices.toml").read_text(encoding="utf-8").splitlines()[int(m.group(1)) - 1]
    leaf = keypath.rsplit(".", 1)[-1]
    if "[" not in leaf:  # a key's own line, or its table's header
        assert leaf in line or line.startswith("["), (line, keypath)


def test_all_mistakes_at_once(tmp_path, capsys):
    text = BASE
    for _, old, new, _, _ in MISTAKES[:6]:
        text = text.replace(old, new, 1)
    rc, lines, _ = check(tmp_path, text, capsys)
    assert rc == 2 and len(lines) >= 6


def test_syntax_error_gives_its_line(tmp_path, capsys):
    text = BASE.replace('name = "综合受理"', 'name = "综合受理', 1)
    rc, lines, path = check(tmp_path, text, capsys)
    bad_line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln == 'name = "综合受理')
    assert rc == 2
    assert lines and lines[0].startswith(f"{path}:{bad_line}: syntax")


def test_missing_file(tmp_path, capsys):
    rc = main(["check-config", "-c", str(tmp_path / "nope.toml")])
    assert rc == 2 and "cannot read" in capsys.readouterr().err


def test_console_script_exit_code(tmp_path):
    path = tmp_path / "devices.toml"
    path.write_text(BASE.replace('type = "board.bx"', 'type = "board.xyz"', 1), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "kioskd", "check-config", "-c", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "device[2].type" in r.stderr


def test_run_refuses_a_broken_config(tmp_path):
    path = tmp_path / "devices.toml"
    path.write_text("[hall\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "kioskd", "run", "-c", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"{path}:1: syntax" in r.stderr


def test_the_demo_tokens_on_a_lan_when_the_hall_says_so(tmp_path, capsys):
    text = BASE.replace('listen = "127.0.0.1:8470"', 'listen = "0.0.0.0:8470"\n'
                        "allow_demo_tokens = true", 1)
    assert check(tmp_path, text, capsys)[0] == 0


def test_a_state_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    text = BASE.replace('state_dir = "var"', f'state_dir = "{tmp_path}/a-file"', 1)
    rc, lines, _ = check(tmp_path, text, capsys)
    assert rc == 2 and any(": hall.state_dir: " in ln and "a file, not a folder" in ln
                           for ln in lines), lines


def test_a_byte_order_mark_is_read_past(tmp_path, capsys):
    path = tmp_path / "devices.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert main(["check-config", "-c", str(path)]) == 0, capsys.readouterr().err


def test_arrays_nested_50000_deep_are_refused_in_words(tmp_path, capsys):
    text = BASE + "\n[voice]\nx = " + "[" * 50_000 + "]" * 50_000 + "\n"
    path = tmp_path / "devices.toml"
    path.write_text(text, encoding="utf-8")
    rc = main(["check-config", "-c", str(path)])
    err = capsys.readouterr().err
    assert rc == 2 and "nested 50000 deep" in err and "Traceback" not in err
    # brackets inside strings and comments are text, not nesting
    text = BASE.replace('name = "综合受理"', 'name = "综合受理[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" # ' +
                        "[" * 40, 1)
    assert check(tmp_path, text, capsys)[0] == 0

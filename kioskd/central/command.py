"""`kioskd command`: central's side of a command — sign it with the hall's key, publish it on
cmd/{op}, print the hall's answer from cmd-result/{op}. What a city's technician runs, and the
reference for a city's own sender."""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kioskd.uplink.signed import sign_command
from kioskd.pahofix import stop_loop


def read_key(path: Path) -> bytes:
    """The hall's command key (hex), as the hall keeps it; never made here."""
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"kioskd command: {path}: not a hex key ({exc})") from None
    if len(key) < 16:
        raise SystemExit(f"kioskd command: {path}: the key is too short")
    return key


def send(broker: str, hall: str, key: bytes, op: str, args: dict, ttl_s: float = 300,
         timeout: float = 30, username: str = "", password: str = "") -> dict:
    """Publish one signed command and wait for the hall's answer to it (by transaction)."""
    body = sign_command(key, hall, op, args, datetime.now(timezone.utc).astimezone(), ttl_s)
    prefix = f"kioskd/v1/{hall}"
    answer: dict = {}
    got = threading.Event()
    ready = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2)
    if username:
        c.username_pw_set(username, password or None)

    def on_message(client, userdata, msg):
        try:
            reply = json.loads(msg.payload)
        except ValueError:
            return
        if reply.get("transaction") == body["id"]:
            answer.update(reply)
            got.set()
    c.on_message = on_message
    c.on_connect = lambda client, *a: client.subscribe(f"{prefix}/cmd-result/{op}", qos=1)
    c.on_subscribe = lambda *a: ready.set()
    u = urlsplit(broker)
    c.connect(u.hostname or "127.0.0.1", u.port or 1883)
    c.loop_start()
    try:
        if not ready.wait(timeout):
            raise SystemExit(f"kioskd command: no SUBACK from {broker}")
        c.publish(f"{prefix}/cmd/{op}", json.dumps(body, ensure_ascii=False), qos=1)
        if not got.wait(timeout):
            raise SystemExit(f"kioskd command: hall {hall} did not answer within {timeout:.0f} s "
                             "(offline? the broker keeps the command for the hall, which "
                             "carries it out on its return unless it has expired)")
    finally:
        c.disconnect()
        stop_loop(c)
    return answer


def run(broker: str, hall: str, key_file: str, op: str, args_json: str, ttl_s: float,
        timeout: float) -> int:
    try:
        args = json.loads(args_json)
    except ValueError as exc:
        raise SystemExit(f"kioskd command: ARGS is not JSON: {exc}") from None
    answer = send(broker, hall, read_key(Path(key_file)), op, args, ttl_s, timeout)
    json.dump(answer, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0 if answer.get("status") == "ok" else 1

"""The reference collector: what the tests use as "central", and what a city can start from.

    kioskd collect --broker mqtt://broker:1883 --db central.sqlite3
    kioskd collect --broker mqtt://broker:1883 --db postgresql://central@db/kioskd

It subscribes to every hall's events with an MQTT 5 shared subscription (`$share/GROUP/...`: the
broker gives each message to one collector of the group, so several share the load), stores
each row once by (hall, seq), and acknowledges per hall the highest `seq` below which it holds
every row: the hall marks rows delivered only then (a broker's PUBACK says only that the broker
took a message). A row above a hole is stored and the hole is reported as a gap until it fills.

Collectors of one group must share one database (the acknowledgement is computed from it).
paho runs the network loop in its own thread and hands each row to the storing thread, which
writes what has arrived in one transaction (a transaction per row held one collector to 280
rows/s, bench/city.py); the database is used from there and from the acknowledging thread,
under one lock. A row taken from the broker and lost in a crash before it is stored is not
acknowledged, so its hall sends it again.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.subscribeoptions import SubscribeOptions

from kioskd import jsonlimits
from kioskd.central.store import open_store
from kioskd.pahofix import stop_loop
from kioskd.uplink.signed import sign_ack

log = logging.getLogger("kioskd.central")

ACK_EVERY_S = 0.05  # acknowledgements are coalesced: one per hall per 50 ms at most
BATCH = 1000  # rows stored in one transaction, at most


class HallKeys:
    """Each hall's command key, which central holds (the hall's `command_key_file`), as
    `DIR/{hall}.key` (hex, as the hall writes it); read when first needed, so a hall added to
    the folder is signed for without a restart."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self._keys: dict[str, bytes] = {}

    def __call__(self, hall: str) -> bytes | None:
        if hall not in self._keys:
            try:
                self._keys[hall] = bytes.fromhex((self.folder / f"{hall}.key").read_text().strip())
            except (OSError, ValueError):
                return None
        return self._keys[hall]


class Collector:
    def __init__(self, broker: str, db: Path | str, *, group: str | None = "kioskd-collect",
                 client_id: str = "", username: str = "", password: str = "",
                 topic_root: str = "kioskd/v1",
                 keys: Callable[[str], bytes | None] | Path | str | None = None):
        self.keys = keys if callable(keys) else HallKeys(keys) if keys else (lambda hall: None)
        self._unsigned_told: set[str] = set()
        u = urlsplit(broker)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 1883
        self.group, self.root = group, topic_root
        self.db = open_store(db)  # a file: SQLite; postgresql://...: PostgreSQL
        self._lock = threading.Lock()
        self._dirty: set[str] = set()  # halls whose `upto` moved since the last ack
        self._stop = threading.Event()
        self.stored = 0
        self.duplicates = 0
        self.connected = threading.Event()
        # group None: the one collector, plain MQTT 3.1.1 (for brokers without MQTT 5, such as
        # the simulator's embedded one)
        self.v5 = group is not None
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"collector-{id(self)}",
                        protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
                        clean_session=None if self.v5 else False)
        if username:
            c.username_pw_set(username, password or None)
        c.on_connect = self._on_connect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        c.reconnect_delay_set(min_delay=1, max_delay=4)
        self.client = c
        self._acker = threading.Thread(target=self._ack_loop, name="collector-ack", daemon=True)
        self._inbox: collections.deque[tuple[str, dict]] = collections.deque()
        self._arrived = threading.Event()
        self._storer = threading.Thread(target=self._store_loop, name="collector-store",
                                        daemon=True)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 24 * 3600  # the broker keeps our queue while away
            self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False,
                                      properties=props)
        else:
            self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._storer.start()
        self._acker.start()

    def stop(self) -> None:
        self._stop.set()
        self._arrived.set()
        for thread in (self._storer, self._acker):  # what arrived is stored ...
            if thread.is_alive():
                thread.join(5)
        self._flush_acks()  # ... and acknowledged while still connected (a row that arrives
        self.client.disconnect()  # after this is not acknowledged: its hall sends it again)
        stop_loop(self.client)
        with self._lock:
            self.db.close()

    # --- receiving -----------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("collector: broker %s:%s refused: %s", self.host, self.port, reason_code)
            return
        share = f"$share/{self.group}/" if self.v5 else ""
        opts = SubscribeOptions(qos=1) if self.v5 else 1
        client.subscribe([(f"{share}{self.root}/+/event/#", opts),
                          (f"{share}{self.root}/+/state", opts)])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        # connected means receiving: a row published before the broker took the subscription
        # would reach nobody (seen: a test's first row, on a loaded machine)
        if not self.connected.is_set():
            log.info("collector: subscribed to %s/+/event/# (group %s)", self.root, self.group)
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        parts = msg.topic.split("/")
        hall = parts[2] if len(parts) > 3 else ""
        try:
            body = jsonlimits.loads(msg.payload)
        except ValueError as exc:
            log.warning("collector: %s: %s, dropped", msg.topic[:120], exc)
            return
        if parts[-1] == "state":
            with self._lock:
                boot = body.get("boot")
                self.db.hall_state(hall, bool(body.get("online")),
                                   boot if isinstance(boot, int) and not isinstance(boot, bool)
                                   else None)
            return
        if body.get("hall") != hall or not isinstance(body.get("seq"), int):
            log.warning("collector: %s: an envelope of another hall or without seq, dropped",
                        msg.topic)
            return
        self._inbox.append((hall, body))
        self._arrived.set()

    def _store_loop(self) -> None:
        while True:
            self._arrived.wait()
            self._arrived.clear()
            while self._inbox:
                batch = [self._inbox.popleft() for _ in range(min(BATCH, len(self._inbox)))]
                try:
                    self.store_many(batch)
                except Exception as exc:  # the database away: the halls send these again
                    log.error("collector: %d rows not stored (%s: %s); their halls will send "
                              "them again", len(batch), type(exc).__name__, exc)
            if self._stop.is_set():
                return

    def store_many(self, rows: list[tuple[str, dict]]) -> int:
        """Store rows once each; move each hall's acknowledgement over every row now
        contiguous. How many were new."""
        with self._lock:
            fresh = self.db.store_many(rows)
            # a duplicate is acknowledged too: the hall sends again what it has no ack for,
            # and an ack lost with a crashed broker would otherwise never be repeated
            self._dirty.update(hall for hall, _ in rows)
        self.stored += fresh
        self.duplicates += len(rows) - fresh
        return fresh

    def store(self, hall: str, env: dict) -> bool:
        return self.store_many([(hall, env)]) == 1

    # --- acknowledging -------------------------------------------------------------------------
    def _ack_loop(self) -> None:
        while not self._stop.wait(ACK_EVERY_S):
            self._flush_acks()

    def _flush_acks(self) -> None:
        with self._lock:
            halls, self._dirty = self._dirty, set()
            ups = {h: self.db.upto(h) for h in halls}
        for hall, upto in ups.items():
            key = self.keys(hall)
            if key is None and hall not in self._unsigned_told:
                self._unsigned_told.add(hall)
                log.error("collector: no command key for hall %s: its acks go unsigned and the "
                          "hall refuses them (resending everything); put the key in the keys "
                          "folder as %s.key", hall, hall)
            body = sign_ack(key, hall, upto) if key else {"seq": upto}
            # retained: a hall that restarts learns at once how far central has it
            self.client.publish(f"{self.root}/{hall}/ack", json.dumps(body), qos=1, retain=True)

    # --- reports -------------------------------------------------------------------------------
    def gaps(self, hall: str) -> list[tuple[int, int]]:
        """Holes (first, last missing seq) below the highest row stored for `hall`."""
        with self._lock:
            rows = self.db.seqs(hall)
        out, expect = [], 1
        for s in rows:
            if s > expect:
                out.append((expect, s - 1))
            expect = s + 1
        return out

    def upto(self, hall: str) -> int:
        with self._lock:
            return self.db.upto(hall)


def run(broker: str, db: str, group: str, keys: str | None = None, client_id: str = "") -> int:
    """`kioskd collect`: run until Ctrl-C, reporting gaps every minute."""
    # --client-id, kept across restarts, finds the session and the rows the broker queued in it
    # while this collector was down. Without one the id is new at each start (two collectors
    # on one host must never share one: each would throw the other off), and what was queued
    # for the old id reaches central when the halls send it again (their ack stalled)
    col = Collector(broker, db, group=group, keys=keys,
                    client_id=client_id or f"collector-{socket.gethostname()}-{os.getpid()}")
    col.start()
    log.info("collector: %s -> %s (group %s)", broker, db, group)
    try:
        while True:
            time.sleep(60)
            with col._lock:
                halls = col.db.halls()
            for hall in halls:
                gaps = col.gaps(hall)
                if gaps:
                    log.warning("collector: hall %s: missing seq %s", hall,
                                ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in gaps[:10]))
    except KeyboardInterrupt:
        pass
    finally:
        col.stop()
    return 0

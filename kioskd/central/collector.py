"""The reference collector: what the tests use as "central", and what a city can start from.

    kioskd collect --broker mqtt://broker:1883 --db central.sqlite3

It subscribes to every hall's events with an MQTT 5 shared subscription (`$share/GROUP/...`: the
broker gives each message to one collector of the group, so several share the load), stores
each row once by (hall, seq), and acknowledges per hall the highest `seq` below which it holds
every row: the hall marks rows delivered only then (a broker's PUBACK says only that the broker
took a message). A row above a hole is stored and the hole is reported as a gap until it fills.

Collectors of one group must share one database (the acknowledgement is computed from it).
paho runs the network loop in its own thread; the database is used from that thread and from
the acknowledging thread, under one lock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.subscribeoptions import SubscribeOptions

log = logging.getLogger("kioskd.central")

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS events (
    hall TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL,
    type TEXT NOT NULL, data TEXT NOT NULL, prev TEXT NOT NULL, received TEXT NOT NULL,
    PRIMARY KEY (hall, seq)
);
CREATE TABLE IF NOT EXISTS halls (
    hall TEXT PRIMARY KEY, upto INTEGER NOT NULL DEFAULT 0, acked INTEGER NOT NULL DEFAULT 0,
    online INTEGER, boot INTEGER, seen TEXT
);
"""
ACK_EVERY_S = 0.05  # acknowledgements are coalesced: one per hall per 50 ms at most


class Collector:
    def __init__(self, broker: str, db: Path | str, *, group: str | None = "kioskd-collect",
                 client_id: str = "", username: str = "", password: str = "",
                 topic_root: str = "kioskd/v1"):
        u = urlsplit(broker)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 1883
        self.group, self.root = group, topic_root
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(db), check_same_thread=False, isolation_level=None)
        self.db.executescript(SCHEMA)
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA busy_timeout = 5000")  # another collector's write in progress
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
        c.on_message = self._on_message
        c.reconnect_delay_set(min_delay=1, max_delay=4)
        self.client = c
        self._acker = threading.Thread(target=self._ack_loop, name="collector-ack", daemon=True)

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
        self._acker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._acker.is_alive():
            self._acker.join(2)
        self._flush_acks()
        self.client.disconnect()
        self.client.loop_stop()
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
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        parts = msg.topic.split("/")
        hall = parts[2] if len(parts) > 3 else ""
        try:
            body = json.loads(msg.payload)
        except ValueError:
            log.warning("collector: %s: not JSON, dropped", msg.topic)
            return
        if parts[-1] == "state":
            with self._lock:
                self._hall(hall)
                self.db.execute("UPDATE halls SET online = ?, boot = ?, seen = ? WHERE hall = ?",
                                (int(bool(body.get("online"))), body.get("boot"),
                                 _now(), hall))
            return
        if body.get("hall") != hall or not isinstance(body.get("seq"), int):
            log.warning("collector: %s: an envelope of another hall or without seq, dropped",
                        msg.topic)
            return
        self.store(hall, body)

    def store(self, hall: str, env: dict) -> bool:
        """Store one row once; move the hall's acknowledgement over every row now contiguous.
        One write transaction each (BEGIN IMMEDIATE), so collectors sharing the database
        cannot both miss the row that joins their runs."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self._hall(hall)
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (hall, env["seq"], env.get("id", ""), env.get("ts", ""),
                     env.get("type", ""), json.dumps(env.get("data"), ensure_ascii=False),
                     env.get("prev", ""), _now()))
                fresh = cur.rowcount == 1
                # a duplicate is acknowledged too: the hall sends again what it has no ack for,
                # and an ack lost with a crashed broker would otherwise never be repeated
                self._dirty.add(hall)
                if fresh:
                    (upto,) = self.db.execute("SELECT upto FROM halls WHERE hall = ?",
                                              (hall,)).fetchone()
                    new = self.db.execute(
                        "WITH RECURSIVE run(s) AS (SELECT ? UNION ALL SELECT s + 1 FROM run "
                        "WHERE EXISTS (SELECT 1 FROM events WHERE hall = ? AND seq = s + 1)) "
                        "SELECT MAX(s) FROM run", (upto, hall)).fetchone()[0]
                    if new > upto:
                        self.db.execute("UPDATE halls SET upto = ? WHERE hall = ?", (new, hall))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        if fresh:
            self.stored += 1
        else:
            self.duplicates += 1
        return fresh

    def _hall(self, hall: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO halls (hall) VALUES (?)", (hall,))

    # --- acknowledging -------------------------------------------------------------------------
    def _ack_loop(self) -> None:
        while not self._stop.wait(ACK_EVERY_S):
            self._flush_acks()

    def _flush_acks(self) -> None:
        with self._lock:
            halls, self._dirty = self._dirty, set()
            ups = {h: self.db.execute("SELECT upto FROM halls WHERE hall = ?", (h,)).fetchone()[0]
                   for h in halls}
        for hall, upto in ups.items():
            # retained: a hall that restarts learns at once how far central has it
            self.client.publish(f"{self.root}/{hall}/ack", json.dumps({"seq": upto}), qos=1,
                                retain=True)

    # --- reports -------------------------------------------------------------------------------
    def gaps(self, hall: str) -> list[tuple[int, int]]:
        """Holes (first, last missing seq) below the highest row stored for `hall`."""
        with self._lock:
            rows = [r[0] for r in self.db.execute(
                "SELECT seq FROM events WHERE hall = ? ORDER BY seq", (hall,))]
        out, expect = [], 1
        for s in rows:
            if s > expect:
                out.append((expect, s - 1))
            expect = s + 1
        return out

    def upto(self, hall: str) -> int:
        with self._lock:
            row = self.db.execute("SELECT upto FROM halls WHERE hall = ?", (hall,)).fetchone()
        return row[0] if row else 0


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def run(broker: str, db: str, group: str) -> int:
    """`kioskd collect`: run until Ctrl-C, reporting gaps every minute."""
    col = Collector(broker, db, group=group)
    col.start()
    log.info("collector: %s -> %s (group %s)", broker, db, group)
    try:
        while True:
            time.sleep(60)
            with col._lock:
                halls = [r[0] for r in col.db.execute("SELECT hall FROM halls")]
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

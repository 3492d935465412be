from __future__ import annotations

import subprocess
import sys

from kioskd.journal import Envelope, Journal, row_hash
from support.helpers import tamper

TS = "2026-11-24T09:00:00.000+08:00"


def test_seq_gap_free_chain_and_tamper_detection(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", "h")
    envs = j.append([("ticket.issued", {"ticket": "A001"}), ("ticket.called", {"ticket": "A001"})], TS)
    envs += j.append([("service.finished", {"ticket": "A001"})], TS)
    assert [e.seq for e in envs] == [1, 2, 3]
    assert envs[1].prev != envs[2].prev and envs[0].prev == "0" * 64
    assert j.verify() is None
    j.close()
    j = Journal(tmp_path / "j.sqlite3", "h")  # reopened: the chain and seq continue
    assert j.append([("x", {})], TS)[0].seq == 4 and j.verify() is None
    j.close()
    tamper(tmp_path / "j.sqlite3", "UPDATE journal SET data = '{\"ticket\":\"A009\"}' WHERE seq = 2")
    assert Journal(tmp_path / "j.sqlite3", "h").verify() == 2


def test_delivery_watermark(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", "h")
    j.append([("e", {"n": i}) for i in range(5)], TS)
    j.mark_delivered([1, 2, 4])
    assert j.delivered_upto() == 2 and j.backlog() == 2
    assert [e.seq for e in j.read(after=0, undelivered=True)] == [3, 5]


def test_verify_journal_cli_names_the_bad_seq(tmp_path):
    j = Journal(tmp_path / "journal.sqlite3", "demo-hall")
    j.append([("e", {"n": i}) for i in range(3)], TS)
    j.close()
    tamper(tmp_path / "journal.sqlite3", "DELETE FROM journal WHERE seq = 2")
    r = subprocess.run([sys.executable, "-m", "kioskd", "verify-journal", "--journal",
                        str(tmp_path / "journal.sqlite3")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "seq 2" in r.stderr


def test_the_envelope_and_the_chain_are_the_documented_contract(tmp_path):
    """docs/central.md: the envelope's JSON, and `prev` = SHA-256 of hall, seq, id, ts, type,
    the data as canonical JSON (sorted keys, no spaces, UTF-8) and the previous hash, joined
    by 0x1F; the first row's `prev` is 64 zeros. Central can check a hall's chain with it."""
    env = Envelope("h", 2, "0f" * 16, TS, "ticket.issued", {"ticket": "A001", "name": "张*"},
                   "0" * 64)
    assert env.to_json() == (
        '{"v":1,"hall":"h","seq":2,"id":"' + "0f" * 16 + '","ts":"' + TS + '",'
        '"type":"ticket.issued","data":{"ticket":"A001","name":"张*"},"prev":"' + "0" * 64 + '"}')
    # the vector, computed by hand from the documented rule
    assert row_hash("h", 1, "ab" * 16, TS, "x", '{"a":1,"b":"张"}', "0" * 64) == (
        "afc1adefa89cd80c2a6586133777a10706d53ede0e2d2821eb04406eb85213d1")
    j = Journal(tmp_path / "a" / "b" / "j.sqlite3", "h")  # its folders made as needed
    first, second = j.append([("x", {"b": "张", "a": 1}), ("y", {})], TS)
    assert first.prev == "0" * 64
    assert second.prev == row_hash("h", 1, first.id, TS, "x", '{"a":1,"b":"张"}', "0" * 64)
    j.close()


def test_an_append_is_all_or_none_and_its_rows_cannot_change(tmp_path):
    import dataclasses
    import sqlite3

    import pytest

    j = Journal(tmp_path / "j.sqlite3", "h")
    (first,) = j.append([("x", {})], TS)
    assert j.last_seq == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.seq = 9  # type: ignore[misc]
    # a row already at seq 3 (a second writer, a restored copy): the next append of three
    # fails at its third row, and none of the three is written
    tamper(tmp_path / "j.sqlite3", "INSERT INTO journal(seq,id,ts,type,data,prev,hash) "
                                   "VALUES (3,'i','t','x','{}','p','h')")
    with pytest.raises(sqlite3.IntegrityError):
        j.append([("y", {}), ("y", {}), ("y", {})], TS)
    assert [e.seq for e in j.read()] == [1, 3] and j.last_seq == 1
    j.close()


def test_reading_by_day_by_type_and_what_central_has(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", "h")
    assert j.last_ts() is None  # the hall's clock guard starts from the journal's last time
    j.append([("day.stats", {"d": 1}), ("ticket.issued", {})], "2026-11-23T18:00:00.000+08:00")
    j.append([("ticket.issued", {}), ("day.stats", {"d": 2})], TS)
    assert [e.seq for e in j.since_ts("2026-11-24")] == [3, 4]  # the hall's day, in order
    assert j.last_ts() == TS
    assert j.last_of("day.stats", "2026-11-24").data == {"d": 1}  # the newest before a time
    assert j.last_of("day.stats", "9999").seq == 4 and j.last_of("nothing", "9999") is None
    # the manager's page: the rows of a type newest first, and a day's rows counted by type
    assert [e.data for e in j.of_type("day.stats")] == [{"d": 2}, {"d": 1}]
    assert [e.seq for e in j.of_type("ticket.issued", limit=1)] == [3]
    assert j.count_types("2026-11-24", "2026-11-25", ["ticket.issued", "day.stats", "x"]) == {
        "ticket.issued": 1, "day.stats": 1, "x": 0}
    assert j.count_types("2026-11-23", "2026-11-24", ["ticket.issued"]) == {"ticket.issued": 1}
    assert j.delivered_upto() == 0 and j.backlog() == 4
    j.mark_delivered_upto(3)
    assert j.delivered_upto() == 3 and j.backlog() == 1
    assert [e.seq for e in j.read(undelivered=True)] == [4] and len(j.read()) == 4
    assert [e.seq for e in j.read(after=1, limit=2)] == [2, 3]
    j.mark_delivered_upto(4)
    assert j.delivered_upto() == 4  # nothing left: up to the last row
    # retention keeps `keep_from` and every row after it, even when central has them
    assert j.purge("9999", keep_from=3) == 2 and [e.seq for e in j.read()] == [3, 4]
    assert j.verify() is None
    j.close()


def test_a_command_id_is_taken_once_until_it_expires(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", "h")
    assert j.claim_command("c1", "2026-11-24T10:05:00Z", "2026-11-24T10:00:00Z")
    assert not j.claim_command("c1", "2026-11-24T10:05:00Z", "2026-11-24T10:01:00Z")  # replay
    assert j.claim_command("c2", "2026-11-24T10:05:00Z", "2026-11-24T10:01:00Z")
    # once expired, the id is forgotten (the command itself is refused as expired elsewhere)
    assert j.claim_command("c1", "2026-11-24T10:15:00Z", "2026-11-24T10:06:00Z")
    j.close()


def test_verify_names_a_gap_and_a_broken_link(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", "h")
    j.append([("e", {"n": i}) for i in range(4)], TS)
    j.close()
    # row 3 rewritten with a link of its own and its hash made to match it: its own hash
    # checks, the link to row 2 does not
    j = Journal(tmp_path / "j.sqlite3", "h")
    third = j.read()[2]
    j.close()
    forged = row_hash("h", 3, third.id, TS, "e", '{"n":2}', "x" * 64)
    tamper(tmp_path / "j.sqlite3", f"UPDATE journal SET prev = '{'x' * 64}', hash = '{forged}' "
                                   "WHERE seq = 3")
    assert Journal(tmp_path / "j.sqlite3", "h").verify() == 3
    tamper(tmp_path / "j.sqlite3", "DELETE FROM journal WHERE seq = 2")
    assert Journal(tmp_path / "j.sqlite3", "h").verify() == 2  # the missing seq


async def test_a_burst_is_written_in_a_few_group_commits_in_order(tmp_path):
    """100 commands at once, each staged and awaited as the hall's `execute` does: every row on
    disk, gap-free and chained, in far fewer transactions than rows."""
    import asyncio

    j = Journal(tmp_path / "j.sqlite3", "h")
    commits = []
    write = j._write
    j._write = lambda rows: (commits.append(len(rows)), write(rows))[1]  # counts, still writes

    async def command(i: int) -> int:
        await asyncio.sleep(0)
        env = j.stage([("ticket.issued", {"ticket": f"A{i:03d}"})], TS)[0]
        assert env.seq not in [e.seq for e in j.read(0, 1000)]  # not readable before durable
        await j.durable(env.seq)
        assert j.read(env.seq - 1, 1)[0].id == env.id  # on disk once it returns
        return env.seq

    seqs = await asyncio.gather(*(command(i) for i in range(100)))
    assert sorted(seqs) == list(range(1, 101)) and j.last_seq == 100
    assert sum(commits) == 100 and len(commits) <= 10, commits
    assert j.verify() is None
    # an append writes what was staged before it first, then its own row
    staged = j.stage([("a", {})], TS)[0]
    own = j.append([("b", {})], TS)[0]
    assert (staged.seq, own.seq) == (101, 102) and j.last_seq == 102
    await j.durable(staged.seq)  # already there: returns at once
    j.close()
    assert Journal(tmp_path / "j.sqlite3", "h").verify() is None


async def test_a_failed_group_commit_fails_each_of_its_rows_and_the_next_one_writes(tmp_path):
    """An I/O error in the group commit (stood in for by one failing write: the real full disk
    is tests/system/test_disk.py's): every command in it hears the error, none is on disk, the
    head goes back, and the next commit continues the chain gap-free."""
    import asyncio
    import sqlite3

    import pytest

    j = Journal(tmp_path / "j.sqlite3", "h")
    j.append([("first", {})], TS)
    write, fail = j._write, [True]

    def flaky(rows):
        if fail.pop() if fail else False:
            raise sqlite3.OperationalError("disk I/O error")
        return write(rows)
    j._write = flaky
    envs = [j.stage([("lost", {"n": i})], TS)[0] for i in range(3)]
    results = await asyncio.gather(*(j.durable(e.seq) for e in envs), return_exceptions=True)
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    assert j.last_seq == 1 and [e.type for e in j.read(0, 10)] == ["first"]
    again = j.stage([("kept", {})], TS)[0]
    await j.durable(again.seq)
    assert again.seq == 2 and j.verify() is None
    assert [e.type for e in j.read(0, 10)] == ["first", "kept"]


def test_the_uplinks_wire_rows_come_in_order_in_batches_exactly_as_read_makes_them(tmp_path):
    """read_wire makes a batch in one SQLite step, the rows joined with ASCII separators:
    data holding those very characters, quotes, backslashes, new lines and CJK, types in
    UTF-8, delivered rows in between and batches that end mid-way all come out as the
    envelopes `read` makes, byte for byte, in seq order."""
    j = Journal(tmp_path / "j.sqlite3", "hall-1")
    tricky = ["\x1e", "\x1f", "a\x1fb\x1ec", 'q"uote', "back\\slash", "new\nline", "张*", ""]
    j.append([("评价.given" if i % 7 == 0 else "ticket.issued",
               {"n": i, "s": tricky[i % len(tricky)], "z": [None, True, 1.5]})
              for i in range(2500)], TS)
    j.mark_delivered(range(100, 300))
    expected = [(e.seq, e.type, e.to_json()) for e in j.read(0, 5000, undelivered=True)]
    got, after = [], 0
    while batch := j.read_wire(after, 999):
        got += batch
        after = batch[-1][0]
    assert got == expected and len(got) == 2300
    assert j.read_wire(2500, 10) == []


def test_the_uplinks_wire_rows_are_the_envelopes_as_stored(tmp_path):
    """What the uplink publishes is made from the stored columns, not parsed and encoded
    again: the same envelope (the data's keys in canonical order), undelivered rows only."""
    import json

    j = Journal(tmp_path / "j.sqlite3", "hall-1")
    envs = j.append([("ticket.issued", {"ticket": "A001", "holder": None, "name": "张*",
                                         "q": 'a"b\\c'}), ("x", {})], TS)
    j.mark_delivered([2])
    wire = j.read_wire(0, 10)
    assert [(seq, type_) for seq, type_, _ in wire] == [(1, "ticket.issued")]
    assert json.loads(wire[0][2]) == envs[0].to_dict()
    assert '"name":"张*"' in wire[0][2]  # UTF-8, as to_json writes it

"""Personal data: masks, the key file's mode, the log scrubber on every logger, retention."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import textwrap

import pytest

from datetime import date, timedelta

from kioskd import cli
from kioskd.errors import PrivacyError
from kioskd.journal import Journal
from kioskd.privacy import (Holder, age_on, holder_token, install_log_scrubber, link_sig, load_key,
                            mask_id, mask_name, mask_name_board, scrub)
from kioskd.sim.idcard import DEMO_CARD
from support.helpers import REPO, api, hall_toml, tamper

NUMBER = DEMO_CARD.id_number


@pytest.mark.parametrize("name,clerk,board", [("张三", "张*", "张*"), ("张三丰", "张**", "张*"),
                                              ("欧阳娜娜", "欧***", "欧*")])
def test_name_masks(name, clerk, board):
    assert (mask_name(name), mask_name_board(name)) == (clerk, board)


def test_id_mask_keeps_the_first_six_and_last_four():
    assert mask_id(NUMBER) == NUMBER[:6] + "*" * 8 + NUMBER[-4:]
    assert mask_id("110105491231002") == "110105*****1002"  # a 15-digit first-generation number
    # too short to keep 10 and hide anything: hidden whole (8 and 10 once came out in clear)
    assert [mask_id(x) for x in ("1234567", "12345678", "1234567890")] == [
        "*******", "********", "**********"]
    assert mask_id("12345678901") == "123456*8901"
    assert (mask_name(""), mask_name_board(" ")) == ("", "")


@pytest.mark.parametrize("birth,today,age", [
    (date(1966, 11, 24), date(2026, 11, 24), 60),  # the birthday itself: 60 today
    (date(1966, 11, 25), date(2026, 11, 24), 59),  # tomorrow
    (date(1966, 11, 23), date(2026, 11, 24), 60),
    (date(1966, 12, 1), date(2026, 11, 30), 59),  # a later month
    (date(2000, 2, 29), date(2026, 2, 28), 25), (date(2000, 2, 29), date(2026, 3, 1), 26),
])
def test_age_on_the_halls_day(birth, today, age):
    assert age_on(birth, today) == age


def test_the_key_file_as_made_and_as_read(tmp_path):
    key = tmp_path / "new" / "keys" / "holder.key"  # folders made as needed
    made = load_key(key)
    assert len(made) == 32 and key.stat().st_mode & 0o777 == 0o600
    assert load_key(key) == made  # read back, as the next start does
    key.chmod(0o640)  # group-readable is readable by others too
    with pytest.raises(PrivacyError) as e:
        load_key(key)
    assert e.value.code == "privacy.key_mode"
    key.chmod(0o600)
    for text, code in (("ab" * 15, "privacy.key_short"), ("zz" * 16, "privacy.key_format")):
        key.write_text(text)
        with pytest.raises(PrivacyError) as e:
            load_key(key)
        assert e.value.code == code
    key.write_text("ab" * 16)  # 16 bytes: the least accepted
    assert load_key(key) == bytes.fromhex("ab" * 16)


def test_tokens_and_signatures_are_keyed_and_of_their_length():
    key = b"k" * 32
    token = holder_token(key, NUMBER)
    assert len(token) == 24 and token == holder_token(key, NUMBER.lower())
    assert token != holder_token(b"j" * 32, NUMBER)
    sig = link_sig(key, "h1", "2026-11-24", "A001")
    # docs/ratings.md: HMAC-SHA256(link key, "HALL/DATE/NUMBER"), 16 hex digits; central
    # computes the same to take a later rating
    import hashlib
    import hmac
    assert sig == hmac.new(key, b"h1/2026-11-24/A001", hashlib.sha256).hexdigest()[:16]
    assert len(sig) == 16 and sig != link_sig(key, "h1", "2026-11-25", "A001")
    assert sig != link_sig(key, "h2", "2026-11-24", "A001")


def test_a_holder_cannot_be_changed_after_the_read():
    import dataclasses

    h = Holder("t" * 24, "张*", 60)
    assert h.name == ""  # the full name only where [rating] real_name asks for it
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.age = 61  # type: ignore[misc]


def test_the_scrubber_is_installed_once(own_record_factory):
    install_log_scrubber()
    first = logging.getLogRecordFactory()
    install_log_scrubber()
    assert logging.getLogRecordFactory() is first  # not wrapped twice (every Hall installs it)


def test_scrub_masks_every_id_number_and_leaves_other_numbers():
    text = f"card {NUMBER} then {NUMBER[:-1]}x, order 20261124000123, phone 13800138000"
    clean = scrub(text)
    assert NUMBER not in clean and NUMBER[:-1] not in clean
    assert f"{NUMBER[:6]}{'*' * 11}{NUMBER[-1]}" in clean
    assert "13800138000" in clean


@pytest.fixture
def own_record_factory():
    """The log-record factory as it was before the test, put back after (the scrubber is a
    process-wide setting: a test must not leave it for the tests that follow)."""
    before = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    yield
    logging.setLogRecordFactory(before)


def test_log_scrubber_masks_any_logger(caplog, own_record_factory):
    logging.getLogger("some.library").warning("before %s", NUMBER)
    assert NUMBER in caplog.text  # not installed yet: the number goes through
    caplog.clear()
    install_log_scrubber()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("some.library").warning("bad card %s", NUMBER)
    logging.getLogger("kioskd.drivers").info(f"raw {NUMBER}")
    assert NUMBER not in caplog.text and caplog.text.count(NUMBER[:6] + "*" * 11) == 2


async def test_the_running_daemon_masks_a_number_any_library_logs(tmp_path, broker):
    """`kioskd run` as a process: a library kioskd did not write (here one loaded by the
    interpreter's sitecustomize, before kioskd) logs a citizen's ID number every 0.1 s; the
    daemon's stderr has it masked, from its first line to its last."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import logging, threading
        def chatter():
            logging.getLogger("vendor.sdk").info("card read: %s", "{NUMBER}")
            timer = threading.Timer(0.1, chatter)
            timer.daemon = True
            timer.start()
        chatter()
        """))
    cfg = tmp_path / "devices.toml"
    cfg.write_text(hall_toml("t-hall", f'url = "mqtt://127.0.0.1:{broker.port}"'))
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "run", "-c", str(cfg), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path, "STATE_DIRECTORY": str(tmp_path / "state")})
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while sum("vendor.sdk" in line for line in lines) < 3:
                line = (await proc.stderr.readline()).decode()
                assert line, "the daemon ended: " + "".join(lines)
                lines.append(line)
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 30)
        lines.append(rest.decode())
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = "".join(lines)
    assert NUMBER not in text and NUMBER[:-1] not in text
    assert f"card read: {NUMBER[:6]}{'*' * 11}{NUMBER[-1]}" in text


async def test_the_daily_run_purges_old_rows_and_keeps_the_appointment_list(hall_of, demo_cfg):
    """The daemon's own retention: on the first tick of a new day, rows older than
    retention_days that central has are purged, but the newest appointment list stays (a
    restart rebuilds from it)."""
    sim = await hall_of(demo_cfg)
    hall = sim.hall
    for _ in range(3):
        assert (await api(hall, "POST", "/api/tickets", {"category": "A"}))[0] == 201
    now = hall.now()
    slot = {"category": "B", "start": (now + timedelta(days=31, hours=1)).isoformat(),
            "end": (now + timedelta(days=31, hours=2)).isoformat()}
    status, _ = await api(hall, "POST", "/api/appointments",
                          {"version": "v1", "items": [{"code": "YY9", **slot}]}, role="technician")
    assert status == 200
    loaded = hall.journal.last_of("appointments.loaded", "9999").seq
    await hall.watch.until(lambda: hall.journal.backlog() == 0, 10, "central has every row")
    sim.clock.advance(days=demo_cfg.hall.retention_days + 1)
    hall.tick_soon()
    await hall.watch.until(lambda: hall.journal.read()[0].seq > 1, 10, "the old rows purged")
    kept = [e.seq for e in hall.journal.read()]
    assert kept[0] == loaded and hall.journal.verify() is None
    hall = await sim.restart_daemon()
    assert "YY9" in hall.state.appointments


def test_a_key_others_can_read_is_refused(tmp_path, capsys):
    key = tmp_path / "holder.key"
    load_key(key)  # made 0600 on first use
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    with pytest.raises(PrivacyError) as e:
        load_key(key)
    assert e.value.code == "privacy.key_mode"
    cfg = tmp_path / "devices.toml"
    cfg.write_text((REPO / "devices.toml").read_text(encoding="utf-8").replace(
        'state_dir = "var"', f'state_dir = "{tmp_path / "state"}"'), encoding="utf-8")
    (tmp_path / "state" / "keys").mkdir(parents=True)
    key.rename(tmp_path / "state" / "keys" / "holder.key")
    assert cli.main(["run", "-c", str(cfg)]) == 2
    assert "privacy.key_mode" in capsys.readouterr().err


def test_retention_purges_only_delivered_old_rows_and_the_chain_still_verifies(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", "h")
    for day in ("2026-10-01", "2026-10-02", "2026-11-20"):
        j.append([("ticket.issued", {"holder": "tok"}), ("ticket.called", {})],
                 f"{day}T09:00:00.000+08:00")
    j.mark_delivered([1, 2, 3])  # seq 4 (10-02) is not delivered yet
    assert j.purge("2026-10-25") == 3  # never past an undelivered row
    j.mark_delivered([4])
    assert j.purge("2026-10-25", keep_from=4) == 0  # a row to keep stays
    assert j.purge("2026-10-25") == 1
    assert [e.seq for e in j.read()] == [5, 6] and j.verify() is None
    assert j.append([("x", {})], "2026-11-24T09:00:00.000+08:00")[0].seq == 7
    j.close()
    tamper(tmp_path / "j.sqlite3", "UPDATE journal SET data = '{}' WHERE seq = 5")
    assert Journal(tmp_path / "j.sqlite3", "h").verify() == 5

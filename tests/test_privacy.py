"""Personal data: masks, the key file's mode, the log scrubber on every logger, retention."""

from __future__ import annotations

import logging
import pytest

from kioskd import cli
from kioskd.errors import PrivacyError
from kioskd.journal import Journal
from kioskd.privacy import (install_log_scrubber, load_key, mask_id, mask_name, mask_name_board,
                            scrub)
from kioskd.sim.idcard import DEMO_CARD
from helpers import REPO, tamper

NUMBER = DEMO_CARD.id_number


@pytest.mark.parametrize("name,clerk,board", [("张三", "张*", "张*"), ("张三丰", "张**", "张*"),
                                              ("欧阳娜娜", "欧***", "欧*")])
def test_name_masks(name, clerk, board):
    assert (mask_name(name), mask_name_board(name)) == (clerk, board)


def test_id_mask_keeps_the_first_six_and_last_four():
    assert mask_id(NUMBER) == NUMBER[:6] + "*" * 8 + NUMBER[-4:]


def test_scrub_masks_every_id_number_and_leaves_other_numbers():
    text = f"card {NUMBER} then {NUMBER[:-1]}x, order 20261124000123, phone 13800138000"
    clean = scrub(text)
    assert NUMBER not in clean and NUMBER[:-1] not in clean
    assert f"{NUMBER[:6]}{'*' * 11}{NUMBER[-1]}" in clean
    assert "13800138000" in clean


def test_log_scrubber_masks_any_logger(caplog):
    install_log_scrubber()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("some.library").warning("bad card %s", NUMBER)
    logging.getLogger("kioskd.drivers").info(f"raw {NUMBER}")
    assert NUMBER not in caplog.text and caplog.text.count(NUMBER[:6] + "*" * 11) == 2


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

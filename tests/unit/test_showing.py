"""Which board shows a window's calls: found once per config, not by a search per call."""

from __future__ import annotations

import dataclasses

from kioskd.config import load
from kioskd.drivers.registry import Role
from kioskd.showing import BoardKeeper
from support.helpers import REPO


def test_each_window_finds_its_board_and_a_reload_moves_it():
    cfg = load(REPO / "devices.toml")
    # the keeper only looks drivers up by id: the id itself stands in for the driver here
    drivers = {d.id: d.id for d in cfg.devices}
    keeper = BoardKeeper(cfg, drivers, lambda: None, lambda coro, name: None)
    for w in cfg.windows:
        listed = cfg.devices_of(window=w.number, role=Role.BOARD)
        assert keeper.window_board(w.number) == (listed[0].id if listed else None)
    assert keeper.window_board(1) == "board-w1"
    moved = dataclasses.replace(cfg, devices=tuple(
        dataclasses.replace(d, window=None if d.id == "board-w1" else 1 if d.id == "board-w2"
                            else d.window) for d in cfg.devices))
    keeper.reconfigure(moved)
    assert keeper.window_board(1) == "board-w2" and keeper.window_board(2) is None

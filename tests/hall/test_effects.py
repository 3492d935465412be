"""The effects layer (kioskd.hall.effects): every effect the engine makes has its handler;
effects on different devices are carried out at once, effects on one device in their order;
results come back typed, in the effects' order."""

from __future__ import annotations

import asyncio

from kioskd.engine import effects as engine_effects
from kioskd.engine import queue
from kioskd.hall.effects import HANDLERS, EffectResult


def test_every_effect_the_engine_makes_has_its_handler():
    assert set(HANDLERS) == set(engine_effects.Effect.__args__)
    assert len({h.name for h in HANDLERS.values()}) == len(HANDLERS)


def test_a_lane_is_a_device_not_an_effect():
    """Effects share a lane (and keep their order) when they use one device: a window's board
    twice, a pad's prompt and its close; the speaker and another window's board are apart."""
    def lane(e):
        return HANDLERS[type(e)].lane(e)

    assert lane(queue.ShowOnBoard(1, "A001")) == lane(queue.ShowOnBoard(1, None, "paused"))
    assert lane(queue.PromptRating(1, "A001")) == lane(queue.CloseRating(1))
    assert len({lane(queue.ShowOnBoard(1, "A001")), lane(queue.ShowOnBoard(2, "A002")),
                lane(queue.PromptRating(1, "A001")), lane(queue.Announce(1, "A001")),
                lane(queue.PrintTicket("kiosk-1", "A001", "综合受理", 0, "09:00"))}) == 5


async def ready(hall, *devices):
    await hall.watch.until(lambda: all(hall.supervisors[d].state.state == "ready"
                                       for d in devices), 10, f"{devices} ready")


async def test_a_silent_board_does_not_hold_up_the_rating_prompt(sim):
    """The finish shows the window board idle and prompts the pad: two devices, at once. The
    board answers nothing (it will time out); the pad has its prompt while the board's write
    is still waiting, and the results keep the engine's order."""
    hall, board, pad = sim.hall, sim.twin("board-w1"), sim.twin("pad-w1")
    await ready(hall, "board-w1", "pad-w1")
    await hall.execute(queue.WindowAction(1, "sign-in", clerk="clerk-w1"))
    envs, _ = await hall.execute(queue.IssueTicket("A"))
    await hall.execute(queue.WindowAction(1, "call", ticket=envs[0].data["ticket"]))
    board.silent = True
    finishing = asyncio.create_task(hall.execute(queue.WindowAction(1, "finish")))
    try:
        await pad.watch.until(lambda: pad.prompt is not None, 5, "the pad prompts")
        assert hall.drivers["board-w1"].awaiting_answer, "the prompt waited for the board"
    finally:
        _, results = await finishing
    assert [r.effect for r in results] == ["show", "prompt"]
    assert all(isinstance(r, EffectResult) for r in results)
    assert results[0].error == "device.timeout" and results[1].ok, results


async def test_one_device_takes_its_effects_in_their_order(sim):
    """Two shows on one board in one command's effects: the second is what the board keeps
    (the board driver's own lock would keep this order too; the lanes are checked above)."""
    hall, board = sim.hall, sim.twin("board-w1")
    await ready(hall, "board-w1")
    got = await hall.carry_out([queue.ShowOnBoard(1, "A123"), queue.ShowOnBoard(1, None, "paused")])
    assert [r.effect for r in got] == ["show", "show"] and all(r.ok for r in got), got
    await board.watch.until(lambda: board.text and "暂停" in board.text, 5, "paused last")

"""Calls spoken aloud: the text as read, a keypad's call spoken through espeak-ng into a WAV that
sox measures, one announcement queue per hall where a recall goes first, the chime without TTS."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kioskd.config import VoiceConfig
from kioskd.drivers.caller import proto as keys
from kioskd.engine import queue as q
from kioskd import voice
from kioskd.voice import QUEUE_MAX, Announcer, spaced, texts
from kioskd.watch import Watch


def sox_stat(path: str) -> dict[str, float]:
    """`sox FILE -n stat`: length in seconds and RMS amplitude (0..1)."""
    out = subprocess.run(["sox", path, "-n", "stat"], capture_output=True, text=True,
                         check=True).stderr
    get = lambda name: float(re.search(rf"{name}:\s+([-\d.]+)", out).group(1))  # noqa: E731
    return {"length": get(r"Length \(seconds\)"), "rms": get(r"RMS\s+amplitude")}


def test_the_text_reads_letters_and_digits_one_by_one():
    assert spaced("A001") == "A 0 0 1" and spaced("A001", english=True) == "A, 0 0 1"
    cfg = VoiceConfig(english="Number {ticket}, please go to window {window}")
    assert texts(cfg, "B012", 3) == [("cmn-latn-pinyin", "请 B 0 1 2 号 到 3 号窗口办理"),
                                     ("en", "Number B, 0 1 2, please go to window 3")]


async def speak_one(announcer: Announcer) -> None:
    """One call through a running announcer, until it is spoken (its worker then stopped)."""
    watch = Watch()
    announcer.on_spoken = watch.changed
    task = asyncio.create_task(announcer.run())
    try:
        announcer.call("A001", 3)
        await watch.until(lambda: announcer.history, 10, "spoken")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
def needs_tts():
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed: apt-get install espeak-ng sox (.ci/run does)")


async def test_a_keypad_call_is_shown_and_spoken(sim, needs_tts):
    hall = sim.hall
    hall.announcer.pace = 0.05  # the "speaker" holds each WAV a twentieth of its length
    await hall.execute(q.IssueTicket("A"))
    sim.twin("callers").press(keys.CALL_NEXT)
    board = sim.twin("board-w2")
    await hall.watch.until(lambda: board.text == "A001 请到2号窗口", 5, "the board")
    hall_board = sim.twin("board-hall")
    await hall_board.watch.until(lambda: hall_board.lines[:1] == ["A001 请到2号窗口"], 5,
                                 "the hall board's latest call")
    await hall.watch.until(lambda: hall.announcer.history, 20, "spoken")
    said = hall.announcer.history[0]
    # the demo hall's [voice]: Mandarin, then English, twice
    assert said.texts == ("请 A 0 0 1 号 到 2 号窗口办理", "Number A, 0 0 1, please go to window 2")
    assert said.engine == "espeak-ng"
    stat = sox_stat(said.file)
    # not silent; each ~3.5 s (Mandarin) + ~3 s (English) at 150 words a minute, said twice
    # with a pause between
    assert stat["rms"] > 0.02, stat
    assert 2 * 5.0 < stat["length"] < 2 * 10.0 + 1, stat
    assert abs(stat["length"] - said.seconds) < 0.1


async def test_a_recall_goes_before_calls_waiting(sim, needs_tts):
    hall = sim.hall
    hall.announcer.pace = 0.01
    for cat in "ABC":
        await hall.execute(q.IssueTicket(cat))
    async with hall.announcer.speaking:  # the speaker is busy with someone else's call
        await hall.execute(q.WindowAction(1, "call-next"))
        await hall.execute(q.WindowAction(2, "call-next"))
        await hall.execute(q.WindowAction(1, "recall"))
        assert len(hall.announcer.queue) == 3
    await hall.watch.until(lambda: len(hall.announcer.history) == 3, 60, "all spoken")
    order = [(s.label, s.recall) for s in hall.announcer.history]
    first = order[0][0].split()[0]
    assert order[0][1] and order[1] == (f"{first} -> 1", False), order


async def test_english_and_the_chime_without_tts(tmp_path, needs_tts):
    cfg = VoiceConfig(english="Number {ticket}, please go to window {window}", output="wav")
    both = Announcer(cfg, tmp_path / "a", pace=0)
    one = Announcer(dataclasses.replace(cfg, english=""), tmp_path / "b", pace=0)
    assert len(both.render(texts(cfg, "A001", 3))) > len(one.render(texts(one.cfg, "A001", 3)))
    chime = Announcer(dataclasses.replace(cfg, repeat=1), tmp_path / "c", pace=0)
    chime.espeak, chime.engine = None, "chime"  # as on a box without espeak-ng
    await speak_one(chime)
    stat = sox_stat(chime.history[0].file)
    assert chime.history[0].engine == "chime" and 0.7 < stat["length"] < 1.0 and stat["rms"] > 0.1


async def test_only_todays_wavs_are_kept(tmp_path, needs_tts):
    old = tmp_path / "voice" / "2020-01-01"
    old.mkdir(parents=True)
    (old / "x.wav").write_bytes(b"")
    a = Announcer(VoiceConfig(output="wav", repeat=1), tmp_path / "voice", pace=0)
    await speak_one(a)
    assert not old.exists() and [p.name for p in (tmp_path / "voice").iterdir()] == [
        Path(a.history[0].file).parent.name]


async def test_the_queue_is_bounded_and_calls_no_longer_called_are_not_spoken(tmp_path, caplog):
    """9,895 calls in a minute once left the speaker hours behind: the queue keeps 20, the
    oldest plain call going first, and a call whose ticket is no longer called at its window
    (the citizen came, or was skipped) is let go when its turn comes. The log says so once
    when the queue fills and once, with the count, when the speaker has caught up (a burst
    of 100 calls once wrote 80 lines)."""
    called = {f"A{i:03d}" for i in range(1, 31)}
    a = Announcer(VoiceConfig(output="wav", repeat=1), tmp_path / "voice", pace=0,
                  still_called=lambda ticket, window: ticket in called)
    a.espeak, a.engine = None, "chime"  # the rule, not the speech: a chime is quick
    watch = Watch()
    a.on_spoken = watch.changed
    async with a.speaking:
        for i in range(1, 26):
            a.call(f"A{i:03d}", 1)
        a.call("A025", 1, recall=True)
        assert len(a.queue) == QUEUE_MAX and a.dropped == 6
        assert [i[0] for i in a.queue][:2] == ["A025 -> 1", "A007 -> 1"]
        called -= {"A010", "A011"}  # served meanwhile
    task = asyncio.create_task(a.run())
    try:
        await watch.until(lambda: not a.queue and len(a.history) == QUEUE_MAX - 2, 30, "spoken")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    spoken = [s.label.split()[0] for s in a.history]
    assert "A010" not in spoken and "A011" not in spoken and a.dropped == 8
    told = [r.getMessage() for r in caplog.records
            if r.levelname == "WARNING" and "announcements" in r.getMessage()]
    assert told == ["voice: 20 announcements waiting: the oldest are let go (their boards "
                    "still show them) until the speaker catches up; first A001 -> 1",
                    "voice: caught up; 6 announcements were let go while 20 waited"], told


async def test_only_the_last_wavs_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(voice, "KEEP_WAVS", 3)
    a = Announcer(VoiceConfig(output="wav", repeat=1), tmp_path / "voice", pace=0)
    a.espeak, a.engine = None, "chime"
    for _ in range(5):
        a.history.clear()
        await speak_one(a)
    assert len(list((tmp_path / "voice").glob("*/*.wav"))) == 3

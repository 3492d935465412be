"""Calls spoken aloud (语音叫号): one announcement queue per hall, so calls never talk over each
other and a recall goes before calls already waiting.

Text: `[voice] template` ("请 {ticket} 号 到 {window} 号窗口办理"), the ticket's letters and digits
spaced so each is read on its own ("A 0 0 1": 诶 零 零 一, not "A one"), then `[voice] english`
when set; every announcement `repeat` times. Speech: Debian's espeak-ng with `cmn-latn-pinyin`
(1.51's `cmn` voice routes Hanzi through English phonemes: protocols.md §7), else a chime.
Output: ALSA (`aplay`), or WAV files under STATE/voice/DAY/ (simulation, a box without a card);
a WAV "plays" for as long as it lasts, as a speaker would, before the next one starts.
"""

from __future__ import annotations

import asyncio
import collections
import io
import logging
import math
import os
import shutil
import struct
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kioskd.config import VoiceConfig

log = logging.getLogger("kioskd.voice")

RATE = 22050  # espeak-ng's own rate, mono 16-bit: the chime is made to match
GAP_S = 0.6  # silence between the repeats of one announcement
HISTORY_N = 200  # announcements remembered (what the console and the tests read)
QUEUE_MAX = 20  # waiting announcements: one speaker says ~10 a minute, more is minutes behind
KEEP_WAVS = 50  # written calls kept (~420 KB each): the last ones, not a whole day's


def spaced(ticket: str, english: bool = False) -> str:
    """`A001` -> `A 0 0 1`: each letter and digit read on its own. In English a comma follows
    the letters: espeak-ng reads a bare "A" as the article (a#), "A," as the letter (eI)."""
    if not english:
        return " ".join(ticket)
    letters = " ".join(c for c in ticket if not c.isdigit())
    digits = " ".join(c for c in ticket if c.isdigit())
    return f"{letters}, {digits}" if letters and digits else letters or digits


def texts(cfg: VoiceConfig, ticket: str, window: int) -> list[tuple[str, str]]:
    """(espeak-ng voice, text) in the order spoken once."""
    out = [(cfg.voice, cfg.template.format(ticket=spaced(ticket), window=window))]
    if cfg.english:
        out.append(("en", cfg.english.format(ticket=spaced(ticket, True), window=window)))
    return out


@dataclass(frozen=True)
class Spoken:
    """One announcement as it went out."""

    label: str  # "A001 -> 3" or "notice"
    recall: bool
    texts: tuple[str, ...]
    file: str | None  # the WAV written (output = wav)
    seconds: float
    engine: str  # espeak-ng or chime


def _silence(seconds: float) -> bytes:
    return bytes(2 * int(RATE * seconds))


def chime() -> bytes:
    """Two falling tones (叮咚), 16-bit PCM: what is heard where espeak-ng is not installed."""
    frames = bytearray()
    for freq, length in ((659.25, 0.35), (523.25, 0.5)):
        n = int(RATE * length)
        for i in range(n):
            fade = min(1.0, (n - i) / (0.15 * RATE))
            frames += struct.pack("<h", int(12000 * fade * math.sin(2 * math.pi * freq * i / RATE)))
    return bytes(frames)


def wav_bytes(pcm: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buf.getvalue()


class Announcer:
    def __init__(self, cfg: VoiceConfig, folder: Path, *, pace: float = 1.0,
                 on_spoken: Callable[[], None] = lambda: None,
                 still_called: Callable[[str, int], bool] = lambda ticket, window: True):
        self.cfg = cfg
        self.on_spoken = on_spoken
        # asked as a call's turn comes: a citizen already at the window (or gone) is not
        # called again minutes late
        self.still_called = still_called
        self.dropped = 0  # calls let go: the queue was full, or the ticket no longer called
        self._overflow = 0  # let go since the queue last filled up (told once, then summed)
        self.files = True  # WAVs written (output wav); off while the disk is low
        self.folder = folder
        self.pace = pace  # how long a WAV "plays" per second of audio (tests make it short)
        self.espeak = shutil.which("espeak-ng")
        self.engine = "espeak-ng" if self.espeak else "chime"
        aplay = shutil.which("aplay")
        self.output = cfg.output if cfg.output != "auto" else (
            "alsa" if aplay and Path("/dev/snd").exists() else "wav")
        self.queue: collections.deque[tuple[str, bool, list[tuple[str, str]],
                                            tuple[str, int] | None]] = collections.deque()
        self.speaking = asyncio.Lock()  # one announcement at a time, hall-wide
        self.history: collections.deque[Spoken] = collections.deque(maxlen=HISTORY_N)
        self._wake = asyncio.Event()
        self._n = 0
        if not self.espeak and cfg.enabled:
            log.warning("voice: espeak-ng is not installed (apt-get install espeak-ng): calls "
                        "are a chime only")

    # --- what the hall asks ------------------------------------------------------------------
    def reconfigure(self, cfg: VoiceConfig) -> None:
        """A reloaded [voice]: the next announcement says it the new way."""
        self.cfg = cfg

    def call(self, ticket: str, window: int, recall: bool = False) -> dict:
        return self._enqueue(f"{ticket} -> {window}", recall, texts(self.cfg, ticket, window),
                             (ticket, window))

    def notice(self, text: str) -> dict:
        return self._enqueue("notice", False, [(self.cfg.voice, text)])

    def _enqueue(self, label: str, first: bool, said: list[tuple[str, str]],
                 call: tuple[str, int] | None = None) -> dict:
        if not self.cfg.enabled:
            return {"effect": "announce", "spoken": False, "reason": "voice.disabled"}
        item = (label, first, said, call)
        if len(self.queue) >= QUEUE_MAX:
            # the oldest waiting call goes: its board still shows it, and a citizen who heard
            # nothing for minutes is better served by the next call than by a late one
            old = next((i for i in self.queue if not i[1]), self.queue[-1])
            self.queue.remove(old)
            self.dropped += 1
            if not self._overflow:  # once an episode: a burst of 100 calls is not 80 lines
                log.warning("voice: %d announcements waiting: the oldest are let go (their "
                            "boards still show them) until the speaker catches up; first %s",
                            QUEUE_MAX, old[0])
            self._overflow += 1
        if first:
            self.queue.appendleft(item)  # a recall: the citizen is there or about to leave
        else:
            self.queue.append(item)
        self._wake.set()
        return {"effect": "announce", "queued": len(self.queue), "engine": self.engine}

    # --- the one speaker ---------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await self._wake.wait()
            async with self.speaking:
                if not self.queue:
                    if self._overflow:
                        log.warning("voice: caught up; %d announcements were let go while "
                                    "%d waited", self._overflow, QUEUE_MAX)
                        self._overflow = 0
                    self._wake.clear()
                    continue
                label, recall, said, call = self.queue.popleft()
                if call is not None and not self.still_called(*call):
                    self.dropped += 1
                    log.info("voice: %s no longer called: not spoken", label)
                    continue
                try:
                    await self._speak(label, recall, said)
                except Exception:  # noqa: BLE001 - a failed announcement must not stop calling
                    log.exception("voice: %s not spoken", label)

    async def _speak(self, label: str, recall: bool, said: list[tuple[str, str]]) -> None:
        pcm = await asyncio.to_thread(self.render, said)
        seconds = len(pcm) / 2 / RATE
        data = wav_bytes(pcm)
        path = None
        if self.output == "wav" and not self.files:
            await asyncio.sleep(seconds * self.pace)  # the disk is low: played, not kept
        elif self.output == "wav":
            self._n += 1
            folder = self._today()
            path = folder / f"{time.strftime('%H%M%S')}-{self._n:04d}-{label.split()[0]}.wav"
            path.write_bytes(data)
            self._prune()
            await asyncio.sleep(seconds * self.pace)  # as long as a speaker plays it
        else:
            proc = await asyncio.create_subprocess_exec(
                "aplay", "-q", "-", stdin=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            _, err = await proc.communicate(data)
            if proc.returncode:
                log.warning("voice: aplay failed: %s", err.decode(errors="replace").strip())
        self.history.append(Spoken(label, recall, tuple(t for _, t in said),
                                   str(path) if path else None, round(seconds, 2), self.engine))
        self.on_spoken()
        log.info("voice: %s%s (%.1f s, %s)", label, " (recall)" if recall else "", seconds,
                 self.engine)

    def _today(self) -> Path:
        """Today's WAV folder; earlier days' go, so a box without a sound card (output auto ->
        wav) does not fill its disk with a year of calls."""
        folder = self.folder / time.strftime("%Y-%m-%d")
        if not folder.exists():
            folder.mkdir(parents=True)
            for old in self.folder.iterdir():
                if old != folder and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
        return folder

    def drop_files(self) -> int:
        """The disk is low: the written calls go first (they are only a record)."""
        wavs = list(self.folder.glob("*/*.wav"))
        for w in wavs:
            w.unlink(missing_ok=True)
        return len(wavs)

    def _prune(self) -> None:
        """The last KEEP_WAVS calls stay: a day of calls on a box without a sound card is
        gigabytes, and filled the journal's disk again after space was freed."""
        wavs = sorted(self.folder.glob("*/*.wav"))
        for old in wavs[:-KEEP_WAVS]:
            old.unlink(missing_ok=True)

    def render(self, said: list[tuple[str, str]]) -> bytes:
        """The announcement's PCM: every text in order, `repeat` times, a pause between."""
        once = b"".join(self._synth(voice, text) for voice, text in said) if self.espeak \
            else chime()
        return (_silence(GAP_S)).join([once] * self.cfg.repeat)

    def render_once(self, text: str) -> bytes:
        """`text` said once in the hall's voice (a kiosk's prompt), or the chime."""
        return self._synth(self.cfg.voice, text) if self.espeak else chime()

    def _synth(self, voice: str, text: str) -> bytes:
        fd, name = tempfile.mkstemp(suffix=".wav")
        os.close(fd)
        try:
            subprocess.run([self.espeak, "-v", voice, "-s", str(self.cfg.speed),
                            "-a", str(self.cfg.volume), "-w", name, text],
                           check=True, capture_output=True, timeout=30)
            with wave.open(name, "rb") as w:
                if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
                    raise ValueError(f"espeak-ng gave {w.getparams()}, expected 22050 Hz mono")
                return w.readframes(w.getnframes())
        finally:
            os.unlink(name)

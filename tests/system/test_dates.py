"""No test depends on the day it runs. The tests where a date matters (ages, expiries, the
day's numbers, the rollover, retention, the day statistics) run again here in a child pytest
whose whole process tree lives on 2030-01-01 (libfaketime: the clock, the broker's, the
collector's), and must pass as they pass today. A test that read the real date for one of those
would fail here long before that date came."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from support.helpers import REPO

# Not here: tests whose hall calls a number (test_ratings, test_queue_api, test_e2e): the call
# is spoken by espeak-ng through subprocess.run(timeout=...), whose wait sleeps, and under
# libfaketime that sleep can fail with EINVAL (seen in CI). They run on the fixed day anyway.
DATE_BOUND = ["tests/hall/test_idcard.py", "tests/unit/test_engine_calls.py",
              "tests/unit/test_engine_service.py", "tests/unit/test_engine_contract.py",
              "tests/hall/test_privacy.py", "tests/hall/test_diag.py::test_reader_card_is_shown_masked"]


@pytest.mark.timeout(900)
def test_the_date_bound_tests_pass_with_the_clock_in_2030(tmp_path):
    if not shutil.which("faketime"):
        pytest.fail("faketime is not installed: apt-get install faketime (.ci/run does)")
    proc = subprocess.run(
        ["faketime", "2030-01-01 02:00:00", sys.executable, "-m", "pytest", "-q", "-x",
         "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "pytest"), *DATE_BOUND],
        cwd=REPO, capture_output=True, text=True, timeout=850,
        # the wall clock moved, the monotonic one left alone: asyncio's timers (and every bound
        # a test waits with) run on it, and a faked one stalls the event loop
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout.splitlines()[-1]

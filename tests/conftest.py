from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from kioskd import config
from kioskd.sim.broker import Mosquitto, mosquitto_path
from kioskd.sim.hall import SimHall
from support.helpers import HallClock, Subscriber
from support.city import city, pki  # noqa: F401  (fixtures: a city's broker and PKI)

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", help="full counts for soak and crash loops")


def pytest_configure(config):
    import os
    import tempfile

    from hypothesis import Phase, settings

    # the camera twin's videos: made once per test session in a folder of its own, never
    # shared with another session or another checkout
    os.environ["KIOSKD_SIM_CACHE"] = tempfile.mkdtemp(prefix="kioskd-sim-cache-")

    settings.register_profile("ci", max_examples=100)
    settings.register_profile("full", max_examples=1000)
    # scripts/mutate: a mutant is killed by any failing example; shrinking it to the smallest
    # one took most of a run's time (tens of seconds a mutant), so it is skipped there
    settings.register_profile("mutate", max_examples=100,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    profile = "full" if config.getoption("--full") else "ci"
    settings.load_profile("mutate" if (REPO / ".mutating").exists() else profile)


@pytest.fixture
def full(request) -> bool:
    return request.config.getoption("--full")


# what a test needs, from the fixtures it asks for: `-m "not browser"` and the like pick them
NEEDS = {"broker": {"broker", "sim", "hall_of", "sub", "city", "pki"},
         "postgres": {"postgres", "central_db"}, "browser": {"browser"}}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("asyncio") and "no_leftover_tasks" not in item.fixturenames:
            item.fixturenames.insert(0, "no_leftover_tasks")  # set up first, checked last
        for marker, fixtures in NEEDS.items():
            if fixtures & set(item.fixturenames):
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def fresh_usb_bus():
    """The simulated USB bus is one per process (pyusb's backend): each test starts with it
    empty and on libusb, and must unplug every twin it plugged."""
    from kioskd.drivers import usblink
    from kioskd.sim.usbbus import BUS

    usblink.backend_override = None
    yield
    left = BUS.enumerate_devices()
    for port in left:
        BUS.detach(port)
    usblink.backend_override = None
    assert not left, f"USB twins left plugged: {[p.port for p in left]}"


@pytest.fixture
async def no_leftover_tasks():
    """A test that leaves tasks running leaks ports and processes: fail it."""
    before = asyncio.all_tasks()
    yield
    left = [t for t in asyncio.all_tasks() - before
            if not t.done() and t is not asyncio.current_task()]
    for t in left:
        t.cancel()
    assert not left, f"tasks left running: {[t.get_name() for t in left]}"


@pytest.fixture
def demo_cfg() -> config.Config:
    return config.load(REPO / "devices.toml")


@pytest.fixture
async def broker(tmp_path):
    if not mosquitto_path():
        pytest.fail("mosquitto is not installed: apt-get install mosquitto (.ci/run does)")
    b = Mosquitto(tmp_path / "broker")
    await b.start()
    yield b
    await b.stop()


@pytest.fixture
async def sub(broker, demo_cfg):
    """A subscriber to the hall's topics, listening before the hall starts."""
    s = await Subscriber(broker.port, f"kioskd/v1/{demo_cfg.hall.id}/#").start()
    yield s
    s.stop()


@pytest.fixture
async def sim(tmp_path, demo_cfg, broker, sub):
    """The demo hall, simulated, on a test clock (helpers.HallClock: a fixed day, 10:00)."""
    s = SimHall(demo_cfg, tmp_path / "hall", broker=broker, api_port=0,
                clock=HallClock(demo_cfg.hall.tz))
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def hall_of(tmp_path, broker):
    """Start simulated halls from configs (the demo's, edited per test), each on a test clock
    unless given one; all stopped after."""
    halls = []

    async def start(cfg, **kw):
        kw.setdefault("clock", HallClock(cfg.hall.tz))
        s = SimHall(cfg, tmp_path / f"hall{len(halls)}", broker=broker, api_port=0, **kw)
        halls.append(s)
        await s.start()
        return s
    yield start
    for s in halls:
        await s.stop()


@pytest.fixture
def kioskd_log(caplog):
    """Everything the daemon logs, at every level, as one string."""
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of our own on 127.0.0.1 (kioskd.sim.postgres); its DSN."""
    from kioskd.sim.postgres import postgres_bin, postgres as server

    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
    with server() as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", "postgresql"])
def central_db(request, tmp_path):
    """Central's database, once as a SQLite file and once as a new PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "central.sqlite3"
    from kioskd.sim.postgres import new_database

    return new_database(request.getfixturevalue("postgres"),
                        f"t{abs(hash(request.node.nodeid)) % 10**12}")

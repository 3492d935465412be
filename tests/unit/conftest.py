"""The engine's tests share a hall on the engine alone (no devices, no journal file)."""

from __future__ import annotations

import pytest

from support.engine_harness import EngineHall, make_config


@pytest.fixture
def hall(demo_cfg):
    return EngineHall(make_config(demo_cfg))


@pytest.fixture
def rules(demo_cfg):
    """A hall with the rules a test names: rules(categories=..., windows=..., **policy)."""
    return lambda **kw: EngineHall(make_config(demo_cfg, **kw))

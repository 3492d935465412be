"""devices.toml: parse, validate every key, and report each mistake as `PATH:LINE: key.path: what`.

model.py holds what a loaded file gives, checker.py where its mistakes are, sections.py the
hall's sections and devices.py the [[device]] entries, checked against each device family's own
table (drivers/*/family.py): no device's rules live here.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from kioskd import jsonlimits
from kioskd.config.checker import Checker
from kioskd.config.model import (DEFAULT_PATHS, ROLES, ApiClient, ApiConfig, Config,
                                 HallConfig, Kiosk, TicketTemplate, UplinkConfig, VoiceConfig)
from kioskd.config.sections import validate
from kioskd.drivers.spec import (SERIAL_BAUDS, DeviceConfig, Endpoint,
                                 parse_endpoint)
from kioskd.engine.rules import (LANES, REASONS, Category, QueuePolicy,
                                 Reason, RatingRules, Window)
from kioskd.errors import ConfigError


__all__ = ["DEFAULT_PATHS", "LANES", "REASONS", "ROLES", "SERIAL_BAUDS", "ApiClient", "ApiConfig",
           "Category", "Config", "DeviceConfig", "Endpoint", "HallConfig", "Kiosk", "QueuePolicy",
           "RatingRules", "Reason", "TicketTemplate", "UplinkConfig", "VoiceConfig", "Window",
           "find_config", "load", "parse_endpoint", "state_dir"]


def find_config(path: str | os.PathLike | None) -> Path:
    if path:
        return Path(path)
    for candidate in DEFAULT_PATHS:
        if candidate.exists():
            return candidate
    return DEFAULT_PATHS[0]


# TOML strings, skipped when counting nesting: basic and literal, one line or three quotes
_STRINGS_TOML = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')


def load(path: str | os.PathLike) -> Config:
    """Read and validate a devices.toml; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    # Windows editors save UTF-8 with a byte-order mark; TOML has none, tomllib calls it an
    # "invalid statement (column 1)". It carries no meaning: read past it.
    text = text.removeprefix("\ufeff")
    if (deep := jsonlimits.depth(_STRINGS_TOML.sub("", text))) > jsonlimits.MAX_DEPTH:
        # tomllib recurses per level: 50,000 nested arrays are a RecursionError, not a syntax
        # error, and a reload on SIGHUP would die of it
        raise ConfigError([f"{path}: arrays or tables nested {deep} deep; at most "
                           f"{jsonlimits.MAX_DEPTH}"])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        where = f"{path}:{m.group(1)}" if m else f"{path}"
        col = f" (column {m.group(2)})" if m else ""
        raise ConfigError([f"{where}: syntax: {msg}{col}"]) from None
    check = Checker(path, text)
    cfg = validate(raw, path, check)
    if check.problems:
        raise ConfigError(check.problems)
    assert cfg is not None
    return cfg


def state_dir(cfg: Config) -> Path:
    """$STATE_DIRECTORY (systemd), else [hall] state_dir, else ./var."""
    env = os.environ.get("STATE_DIRECTORY")
    if env:
        return Path(env.split(":")[0])
    if cfg.hall.state_dir:
        p = cfg.hall.state_dir
        return p if p.is_absolute() else cfg.path.parent / p
    return Path("var")

"""Where a devices.toml's mistakes are: every problem as `PATH:LINE: key.path: what`, all of
them collected (a technician fixing a hall's config wants the whole list in one go)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


# --- locating keys in the text, so semantic mistakes get a line number too --------------------
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def key_lines(text: str) -> dict[str, int]:
    """Map `table[i].key` paths to 1-based line numbers (tables, arrays of tables, keys)."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    current = ""
    for no, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            name = m.group(2)
            if m.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                current = f"{name}[{counts[name]}]"
            else:
                current = name
            lines.setdefault(current, no)
            continue
        m = _KEY.match(line)
        if m:
            lines.setdefault(f"{current}.{m.group(1)}" if current else m.group(1), no)
    return lines


class Checker:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.problems: list[str] = []
        self._lines = key_lines(text)

    def bad(self, keypath: str, what: str) -> None:
        probe = keypath
        line = None
        while probe:
            line = self._lines.get(probe)
            if line:
                break
            probe = probe.rpartition(".")[0]
        where = f"{self.path}:{line}" if line else f"{self.path}"
        self.problems.append(f"{where}: {keypath}: {what}")

    def take(self, table: dict, key: str, kind: type | tuple, at: str, *, required: bool = True,
             default: Any = None) -> Any:
        if key not in table:
            if required:
                self.bad(f"{at}.{key}" if at else key, "missing")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints to Python; a port of `true` is a mistake, not 1
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.bad(f"{at}.{key}" if at else key,
                     f"expected {toml_kind(names)}, got {toml_kind(type(value).__name__)} {value!r}")
            return default
        return value

    def int_in(self, table: dict, key: str, at: str, default: int, lo: int, hi: int,
               unit: str = "") -> int:
        """An optional integer within lo-hi; out of range is a problem, and the default."""
        value = self.take(table, key, int, at, required=False, default=default)
        if not lo <= value <= hi:
            self.bad(f"{at}.{key}", f"{value} is outside {lo}-{hi}{unit}")
            return default
        return value

    def unknown_keys(self, table: dict, allowed: set[str], at: str) -> None:
        for key in table:
            if key not in allowed:
                self.bad(f"{at}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def toml_kind(pyname: str) -> str:
    return {"str": "a string", "int": "an integer", "bool": "a boolean", "list": "an array",
            "dict": "a table", "float": "a number"}.get(pyname, pyname)


def table(raw: dict, key: str, c: Checker) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        c.bad(key, f"expected a table [{key}], got {toml_kind(type(value).__name__)}")
        return {}
    return value


def array(raw: dict, key: str, c: Checker) -> list[dict]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        c.bad(key, f"expected an array of tables [[{key}]]")
        return []
    return value


def relative(path: Path, value: str) -> Path:
    file = Path(value)
    return file if file.is_absolute() else path.parent / file


def read_secret(path: Path, value: str, keypath: str, c: Checker) -> str:
    file = relative(path, value)
    try:
        secret = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        c.bad(keypath, f"cannot read {file}: {exc.strerror or exc}")
        return ""
    if not secret:
        c.bad(keypath, f"{file} is empty")
    return secret


def host_port(value: str, keypath: str, c: Checker) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        c.bad(keypath, f"expected HOST:PORT with a port 0-65535, got {value!r}")
        return "127.0.0.1", 0
    return host.strip("[]"), int(port)

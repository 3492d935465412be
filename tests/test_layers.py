"""The house's rules, as import-linter contracts ([tool.importlinter] in pyproject.toml): the
engine is pure, drivers know nothing of the hall, the console talks to the API only, and the
daemon never imports the simulators.

drivers/ and sim/ install inside the kioskd package (setup.py's package_dir); kioskd/drivers and
kioskd/sim are links to them, so `lint-imports` in the checkout walks the package as installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def as_installed(root: Path, engine: Path | None = None) -> Path:
    """kioskd/ as the wheel lays it out, made of links to the tree (`engine`: another one)."""
    pkg = root / "kioskd"
    pkg.mkdir(parents=True)
    for entry in (REPO / "kioskd").iterdir():  # drivers and sim are links there already
        if entry.name != "__pycache__" and not (engine and entry.name == "engine"):
            (pkg / entry.name).symlink_to(entry)
    if engine:
        (pkg / "engine").symlink_to(engine)
    return root


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), str(REPO / "pyproject.toml")], cwd=root, text=True,
                          capture_output=True, timeout=120, env={"PYTHONPATH": str(root),
                                                                  "PATH": "/usr/bin:/bin"})


def test_every_contract_of_the_house_is_kept():
    out = lint(REPO)  # the checkout itself, as `lint-imports` runs there
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 kept, 0 broken" in out.stdout


def test_an_engine_that_reads_the_config_breaks_its_contract(tmp_path):
    """The check checks: the same tree with one engine module importing kioskd.config fails."""
    engine = tmp_path / "engine"
    shutil.copytree(REPO / "kioskd" / "engine", engine,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (engine / "leak.py").write_text("from kioskd import config  # a rule read from the file\n")
    out = lint(as_installed(tmp_path / "tree", engine))
    assert out.returncode == 1
    assert "The engine is pure" in out.stdout and "BROKEN" in out.stdout
    assert "kioskd.engine.leak -> kioskd.config" in out.stdout


def test_the_engine_contract_names_every_module_of_the_daemon():
    """A module added to kioskd is forbidden to the engine too, unless it is the errors."""
    import tomllib

    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (engine,) = [c for c in cfg["contracts"] if c["source_modules"] == ["kioskd.engine"]]
    modules = {f"kioskd.{p.stem}" for p in (REPO / "kioskd").iterdir()
               if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))
               and p.stem not in ("__init__", "__main__", "engine", "errors")}
    assert modules | {"kioskd.drivers", "kioskd.sim"} == set(engine["forbidden_modules"])


def test_every_kind_of_input_a_driver_emits_has_its_handler():
    """A device's input goes through one table (kioskd.app.INPUTS): a kind a driver emits with
    no line there would be dropped (and said in the log)."""
    import re

    from kioskd.app import INPUTS

    emitted = {kind for p in (REPO / "drivers").rglob("*.py")
               for kind in re.findall(r'DeviceInput\(self\.id, "([a-z_]+)"', p.read_text())}
    assert emitted == set(INPUTS)

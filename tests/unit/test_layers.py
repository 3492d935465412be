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

REPO = Path(__file__).resolve().parents[2]
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
    """A device's input goes through one table (kioskd.hall.INPUTS): a kind a driver emits with
    no line there would be dropped (and said in the log)."""
    import re

    from kioskd.hall import INPUTS

    emitted = {kind for p in (REPO / "drivers").rglob("*.py")
               for kind in re.findall(r'DeviceInput\(self\.id, "([a-z_]+)"', p.read_text())}
    assert emitted == set(INPUTS)


def test_the_api_and_centrals_commands_ask_the_hall_only_through_its_port():
    """kioskd.api and kioskd.commands hold a HallPort: every member of the hall they touch is
    one of the port's, and the Hall has each of them (a member added to either side alone, or
    a reach into the journal, drivers or uplink behind it, fails here)."""
    import ast

    from kioskd.hall import Hall
    from kioskd.hall.port import HallPort

    port = {n for n in dir(HallPort) if not n.startswith("_")} | set(HallPort.__annotations__)
    used: dict[str, str] = {}
    for path in [*(REPO / "kioskd" / "api").glob("*.py"), REPO / "kioskd" / "commands.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and (
                    isinstance(node.value, ast.Name) and node.value.id == "hall"
                    or isinstance(node.value, ast.Attribute) and node.value.attr == "hall"
                    and isinstance(node.value.value, ast.Name) and node.value.value.id == "self"):
                used.setdefault(node.attr, f"{path.name}:{node.lineno}")
    assert used, "the scan found no use of the hall at all"
    beyond = {name: at for name, at in used.items() if name not in port}
    assert not beyond, f"members of the hall used beyond its port: {beyond}"
    assigned = {t.attr for p in (REPO / "kioskd" / "hall").glob("*.py")
                for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                if isinstance(node, (ast.Assign, ast.AnnAssign))
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                and t.value.id == "self"}
    missing = {n for n in port if not hasattr(Hall, n) and n not in assigned}
    assert not missing, f"the port promises what the Hall lacks: {missing}"

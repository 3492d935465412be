"""The wheel carries every package of the tree: pyproject lists them by hand (drivers/ and sim/
install inside kioskd), so a new folder missing from the list would install a kioskd that
fails at its first import of it, where the editable install of the tests never notices."""

from __future__ import annotations

import tomllib

from helpers import REPO


def test_every_package_folder_is_in_the_wheel():
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(tool["packages"])
    tree = {".".join([name, *init.parent.relative_to(REPO / folder).parts])
            for name, folder in tool["package-dir"].items()
            for init in (REPO / folder).rglob("__init__.py")}
    assert tree - listed == set(), "pyproject.toml [tool.setuptools] packages lacks these"

"""Only what pyproject.toml cannot say: drivers/ and sim/ live at the top of the repository but
install inside the package (bare `drivers`/`sim` are too generic for site-packages), and
setuptools' automatic discovery does not follow a package-dir mapping; so every package under
each root is found here, none listed by hand. kioskd/drivers and kioskd/sim are links to them,
so that tools which walk the package (import-linter) see it as installed: they are not searched
twice."""

from setuptools import find_packages, setup

ROOTS = {"kioskd": "kioskd", "kioskd.drivers": "drivers", "kioskd.sim": "sim"}
setup(package_dir=ROOTS,
      packages=[".".join(filter(None, (name, sub)))
                for name, folder in ROOTS.items()
                for sub in ("", *find_packages(folder, exclude=["drivers", "drivers.*", "sim",
                                                                "sim.*"] if name == "kioskd"
                                                else []))])

# The two commands a newcomer needs:  `make run` (a simulated hall)  and  `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test venv bench docs clean mutate install uninstall system-deps

$(BIN)/kioskd: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[sim,dev]'
	@touch $@

venv: $(BIN)/kioskd

run: venv
	$(BIN)/kioskd sim -c devices.toml --demo

# the Debian packages the tests need: installed as root (or with sudo), else the apt-get line
system-deps:
	scripts/system-deps

test: system-deps venv
	$(BIN)/pip install -q -e '.[pcsc]'  # pyscard builds against the Debian packages just checked
	$(BIN)/python -m pytest -q -rs $(PYTEST_ARGS)  # -rs: which tests skipped, and why

# a hall box: a venv in $(DESTDIR)$(PREFIX), the unit, udev rules, the kioskd user, and
# /etc/kioskd/devices.toml from the example when there is none (scripts/install says it all)
PREFIX ?= /opt/kioskd
install:
	DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) PY=$(PY) scripts/install install

uninstall:
	DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) scripts/install uninstall

bench: venv
	$(BIN)/python bench/run.py

# mutation testing, not part of make test (about 2 hours on 2 cores for every area; one area:
# make mutate AREAS=bx); survivors in docs/testing.md
mutate: venv
	BIN=$(BIN) scripts/mutate $(AREAS)

# pictures in docs/ made by the simulators (a ticket as the printer twin renders it)
docs: venv
	$(BIN)/python -m kioskd.sim.printer docs/ticket.png
	$(BIN)/python -m kioskd.tui.recorded shots tests/fixtures/diag-hall.json docs/

clean:
	rm -rf $(VENV) var .pytest_cache .mutmut-cache

# The two commands a newcomer needs:  `make run` (a simulated hall)  and  `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test venv bench docs clean

$(BIN)/kioskd: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[sim,dev]'
	@touch $@

venv: $(BIN)/kioskd

run: venv
	$(BIN)/kioskd sim -c devices.toml --demo

test: venv
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: venv
	$(BIN)/python bench/run.py

# pictures in docs/ made by the simulators (a ticket as the printer twin renders it)
docs: venv
	$(BIN)/python -m kioskd.sim.printer docs/ticket.png
	$(BIN)/python -m kioskd.tui.recorded shots tests/fixtures/diag-hall.json docs/

clean:
	rm -rf $(VENV) var .pytest_cache

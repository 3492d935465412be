# The two commands a newcomer needs:  `make run` (a simulated hall)  and  `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test venv bench clean

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

clean:
	rm -rf $(VENV) var .pytest_cache

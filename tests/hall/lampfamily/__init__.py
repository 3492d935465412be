"""A tiny example family, made to prove what a new family touches: this folder (its types,
its driver), its twin (tests/hall/lamptwin.py) and one registry line (tests/hall/test_families.py
registers it, as drivers/registry.py's FAMILIES does for the shipped ones).

The window lamp (窗口指示灯): one line of text over a serial line, `SHOW text` / `CLEAR`,
answered `OK`; `PING` is answered `LAMP v1`."""

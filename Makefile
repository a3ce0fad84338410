# Quick start: `make demo` and `make test`. Both create .venv on first use and are safe to re-run.
# `make bench` runs the benchmarks (minutes; see bench/README.md); it is not part of `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test install clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/rtsales demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/quota.py
	$(BIN)/python bench/freshness.py
	$(BIN)/python bench/kinds.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/status.py
	$(BIN)/python bench/idle.py
	$(BIN)/python bench/watch.py

clean:
	rm -rf $(VENV) demo.db *.egg-info .pytest_cache

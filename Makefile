# Each target sets up .venv by itself on a fresh machine.
# torch==2.13.0 is installed in the same pip command as everything else so that pip takes the CPU wheel.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0

.PHONY: demo test lint wheel-check bench venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)" -e ".[lab,test]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/gatelab explain --preset quick --out gatelab-study

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks

test: lint
	KERAS_BACKEND=torch $(PY) -m pytest -q

# Build the wheel, install it into a fresh virtual environment (torch from pip's cache) and run the headline
# commands from a folder outside the checkout: what a user gets from `pip install gatelab`.
wheel-check: venv
	bash .ci/wheel-check

bench: venv
	$(PY) benchmarks/bench_layers.py --write docs/benchmarks.md

clean:
	rm -rf $(VENV) .pytest_cache build dist

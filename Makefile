# Two commands: `make demo` and `make test`. Everything else is for developers.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP := $(VENV)/.installed-app
STAMP := $(VENV)/.installed

.PHONY: demo test test-quick bench bench-quick lint clean

# the demo needs the application only; the tests add Spark, the broker, the browser …
$(APP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(APP)

$(STAMP): $(APP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(APP)
	$(BIN)/custlens demo

test: $(STAMP)
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-quick: $(STAMP)
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf lake .pytest_cache

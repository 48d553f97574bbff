# One virtualenv for the app and its tests; aws-sam-cli gets its own (it pins boto3).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test unit integration e2e lint run bench schema clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)  ## install everything and run every test
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

run: $(STAMP)  ## the whole product on this machine: moto, gateway, dispatch poller, Braze sandbox
	$(BIN)/braze-adapter serve

schema: $(STAMP)
	$(BIN)/braze-adapter schema > docs/rules.schema.json

bench: $(STAMP)
	$(BIN)/python bench/mapping.py

clean:
	rm -rf $(VENV) .pytest_cache .aws-sam build *.egg-info src/*.egg-info

# One virtualenv for the app and its tests; aws-sam-cli gets its own (it pins boto3).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed


.PHONY: venv install test unit integration e2e lint run bench schema clean sam-install template-check sam-build

# `make run` and `make test` may start together on a fresh clone: one installs, the other waits.
$(STAMP): pyproject.toml
	@flock .install.lock $(MAKE) --no-print-directory venv

venv:
	@if [ ! -f $(STAMP) ] || [ pyproject.toml -nt $(STAMP) ]; then \
		echo "creating $(VENV) and installing the project with its dev dependencies..."; \
		test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -e '.[dev]' && \
		touch $(STAMP); \
	fi

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

# aws-sam-cli pins its own boto3, so it lives in a virtualenv of its own.
SAM_VENV := .venv-sam
SAM      := env SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam

$(SAM_VENV)/.installed:
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet 'aws-sam-cli>=1.150,<2'
	@touch $@

sam-install: $(SAM_VENV)/.installed

template-check: $(STAMP) sam-install  ## cfn-lint, sam validate --lint and plain sam validate catch different errors
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint
	$(SAM) validate

sam-build: sam-install  ## the Lambda packages (arm64 wheels, precompiled)
	$(SAM) build

clean:
	rm -rf $(VENV) $(SAM_VENV) .pytest_cache .aws-sam build *.egg-info src/*.egg-info

# --- Lambda packages (sam build runs these: template.yaml uses BuildMethod: makefile) ----------------
# Dependencies come as arm64 wheels from PyPI; every module is compiled to .pyc, which roughly halves
# cold-start import time (a plain `sam build` ships no .pyc and Lambda cannot write one).
LAMBDA_PACKAGES := handlers mapping braze sources adapter

build-IngressFunction build-DispatchFunction:
	$(PYTHON) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > "$(ARTIFACTS_DIR)/requirements.txt"
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)" --platform manylinux2014_aarch64 \
		--implementation cp --python-version 3.11 --only-binary=:all: -r "$(ARTIFACTS_DIR)/requirements.txt"
	rm "$(ARTIFACTS_DIR)/requirements.txt"
	for package in $(LAMBDA_PACKAGES); do cp -R src/$$package "$(ARTIFACTS_DIR)/"; done
	rm -rf "$(ARTIFACTS_DIR)/adapter/local" "$(ARTIFACTS_DIR)/braze/sandbox"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"

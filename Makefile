# The two commands a newcomer needs: `make demo` and `make test`. Everything else is for developers.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 is found without help (PATH, pyenv, usual places): see scripts/find-python.
PYTHON = $(shell scripts/find-python)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/dev.lock requirements/dev.txt 2>/dev/null | cksum | cut -d' ' -f1)
export PYTHONPATH := layers/common:functions/ingest:functions/metrics:functions/health:.
# Nothing local may reach real AWS: fake credentials, and a dead proxy for anything that escapes.
LOCAL_ENV := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing \
	AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost

.PHONY: help venv test test-fast lint demo demo-check bench try-export reconcile redrive build lock clean

help:
	@echo "make demo        run the whole product on an embedded local AWS (moto) at http://127.0.0.1:3000"
	@echo "make test        install what is needed and run the whole test suite"
	@echo "make demo-check  the demo, non-interactive: ingest a sample, print the figures, exit"
	@echo "make lint        ruff, mypy, cfn-lint, sam validate --lint, checkov, bandit, pip-audit, actionlint"
	@echo "make bench       benchmarks (results go to docs/benchmarks.md)"
	@echo "make try-export FILE=x.csv  ingest your own export locally, print its figures, check re-drops change nothing"
	@echo "make reconcile   recompute aggregates from stored sales on the local stack (REPAIR=1 to fix)"
	@echo "make build       sam build (Lambda artefacts for deployment)"

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r $$(test -f requirements/dev.lock && echo requirements/dev.lock || echo requirements/dev.txt)
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

test: $(STAMP)
	$(LOCAL_ENV) $(PY) -m pytest -n 2 -q

test-fast: $(STAMP)
	$(LOCAL_ENV) $(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(LOCAL_ENV) bash scripts/lint.sh

demo: $(STAMP)
	$(LOCAL_ENV) $(PY) -m devtools.demo $(DEMO_ARGS)

demo-check: $(STAMP)
	$(LOCAL_ENV) $(PY) -m devtools.demo --once $(DEMO_ARGS)

bench: $(STAMP)
	$(LOCAL_ENV) $(PY) -m bench $(BENCH_ARGS)

try-export: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make try-export FILE=path/to/export.csv"; exit 2; }
	$(LOCAL_ENV) $(PY) -m devtools.try_export "$(FILE)"

reconcile: $(STAMP)
	$(LOCAL_ENV) $(PY) -m devtools.reconcile $(if $(REPAIR),--repair,)

redrive: $(STAMP)
	$(LOCAL_ENV) $(PY) -m devtools.redrive

build: $(STAMP)
	PATH="$(dir $(PYTHON)):$$PATH" $(VENV)/bin/sam build --template template.yaml

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > requirements/dev.lock

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis .local

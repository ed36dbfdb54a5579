# Every target builds its own virtual environment from the pinned lock (requirements.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint validate demo down bench chaos pictures templates lambda-image clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-checkov.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $(STAMP)

# Three workers (pytest-xdist) on two cores, one test module each at a time: a module's local cloud
# stays in one worker, and the e2e modules, which mostly wait on deploys, bakes and containers,
# overlap with the rest (two workers left a core idle while both waited: 995 s against 862 s).
TEST_WORKERS ?= 3

test: venv
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

validate: venv
	$(BIN)/globalctl validate

# The whole global app on the local cloud (no Docker, no AWS account), then a readable smoke check.
demo: venv
	$(BIN)/python -m harness.demo

# Benchmarks (never timed tests): results in bench/results/ and the README's benchmark table.
# Some of them only: make bench ONLY=throughput,rollout
bench: venv
	$(BIN)/python -m bench.run $(if $(ONLY),--only $(ONLY))

# The chaos suite: a region outage and a partition under a 60 s mixed workload on a fresh local
# cloud; prints the summary, saves chaos/results/summary.json, fails if any check fails.
chaos: venv
	$(BIN)/python -m chaos

# The README's pictures (docs/images/): the screenshots the browser tests take in headless
# Chromium, the chaos chart redrawn from the committed chaos summary, and the drill chart from the
# newest drill report (make demo runs a drill; reports are not committed).
pictures: venv
	SCREENSHOTS=docs/images $(BIN)/python -m pytest -q tests/e2e/test_browser.py
	$(BIN)/python -m chaos --charts-from chaos/results/summary.json
	cp chaos/results/outage.svg docs/images/chaos-outage.svg
	@latest=$$(ls -t .globalctl/drills/*.json 2>/dev/null | head -1); \
	if [ -n "$$latest" ]; then $(BIN)/python -m globalctl.drill.timeline "$$latest" docs/images/drill.svg; \
	else echo "no drill report yet (make demo runs a drill): docs/images/drill.svg left as it is"; fi

# The generated template (records mode's nested stack); a test fails while it is stale.
templates:
	python3 global/generate_routing_records.py

# The Lambda python3.13 images sam local runs the functions in (samconfig's local environments), from
# Debian's packages; reused while their recipe is unchanged. Needs Docker and mmdebstrap (README).
lambda-image: venv
	$(BIN)/python -m harness.lambda_image arm64 x86_64

# Stop the local cloud `make demo` (or `globalctl local up`) left running.
down: venv
	$(BIN)/globalctl local down

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .hypothesis .globalctl

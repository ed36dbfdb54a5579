# Every target builds its own virtual environment from the pinned lock (requirements.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint validate demo clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: venv
	$(BIN)/python -m pytest -q

validate: venv
	$(BIN)/globalctl validate

demo:
	@echo "make demo arrives with the local multi-region cloud (issue 3); until then see README: Deploy to AWS."
	@exit 2

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .hypothesis

# Two entry points, each making the virtual environment it needs:
#   make demo   bake a project from this checkout and run its pipeline on a local Dask cluster
#   make test   run the starter's test tiers (TIERS=... to pick some)
#   make bench  time every runner on every scenario: benchmarks/results.md and results.json

PYTHON ?= python3
VENV := .venv
TOOLS := $(VENV)/bin
DEMO_DIR := demo
DEMO_NAME := Rocket Science
DEMO_PROJECT := $(DEMO_DIR)/rocket-science
TIERS ?= fast e2e dask slurm container deploy bench
PYTEST_ARGS ?=

export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: demo test lint bench clean

$(TOOLS)/.ready: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(TOOLS)/python -m pip install --quiet -r tests/requirements.txt
	touch $@

demo: $(TOOLS)/.ready
	rm -rf $(DEMO_PROJECT)
	mkdir -p $(DEMO_DIR)
	cd $(DEMO_DIR) && ../$(TOOLS)/kedro new --starter=$(CURDIR) --name "$(DEMO_NAME)"
	$(PYTHON) -m venv $(DEMO_PROJECT)/.venv
	cd $(DEMO_PROJECT) && .venv/bin/python -m pip install --quiet -r requirements.txt \
		&& .venv/bin/python -m pip install --quiet --no-deps -e .
	cd $(DEMO_PROJECT) && .venv/bin/kedro run --env dask
	@echo "Demo project: $(DEMO_PROJECT); report: $(DEMO_PROJECT)/data/08_reporting/best_model.json"
	@echo "Next, try:"
	@echo "  cd $(DEMO_PROJECT) && source .venv/bin/activate"
	@echo "  kedro run --env dask --params data_generation.n_rows=200000,bootstrap.rounds=1000"
	@echo "      # CPU-heavy: the three fits side by side (vs kedro run: benchmarks/example/results.md)"
	@echo "  make build-image && make cluster-up && make run-dask           # the same in containers"

test: $(TOOLS)/.ready
	$(TOOLS)/python -m pytest $(addprefix tests/,$(TIERS)) $(PYTEST_ARGS)

bench: $(TOOLS)/.ready
	$(TOOLS)/python -m benchmarks.run

lint: $(TOOLS)/.ready
	$(TOOLS)/ruff check tests hooks benchmarks answer_guard.py
	$(TOOLS)/ruff format --check tests hooks benchmarks answer_guard.py

clean:
	rm -rf $(VENV) $(DEMO_DIR)

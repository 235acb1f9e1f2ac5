# Reproducible report: anlotinib plus ICIs in previously ICI-treated ES-SCLC.
# `make` builds the report; `make test` runs the tests; `make help` lists every target.
# Targets are the files each step writes, so `make` re-runs only what changed.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := report
MAKEFLAGS += --no-builtin-rules
## JOBS: steps make runs side by side (default: one per core; a -j on the command line wins, e.g. -j1);
##       each step's output is printed in one piece when it ends, so the log reads as a serial build's
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS += -j$(JOBS) --output-sync=target

# ---- what to build ---------------------------------------------------------------------------
## DATA: cohort folder (or .xlsx workbook) to analyse (default: the synthetic cohort)
DATA ?= data/synthetic
## OUT: output root; results/, executed/ and report/_output/ go under it (default: . for the
##      synthetic cohort, build/<name of DATA> otherwise, so reports of different cohorts coexist)
ifeq ($(DATA),data/synthetic)
OUT ?= .
else
OUT ?= build/$(notdir $(basename $(patsubst %/,%,$(DATA))))
endif
## PARAMS: folder of parameter files (common.yaml + one per section); copy it for a sensitivity analysis
PARAMS ?= params

SECTIONS := 01-cohort 02-response 03-survival 04-subgroups 05-safety 06-scorecard
ifeq ($(OUT),.)
REPORT_DIR := report
else
REPORT_DIR := $(OUT)/report
endif
EXEC_DIR := $(OUT)/executed
RESULTS := $(OUT)/results
VALID := $(OUT)/validation/report.csv
# the validated tables, saved by the validation step for the notebooks (analysis.paths.validated_data)
VALIDATED := $(OUT)/validation/validated.pkl
EXECUTED := $(SECTIONS:%=$(EXEC_DIR)/%.ipynb)
DATA_FILES := $(if $(wildcard $(DATA)/.),$(wildcard $(DATA)/*.*),$(DATA))
# what the notebooks import: the data, stats and report layers (rendering apart); the scorecard also
# imports the synthetic package
NB_SRC := analysis/paths.py $(wildcard analysis/data/*.py analysis/stats/*.py) \
  $(filter-out analysis/report/render.py,$(wildcard analysis/report/*.py))
SYNTHETIC_SRC := $(wildcard analysis/synthetic/*.py)
RENDER_SRC := analysis/report/render.py $(wildcard analysis/report/render_assets/*)
REPORT_SRC := $(wildcard report/*.qmd report/*.yml report/*.bib report/*.csl report/*.css)

# ---- the Python environment ------------------------------------------------------------------
# An active virtualenv or (non-base) conda env is used as it is; otherwise .venv is created
# from the pinned lock (requirements.lock) with the system python3 (3.11).
KERNEL := anlotinib-report
ifneq ($(strip $(VIRTUAL_ENV)$(filter-out base,$(CONDA_DEFAULT_ENV))),)
PY ?= python
ENV := $(OUT)/.env-ok
else
PY ?= .venv/bin/python
ENV := .venv/.installed
endif
PYTHON3 ?= python3
# (the executed notebook is written once, at the end, not after every cell)
PM_FLAGS ?= $(if $(CI),--no-progress-bar --log-output,--progress-bar) --no-request-save-on-cell-execute
# papermill's own CLI, started through the analysis package (which spares it over a second of CPU
# per notebook: analysis/__init__.py)
PAPERMILL ?= $(PY) -m analysis.report.papermill_cli

.venv/.installed: requirements.lock pyproject.toml
	@echo "== creating .venv from requirements.lock (first build only)"
	test -x .venv/bin/python || $(PYTHON3) -m venv .venv
	.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	.venv/bin/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (anlotinib report)" >/dev/null
	touch $@

$(OUT)/.env-ok: pyproject.toml
	@mkdir -p $(OUT)
	$(PY) -c "import analysis, papermill, lifelines, statsmodels, pypandoc, typst" || \
	  { echo "The active environment lacks the project's packages: conda env create -f environment.yml, or deactivate it to let make build .venv" >&2; exit 1; }
	$(PY) -m pip install --quiet --no-deps -e . >/dev/null 2>&1 || true
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (anlotinib report)" >/dev/null
	touch $@

.PHONY: env
## env: create the Python environment (.venv from the lock) and register the Jupyter kernel
env: $(ENV)

# ---- pipeline ----------------------------------------------------------------------------------
.PHONY: report
## report: validate the cohort, run the notebooks in order, render HTML and PDF (default)
report: $(REPORT_DIR)/_output/index.html

.PHONY: validate
## validate: check the cohort against the data contract (errors → table on screen and in validation/)
validate: $(VALID)

# The validation log names rows (and their values) so a data manager can fix them: it is kept in
# $(OUT)/validation/, apart from results/, and never reaches the report (which shows counts per rule).
$(VALID): $(DATA_FILES) analysis/data/schema.py analysis/data/readers.py analysis/data/validate.py \
  analysis/data/cohort.py | $(ENV)
	@mkdir -p $(@D)
	$(PY) -m analysis.data.validate "$(DATA)" --report $(@D)/report.tmp.csv --save $(VALIDATED) || \
	  { mv -f $(@D)/report.tmp.csv $(@D)/errors.csv 2>/dev/null || true; \
	    echo "make: the cohort at $(DATA) is invalid; nothing was re-run and the previous report is unchanged." >&2; \
	    echo "      full list: $(@D)/errors.csv" >&2; exit 1; }
	mv -f $(@D)/report.tmp.csv $@
	rm -f $(@D)/errors.csv

# Each notebook runs in order (papermill), writing into a temporary file moved into place on success.
# Its own params file re-runs it alone; a change in the data or in analysis/ re-runs all.
$(EXEC_DIR)/%.ipynb: notebooks/%.ipynb $(PARAMS)/%.yaml $(PARAMS)/common.yaml $(VALID) $(NB_SRC) | $(ENV)
	@mkdir -p $(EXEC_DIR)
	@echo "== running $*"
	$(PAPERMILL) $< $(EXEC_DIR)/$*.tmp.ipynb -k $(KERNEL) --cwd "$(CURDIR)" $(PM_FLAGS) \
	  -f $(PARAMS)/common.yaml -f $(PARAMS)/$*.yaml -p data "$(DATA)" -p out "$(OUT)"
	mv -f $(EXEC_DIR)/$*.tmp.ipynb $@

# the scorecard reads every other section's numbers
$(EXEC_DIR)/06-scorecard.ipynb: $(filter-out $(EXEC_DIR)/06-scorecard.ipynb,$(EXECUTED)) data/published_targets.yaml \
  $(SYNTHETIC_SRC)

$(REPORT_DIR)/_variables.yml: $(EXECUTED) | $(ENV)
	@mkdir -p $(REPORT_DIR)
	$(PY) -m analysis.report.results $(RESULTS) $@ --extra "data=$(notdir $(patsubst %/,%,$(DATA)))"

ifneq ($(REPORT_DIR),report)
# another cohort's report: a copy of the manuscript sources next to its own results
$(REPORT_DIR)/%: report/%
	@mkdir -p $(@D)
	cp $< $@
REPORT_INPUTS := $(patsubst report/%,$(REPORT_DIR)/%,$(REPORT_SRC))
else
REPORT_INPUTS := $(REPORT_SRC)
endif

$(REPORT_DIR)/_output/index.html $(REPORT_DIR)/_output/index.pdf &: $(REPORT_DIR)/_variables.yml $(REPORT_INPUTS) $(EXECUTED) $(RENDER_SRC) | $(ENV)
	@echo "== rendering $(REPORT_DIR)"
	$(PY) -m analysis.report.render $(REPORT_DIR)
	@echo "== report: $(REPORT_DIR)/_output/index.html and index.pdf"

# ---- synthetic cohort ------------------------------------------------------------------------
.PHONY: calibrate
## calibrate: regenerate the committed synthetic cohort (data/synthetic) from its seed (~1.5 min)
calibrate: | $(ENV)
	$(PY) -m analysis.synthetic.build --out data/synthetic

.PHONY: sync
## sync: bring each notebook and its paired percent script (notebooks/*.py) in line (jupytext)
sync: | $(ENV)
	$(PY) -m jupytext --sync notebooks/*.ipynb

.PHONY: dictionary
## dictionary: regenerate data/DATA_DICTIONARY.md from analysis/data/schema.py
dictionary: | $(ENV)
	$(PY) -m analysis.data.schema

# ---- quality -----------------------------------------------------------------------------------
.PHONY: test
## test: run the test suite (statistics vs R references, data contract, whole pipeline end to end),
##       one pytest-xdist worker per core, except the regeneration of the synthetic cohort (test-calibrate)
## TEST_WORKERS: pytest-xdist workers of make test (default: one per core; 0 runs in one process)
TEST_WORKERS ?= $(JOBS)
test: $(ENV)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not calibrate" $(PYTEST_ARGS)

.PHONY: test-calibrate
## test-calibrate: check that make calibrate regenerates the committed synthetic cohort byte for byte
##       (the same run as make calibrate: ~100 s of both cores; CI runs it after make test)
test-calibrate: $(ENV)
	$(PY) -m pytest -q -m calibrate $(PYTEST_ARGS)

.PHONY: bench
## bench: time the statistics at 10^3, 10^5, 10^6 patients (against R when Rscript is on PATH),
##        the calibration of the synthetic cohort, the privacy guard, and clean builds of the report
##        (default, 1,000, 20,000, 100,000 patients) and make test, step by step, recorded in
##        benchmarks/results.md (~10 min; see benchmarks/README.md)
bench: | $(ENV)
	$(PY) benchmarks/bench_stats.py
	$(PY) benchmarks/bench_calibrate.py
	$(PY) benchmarks/bench_privacy.py
	$(PY) benchmarks/bench_build.py

.PHONY: lock
## lock: re-pin requirements.lock from the current .venv (after changing dependencies)
lock: | $(ENV)
	.venv/bin/python -m pip freeze --exclude-editable | grep -v '^analysis' > requirements.lock

.PHONY: clean
## clean: remove every build product of this OUT (results, executed notebooks, rendered report)
clean:
	rm -rf $(RESULTS) $(EXEC_DIR) $(OUT)/validation $(REPORT_DIR)/_output $(REPORT_DIR)/_variables.yml $(REPORT_DIR)/.quarto

.PHONY: distclean
## distclean: clean, and remove .venv and every other cohort's build/
distclean: clean
	rm -rf .venv build

.PHONY: help
## help: list the targets and variables
help:
	@awk '/^## /{sub(/^## /,""); print}' $(MAKEFILE_LIST)

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
ifeq ($(MAKELEVEL),0)  # a sub-make (make sensitivity, make verify) shares its parent's job slots
MAKEFLAGS += -j$(JOBS) --output-sync=target
endif

# ---- what to build ---------------------------------------------------------------------------
## DATA: cohort folder (or .xlsx workbook) to analyse (default: the synthetic cohort)
DATA ?= data/synthetic
## OUT: output root; results/, executed/ and report/_output/ go under it (default: . for the
##      synthetic cohort, build/<name of DATA> otherwise, so reports of different cohorts coexist;
##      make notebook: build/notebook/<NB>)
ifneq ($(filter notebook,$(MAKECMDGOALS)),)
ifeq ($(strip $(NB)),)
$(error make notebook needs NB=<section>, e.g. make notebook NB=03-survival PARAMS=params-mine)
endif
OUT ?= build/notebook/$(NB)
ifeq ($(abspath $(OUT)),$(CURDIR))
$(error make notebook writes into a scratch folder, never into the main report's results: choose OUT=build/...)
endif
endif
ifeq ($(DATA),data/synthetic)
OUT ?= .
else
OUT ?= build/$(notdir $(basename $(patsubst %/,%,$(DATA))))
endif
## PARAMS: folder of parameter files, an overlay on params/: it holds only what it changes (any of
##         common.yaml and the sections' files); `make params-diff PARAMS=...` prints what differs
PARAMS ?= params
## SCENARIOS: the named sensitivity scenarios, overlays on PARAMS (default: PARAMS/sensitivity.yaml, else
##            params/sensitivity.yaml); the report's sensitivity section and `make sensitivity` use them
SCENARIOS ?= $(firstword $(wildcard $(PARAMS)/sensitivity.yaml) params/sensitivity.yaml)

# ---- #24 build safety: input checks and a lock on the output folder --------------------------
# Paths with spaces break Make's file lists: stop with one line rather than with odd Make errors.
ifneq ($(words $(DATA)),1)
$(error DATA="$(DATA)": the cohort path must be one word without spaces; rename the folder or link it, e.g. ln -s "$(DATA)" data/raw/my-cohort and make DATA=data/raw/my-cohort)
endif
ifneq ($(words $(OUT)),1)
$(error OUT="$(OUT)": the output folder must be one word without spaces)
endif
ifneq ($(findstring ",$(DATA)$(OUT))$(findstring ',$(DATA)$(OUT))$(findstring `,$(DATA)$(OUT))$(findstring \,$(DATA)$(OUT))$(findstring $$,$(DATA)$(OUT)),)
$(error DATA/OUT must not contain quotes, backticks, backslashes or $$ (they would reach the shell); rename the folder)
endif
ifneq ($(DATE_FORMAT),)
$(error DATE_FORMAT=$(DATE_FORMAT): put the line "date_format: $(DATE_FORMAT)" in $(DATA)/cohort.yaml instead; the validator and the notebooks read it from there, so every step reads the dates the same way)
endif
# One build at a time per output folder: a second `make` into the same OUT waits for the first.
# A background holder keeps an flock on $(OUT)/.build.lock until this make exits (it checks every
# 0.1 s; a second make tries for 1 s before it says it waits); sub-makes of
# the same OUT (BUILD_LOCK_HELD) and goals that write nothing there (help, test ...) take no lock,
# nor do -n and -q. An OUT that cannot be written stops here with "cannot write to ...".
NO_LOCK_GOALS := help test test-quarto test-calibrate test-scenarios bench sync dictionary lock env calibrate distclean params-diff scenarios
ifneq ($(filter-out $(NO_LOCK_GOALS),$(or $(MAKECMDGOALS),report)),)
ifeq ($(findstring n,$(filter-out --%,$(firstword $(MAKEFLAGS))))$(findstring q,$(filter-out --%,$(firstword $(MAKEFLAGS)))),)
ifneq ($(BUILD_LOCK_HELD),$(abspath $(OUT)))
LOCK_FILE := $(OUT)/.build.lock
LOCK_STATUS := $(shell mkdir -p "$(OUT)" 2>/dev/null && { : >> "$(LOCK_FILE)"; } 2>/dev/null || { echo "cannot write to $(OUT)"; exit 0; };   for d in "$(OUT)/validation" "$(OUT)/executed" "$(OUT)/results" "$(OUT)/results"/* "$(if $(filter .,$(OUT)),report,$(OUT)/report)/_output"; do     if [ -d "$$d" ] && [ ! -w "$$d" ]; then echo "cannot write to $$d"; exit 0; fi; done;   make_pid=$$PPID; exec 9>>"$(LOCK_FILE)";   if ! flock -w 1 9; then echo "make: another build is writing to $(OUT); waiting for it to finish (lock: $(LOCK_FILE))" >&2; flock 9; fi;   (tail --pid=$$make_pid -s 0.1 -f /dev/null) </dev/null >/dev/null 2>&1 & echo ok)
ifneq ($(LOCK_STATUS),ok)
$(error make: $(LOCK_STATUS) (read-only folder?); nothing was built; make it writable or choose another OUT=)
endif
export BUILD_LOCK_HELD := $(abspath $(OUT))
endif
endif
endif
# ---- end of #24 build safety -----------------------------------------------------------------

SECTIONS := 01-cohort 02-response 03-survival 04-subgroups 05-safety 06-scorecard 07-sensitivity
ifeq ($(OUT),.)
REPORT_DIR := report
else
REPORT_DIR := $(OUT)/report
endif
EXEC_DIR := $(OUT)/executed
RESULTS := $(OUT)/results
# row-level validation log: it names patients, and its name says so (never part of the report)
VALID := $(OUT)/validation/report-with-patient-ids.csv
# the validated tables, saved by the validation step for the notebooks (analysis.paths.validated_data)
VALIDATED := $(OUT)/validation/validated.pkl
# the digest stamps (#29: analysis.report.provenance; see "digests" below)
PROV_DIR := $(OUT)/.provenance
SECTION_STAMPS := $(SECTIONS:%=$(PROV_DIR)/%.json)
DATA_STAMP := $(PROV_DIR)/data.json
EXECUTED := $(SECTIONS:%=$(EXEC_DIR)/%.ipynb)
# the analysis sections 01-05 (what the scorecard and the sensitivity section read)
ANALYSIS_EXECUTED := $(filter-out $(EXEC_DIR)/06-scorecard.ipynb $(EXEC_DIR)/07-sensitivity.ipynb,$(EXECUTED))
# only files that exist: a dangling symbolic link is left to the validator, which names it (issue #30)
DATA_FILES := $(if $(wildcard $(DATA)/.),$(foreach f,$(wildcard $(DATA)/*.*),$(if $(realpath $(f)),$(f))),$(DATA))
# what the notebooks import: the data, stats and report layers (rendering apart); the scorecard also
# imports the synthetic package
NB_SRC := analysis/paths.py $(wildcard analysis/data/*.py analysis/stats/*.py) \
  $(filter-out analysis/report/render.py analysis/report/runner.py analysis/report/provenance.py analysis/report/notebook_pages.py,$(wildcard analysis/report/*.py))
SYNTHETIC_SRC := $(wildcard analysis/synthetic/*.py)
RENDER_SRC := analysis/report/render.py analysis/report/notebook_pages.py $(wildcard analysis/report/render_assets/*)
REPORT_SRC := $(wildcard report/*.qmd report/*.yml report/*.bib report/*.csl report/*.css report/*.lua)

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
# (the executed notebook is written once, at the end, not after every cell; the runner,
# analysis.report.runner, starts papermill through the analysis package, which spares it over a
# second of CPU per notebook: analysis/__init__.py)
## FORKSERVER: (set by make sensitivity) a fork server's socket: the notebooks, render and pages steps
##             start as forks of a process that imported their modules once (analysis.report.forkserver)
PYM = $(if $(FORKSERVER),$(PY) -m analysis.report.forkclient $(FORKSERVER),$(PY) -m)
PM_FLAGS ?= $(if $(CI),--no-progress-bar --log-output,--progress-bar) --no-request-save-on-cell-execute

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

# ---- #29 one line per step as it starts and as it ends, with its time -------------------------
# "[3/9] 03-survival …" when a step starts and "[3/9] 03-survival done in 4.1 s" when it ends. With
# --output-sync each step's own output is held back until it ends, so these lines are recipe lines
# marked + (GNU make does not hold back the output of + lines in target mode): they reach the
# terminal or log at once, also with parallel jobs. Nothing is printed by make -n / -q.
DRY_RUN := $(findstring n,$(filter-out --%,$(firstword $(MAKEFLAGS))))$(findstring q,$(filter-out --%,$(firstword $(MAKEFLAGS))))
STEP_TOTAL := $(words validate $(SECTIONS) render)
# $(call step_start,NUMBER,NAME) / $(call step_end,NUMBER,NAME)
step_start = $(if $(DRY_RUN),:,mkdir -p $(PROV_DIR) && date +%s%N > $(PROV_DIR)/.start-$2 && printf '[%s/%s] %s …\n' "$1" "$(STEP_TOTAL)" "$2")
step_end = $(if $(DRY_RUN),:,t0=$$(cat $(PROV_DIR)/.start-$2 2>/dev/null || date +%s%N); ms=$$(( ($$(date +%s%N) - t0) / 1000000 )); \
  rm -f $(PROV_DIR)/.start-$2; printf '[%s/%s] %s done in %d.%d s\n' "$1" "$(STEP_TOTAL)" "$2" $$((ms / 1000)) $$((ms % 1000 / 100)))
# a section's step number: validation is 1, 01-cohort 2, ...
section_step = $$((10\#$(firstword $(subst -, ,$1)) + 1))

# ---- pipeline ----------------------------------------------------------------------------------
.PHONY: report
## report: validate the cohort, run the notebooks in order, render HTML and PDF (default)
report: $(REPORT_DIR)/_output/index.html

.PHONY: validate
## validate: check the cohort against the data contract (errors → table on screen and in validation/)
validate: $(VALID)

# The validation log names rows (and their values) so a data manager can fix them: it is kept in
# $(OUT)/validation/, apart from results/, and never reaches the report (which shows counts per rule).
# (#24) exit 1: invalid cohort (errors listed in errors-with-patient-ids.csv); 2: cannot write the
# report; 3: internal error (one line, traceback in validation/validate.log).
$(VALID): $(DATA_FILES) $(DATA_STAMP) analysis/data/escape.py analysis/data/schema.py analysis/data/readers.py analysis/data/validate.py \
  analysis/data/cohort.py analysis/data/validated.py | $(ENV)
	+@$(call step_start,1,validation)
	@mkdir -p $(@D)
	@if [ -n "$(REUSE_FROM)" ] && $(PY) -m analysis.report.provenance reuse-validation --data "$(DATA)" \
	  --from "$(REUSE_FROM)" --validation $(@D); then echo "== validation: reused from $(REUSE_FROM) (same data files)"; exit 0; fi; \
	rc=0; $(PY) -m analysis.data.validate "$(DATA)" --report $(@D)/report.tmp.csv --save $(VALIDATED) \
	  --log $(@D)/validate.log || rc=$$?; \
	if [ $$rc -eq 1 ]; then \
	  mv -f $(@D)/report.tmp.csv $(@D)/errors-with-patient-ids.csv 2>/dev/null || true; \
	  echo "make: the cohort at $(DATA) is invalid; nothing was re-run and the previous report is unchanged." >&2; \
	  echo "      full list: $(@D)/errors-with-patient-ids.csv" >&2; exit 1; \
	elif [ $$rc -ne 0 ]; then rm -f $(@D)/report.tmp.csv; echo "make: validation step stopped; the previous report is unchanged." >&2; exit 1; fi; \
	mv -f $(@D)/report.tmp.csv $@; \
	rm -f $(@D)/errors-with-patient-ids.csv
	@cp $(DATA_STAMP) $(@D)/data.json 2>/dev/null || true
	+@$(call step_end,1,validation)

# ---- #29 digests: a section re-runs when what made it changed, whatever the file times say -------
# Each time make reads this file (for a goal that builds), analysis.report.provenance computes every
# section's digest (notebook cells, merged parameters, data contents, analysis code,
# requirements.lock, files the parameters name, and for 06/07 the digests of 01-05) and rewrites the
# stamp $(PROV_DIR)/<section>.json only when it changed, or touches it when the digest recorded in
# results/<section>/manifest.yaml differs (results written outside make, a run that stopped); the
# notebook rule depends on the stamp. The validation step depends on $(PROV_DIR)/data.json (the
# data's path and contents). A notebook and its paired .py that disagree stop make here ("run make
# sync"). This runs before any rule (so make -q and make -n see it too) and takes ~0.3 s; a make with
# nothing changed does nothing else. On the first build (no environment yet) a rule makes the stamps.
## REUSE_FROM: another output folder: a section whose digest recorded there equals the current one is
##             copied from it (results and executed notebook) instead of run; the validation too
PROV_ARGS := --out "$(OUT)" --data "$(DATA)" --params "$(PARAMS)" --scenarios "$(SCENARIOS)"
PROV_GOALS := $(filter-out $(NO_LOCK_GOALS) clean verify verify-record,$(or $(MAKECMDGOALS),report))
ifneq ($(PROV_GOALS),)
ifneq ($(shell command -v $(PY) 2>/dev/null),)
# With REUSE_FROM (not for make -n / -q) the same step copies the validation and every section whose
# digest recorded there is the current one, before make looks at file times: those sections are then
# up to date and no runner starts for them (analysis.report.provenance.reuse_unchanged; it lists the
# copies in $(PROV_DIR)/reused.txt, printed here).
PROV_REUSE := $(if $(and $(REUSE_FROM),$(filter-out validate,$(PROV_GOALS))),$(if $(DRY_RUN),,--reuse-from "$(REUSE_FROM)"))
PROV_STATUS := $(shell $(PY) -m analysis.report.provenance stamps $(PROV_ARGS) $(PROV_REUSE) \
  $(if $(filter-out validate,$(PROV_GOALS)),,--data-only) 2>&1 && echo PROV-OK)
ifneq ($(lastword $(PROV_STATUS)),PROV-OK)
$(error $(PROV_STATUS))
endif
ifneq ($(and $(PROV_REUSE),$(wildcard $(PROV_DIR)/reused.txt)),)
$(info $(file < $(PROV_DIR)/reused.txt))
endif
endif
endif
$(SECTION_STAMPS) $(DATA_STAMP) &: | $(ENV)
	@$(PY) -m analysis.report.provenance stamps $(PROV_ARGS)

# Each notebook runs in order (papermill, through analysis.report.runner (#24): it writes into a
# temporary file moved into place on success; a failure prints one line naming the section and
# the notebook's exception, keeps executed/<section>.failed.ipynb, and exits non-zero).
# Its own params file re-runs it alone; a change in the data or in analysis/ re-runs all.
# The notebook receives its merged parameters (analysis.report.params: the project's params/ overlaid
# by PARAMS/common.yaml and PARAMS/<section>.yaml when present; nothing is written into PARAMS).
.SECONDEXPANSION:
$(EXEC_DIR)/%.ipynb: notebooks/%.ipynb params/%.yaml params/common.yaml \
  $$(wildcard $(PARAMS)/$$*.yaml $(PARAMS)/common.yaml) $(VALID) $(NB_SRC) $(PROV_DIR)/%.json | $(ENV)
	+@$(call step_start,$(call section_step,$*),$*)
	@mkdir -p $(EXEC_DIR)
	@$(PYM) analysis.report.runner $* $< $@ -k $(KERNEL) --cwd "$(CURDIR)" $(PM_FLAGS) \
	  --provenance $(PROV_DIR)/$*.json $(if $(REUSE_FROM),--reuse-from "$(REUSE_FROM)") \
	  --params-dir $(PARAMS) -p data "$(DATA)" -p out "$(OUT)"
	+@$(call step_end,$(call section_step,$*),$*)

# the scorecard reads every other section's numbers (01-05; not the sensitivity section's)
$(EXEC_DIR)/06-scorecard.ipynb: $(ANALYSIS_EXECUTED) \
  data/published_targets.yaml $(SYNTHETIC_SRC)

# the sensitivity section reads every params file (the base of its scenarios) and the scenarios, and checks
# its base results against the numbers 01-05 wrote; it runs beside the scorecard (each reads 01-05 only:
# analysis.report.results.ANALYSIS_SECTIONS)
SENS_SRC := $(wildcard analysis/sensitivity/*.py)
$(EXEC_DIR)/07-sensitivity.ipynb: $(ANALYSIS_EXECUTED) \
  $(wildcard $(PARAMS)/*.yaml) $(filter-out params/sensitivity.yaml,$(wildcard params/*.yaml)) $(SCENARIOS) $(SENS_SRC)
$(EXEC_DIR)/07-sensitivity.ipynb: PM_FLAGS += -p params_dir "$(PARAMS)" -p scenarios "$(SCENARIOS)"
# What the scorecard and the sensitivity section compute again in every scenario build of make sensitivity
# (the consistency audit of the published numbers; the parts of the headline results the multiverses
# share) is kept on disk once (analysis.memo: keyed by the code, the cohort's contents and the options)
## CACHE_DIR: where the scorecard and the sensitivity section keep results they share across builds
##            (default build/sensitivity/.cache; a cache: make clean removes it)
CACHE_DIR ?= $(SENS_ROOT)/.cache
$(EXEC_DIR)/06-scorecard.ipynb $(EXEC_DIR)/07-sensitivity.ipynb: export RR_CACHE = $(abspath $(CACHE_DIR))

# a bad scenario (unknown file, parameter or value, a name twice) stops the build before any notebook runs
SCENARIOS_OK := $(EXEC_DIR)/.scenarios-ok
$(EXECUTED): | $(SCENARIOS_OK)
$(SCENARIOS_OK): $(SCENARIOS) $(wildcard $(PARAMS)/*.yaml params/*.yaml) $(SENS_SRC) analysis/report/params.py \
  $(PROV_DIR)/07-sensitivity.json | $(ENV)
	@mkdir -p $(@D)
	$(if $(SCENARIOS_CHECKED),@echo "== scenarios: checked by make sensitivity before this scenario started",$(PY) -m analysis.sensitivity.scenarios check $(SCENARIOS) --params $(PARAMS))
	@touch $@

$(REPORT_DIR)/_variables.yml: $(EXECUTED) | $(ENV)
	@mkdir -p $(REPORT_DIR)
	@$(PYM) analysis.report.results $(RESULTS) $@ --extra "data=$(notdir $(patsubst %/,%,$(DATA)))"
	@$(PYM) analysis.report.notebook_pages provenance $(RESULTS) $(REPORT_DIR)/_provenance.json \
	  --list $(REPORT_DIR)/_notebooks.md

ifneq ($(REPORT_DIR),report)
# another cohort's report: a copy of the manuscript sources next to its own results
$(REPORT_DIR)/%: report/%
	@mkdir -p $(@D)
	cp $< $@
REPORT_INPUTS := $(patsubst report/%,$(REPORT_DIR)/%,$(REPORT_SRC))
else
REPORT_INPUTS := $(REPORT_SRC)
endif

# (#24) The renderer and the runner publish their files only when complete, so Make must not delete
# them on an error: .DELETE_ON_ERROR removed the previous index.pdf when a render failed.
# The article and its supplement, each as HTML and PDF, rendered together (Quarto when on PATH, else
# pandoc + Typst) from a staged copy of report/ with $(RESULTS) inside it as results/; then the executed
# notebooks as pages beside them (#29: _output/notebooks/, the targets of the source links).
REPORT_OUTPUTS := $(foreach doc,index supplement,$(REPORT_DIR)/_output/$(doc).html $(REPORT_DIR)/_output/$(doc).pdf)
.PRECIOUS: $(REPORT_OUTPUTS) $(EXECUTED)
$(REPORT_OUTPUTS) &: $(REPORT_DIR)/_variables.yml $(REPORT_INPUTS) $(EXECUTED) $(RENDER_SRC) | $(ENV)
	+@$(call step_start,$(STEP_TOTAL),report)
	@$(PYM) analysis.report.render $(REPORT_DIR) --results $(RESULTS) --log $(REPORT_DIR)/render.log
	@$(PYM) analysis.report.notebook_pages pages $(EXEC_DIR) $(RESULTS) $(REPORT_DIR)/_output \
	  $(if $(REUSE_FROM),--reuse-from "$(if $(filter .,$(REUSE_FROM)),report,$(REUSE_FROM)/report)/_output")
	+@$(call step_end,$(STEP_TOTAL),report)
	@echo "== report: $(REPORT_DIR)/_output/index.html, index.pdf, supplement.html and supplement.pdf"
	@echo "== to check that a fresh build reproduces the recorded numbers (expected/numbers.yaml): make verify"

.PHONY: sections
## sections: run every notebook (results/ and executed/) without rendering the report
sections: $(EXECUTED)

# ---- sensitivity analyses and re-execution check -------------------------------------------------
SENS_ROOT := $(if $(filter .,$(OUT)),build,$(OUT))/sensitivity
comma := ,
empty :=
space := $(empty) $(empty)

.PHONY: sensitivity
## sensitivity: a complete report per named scenario in build/sensitivity/<scenario>/ (make -j: side by
##              side), then build/sensitivity/comparison.html and .csv: the scenarios against the base.
##              A scenario's report copies from the base (REUSE_FROM) the validated data and every
##              section whose digest is the base's; only the others run. One line per scenario:
##              "[5/16] efron-ties: 3 sections re-run, 4 reused, 21.0 s"
## ONLY: make sensitivity ONLY=efron-ties,wilson-ci builds only these scenarios (the main report untouched)
## FORK: make sensitivity FORK=0 starts every step as a process of its own (no fork server: FORKSERVER)
# (The scenarios' reports need the base's analysis sections 01-05 only: they are built side by side with
#  the rest of the main report, its scorecard, sensitivity section and render; then the comparison.)
sensitivity: $(SCENARIOS_OK) $(ANALYSIS_EXECUTED) | $(ENV)
	@$(PY) -m analysis.sensitivity.scenarios write $(SCENARIOS) --params $(PARAMS) --out $(SENS_ROOT) \
	  $(if $(ONLY),--only $(ONLY)) >/dev/null
	+@names="$$($(PY) -m analysis.sensitivity.scenarios names $(SCENARIOS) --params $(PARAMS) $(if $(ONLY),--only $(ONLY)))"; \
	  echo "== $$(echo $$names | wc -w) scenarios into $(SENS_ROOT)/ (each reuses the base's unchanged sections; logs: $(SENS_ROOT)/<name>/build.log)"; \
	  fsdir=$$(mktemp -d "$${TMPDIR:-/tmp}/rr-fork.XXXXXX"); fs=; \
	  if [ "$(FORK)" != 0 ]; then $(PY) -m analysis.report.forkserver serve "$$fsdir/socket" --parent $$$$ --notebooks notebooks & fs=$$!; fi; \
	  trap '[ -z "$$fs" ] || { kill $$fs 2>/dev/null; wait $$fs 2>/dev/null; }; rm -rf "$$fsdir"' EXIT; \
	  $(MAKE) --no-print-directory report sensitivity-reports SCENARIO_NAMES="$$names" FORKSERVER="$$fsdir/socket" && \
	  $(MAKE) --no-print-directory $(SENS_ROOT)/comparison.html SCENARIO_NAMES="$$names"

SCENARIO_TARGETS := $(SCENARIO_NAMES:%=sensitivity-scenario-%)
.PHONY: sensitivity-reports $(SCENARIO_TARGETS)
sensitivity-reports: $(SCENARIO_TARGETS)
$(SCENARIO_TARGETS): sensitivity-scenario-%:
	+@$(PY) -m analysis.sensitivity.reuse start --out $(SENS_ROOT)/$*; \
	  rc=0; $(MAKE) --no-print-directory DATA="$(DATA)" OUT=$(SENS_ROOT)/$* PARAMS=$(SENS_ROOT)/$*/params \
	    SCENARIOS=$(SENS_ROOT)/$*/params/sensitivity.yaml REUSE_FROM=$(OUT) SCENARIOS_CHECKED=1 CACHE_DIR=$(abspath $(CACHE_DIR)) report \
	    >$(SENS_ROOT)/$*/build.log 2>&1 || rc=$$?; \
	  $(PY) -m analysis.sensitivity.reuse summary --out $(SENS_ROOT)/$* --names "$(SCENARIO_NAMES)" --rc $$rc \
	    --log $(SENS_ROOT)/$*/build.log; exit $$rc

.PHONY: scenarios
## scenarios: list the named scenarios (SCENARIOS=...): what each sets and why
scenarios: | $(ENV)
	@$(PY) -m analysis.sensitivity.scenarios list $(SCENARIOS) --params $(PARAMS) $(if $(ONLY),--only $(ONLY))

.PHONY: notebook
## notebook: run one notebook into a scratch folder, never the main report's results:
##           make notebook NB=03-survival PARAMS=params-mine [OUT=build/notebook/03-survival]
##           (and the sections it reads, for 06 and 07); the executed copy shows every table and figure
notebook: $(EXEC_DIR)/$(NB).ipynb
	@echo "== $(NB): executed notebook $(EXEC_DIR)/$(NB).ipynb, results in $(RESULTS)/$(NB)/"

$(SENS_ROOT)/comparison.html $(SENS_ROOT)/comparison.csv &: $(EXECUTED) $(SENS_SRC) \
  $(foreach s,$(SCENARIO_NAMES),$(SENS_ROOT)/$(s)/report/_output/index.html $(SENS_ROOT)/$(s)/params/common.yaml)
	$(PY) -m analysis.sensitivity.compare $(OUT) $(SCENARIO_NAMES:%=$(SENS_ROOT)/%) \
	  --names $(subst $(space),$(comma),$(strip $(SCENARIO_NAMES))) --notes $(SENS_ROOT)/rationales.yaml \
	  --params $(PARAMS) --html $(SENS_ROOT)/comparison.html --csv $(SENS_ROOT)/comparison.csv
	@echo "== comparison: $(SENS_ROOT)/comparison.html and comparison.csv"

.PHONY: params-diff
## params-diff: what the params folder PARAMS=... changes against the project's defaults (params/)
params-diff: | $(ENV)
	@$(PY) -m analysis.report.params diff $(PARAMS)

VERIFY_OUT := build/verify
.PHONY: verify
## verify: build the default report's sections afresh (build/verify/) and compare every number with the
##         committed record expected/numbers.yaml; prints the verification certificate (commit, input
##         checksums, changed params, environment, result per section), also build/verify/verification.md/.html
# (#29) it prints and writes the verification certificate: build/verify/verification.md and .html
verify: | $(ENV)
	+@started=$$(date +%s.%N); rm -rf $(VERIFY_OUT); \
	$(MAKE) --no-print-directory DATA=data/synthetic PARAMS=params OUT=$(VERIFY_OUT) sections && \
	$(PY) -m analysis.sensitivity.verify check $(VERIFY_OUT)/results --out $(VERIFY_OUT) --started $$started

.PHONY: verify-record
## verify-record: rewrite expected/numbers.yaml from a fresh build (when the results are meant to change)
verify-record: | $(ENV)
	rm -rf $(VERIFY_OUT)
	+$(MAKE) --no-print-directory DATA=data/synthetic PARAMS=params OUT=$(VERIFY_OUT) sections
	$(PY) -m analysis.sensitivity.verify record $(VERIFY_OUT)/results

# ---- synthetic cohort ------------------------------------------------------------------------
.PHONY: calibrate
## calibrate: regenerate the committed synthetic cohort (data/synthetic) from its seed (~1.5 min)
calibrate: | $(ENV)
	$(PY) -m analysis.synthetic.build --out data/synthetic

.PHONY: check-calibrate
## check-calibrate: run make calibrate under numpy's baseline/AVX2/AVX-512 code paths and OpenBLAS's kernels
##       for several CPUs (NPY_DISABLE_CPU_FEATURES, OPENBLAS_CORETYPE) and compare the files with data/synthetic
##       byte for byte (10 runs, ~20 min on 2 cores; CHECK_ARGS=--cross for every combination)
check-calibrate: | $(ENV)
	$(PY) -m analysis.synthetic.dispatch --markdown $(CHECK_ARGS)

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
# (the tests run make themselves: they get a clean make environment, not this make's jobserver)
test: $(ENV)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	  $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not calibrate and not scenario_builds" $(PYTEST_ARGS)

.PHONY: test-quarto
## test-quarto: the tests marked quarto: render with Quarto (on PATH) and compare with the pandoc engine
test-quarto: $(ENV)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(PY) -m pytest -q -m quarto $(PYTEST_ARGS)

.PHONY: test-scenarios
## test-scenarios: check that three scenario reports built with reuse give the numbers of from-scratch builds
##       of the same parameters, and one built through make sensitivity's fork server and with FORK=0 (~3-4 minutes
##       on 2 idle cores; CI runs it after make test)
test-scenarios: $(ENV)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(PY) -m pytest -q -m scenario_builds $(PYTEST_ARGS)

.PHONY: test-calibrate
## test-calibrate: check that make calibrate regenerates the committed synthetic cohort byte for byte, as the
##       machine is and with numpy at its baseline and OpenBLAS's generic kernels (two runs of make calibrate:
##       ~3.5 min of both cores; CI runs it after make test)
test-calibrate: $(ENV)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(PY) -m pytest -q -m calibrate $(PYTEST_ARGS)

.PHONY: bench
## bench: time the statistics at 10^3, 10^5, 10^6 patients (against R when Rscript is on PATH),
##        the calibration of the synthetic cohort, the privacy guard, the sensitivity multiverse, make sensitivity, and clean builds of the report
##        (default, 1,000, 20,000, 100,000 patients) and make test, step by step, recorded in
##        benchmarks/results.md (~10 min; see benchmarks/README.md)
bench: | $(ENV)
	$(PY) benchmarks/bench_stats.py
	$(PY) benchmarks/bench_calibrate.py
	$(PY) benchmarks/bench_privacy.py
	$(PY) benchmarks/bench_multiverse.py
	$(PY) benchmarks/bench_build.py
	$(PY) benchmarks/bench_sensitivity.py

.PHONY: lock
## lock: re-pin requirements.lock from the current .venv (after changing dependencies)
lock: | $(ENV)
	.venv/bin/python -m pip freeze --exclude-editable | grep -v '^analysis' > requirements.lock

.PHONY: clean
## clean: remove every build product of this OUT (results, executed notebooks, rendered report)
clean:
	rm -rf $(RESULTS) $(EXEC_DIR) $(OUT)/validation $(PROV_DIR) $(REPORT_DIR)/_output $(REPORT_DIR)/_variables.yml $(REPORT_DIR)/_provenance.json $(REPORT_DIR)/_notebooks.md $(REPORT_DIR)/.quarto \
	  $(REPORT_DIR)/render.log $(CACHE_DIR)

.PHONY: distclean
## distclean: clean, and remove .venv and every other cohort's build/
distclean: clean
	rm -rf .venv build

.PHONY: help
## help: list the targets and variables
help:
	@awk '/^## /{sub(/^## /,""); print}' $(MAKEFILE_LIST)

# TinyTorch Classroom: every entry point. `make help` lists them.
# Every target installs what it needs on first use (a .venv beside this file).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

M ?=
N ?=
STUDENT ?=
HIDDEN ?=
OUT ?=
FORCE ?=
QUICK ?=

# STUDENT=x grades submissions/x; STUDENT=path/to/repo grades that folder.
ifeq ($(STUDENT),)
  SUBMISSION := .
  REPORT_DIR := reports/working-copy
else
  SUBMISSION := $(if $(wildcard submissions/$(STUDENT)),submissions/$(STUDENT),$(STUDENT))
  REPORT_DIR := reports/$(notdir $(patsubst %/,%,$(STUDENT)))
endif
MODULE_DIR := $(if $(M),$(wildcard assignments/$(shell printf '%02d' $(M) 2>/dev/null)_*),assignments/*)

.PHONY: help install test status grade milestone check stubs stubs-check bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the dependencies (idempotent)

test: $(STAMP) ## visible tests of your modules (M=03 for one module)
	$(PY) -m pytest $(addsuffix /tests,$(MODULE_DIR)) -q

status: $(STAMP) ## your progress: modules, visible points, milestones unlocked
	$(PY) -m grading status .

grade: $(STAMP) ## grade the working copy (STUDENT=x: submissions/x or a path); reports in reports/
	$(PY) -m grading grade $(SUBMISSION) --out $(REPORT_DIR) --label $(if $(STUDENT),$(STUDENT),working-copy) \
		$(if $(HIDDEN),--hidden $(HIDDEN),)

milestone: $(STAMP) ## run milestone N (N=1); FORCE=1 runs it before its modules pass
	@test -n "$(N)" || { echo "usage: make milestone N=1 [FORCE=1] [QUICK=1]"; exit 2; }
	$(PY) -m grading milestone $(N) $(if $(filter 1,$(FORCE)),--force,) $(if $(filter 1,$(QUICK)),--quick,) \
		$(if $(OUT),--out $(OUT),)

check: $(STAMP) ## the course repository's own test suite
	$(PY) -m pytest tests -q

stubs: $(STAMP) ## write assignments/*/*.py from solutions/
	$(PY) -m grading stubs

stubs-check: $(STAMP) ## fail when a committed stub differs from what `make stubs` writes
	$(PY) -m grading stubs --check

bench: $(STAMP) ## performance ratios, measured side by side in one run
	$(PY) benchmarks/run.py

clean: ## remove reports and caches (keeps .venv)
	rm -rf reports build .pytest_cache

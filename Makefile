# TinyTorch Classroom: every entry point. `make help` lists them.
# Every target installs what it needs on first use (a .venv beside this file).
# PY=/path/to/python uses that interpreter as it is instead: no .venv, nothing installed (CI, and
# the course's own tests, which run `make` inside a built template); `make install PY=...`
# installs the dependencies into it.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TOOLS_STAMP := $(VENV)/.installed-tools
DEV_STAMP := $(VENV)/.installed-dev

M ?=
N ?=
STUDENT ?=
HIDDEN ?=
OUT ?=
FORCE ?=
QUICK ?=
CNN ?=
D ?= all
JOBS ?=
TIMEOUT ?=
STAFF ?=
DIR ?= submissions
ROSTER ?=
AT ?=

# STUDENT=x grades submissions/x; STUDENT=path/to/repo grades that folder. A student's grading
# keeps history: reports/<student>/<time>-<commit>/, with reports/<student>/latest the newest.
# Where the reference solutions are (the course repository, a TA's machine) it is a staff grading:
# staff.md and the isolated scores too (STAFF=0 leaves staff.md out).
ifeq ($(STUDENT),)
  SUBMISSION := .
  REPORT_ARGS := --out reports/working-copy --label working-copy
else
  SUBMISSION := $(if $(wildcard submissions/$(STUDENT)),submissions/$(STUDENT),$(STUDENT))
  REPORT_ARGS := --reports reports --label $(patsubst %/,%,$(STUDENT)) \
    $(if $(wildcard solutions),$(if $(filter 0,$(STAFF)),,--staff),)
endif
# M=3, M=03 and M=09 all name one module (two digits, no octal surprises from printf).
MODULE_ID  := $(shell echo 00$(M) | tail -c 3)
MODULE_DIR := $(if $(M),$(wildcard assignments/$(MODULE_ID)_*),assignments/*)

.PHONY: help install test status grade milestone data check stubs stubs-check workflow template hidden-bundle bench \
	gradebook snapshot similarity class-demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

ifeq ($(origin PY),command line)
$(STAMP) $(TOOLS_STAMP) $(DEV_STAMP): ;

install:
	$(PY) -m pip install --quiet -e .
else
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

# Instructors' tools (workflow, template, bundle) come with the `tools` extra; make check also
# lints the workflows: actionlint comes with the `dev` extra (which holds the tools).
$(TOOLS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[tools]'
	touch $(TOOLS_STAMP)

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

install: $(STAMP) ## create .venv and install the dependencies (idempotent)
endif

test: $(STAMP) ## visible tests of your modules (M=03 for one module)
	@test -n "$(MODULE_DIR)" || { echo "make test: no module $(M) (the modules are assignments/NN_slug/)"; exit 2; }
	$(PY) -m pytest $(addsuffix /tests,$(MODULE_DIR)) -q

status: $(STAMP) ## your progress: modules, visible points, milestones unlocked
	$(PY) -m grading status .

grade: $(STAMP) ## grade the working copy (STUDENT=x: submissions/x or a path; JOBS=n TIMEOUT=s HIDDEN=dir)
	$(PY) -m grading grade $(SUBMISSION) $(REPORT_ARGS) $(if $(HIDDEN),--hidden $(HIDDEN),) \
		$(if $(JOBS),--jobs $(JOBS),) $(if $(TIMEOUT),--test-timeout $(TIMEOUT),)

# The class: DIR holds one clone per student (submissions/alice, ...); ROSTER=csv names them.
gradebook: $(STAMP) ## grade every student under DIR=submissions/ (ROSTER=csv JOBS=n AT=deadlines OUT=dir)
	$(PY) -m grading gradebook $(DIR) --out $(or $(OUT),reports/gradebook) $(if $(ROSTER),--roster $(ROSTER),) \
		$(if $(JOBS),--jobs $(JOBS),) $(if $(AT),--at $(AT),) $(if $(TIMEOUT),--test-timeout $(TIMEOUT),) \
		$(if $(HIDDEN),--hidden $(HIDDEN),)

snapshot: $(STAMP) ## record each student's HEAD under DIR= for the deadline just passed (snapshots/)
	$(PY) -m grading snapshot $(DIR) $(if $(ROSTER),--roster $(ROSTER),)

similarity: $(TOOLS_STAMP) ## code similarity between the students under DIR=, module by module (OUT=dir)
	$(PY) -m grading similarity $(DIR) --out $(or $(OUT),reports/similarity) $(if $(ROSTER),--roster $(ROSTER),)

class-demo: $(STAMP) ## time make gradebook on a generated class of 30 (JOBS=1 and 2, resumed, one hang)
	$(PY) benchmarks/class_demo.py $(if $(OUT),--out $(OUT),)

milestone: $(STAMP) ## run milestone N (N=1); FORCE=1 runs it before its modules pass
	@test -n "$(N)" || { echo "usage: make milestone N=1 [FORCE=1] [QUICK=1]"; exit 2; }
	$(PY) -m grading milestone $(N) $(if $(filter 1,$(FORCE)),--force,) $(if $(filter 1,$(QUICK)),--quick,) \
		$(if $(OUT),--out $(OUT),)

data: $(STAMP) ## fetch a data set, checked (D=mnist|cifar10|tinyshakespeare|all); TINYTORCH_DATA=dir: a local copy
	$(PY) -m tinytorch.datasets fetch $(D)

check: $(DEV_STAMP) ## the course repository's own test suite
	$(PY) -m pytest tests -q

stubs: $(STAMP) ## write assignments/*/*.py from solutions/
	$(PY) -m grading stubs

stubs-check: $(STAMP) ## fail when a committed stub differs from what `make stubs` writes
	$(PY) -m grading stubs --check

workflow: $(TOOLS_STAMP) ## write .github/workflows/ from course.toml
	$(PY) -m grading workflow

template: $(TOOLS_STAMP) ## write the student repository (Classroom template) into OUT=dir [FORCE=1]
	@test -n "$(OUT)" || { echo "usage: make template OUT=dir [FORCE=1]"; exit 2; }
	$(PY) -m grading template $(OUT) $(if $(filter 1,$(FORCE)),--force,)

hidden-bundle: $(TOOLS_STAMP) ## write the instructor's private repo (grader, all tests, plan) into OUT=dir [FORCE=1]
	@test -n "$(OUT)" || { echo "usage: make hidden-bundle OUT=dir [FORCE=1]"; exit 2; }
	$(PY) -m grading hidden-bundle $(OUT) $(if $(filter 1,$(FORCE)),--force,)

bench: $(STAMP) ## performance ratios, measured side by side in one run (CNN=1: also milestone 3 vs PyTorch)
	$(PY) benchmarks/run.py
	@if $(PY) -c "import torch" 2>/dev/null; then \
		$(PY) benchmarks/cnn_vs_torch.py $(if $(filter 1,$(CNN)),,--micro-only); \
	else echo "conv/pool vs PyTorch: skipped (PyTorch is not installed; pip install torch==2.13.0)"; fi

clean: ## remove reports and caches (keeps .venv)
	rm -rf reports build .pytest_cache

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
GPT ?=
D ?= all
JOBS ?=
DATA ?=
TIMEOUT ?=
STAFF ?=
NB ?=
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

.PHONY: help course-repo install test status grade milestone data check stubs stubs-check notebooks \
	notebooks-check export workflow template hidden-bundle bench gradebook snapshot similarity class-demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 17
	@if [ -d solutions ]; then echo; echo "Course repository (instructors):"; \
	  grep -E '^[a-z-]+:.*##! ' $(MAKEFILE_LIST) | sed 's/:.*##! /\t/' | expand -t 17; fi

# Targets marked `##!` need the course repository (solutions/): a student repository has none.
course-repo:
	@test -d solutions || { echo "make $(MAKECMDGOALS): this is an instructor's command of the course repository (it needs solutions/); \`make help\` lists yours"; exit 2; }

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

# Instructors' tools (workflow, template, bundle, notebooks) come with the `tools` extra; make check
# also lints the workflows: actionlint comes with the `dev` extra (which holds the tools).
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
	@$(PY) -m grading policy . $(if $(M),--modules $(MODULE_ID),)
	$(PY) -m pytest $(addsuffix /tests,$(MODULE_DIR)) -q --tb=short -p grading.feedback

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

milestone: $(STAMP) ## run milestone N (N=1); FORCE=1 before its modules pass; QUICK=1 OUT=dir DATA=dir
	@test -n "$(N)" || { echo "usage: make milestone N=1 [FORCE=1] [QUICK=1]"; exit 2; }
	$(PY) -m grading milestone $(N) $(if $(filter 1,$(FORCE)),--force,) $(if $(filter 1,$(QUICK)),--quick,) \
		$(if $(OUT),--out $(OUT),) $(if $(DATA),--data-dir $(DATA),)

data: $(STAMP) ## fetch a data set, checked (D=mnist|cifar10|tinyshakespeare|all); TINYTORCH_DATA=dir: a local copy
	$(PY) -m tinytorch.datasets fetch $(D)

check: course-repo $(DEV_STAMP) ##! the course repository's own test suite
	$(PY) -m pytest tests -q

stubs: course-repo $(STAMP) ##! write assignments/*/*.py from solutions/
	$(PY) -m grading stubs

stubs-check: course-repo $(STAMP) ##! fail when a committed stub differs from what `make stubs` writes
	$(PY) -m grading stubs --check

notebooks: $(TOOLS_STAMP) ## write notebooks/NN_slug.ipynb from the stubs (Jupyter, Colab)
	$(PY) -m grading notebooks

notebooks-check: course-repo $(TOOLS_STAMP) ##! fail when a committed notebook differs from what `make notebooks` writes
	$(PY) -m grading notebooks --check

export: $(TOOLS_STAMP) ## write a notebook's code cells into its student file (NB=notebooks/03_layers.ipynb)
	@test -n "$(NB)" || { echo "usage: make export NB=notebooks/03_layers.ipynb"; exit 2; }
	$(PY) -m grading export $(NB)

workflow: course-repo $(TOOLS_STAMP) ##! write .github/workflows/ from course.toml
	$(PY) -m grading workflow

template: course-repo $(TOOLS_STAMP) ##! write the student repository (Classroom template) into OUT=dir [FORCE=1]
	@test -n "$(OUT)" || { echo "usage: make template OUT=dir [FORCE=1]"; exit 2; }
	$(PY) -m grading template $(OUT) $(if $(filter 1,$(FORCE)),--force,)

hidden-bundle: course-repo $(TOOLS_STAMP) ##! write the instructor's private repo (grader, all tests, plan) into OUT=dir [FORCE=1]
	@test -n "$(OUT)" || { echo "usage: make hidden-bundle OUT=dir [FORCE=1]"; exit 2; }
	$(PY) -m grading hidden-bundle $(OUT) $(if $(filter 1,$(FORCE)),--force,)

bench: course-repo $(STAMP) ##! performance ratios measured side by side (CNN=1, GPT=1: milestones 3 and 4 vs PyTorch)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/language.py
	@if $(PY) -c "import torch" 2>/dev/null; then \
		$(PY) benchmarks/cnn_vs_torch.py $(if $(filter 1,$(CNN)),,--micro-only); \
		$(if $(filter 1,$(GPT)),$(PY) benchmarks/gpt_vs_torch.py;,) \
	else echo "conv/pool and GPT vs PyTorch: skipped (PyTorch is not installed; pip install torch==2.13.0)"; fi

clean: ## remove reports and caches (keeps .venv)
	rm -rf reports build .pytest_cache

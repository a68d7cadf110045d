# The two entry points of the README: `make book` and `make test`. Both build .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
SCALE  ?= small
DEVICE ?= cpu
STAMP  := $(VENV)/.installed

.PHONY: book test nbval venv clean nbval-refresh mutation

$(STAMP): pyproject.toml
	@echo "[make] creating $(VENV) with $(PYTHON)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	@# torch==2.13.0 first: the CPU wheel on this machine's disk (an unpinned torch pulls CUDA builds)
	@$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
	@# setuptools' notice that an editable install is one (a block from "BuildBackendWarning: Editable installation" to
	@# its "WheelFile" line) is about how pip installs swao, not about anything the user did: left out
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test,book]' 2>&1 | grep -v "^WARNING: Location" \
		| awk '/BuildBackendWarning: Editable installation/ {skip = 1} !skip {print} /WheelFile/ {skip = 0}' || true
	@$(PY) -c "import torch, swao, papermill, jupyter_book, nbval" || (echo "[make] install failed" >&2; exit 1)
	@touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(PY) book/build.py --scale $(SCALE) --device $(DEVICE)

# Every test: the unit tests, and strict nbval on the executed smoke-scale notebook copies in
# tests/notebooks under three CPU code paths (tests/test_nbval_portable.py). The copies render
# from the committed results fixture tests/fixtures/smoke-cache, so they pass on any CPU.
test: $(STAMP)
	$(PY) -m pytest tests

# nbval alone, on this CPU's own code path, cell by cell.
nbval: $(STAMP)
	@# absolute: nbval runs each notebook from its own folder (tests/notebooks)
	SWAO_CACHE=$(CURDIR)/tests/fixtures/smoke-cache SWAO_NO_COMPUTE=1 $(PY) -m pytest --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg tests/notebooks

# After changing a notebook or the computing code: recompute the smoke-scale fixture and
# re-execute the notebook copies from it (tests/nbval_fixture.py). Commit both.
nbval-refresh: $(STAMP)
	$(PY) tests/nbval_fixture.py

# Mutation testing as a measurement (issue 13), not part of `make test`: mutmut (setup.cfg) over
# the modules of the paper's equations against their fast unit tests; the score and the
# surviving mutants go to mutants/summary.txt, each with its reason to mutants/survivors.md (see benchmarks/RESULTS.md for a measured run).
mutation: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check mutmut==3.8.1 2>&1 | grep -v "^WARNING: Location" || true
	@# one torch thread per test process: with more, a mutant's CPU time passes mutmut's limit (timeouts)
	SWAO_TEST_THREADS=1 OMP_NUM_THREADS=1 $(VENV)/bin/mutmut run --max-children 2 || true
	$(PY) benchmarks/mutation_summary.py --survivors mutants/survivors.md > mutants/summary.txt; cat mutants/summary.txt

clean:
	rm -rf _build book/generated

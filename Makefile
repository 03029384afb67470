# Two commands for a fresh machine: `make book` and `make test`.
# Each creates, or refreshes when the lock file changed, the pinned virtual
# environment in .venv before doing its work.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test nbval data sample readings derive rscripts notebooks lock env clean

# Every study with a ledger (data/claims/<study>.yaml), and the seed of the
# committed cohorts (recorded again in each provenance file).
STUDIES := $(sort $(basename $(notdir $(filter-out %.questions.yaml,$(wildcard data/claims/*.yaml)))))
SEED := 0
# Seed and size of the committed samples of consistent cohorts (data/samples/).
SAMPLE_SEED := 0
SAMPLE_N    := 1000

# Everything the book may read: every file of the project but build products,
# the environment and git's store. When none changed, make skips Sphinx (about
# 3 s to find nothing to do); when one did, Sphinx rebuilds what depends on it,
# and cart_lib.book.bookbuild re-executes, several at once, the notebooks that read
# a changed file of cart_lib/ or data/ (all of them after a change to the
# lock), which the execution cache cannot see.
BOOK_SOURCES := $(shell find . \( -name .git -o -name .venv -o -name _build -o -name __pycache__ \
	-o -name '*.egg-info' -o -name .pytest_cache -o -name .ipynb_checkpoints \) -prune -o -type f -print)
# The footer dates the last commit that changed data/, so a commit or a
# checkout counts as a change too.
GIT_HEAD     := $(wildcard $(shell git rev-parse --git-path HEAD \
	--git-path "$$(git symbolic-ref -q HEAD || echo HEAD)" 2>/dev/null))
BOOK_STAMP   := _build/html/.book-stamp

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

book: $(BOOK_STAMP)  ## build the HTML book into _build/html

# On failure the saved Sphinx environment goes: it would count the failed
# pages as read, and the next build would pass without showing the warning.
# The stamp bears the time the build started, so a file saved during the
# build is newer than the stamp and the next make builds again.
$(BOOK_STAMP): $(STAMP) $(BOOK_SOURCES) $(GIT_HEAD)
	@mkdir -p $(@D) && touch $@.started
	$(BIN)/jupyter-book build . -W -n --keep-going || { rm -rf _build/.doctrees $@.started; exit 1; }
	@mv $@.started $@

data: $(STAMP)  ## regenerate the committed cohorts, samples, reading searches, derived results and R scripts (byte for byte)
	$(BIN)/python -m cart_lib reconstruct --seed $(SEED)
	$(MAKE) --no-print-directory sample
	$(MAKE) --no-print-directory readings
	$(MAKE) --no-print-directory derive
	$(MAKE) --no-print-directory rscripts

rscripts: $(STAMP)  ## regenerate each study's R script under data/rscripts/ from its ledger (byte for byte)
	for study in $(STUDIES); do $(BIN)/python -m cart_lib rscript --study $$study || exit 1; done

sample: $(STAMP)  ## redraw the committed samples from the committed cohorts (byte for byte)
	for study in $(STUDIES); do $(BIN)/python -m cart_lib sample --study $$study \
		--n $(SAMPLE_N) --seed $(SAMPLE_SEED) --jobs -1 || exit 1; done

readings: $(STAMP)  ## search under each alternative reading no check decides (data/derived/)
	$(BIN)/python -m cart_lib readings --seed $(SEED)

derive: $(STAMP)  ## compute once what the chapters read: pinning, reading verdicts, summaries over the sample (data/derived/)
	$(BIN)/python -m cart_lib derive

notebooks: $(STAMP)  ## re-execute the chapters in place, one kernel per core (their outputs are nbval's reference, and the book's while what they read is unchanged: chapters/stored-outputs.json)
	$(BIN)/python -m cart_lib.book.notebooks

nbval: $(STAMP)  ## nbval on the chapters alone, one notebook per core (pytest-xdist, whole files per worker)
	$(BIN)/python -m pytest -n auto --dist loadfile chapters

test: $(STAMP)  ## run every test: library, ledgers, notebooks (nbval), the built book in a browser
	$(BIN)/python -m pytest

lock:  ## recompile requirements.lock from requirements.in (deliberate upgrades only)
	$(PYTHON) -m venv /tmp/cart-lock-env
	/tmp/cart-lock-env/bin/python -m pip install --quiet pip-tools
	/tmp/cart-lock-env/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--output-file requirements.lock requirements.in

clean:  ## remove the built book (keeps the environment)
	rm -rf _build

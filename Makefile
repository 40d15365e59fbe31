# Two commands are all a newcomer needs: `make book` and `make test`.
PYTHON ?= python3
# Notebooks run two at a time; loadfile keeps all cells of a notebook in one worker (one kernel).
PYTEST_ARGS ?= -n 2 --dist loadfile
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lab clean determinism bench site-test

# (Re)create the virtual environment whenever requirements.txt is newer than the last install.
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip check
	touch $(STAMP)

## make book: build the site into _build/html (notebooks are rendered with their committed outputs)
book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html $(BOOKFLAGS)
	@echo "Open _build/html/index.html in a browser."

## make test: optlib's unit tests and strict nbval over every chapter
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make determinism: strict nbval over every chapter three times (1, 2 and 2 threads); any difference fails
determinism: $(STAMP)
	PYTHON=$(BIN)/python bash scripts/determinism.sh

## make site-test: every page of the built site in headless Chromium, offline (screenshots: _build/screenshots)
site-test: book
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest site_tests $(SITE_TEST_ARGS)

## make lab: open the chapters in JupyterLab from the same environment
lab: $(STAMP)
	$(BIN)/jupyter lab book/

## make clean: remove the built site and caches (keeps .venv; `rm -rf .venv` to rebuild it)
clean:
	rm -rf _build .pytest_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +

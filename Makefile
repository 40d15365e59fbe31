# Two commands are all a newcomer needs: `make book` and `make test`.
PYTHON ?= python3
# Notebooks run two at a time; loadfile keeps all cells of a notebook in one worker (one kernel).
PYTEST_ARGS ?= -n 2 --dist loadfile
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The chapters' printed digits come from float arithmetic whose kernels torch, MKL and oneDNN
# choose by processor; capping all three at AVX2 (what the machine that re-executed the committed
# chapters has) keeps the chaotic runs' last digits the same on a processor with AVX-512.
export ATEN_CPU_CAPABILITY ?= avx2
export MKL_ENABLE_INSTRUCTIONS ?= AVX2
export ONEDNN_MAX_CPU_ISA ?= AVX2

.PHONY: book test test-book test-slow scaleout-test lab clean determinism bench site-test chapters archive-check sweep

.PHONY: lock lock-check unlocked

# requirements.txt lists the direct dependencies; requirements.lock (pip-tools) pins every
# package with hashes. Same command as in the lock's header: `make lock` runs it.
LOCK_COMMAND := pip-compile --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --output-file=requirements.lock requirements.txt
# Exactly the lock (no resolver, hashes required), then optlib built by the lock's setuptools.
# $(1) is the python of the virtual environment to install into.
install_lock = $(1) -m pip install --quiet --require-hashes --no-deps -r requirements.lock \
	&& $(1) -m pip install --quiet --no-deps --no-build-isolation -e . \
	&& $(1) -m pip check

# (Re)create the virtual environment whenever the lock or pyproject.toml is newer than the last
# install. check_lock.py first: a package of requirements.txt missing from the lock fails by name.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) scripts/check_lock.py --inputs
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(call install_lock,$(BIN)/python)
	touch $(STAMP)

## make lock: regenerate requirements.lock from requirements.txt (after editing requirements.txt)
# Not after $(STAMP), which refuses a lock that lacks a new input: pip-compile comes from the lock.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/pip-compile || { $(call install_lock,$(BIN)/python); }
	$(BIN)/$(LOCK_COMMAND)
	{ printf '%s\n' \
	  '# The whole environment of the book, for Linux x86-64 and CPython 3.11: every package that' \
	  '# `make` installs, with hashes. Generated from requirements.txt by pip-tools (command below);' \
	  '# do not edit by hand: edit requirements.txt, then run `make lock`.'; \
	  cat requirements.lock; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock
	$(PYTHON) scripts/check_lock.py --inputs

## make lock-check: a fresh venv from the lock, .venv and the lock pin the same versions
lock-check: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	echo "make lock-check: installing requirements.lock into a fresh venv in $$tmp" && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	$(call install_lock,"$$tmp/venv/bin/python") && \
	"$$tmp/venv/bin/python" -m pip freeze --all --exclude-editable > "$$tmp/fresh.txt" && \
	$(BIN)/python -m pip freeze --all --exclude-editable > "$$tmp/venv.txt" && \
	$(PYTHON) scripts/check_lock.py --freeze "$$tmp/fresh.txt" && \
	$(PYTHON) scripts/check_lock.py --freeze "$$tmp/venv.txt" && \
	diff -u "$$tmp/venv.txt" "$$tmp/fresh.txt" && \
	echo "make lock-check: a fresh venv, .venv and requirements.lock agree" \
	  "($$(wc -l < "$$tmp/fresh.txt") packages)"

## make unlocked: off Linux x86-64 / CPython 3.11: requirements.txt without the lock
unlocked:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

## make book: build the site into _build/html (notebooks are rendered with their committed outputs)
book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html $(BOOKFLAGS)
	$(BIN)/python scripts/make_archive.py --out $(ARCHIVE)
	@echo "Open _build/html/index.html in a browser."

## make test: the tests of optlib, optlab and the book's tooling (tests/, not the slow ones)
test: $(STAMP)
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

## make test-book: strict nbval over every chapter (re-executed, every output compared)
test-book: $(STAMP)
	$(BIN)/python -m pytest book $(PYTEST_ARGS)

## make sweep: the committed sweep (optlab/plan.py) into $(SWEEP_STORAGE), then its report
# Resumable: stop it at any point and run it again. On the committed store it finds every trial
# done; `make sweep SWEEP_STORAGE=sqlite:///results/mine.db` reruns it all from scratch.
SWEEP_STORAGE ?= sqlite:///results/optlab.db
SWEEP_JOBS ?= 2
sweep: $(STAMP)
	$(BIN)/python scripts/run_plan.py --jobs $(SWEEP_JOBS) --storage $(SWEEP_STORAGE)
	$(BIN)/python -m optlab report --storage $(SWEEP_STORAGE) --out results/plots \
	    --markdown results/README.md --plan

## make scaleout-test: two sweep workers on a throwaway PostgreSQL server (tests_scaleout/)
# scripts/pg_test_server.sh installs Debian's postgresql when missing and serves on 127.0.0.1.
scaleout-test: $(STAMP)
	$(BIN)/python -m pytest tests_scaleout -q -p no:xdist

## make test-slow: the tests too slow for make test (marked slow), e.g. a chapter run from the archive
test-slow: $(STAMP)
	$(BIN)/python -m pytest tests -m slow $(PYTEST_ARGS)

## make determinism: strict nbval over every chapter three times (1, 2 and 2 threads); any difference fails
determinism: $(STAMP)
	PYTHON=$(BIN)/python bash scripts/determinism.sh

## make site-test: every page of the built site in headless Chromium, offline (screenshots: _build/screenshots)
# The pages link the PDF (the download menu, the home page): it is built first.
site-test: book pdf
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest site_tests $(SITE_TEST_ARGS)

.PHONY: pdf
PDF_NAME  := optimization-for-deep-learning
PDF_TMP   := _build/.latex-tmp
PDFFLAGS  ?= -W -n --keep-going

## make pdf: the whole book as one PDF in _build/pdf (XeLaTeX, checked by check_pdf.py)
# Installs Debian's TeX packages when missing (scripts/ensure_tex.sh). The LaTeX is built
# in $(PDF_TMP), removed in every case; the PDF is moved into _build/pdf (and copied to
# _build/html, where the site links to it) only after scripts/check_pdf.py passed. The
# PDF of an earlier build is removed first, so a failed build leaves none behind.
pdf: $(STAMP)
	bash scripts/ensure_tex.sh
	@set -eu; tmp="$(PDF_TMP)"; tex="$(PDF_TMP)/_build/latex/$(PDF_NAME)"; \
	rm -rf "$$tmp" _build/pdf/$(PDF_NAME).pdf _build/html/$(PDF_NAME).pdf; \
	trap 'rm -rf "$$tmp"' EXIT; mkdir -p "$$tmp"; \
	echo "make pdf: LaTeX sources into $$tmp"; \
	$(BIN)/jupyter-book build . --builder latex --path-output "$$tmp" $(PDFFLAGS) \
	  > "$$tmp/jupyter-book.log" 2>&1 || { cat "$$tmp/jupyter-book.log" >&2; \
	  echo "make pdf: the LaTeX build failed (above)" >&2; exit 1; }; \
	echo "make pdf: running latexmk (XeLaTeX)"; \
	$(MAKE) --no-print-directory -C "$$tmp/_build/latex" all-pdf LATEXMKOPTS=-silent \
	  LATEXOPTS="-interaction=nonstopmode -halt-on-error" >/dev/null 2>&1 \
	  || { tail -n 40 "$$tex.log" >&2 || true; \
	  echo "make pdf: latexmk failed (end of the LaTeX log above)" >&2; exit 1; }; \
	$(BIN)/python scripts/check_pdf.py "$$tex.pdf" --tex "$$tex.tex" --log "$$tex.log"; \
	mkdir -p _build/pdf; \
	mv -f "$$tex.pdf" _build/pdf/$(PDF_NAME).pdf; \
	if [ -d _build/html ]; then \
	  cp _build/pdf/$(PDF_NAME).pdf _build/html/.$(PDF_NAME).pdf.part; \
	  mv -f _build/html/.$(PDF_NAME).pdf.part _build/html/$(PDF_NAME).pdf; \
	fi; \
	pdf=_build/pdf/$(PDF_NAME).pdf; \
	echo "make pdf: $$(pdfinfo "$$pdf" | sed -n 's/^Pages: *//p') pages," \
	  "$$(du -h "$$pdf" | cut -f1): $$pdf"

## make lab: open the chapters in JupyterLab from the same environment
lab: $(STAMP)
	$(BIN)/jupyter lab book/

## make chapters: run every chapter headless (into a temp folder, nothing written back)
chapters: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for nb in book/*/*.ipynb; do \
	  echo "make chapters: running $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --output-dir "$$tmp" \
	    --log-level WARN "$$nb" \
	    || { echo "make chapters: $$nb failed (error above)" >&2; exit 1; }; \
	done && echo "make chapters: every chapter ran without error"

# The take-home archive, written by `make book` (scripts/make_archive.py).
ARCHIVE := _build/html/optimization-for-deep-learning.zip

## make archive-check: unpack the archive in a temp folder and run `make chapters` there
archive-check:
	@test -f $(ARCHIVE) \
	  || { echo "make archive-check: no $(ARCHIVE); run make book" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m zipfile -e $(ARCHIVE) "$$tmp" && \
	$(MAKE) -C "$$tmp/optimization-for-deep-learning" chapters PYTHON="$(PYTHON)" && \
	echo "make archive-check: unpacked, installed from its lock, every chapter ran"

## make clean: remove the built site and caches (keeps .venv; `rm -rf .venv` to rebuild it)
clean:
	rm -rf _build .pytest_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +

# hbeval — the two commands: `make book` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: book pdf tex test bench sweep validate reference venv intake demo clean

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name hbeval --display-name "hbeval (Python 3.11)" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

## make book: set up .venv, TeX Live (see `tex`), build the whole book (demo data unless data/raw/ holds data) and
## the PDF of each phase report (book/_build/pdf/, linked from the phase summaries)
book: $(STAMP) tex
	$(VENV)/bin/hbeval build --jobs $(JOBS)
	$(VENV)/bin/hbeval pdf

## make pdf: the PDF reports again from the built book (after `make book` or `hbeval build`)
pdf: $(STAMP) tex
	$(VENV)/bin/hbeval pdf

## make tex: TeX Live for the PDFs (Debian/Ubuntu packages, hbeval_lib/book/pdf.py APT_PACKAGES): installed with apt-get
## when missing and run as root; otherwise prints the `sudo apt-get install ...` to run (the PDFs are then skipped)
tex: $(STAMP)
	$(VENV)/bin/hbeval pdf --install --tools-only

## make test: the whole test suite — unit tests, nbval regression on tests/reference/*.ipynb (text outputs strict,
## sanitised), and the end-to-end build of the demo book (tests/test_book_e2e.py)
NBVAL := --nbval --nbval-sanitize-with tests/reference/sanitize.cfg --nbval-kernel-name hbeval --nbval-cell-timeout 600
## --dist loadfile: nbval must run a notebook's cells in one worker, and the end-to-end module builds the book once
## (with pytest 9, xdist 3.8's xdist_group marks no longer change node ids, so --dist loadgroup does not group)
test: $(STAMP) tex
	$(PY) -m pytest -n $(JOBS) --dist loadfile $(NBVAL)

## make reference: regenerate the nbval reference executions (every phase of the all-pilots pages + the final phase
## of Kainuu, demo data seed 1); only files whose content changed are rewritten
reference: $(STAMP)
	$(VENV)/bin/hbeval run --update-reference

## make bench: cold build, no-change rebuild, prose-only edit, code edit, one raw file, naive pipeline (one run,
## ratios against the goals of issue 14); writes docs/benchmarks.md
bench: $(STAMP)
	$(PY) -m hbeval_lib.book.bench --jobs $(JOBS)

## make sweep: the full robustness sweep — the whole book built from 8 generated raw sets (seeds, 60–600 clients,
## with and without planted faults, a pilot with one control / without interim data / starting late), each checked: builds, every page = the protected release, the intruder recovers
## nothing (tens of minutes on two cores; `make test` runs a light sweep of two sets, tests/test_sweep.py)
sweep: $(STAMP)
	$(PY) -m hbeval_lib.book.sweep --full --jobs $(JOBS)

## make validate: simulation check of every published interval type (bias, coverage, width, failure rate) at
## pilot-page sizes (10–60 per arm) and all-pilots sizes (150–600); a few minutes on two cores, not a timed test;
## writes the table into docs/validation.md (VALIDATE_REPS replications per row, default 200)
VALIDATE_REPS ?= 200
validate: $(STAMP)
	$(PY) -m hbeval_lib.strands.validate --reps $(VALIDATE_REPS) --write docs/validation.md

intake: $(STAMP)
	$(VENV)/bin/hbeval intake

clean:
	rm -rf book/_build book/_results book/_generated book/.hbeval_staging book/lahtotilanne book/valiarviointi book/loppuraportti data/processed data/demo .hbeval_cache

# hbeval — the two commands: `make book` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: book test bench venv intake demo clean

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name hbeval --display-name "hbeval (Python 3.11)" >/dev/null
	touch $(STAMP)

venv: $(STAMP)

## make book: set up .venv and build the whole book (demo data unless data/raw/ holds data)
book: $(STAMP)
	$(VENV)/bin/hbeval build --jobs $(JOBS)

## make test: the whole test suite
test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup

bench: $(STAMP)
	$(PY) -m hbeval_lib.bench

intake: $(STAMP)
	$(VENV)/bin/hbeval intake

clean:
	rm -rf book/_build book/_results book/lahtotilanne book/valiarviointi book/loppuraportti data/processed data/demo .hbeval_cache

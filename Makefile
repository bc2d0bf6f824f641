# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install i18n bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cityhall demo

test: $(STAMP)
	$(BIN)/python -m pytest

# Re-extract each package's strings into its own catalogue and compile them: every folder
# with a translations/ is one (found, never listed, so a new feature needs no edit here).
# The core catalogue (cityhall/) also holds the bot's strings (bot/, the form engine too).
# `Invalid` and `N_` mark messages translated later, when they are shown.
# PKG=name limits the run to one package (others' catalogues stay untouched).
PKG ?= *
i18n: $(STAMP)
	for dir in $(PKG)/translations; do \
	  pkg=$${dir%/translations}; src=$$pkg; [ $$pkg = cityhall ] && src="cityhall bot"; \
	  $(BIN)/pybabel extract -F babel.cfg -k _l -k t -k translate:2 -k Invalid -k N_ \
	    --sort-output --no-location \
	    -o $$pkg/translations/messages.pot $$src && \
	  $(BIN)/pybabel update -i $$pkg/translations/messages.pot -d $$pkg/translations --no-fuzzy-matching && \
	  $(BIN)/pybabel compile -d $$pkg/translations || exit 1; \
	done

# Each bench prints our figure, its reference from the same run, the ratio and the load
# average on one line, on SQLite and PostgreSQL (CITYHALL_BENCH_POSTGRES_URL names the server).
bench: $(STAMP)
	uptime
	$(BIN)/python bench/webhook.py --database both
	$(BIN)/python bench/outbox.py --database both
	$(BIN)/python bench/aggregate.py --database both
	uptime

clean:
	rm -rf $(VENV) instance .pytest_cache

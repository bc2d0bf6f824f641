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

# Re-extract resident- and staff-facing strings and compile the catalogues.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k t -k translate:2 -o cityhall/translations/messages.pot .
	$(BIN)/pybabel update -i cityhall/translations/messages.pot -d cityhall/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d cityhall/translations

bench: $(STAMP)
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/outbox.py

clean:
	rm -rf $(VENV) instance .pytest_cache

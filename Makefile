# Sealflow: `make run` serves the demo, `make test` runs the whole suite. Both do all the set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT   ?= 5000
# The browser assets are rebuilt when the lock file, the build script or web/src change.
WEB_STAMP := $(VENV)/.web-$(shell cat web/package-lock.json web/build.mjs web/src/* | cksum | cut -d' ' -f1)

.PHONY: install system-packages translations messages audit-key run test lint typecheck bench proof clean

install: system-packages $(STAMP) $(WEB_STAMP) translations

# The message catalogues (app/translations/*/LC_MESSAGES/messages.po) -> .mo, which the app reads.
translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d app/translations -D messages 2>&1 | tail -2

# After changing a page string or a domain message (msg(...)): extract them all again and bring
# both catalogues up to date; then give each new zh_Hans_CN entry its Chinese
# (tests/app/test_languages.py fails until every one has it).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k msg -k _p:1c,2 -k lazy_pgettext:1c,2 \
		--no-location --sort-output -w 100 --project Sealflow -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -D messages \
		--no-fuzzy-matching --ignore-obsolete -w 100

# Debian packages the tests and the seal images need (poppler's pdfsig, qpdf, a CJK font);
# installed only where missing.
system-packages:
	@bash .ci/system-packages.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

# bpmn-js, dmn-js, pdf.js from npm (web/package-lock.json) -> app/static/vendor (not committed).
$(WEB_STAMP): $(STAMP)
	bash .ci/web-assets.sh $(BIN)
	rm -f $(VENV)/.web-* && touch $@

# Secrets for the local demo, made once and kept under ./instance (never committed).
instance/.env:
	@mkdir -p instance
	@printf 'SEALFLOW_SECRET_KEY=%s\nSEALFLOW_KEY_PASSPHRASE=%s\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')" \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')" > $@
	@chmod 600 $@
	@echo "wrote $@ (demo secrets)"

# The audit key (issue 13), added to an instance/.env written before it existed.
audit-key: instance/.env
	@grep -q '^SEALFLOW_AUDIT_KEY=' instance/.env || { \
		printf 'SEALFLOW_AUDIT_KEY=%s\n' \
			"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))')" >> instance/.env \
		&& echo "added SEALFLOW_AUDIT_KEY to instance/.env"; }

run: install instance/.env audit-key
	@set -a && . ./instance/.env && set +a && \
		export SEALFLOW_BASE_URL="$${SEALFLOW_BASE_URL:-http://127.0.0.1:$(PORT)}" && \
		$(BIN)/sealflow init && $(BIN)/sealflow demo && \
		echo "Sealflow: http://127.0.0.1:$(PORT)  (Ctrl-C stops it)" && \
		$(BIN)/sealflow run --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# processes/ and signer/ ([tool.mypy] in pyproject.toml); .mypy_cache keeps a re-run quick.
typecheck: install
	$(BIN)/mypy

# Two processes, each taking whole files (their module fixtures are built once); TEST_JOBS=0
# runs the suite in this process.
TEST_JOBS ?= 2
test: install lint typecheck
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadfile

bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/flows.py
	$(BIN)/python bench/sign.py
	$(BIN)/python bench/sign_loop.py

proof: bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache web/node_modules app/static/vendor test-artifacts

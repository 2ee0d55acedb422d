# The two commands of the quick start: `make demo` and `make test`.
# Both create the virtual environment and fetch the offline map data themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NE     := .cache/natural-earth/world_map.gpkg

.PHONY: demo test lint bench install data clean web chromium

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Natural Earth admin-1 boundaries from Debian's qgis-common (public domain):
# fetched and unpacked, not installed. See scripts/fetch-natural-earth.
data: $(NE)
$(NE):
	scripts/fetch-natural-earth $(dir $(NE))

# The live map's front-end packages (Leaflet, from the npm registry; no CDN at run time).
# npm ci installs exactly web/package-lock.json; node_modules is not committed.
WEB_STAMP := web/node_modules/.installed
web: $(WEB_STAMP)
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium for the map's browser test (Playwright drives it; it never downloads a
# browser of its own). Installed only when missing; the package lists are refreshed if needed.
CHROMIUM := /usr/bin/chromium
chromium: $(CHROMIUM)
$(CHROMIUM):
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get install -y -q chromium || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

demo: $(STAMP) $(NE) $(WEB_STAMP)
	$(BIN)/airshield demo

# One pytest worker per core (pytest-xdist); a test file stays on one worker, so a module's
# night is simulated once.
test: $(STAMP) $(NE) $(WEB_STAMP) $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n auto --dist loadfile

# The benchmarks of BENCHMARKS.md (minutes). The Stone Soup comparison needs its
# benchmark-only dependency: $(BIN)/pip install -r bench/requirements-stonesoup.txt
bench: $(STAMP) $(NE)
	$(BIN)/python bench/bench_simulator.py
	$(BIN)/python bench/bench_tracker.py --ablation
	$(BIN)/python bench/bench_alerts.py

clean:
	rm -rf $(VENV) .cache build *.egg-info web/node_modules

# The two commands of the quick start: `make demo` and `make test`.
# Both create the virtual environment and fetch the offline map data themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NE     := .cache/natural-earth/world_map.gpkg

.PHONY: demo test lint bench install data clean

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

demo: $(STAMP) $(NE)
	$(BIN)/airshield demo

test: $(STAMP) $(NE)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

# The benchmarks of BENCHMARKS.md (minutes). The Stone Soup comparison needs its
# benchmark-only dependency: $(BIN)/pip install -r bench/requirements-stonesoup.txt
bench: $(STAMP) $(NE)
	$(BIN)/python bench/bench_simulator.py
	$(BIN)/python bench/bench_tracker.py --ablation
	$(BIN)/python bench/bench_alerts.py

clean:
	rm -rf $(VENV) .cache build *.egg-info

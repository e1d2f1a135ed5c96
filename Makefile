# EO Lens: see README.md. Stable targets (docs/interfaces.md): setup test run package deploy bench tiny-models lint i18n
SHELL := /bin/bash
PLUGIN := eolens
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# whatever python3 the distribution ships (3.11 on Debian 12, 3.13 on Debian 13)
SITE = $(firstword $(wildcard $(VENV)/lib/python3*/site-packages))
# rasterio and shapely from the distribution: they link the GDAL and GEOS that QGIS loads (README)
APT_PKGS := python3-venv python3-pip qgis python3-qgis python3-gdal qgis-providers python3-rasterio python3-shapely xvfb x11-apps imagemagick qttools5-dev-tools pyqt5-dev-tools
STAMP := $(VENV)/.installed
QGIS_PROFILE := build/qgis-profile
QGIS_PLUGINS := $(QGIS_PROFILE)/profiles/default/python/plugins
USER_PLUGINS := $(HOME)/.local/share/QGIS/QGIS3/profiles/default/python/plugins
RUNTIME := metadata.txt __init__.py plugin inference resources i18n LICENSE CHANGELOG.md requirements.txt constraints.txt
DIR ?= build/tiny-models
LRELEASE ?= lrelease
export HF_HUB_OFFLINE ?= 1

.PHONY: setup test run package deploy bench tiny-models lint i18n clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@if ! /usr/bin/python3 -c "import qgis.core, rasterio, shapely, ensurepip, pip" 2>/dev/null \
	   || ! command -v xvfb-run >/dev/null || ! command -v lrelease >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS); fi
	@test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	@mkdir -p build/pkgroot && { test -e build/pkgroot/$(PLUGIN) || ln -s $(CURDIR) build/pkgroot/$(PLUGIN); }
	PYTHONPATH=build/pkgroot /usr/bin/python3 -m $(PLUGIN).plugin.installer --write-constraints build/constraints.txt
	@# quiet: this machine's pip config lists index folders that may be absent (one warning each)
	$(PIP) install -q -c build/constraints.txt -r requirements-dev.txt 2>&1 | grep -v "^WARNING: Location" ; \
	  test $${PIPESTATUS[0]} -eq 0
	$(PY) tools/check_env.py
	@touch $(STAMP)

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

tiny-models: setup
	$(PY) -m tools.tiny_models $(DIR)

bench: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m bench

lint: setup
	$(VENV)/bin/ruff check inference plugin tests tools bench
	$(VENV)/bin/mypy --config-file mypy.ini
	$(PY) tools/check_boundaries.py

i18n:
	/usr/bin/python3 tools/i18n.py

build/$(PLUGIN).zip: $(shell git ls-files $(RUNTIME) 2>/dev/null)
	@rm -rf build/package && mkdir -p build/package/$(PLUGIN)
	git ls-files $(RUNTIME) | grep -v -E '(^|/)tests?/' | while read f; do \
	  mkdir -p build/package/$(PLUGIN)/$$(dirname $$f); cp $$f build/package/$(PLUGIN)/$$f; done
	@command -v $(LRELEASE) >/dev/null || { echo "lrelease is missing (apt install qttools5-dev-tools): refusing to package without translations" >&2; exit 1; }
	$(LRELEASE) -silent build/package/$(PLUGIN)/i18n/*.ts && rm -f build/package/$(PLUGIN)/i18n/*.ts
	@ls build/package/$(PLUGIN)/i18n/*.qm >/dev/null
	cd build/package && rm -f ../$(PLUGIN).zip && /usr/bin/python3 -m zipfile -c ../$(PLUGIN).zip $(PLUGIN)
	@echo "wrote build/$(PLUGIN).zip"

package: build/$(PLUGIN).zip

deploy: package
	mkdir -p $(USER_PLUGINS) && rm -rf $(USER_PLUGINS)/$(PLUGIN)
	/usr/bin/python3 -m zipfile -e build/$(PLUGIN).zip $(USER_PLUGINS)
	@echo "installed into $(USER_PLUGINS)/$(PLUGIN); enable it in Plugins > Manage"

run: setup
	rm -rf $(QGIS_PROFILE) && mkdir -p $(QGIS_PLUGINS)
	ln -s $(CURDIR) $(QGIS_PLUGINS)/$(PLUGIN)
	$(PY) tools/make_profile.py $(QGIS_PROFILE) $(PLUGIN)
	@if [ -n "$$DISPLAY" ]; then \
	  PYTHONPATH=$(SITE) qgis.bin --noversioncheck --profiles-path $(QGIS_PROFILE) --project build/sample.qgs; \
	else echo "no DISPLAY: running under Xvfb"; \
	  PYTHONPATH=$(SITE) xvfb-run -a -s "-screen 0 1400x900x24" \
	    qgis.bin --noversioncheck --profiles-path $(QGIS_PROFILE) --project build/sample.qgs; fi

clean:
	rm -rf build dist

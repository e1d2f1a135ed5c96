#!/usr/bin/env bash
# Run QGIS's headless qgis_process with EO Lens loaded from this checkout.
#
#   tools/qgis_process.sh list | grep eolens
#   tools/qgis_process.sh run eolens:change -- INPUT=a.tif INPUT_B=b.tif OUTPUT=change.gpkg
#
# Debian's /usr/bin/qgis_process wrapper passes --noversioncheck, which qgis_process 3.22 rejects,
# so this calls qgis_process.bin directly (see docs/qgis-notes.md). Environment it sets up:
#   QT_QPA_PLATFORM=offscreen   no display needed
#   QGIS_PLUGINPATH             a folder holding the plugin as "eolens" (build/pkgroot, a symlink)
#   PYTHONPATH                  the venv's site-packages (torch, transformers, ...)
#   a private profile folder    build/qgis-process-profile, unless EOLENS_QGIS_PROFILE is set,
#                               so enabling the plugin never touches the user's QGIS profile
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${QGIS_PROCESS_BIN:-/usr/bin/qgis_process.bin}"
PKGROOT="$REPO/build/pkgroot"
PROFILE="${EOLENS_QGIS_PROFILE:-$REPO/build/qgis-process-profile}"
SITE="$(ls -d "$REPO"/.venv/lib/python3*/site-packages 2>/dev/null | head -1)"

if [[ ! -x "$BIN" ]]; then
  echo "qgis_process not found at $BIN (apt-get install qgis, or set QGIS_PROCESS_BIN)" >&2
  exit 127
fi

mkdir -p "$PKGROOT" "$PROFILE"
if [[ ! -e "$PKGROOT/eolens" ]]; then
  ln -s "$REPO" "$PKGROOT/eolens"
fi

export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export QGIS_PLUGINPATH="$PKGROOT${QGIS_PLUGINPATH:+:$QGIS_PLUGINPATH}"
if [[ -d "$SITE" ]]; then
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
# qgis_process keeps its settings (enabled plugins) under $HOME; keep them in the private profile
# (a QGIS test harness's QGIS_CUSTOM_CONFIG_PATH would otherwise be shared by every run).
unset QGIS_CUSTOM_CONFIG_PATH
export HOME="$PROFILE"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$PROFILE/runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# Enable once per profile; quiet, because "plugins enable" prints the whole plugin list.
STAMP="$PROFILE/.eolens-enabled"
if [[ ! -f "$STAMP" ]]; then
  if ! "$BIN" plugins enable eolens >"$PROFILE/enable.log" 2>&1 \
     && ! grep -q "already enabled" "$PROFILE/enable.log"; then
    cat "$PROFILE/enable.log" >&2
    echo "could not enable the eolens plugin for qgis_process" >&2
    exit 1
  fi
  touch "$STAMP"
fi

exec "$BIN" "$@"

#!/usr/bin/env bash
# Build the PyInstaller one-folder app, then smoke-test the frozen command line headless:
# `clickatell-tray --version`, and `clickatell-tray --demo` offscreen until its tray icon is
# shown, then SIGTERM, which must end it with exit 0 and no traceback.
#
# Not part of CI: .ci/run does not call it and the test suite does not either (a build takes
# about half a minute and writes some 150 MB). Run it by hand before a release:
#
#     PYTHON=/path/to/venv/bin/python packaging/build_and_smoke.sh
#
# PYTHON is an interpreter with the project's dependencies and PyInstaller (default: python3).
# DIST and WORK choose PyInstaller's --distpath and --workpath (default: /tmp/pyi-dist and
# /tmp/pyi-build, so the checkout stays clean). The smoke run gets a throw-away HOME, XDG
# folders and TMPDIR, and no DISPLAY, Wayland or D-Bus session: it never touches the user's
# settings, keyring, log or a running instance.
set -euo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
DIST=${DIST:-/tmp/pyi-dist}
WORK=${WORK:-/tmp/pyi-build}
SHOWN_TIMEOUT=30

seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

started=$(date +%s.%N)
"$PYTHON" -m PyInstaller packaging/clickatell-tray.spec --noconfirm \
    --distpath "$DIST" --workpath "$WORK"
finished=$(date +%s.%N)
echo "build: $(seconds_between "$started" "$finished") s," \
    "$(du -sh "$DIST/clickatell-tray" | cut -f1)"

exe="$DIST/clickatell-tray/clickatell-tray"
for program in "$exe" "$DIST/clickatell-tray/clickatell-tray-gui"; do
    [[ -x $program ]] || { echo "missing: $program" >&2; exit 1; }
done

sandbox=$(mktemp -d)
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf -- "$sandbox"
}
trap cleanup EXIT
mkdir -p "$sandbox"/{home,run,tmp}
chmod 700 "$sandbox/run"

isolated=(
    env -u DISPLAY -u WAYLAND_DISPLAY -u XAUTHORITY -u DBUS_SESSION_BUS_ADDRESS
    -u PYTHONPATH -u PYTHONHOME -u VIRTUAL_ENV -u QT_QPA_PLATFORMTHEME
    HOME="$sandbox/home"
    XDG_CONFIG_HOME="$sandbox/home/.config"
    XDG_DATA_HOME="$sandbox/home/.local/share"
    XDG_CACHE_HOME="$sandbox/home/.cache"
    XDG_STATE_HOME="$sandbox/home/.local/state"
    XDG_RUNTIME_DIR="$sandbox/run"
    TMPDIR="$sandbox/tmp"
    QT_QPA_PLATFORM=offscreen
    CLICKATELL_TRAY_REPORT_SHOWN=1
)

version=$("${isolated[@]}" "$exe" --version)
echo "version: $version"

started=$(date +%s.%N)
"${isolated[@]}" "$exe" --demo >"$sandbox/out" 2>"$sandbox/err" </dev/null &
pid=$!
deadline=$((SECONDS + SHOWN_TIMEOUT))
until grep -q '^tray-shown ' "$sandbox/out"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
        echo "smoke run: no tray-shown line within ${SHOWN_TIMEOUT} s" >&2
        cat "$sandbox/out" "$sandbox/err" >&2
        exit 1
    fi
    sleep 0.1
done
shown=$(date +%s.%N)
grep '^demo: simulator at http://127\.0\.0\.1:' "$sandbox/out"
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
if ((code != 0)) || grep -q Traceback "$sandbox/err"; then
    echo "smoke run: exit $code" >&2
    cat "$sandbox/err" >&2
    exit 1
fi
echo "smoke run ok: tray shown $(seconds_between "$started" "$shown") s after start," \
    "exit 0 on SIGTERM"

#!/bin/sh
# Renders an HTML page (e.g. from tools/trace2html.py) to a PNG with headless
# Chromium, no network, throwaway profile.
#
#   tools/screenshot.sh page.html out.png [WIDTHxHEIGHT]   (default 1600x900)
#
# CHROMIUM=/path/to/chromium overrides the browser (default /usr/bin/chromium).
# Exit status: 0 with a non-empty PNG written; 2 if Chromium is not installed
# (a message says so); 1 on any other failure.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 page.html out.png [WIDTHxHEIGHT]" >&2
    exit 1
fi
html=$1
out=$2
size=${3:-1600x900}
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
    echo "screenshot: chromium not found at $chromium" >&2
    exit 2
fi
if [ ! -f "$html" ]; then
    echo "screenshot: no such file: $html" >&2
    exit 1
fi

abs_html=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
case $out in
    /*) abs_out=$out ;;
    *) abs_out=$(pwd)/$out ;;
esac
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM
rm -f "$abs_out"

# timeout: a wedged browser must not hang the caller (tests use this).
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$abs_out" --window-size="$(echo "$size" | tr x ,)" \
    "file://$abs_html" >"$profile/chromium.log" 2>&1 || {
    echo "screenshot: chromium failed:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
}
if [ ! -s "$abs_out" ]; then
    echo "screenshot: chromium wrote no image:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
fi
echo "screenshot: wrote $abs_out"

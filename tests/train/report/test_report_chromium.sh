#!/usr/bin/env bash
# test_report_chromium.sh TEST_REPORT_EXE: renders a study report (the fabricated one that test_report writes)
# in headless Chromium with networking off, then checks that the parsed DOM holds every section and chart
# and that the screenshot is not blank. Exits 77 (skipped) when Chromium is not installed.
set -u
exe=$1
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "chromium not installed: skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$exe" --write "$tmp/report.html" || { echo "writing the report failed"; exit 1; }

run_browser() {
  # A fresh profile each time; no network, sync, extensions or updates, so nothing leaves this machine.
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-extensions --user-data-dir="$tmp/profile-$1" \
    --proxy-server=127.0.0.1:9 --window-size=1200,3000 "${@:2}" "file://$tmp/report.html"
}

run_browser dom --dump-dom > "$tmp/dom.html" 2> "$tmp/dom.log" || { cat "$tmp/dom.log"; echo "dump-dom failed"; exit 1; }
fail=0
for id in 'section id="about"' 'section id="results"' 'section id="roc"' 'section id="curves"' \
          'section id="confusion"' 'section id="embedding"' 'section id="gradcam"' 'table id="metrics"' \
          'svg id="roc"' 'svg id="curve-auc"' 'svg id="curve-loss"' 'svg id="cm-image"' 'svg id="cm-late"' \
          'svg id="cm-a-b-c"' 'svg id="pca-image"' 'svg id="pca-a-b-c"' 'div id="gradcam-image"'; do
  if ! grep -q "<$id" "$tmp/dom.html"; then
    echo "missing from the rendered DOM: <$id"
    fail=1
  fi
done
# The SVG was parsed as SVG (its elements survive in the DOM) and the overlays as images.
[ "$(grep -o '<polyline' "$tmp/dom.html" | wc -l)" -ge 4 ] || { echo "ROC polylines missing from the DOM"; fail=1; }
[ "$(grep -o '<img ' "$tmp/dom.html" | wc -l)" -eq 2 ] || { echo "expected 2 overlay images in the DOM"; fail=1; }

run_browser shot --screenshot="$tmp/shot.png" > "$tmp/shot.log" 2>&1 || { cat "$tmp/shot.log"; echo "screenshot failed"; exit 1; }
[ -s "$tmp/shot.png" ] || { echo "no screenshot written"; exit 1; }
"$exe" --check-screenshot "$tmp/shot.png" || { echo "the screenshot looks blank"; fail=1; }
[ $fail -eq 0 ] && echo "chromium rendered the report with every section and chart"
exit $fail

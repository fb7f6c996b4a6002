#!/usr/bin/env bash
# test_report_chromium.sh TEST_REPORT_EXE DERMFUSE_EXE: renders in headless Chromium (networking off) the
# study report that test_report fabricates (with a verdict), the report of a tiny real run (dermfuse synth,
# a 2-epoch training, dermfuse report) and the committed studies of docs/study-synthetic-isic and
# docs/study-subgroup-synthetic-isic, and checks in the parsed DOM that every section and chart is there
# and, through a small script run on load in a wrapper page, that no legend text reaches past its SVG's
# viewBox (getBBox against the viewBox); then that the screenshots are not blank. Screenshots are kept in
# $DF_REPORT_SHOTS when it is set. Exits 77 (skipped) when Chromium is not installed.
set -u
exe=$(realpath "$1")
dermfuse=$(realpath "$2")
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "chromium not installed: skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$exe" --write "$tmp/study.html" || { echo "writing the study report failed"; exit 1; }

# A tiny run: 120 synthetic images of 32 px, 2 epochs.
(cd "$tmp" && "$dermfuse" synth --out data --n 120 --size 32 > synth.log 2>&1) || { cat "$tmp/synth.log"; exit 1; }
root=$(cd "$(dirname "$0")/../../.." && pwd)
cat > "$tmp/run.yaml" <<YAML
base: $root/configs/common/isic-metadata.yaml
run:
  name: tiny
  out_dir: $tmp/runs
  seed: 5
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  image_size: 32
  workers: 2
model:
  fusion: intermediate
  widths: [8, 16]
  depth: [1, 1]
  meta_hidden: [16]
train:
  epochs: 2
  batch_size: 16
  lr: 0.003
YAML
run=$tmp/runs/tiny
(cd "$tmp" && "$dermfuse" train run.yaml --quiet > train.log 2>&1) || { cat "$tmp/train.log"; exit 1; }
"$dermfuse" report "$run" --out "$tmp/run.html" > /dev/null || { echo "dermfuse report failed"; exit 1; }
# The live view: the same run as if still training (no test predictions yet).
mkdir -p "$tmp/live"
cp "$run/metrics.jsonl" "$run/config.yaml" "$tmp/live/"
"$dermfuse" report "$tmp/live" --out "$tmp/live.html" > /dev/null || { echo "dermfuse report (live) failed"; exit 1; }

run_browser() { # NAME FILE ARGS...: a fresh profile each time; no network, sync, extensions or updates
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-extensions --user-data-dir="$tmp/profile-$1" \
    --proxy-server=127.0.0.1:9 --window-size=1200,3000 --virtual-time-budget=5000 "${@:3}" "file://$2"
}

# The legend check: the report in an iframe of a page whose script measures every legend text on load and
# writes the verdict into the DOM.
check_page() { # REPORT.html -> REPORT.check.html
  cat > "$1.check.html" <<HTML
<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="f" src="$(basename "$1")" style="width:1160px;height:3000px"></iframe>
<script>
document.getElementById('f').onload = function () {
  var doc = this.contentDocument, bad = [], n = 0;
  doc.querySelectorAll('svg').forEach(function (svg) {
    var vb = svg.viewBox.baseVal;
    svg.querySelectorAll('.legend text').forEach(function (t) {
      var b = t.getBBox(); n++;
      if (b.x < vb.x || b.x + b.width > vb.x + vb.width || b.y + b.height > vb.y + vb.height)
        bad.push(svg.id + ': ' + t.textContent + ' ends at ' + Math.round(b.x + b.width) + ' of ' + vb.width);
    });
  });
  document.getElementById('result').textContent = (bad.length ? 'CLIPPED ' + bad.join('; ') : 'LEGENDS OK') +
    ' (' + n + ' legend texts, ' + doc.querySelectorAll('svg').length + ' svg)';
};
</script></body></html>
HTML
}

fail=0
expect() { # FILE.html 'tag id="..."'...: each must be in Chromium's DOM of FILE
  local f=$1; shift
  run_browser "dom-$(basename "$f")" "$f" --dump-dom > "$f.dom" 2> "$f.log" || { cat "$f.log"; echo "dump-dom failed"; exit 1; }
  for id in "$@"; do
    grep -q "<$id" "$f.dom" || { echo "$(basename "$f"): missing from the rendered DOM: <$id"; fail=1; }
  done
}
svg_count() { # FILE.html N
  local n; n=$(grep -o '<svg ' "$1.dom" | wc -l)
  [ "$n" -eq "$2" ] || { echo "$(basename "$1"): $n svg elements in the DOM, expected $2"; fail=1; }
}
legends() { # FILE.html
  check_page "$1"
  run_browser "check-$(basename "$1")" "$1.check.html" --allow-file-access-from-files --dump-dom > "$1.check.dom" 2>/dev/null
  local line; line=$(grep -o '<pre id="result">[^<]*' "$1.check.dom" | sed 's/<pre id="result">//')
  echo "$(basename "$1"): ${line:-no result}"
  case "$line" in "LEGENDS OK"*) ;; *) fail=1 ;; esac
}
shot() { # FILE.html
  run_browser "shot-$(basename "$1")" "$1" --screenshot="$1.png" > "$1.shot.log" 2>&1 || { cat "$1.shot.log"; echo "screenshot failed"; exit 1; }
  [ -s "$1.png" ] || { echo "no screenshot of $1"; exit 1; }
  "$exe" --check-screenshot "$1.png" || { echo "the screenshot of $(basename "$1") looks blank"; fail=1; }
  if [ -n "${DF_REPORT_SHOTS:-}" ]; then mkdir -p "$DF_REPORT_SHOTS" && cp "$1.png" "$DF_REPORT_SHOTS/"; fi
}

expect "$tmp/study.html" 'section id="verdict"' 'table id="verdict-best"' 'table id="verdict-tests"' \
  'section id="about"' 'section id="results"' 'section id="roc"' 'section id="curves"' 'section id="confusion"' \
  'section id="embedding"' 'section id="gradcam"' 'table id="metrics"' 'svg id="roc"' 'svg id="curve-auc"' \
  'svg id="curve-loss"' 'svg id="curve-valid-loss"' 'svg id="cm-image"' 'svg id="cm-late"' \
  'svg id="cm-a-b-c-intermediate-transfer"' 'svg id="pca-image"' 'svg id="pca-a-b-c-intermediate-transfer"' \
  'div id="gradcam-image"' 'svg id="cam-scale"'
svg_count "$tmp/study.html" 10
[ "$(grep -o '<polyline' "$tmp/study.html.dom" | wc -l)" -ge 4 ] || { echo "ROC polylines missing from the DOM"; fail=1; }
[ "$(grep -o '<img ' "$tmp/study.html.dom" | wc -l)" -eq 4 ] || { echo "expected 2 overlays and 2 plain images"; fail=1; }
expect "$tmp/run.html" 'section id="curves"' 'section id="roc"' 'section id="confusion"' 'section id="calibration"' \
  'section id="config"' 'svg id="curve-auc"' 'svg id="curve-loss"' 'svg id="curve-valid-loss"' 'svg id="roc"' \
  'svg id="cm-tiny"' 'svg id="calibration-tiny"'
svg_count "$tmp/run.html" 6
expect "$tmp/live.html" 'section id="curves"' 'svg id="curve-auc"' 'meta http-equiv="refresh" content="30"'
svg_count "$tmp/live.html" 3
grep -q 'run in progress (epoch 2)' "$tmp/live.html.dom" || { echo "live view: no 'run in progress' note"; fail=1; }
# The committed study with the calibration, subgroup and missing-metadata analyses, as it was written.
cp "$root/docs/study-subgroup-synthetic-isic/report.html" "$tmp/committed.html"
expect "$tmp/committed.html" 'section id="verdict"' 'section id="calibration"' 'section id="subgroups"' \
  'table id="calibration"' 'table id="subgroups"' 'table id="subgroup-gaps"' 'table id="missing-meta"' \
  'svg id="reliability-image"' 'svg id="reliability-film"' 'svg id="reliability-cross-attention"' \
  'svg id="reliability-late"'
# The committed 128-px study over every row: every model's reliability diagram, confusion matrix and embedding,
# Grad-CAM overlays of the image-reading models.
cp "$root/docs/study-synthetic-isic/report.html" "$tmp/isic.html"
ids=('section id="verdict"' 'section id="calibration"' 'section id="subgroups"' 'section id="gradcam"'
  'table id="calibration"' 'table id="subgroups"' 'table id="subgroup-gaps"' 'table id="missing-meta"')
for m in image meta early intermediate gated film cross-attention late image-transfer intermediate-transfer; do
  ids+=("svg id=\"reliability-$m\"" "svg id=\"cm-$m\"" "svg id=\"pca-$m\"")
  [ $m = meta ] || ids+=("div id=\"gradcam-$m\"")
done
expect "$tmp/isic.html" "${ids[@]}"
for f in study run live committed isic; do legends "$tmp/$f.html"; shot "$tmp/$f.html"; done
[ $fail -eq 0 ] && echo "chromium rendered the study, run and both committed study reports with every section and chart, no legend clipped"
exit $fail

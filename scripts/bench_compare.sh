#!/bin/sh
# bench_compare.sh: dermfuse's layer and training-step benchmarks against PyTorch on this machine, as ratios
# taken round by round so that a VM whose speed drifts over minutes cannot decide the result.
#
# Each round runs, for each figure group in turn, PyTorch at its best (scripts/bench_pytorch.py: 2 threads,
# channels-last, malloc tuned to keep big blocks instead of returning them to the kernel and faulting them in
# again) and dermfuse (bench_layers / bench_step with --no-ref, so nothing but dermfuse runs in its process)
# back to back, each in a fresh process, alternating which goes first from group to group and round to
# round. Each pair gives that round's ratio per figure, dermfuse / PyTorch (> 1: dermfuse is faster); the
# summary gives per figure the median of the per-round ratios, their min-max and the number of rounds, beside
# the median figures themselves. PyTorch out of the box (its own thread count, NCHW, glibc malloc as it comes)
# is measured in the first round and then every --oob-every rounds, and compared with dermfuse's figure of
# the same round (--oob-every 0: never).
#
# Step groups also report each process's peak RSS (VmHWM; one model per process, so no model masks another):
# rss_step_<model>, ratio PyTorch / dermfuse (> 1: dermfuse uses less). PyTorch's includes `import torch`
# (~240 MB here). The parameter counts of both sides are printed and must agree (the script fails if not).
#
# Usage: scripts/bench_compare.sh [build-dir] [--rounds N] [--oob-every K] [--quick] [--warmup N] [--steps N]
#                                 [group...]
# groups: conv3x3 batchnorm step_image step_intermediate step_resnet18 step_image_224
#         step_intermediate_224 step_resnet18_224   (default: the first five)
# --quick: fewer timed calls per layer figure; --warmup/--steps: training steps of both sides (by default
# bench_step's: 2 and 9 at 128 px, 1 and 3 at 224 px). Exit status 77 (skipped) when torch cannot be imported.
set -eu
build=build
rounds=3
oob_every=3
reps=2 # bench_layers rounds per process (3 timed calls each); PyTorch gets as many timed calls
steps_args=
groups=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) reps=1 ;;
    --rounds) rounds=$2; shift ;;
    --oob-every) oob_every=$2; shift ;;
    --warmup | --steps) steps_args="$steps_args $1 $2"; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    conv3x3 | batchnorm | step_image | step_intermediate | step_resnet18 | step_image_224 | \
        step_intermediate_224 | step_resnet18_224) groups="$groups $1" ;;
    *) build=$1 ;;
    esac
    shift
done
groups=${groups:-conv3x3 batchnorm step_image step_intermediate step_resnet18}
py=${PYTHON:-/usr/bin/python3} # PYTHON: another interpreter with torch
tune='glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184'
for exe in bench_layers bench_step; do
    [ -x "$build/tests/bench/$exe" ] || { echo "no $build/tests/bench/$exe: meson compile -C $build $exe" >&2; exit 1; }
done
$py -c 'import torch' 2>/dev/null || { echo "$py cannot import torch (apt-get install python3-torch): skipped" >&2; exit 77; }
here=$(dirname "$0")
threads=${OMP_NUM_THREADS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# PyTorch for group $2, "best" or "oob" ($1); its TORCH lines go to $tmp/<kind> as "<round> <name> <value>".
torch_run() {
    case $2 in
    step_*) args="$steps_args" ;;
    *) args="--reps $((reps * 3))" ;;
    esac
    if [ "$1" = best ]; then
        GLIBC_TUNABLES=$tune $py "$here/bench_pytorch.py" --threads "$threads" --channels-last $args "$2"
    else
        env -u GLIBC_TUNABLES $py "$here/bench_pytorch.py" $args "$2"
    fi >"$tmp/out"
    sed "s/^/[$1] /" "$tmp/out"
    awk -v r="$round" '$1 == "TORCH" { print r, $2, $3 }' "$tmp/out" >>"$tmp/$1"
    grep -o '^# step_[a-z0-9_]*: .* [0-9]* parameters' "$tmp/out" | sed "s/^/torch /" >>"$tmp/params" || true
}

# dermfuse for group $1; its BENCH lines go to $tmp/ours as "<round> <name> <value>".
ours_run() {
    case $1 in
    step_*) OMP_NUM_THREADS=$threads "$build/tests/bench/bench_step" --no-ref $steps_args "${1#step_}" ;;
    *) OMP_NUM_THREADS=$threads "$build/tests/bench/bench_layers" --no-ref --rounds "$reps" "$1" ;;
    esac >"$tmp/out"
    sed "s/^/[dermfuse] /" "$tmp/out"
    awk -v r="$round" '$1 == "BENCH" { split($3, o, "="); split($4, u, "="); print r, $2, o[2], u[2] }' "$tmp/out" >>"$tmp/ours"
    grep -o '^# step_[a-z0-9_]*: .* [0-9]* parameters' "$tmp/out" | sed "s/^/dermfuse /" >>"$tmp/params" || true
}

: >"$tmp/best"; : >"$tmp/oob"; : >"$tmp/ours"; : >"$tmp/params"
round=1
flip=0
while [ "$round" -le "$rounds" ]; do
    echo "## round $round of $rounds"
    for g in $groups; do
        if [ $flip -eq 0 ]; then torch_run best "$g"; ours_run "$g"; else ours_run "$g"; torch_run best "$g"; fi
        flip=$((1 - flip))
        if [ "$oob_every" -gt 0 ] && [ $(((round - 1) % oob_every)) -eq 0 ]; then torch_run oob "$g"; fi
    done
    # An even number of groups would give each group the same order every round.
    set -- $groups
    [ $(($# % 2)) -eq 1 ] || flip=$((1 - flip))
    round=$((round + 1))
done

echo "## parameters (dermfuse / PyTorch)"
awk '{ side = $1; name = $3; sub(":", "", name); n[name, side] = $(NF - 1); names[name] = 1 }
     END { bad = 0
           for (m in names) {
               printf "%-28s %12s %12s%s\n", m, n[m, "dermfuse"], n[m, "torch"], n[m, "dermfuse"] == n[m, "torch"] ? "" : "  DIFFERENT"
               if (n[m, "dermfuse"] != n[m, "torch"]) bad = 1
           }
           exit bad }' "$tmp/params" || { echo "the two sides build different models" >&2; exit 1; }

cpu=$(awk -F': ' '/^model name/ { n = $2 } /^cpu family/ { f = $2 } /^model\t/ { m = $2 } END { printf "%s family %s model %s", n, f, m }' /proc/cpuinfo)
echo "## summary on $cpu ($(getconf _NPROCESSORS_ONLN) CPUs), $threads threads, $rounds rounds:"
echo "## median of per-round ratios dermfuse / PyTorch (> 1: dermfuse is faster; rss_*: PyTorch / dermfuse, > 1: dermfuse uses less)"
awk 'function sort(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } }
     function median(a, n) { sort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
     FILENAME ~ /ours$/ { ours[$1, $2] = $3; unit[$2] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++n_names] = $2 } }
     FILENAME ~ /best$/ { best[$1, $2] = $3 }
     FILENAME ~ /oob$/ { oob[$1, $2] = $3 }
     END {
         for (k = 1; k <= n_names; k++) {
             name = order[k]; rss = name ~ /^rss_/
             nr = no = 0; delete r; delete o; delete vo; delete vb
             for (key in ours) {
                 split(key, p, SUBSEP); if (p[2] != name) continue
                 if ((p[1], name) in best) {
                     nr++; vo[nr] = ours[key]; vb[nr] = best[p[1], name]
                     r[nr] = rss ? vb[nr] / vo[nr] : vo[nr] / vb[nr]
                 }
                 if ((p[1], name) in oob) { no++; o[no] = rss ? oob[p[1], name] / ours[key] : ours[key] / oob[p[1], name] }
             }
             if (!nr) continue
             mr = median(r, nr); lo = r[1]; hi = r[nr]
             line = sprintf("%-28s x%.2f (%.2f-%.2f, %d rounds)  dermfuse %.2f  PyTorch best %.2f %s", name, mr, lo, hi, nr,
                            median(vo, nr), median(vb, nr), unit[name])
             if (no) { mo = median(o, no); line = line sprintf("  | vs out of the box x%.2f (%.2f-%.2f, %d)", mo, o[1], o[no], no) }
             print line
         }
     }' "$tmp/ours" "$tmp/best" "$tmp/oob"

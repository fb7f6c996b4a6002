#!/bin/sh
# bench_train.sh: end-to-end training speed, image files to trained model, dermfuse against PyTorch.
#
# Draws a synthetic set of image files with `dermfuse synth` (JPEG and PNG, at twice the input size so that
# loading resizes; --n training images plus 64 for the test split a run needs), then for each format trains
# the same model on the same files:
#   dermfuse, cache cold   `dermfuse train` with data.cache true and the cache folder removed first, so its
#                          first epoch decodes every file (and fills the cache);
#   PyTorch                scripts/train_pytorch.py: a DataLoader with data.workers worker processes reading
#                          the files with PIL, the twin model (scripts/torch_models.py), channels-last, malloc
#                          tuned, 2 compute threads;
#   dermfuse, cache warm   the same run again, reading the decoded images from the cache.
# Both sides: the VGG-style image model (--model resnet18 for ResNet-18) at --size pixels, batch 32, SGD lr
# 0.01 momentum 0.9, no augmentation, inputs x/255, 2 threads and 2 loader workers, batch-norm running
# statistics by momentum as PyTorch keeps them (train.precise_bn 0: recomputing them is work the twin does not
# do). (The OS file cache is warm for all but the first run of a format: this measures decoding and the
# training step, not the disk.)
#
# Prints each run's wall time per epoch (dermfuse's from its metrics.csv, PyTorch's from its EPOCH lines),
# the ratio PyTorch time / dermfuse time per epoch (> 1: dermfuse is faster), and both parameter counts,
# which must agree (the script fails if not). One round: on a shared machine run it more than once.
#
# Usage: scripts/bench_train.sh [build-dir] [--n 2000] [--size 64] [--epochs 2] [--model vgg|resnet18]
#                               [--formats "jpg png"] [--dir DIR (kept; default a temporary folder)]
# Exit status 77 (skipped) when torch cannot be imported.
set -eu
build=build
n=2000
size=64
epochs=2
model=vgg
formats="jpg png"
dir=
while [ $# -gt 0 ]; do
    case $1 in
    --n) n=$2; shift ;;
    --size) size=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --model) model=$2; shift ;;
    --formats) formats=$2; shift ;;
    --dir) dir=$2; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
    esac
    shift
done
py=${PYTHON:-/usr/bin/python3} # PYTHON: another interpreter with torch
tune='glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184'
df=$(cd "$build" && pwd)/dermfuse
[ -x "$df" ] || { echo "no $df: meson compile -C $build" >&2; exit 1; }
$py -c 'import torch, PIL' 2>/dev/null || { echo "$py cannot import torch and PIL: skipped" >&2; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$dir" ]; then
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $model in
vgg) backbone="backbone: vgg" ;;
resnet18) backbone="backbone: resnet
  widths: [64, 128, 256, 512]
  depth: [2, 2, 2, 2]
  stem_width: 64
  stem_stride: 2" ;;
*) echo "--model vgg or resnet18" >&2; exit 2 ;;
esac

# "<format> <run> <epoch> <seconds>" for the summary.
: >"$dir/times"
for fmt in $formats; do
    data=$dir/data-$fmt
    if [ ! -f "$data/test.csv" ]; then
        "$df" synth --out "$data" --n $((n + 64)) --size $((2 * size)) --seed 1 --format "$fmt"
        # The first n rows train, the last 64 are the test split a run needs.
        head -n $((n + 1)) "$data/metadata.csv" >"$data/train.csv"
        { head -n 1 "$data/metadata.csv"; tail -n +$((n + 2)) "$data/metadata.csv"; } >"$data/test.csv"
    fi
    cat >"$dir/$fmt.yaml" <<EOF
run:
  name: e2e
  out_dir: $dir/runs-$fmt
  threads: 2
data:
  layout: csv
  split: published
  train_csv: $data/train.csv
  test_csv: $data/test.csv
  image_dir: $data/images
  image_column: image
  label_column: class
  group_by: ''
  image_size: $size
  normalize: none
  cache: true
  workers: 2
model:
  fusion: image
  $backbone
train:
  epochs: $epochs
  batch_size: 32
  optimizer: sgd
  lr: 0.01
  momentum: 0.9
  precise_bn: 0
  test_checkpoint: last
EOF
    for run in cold torch warm; do
        echo "## $fmt: $run"
        if [ $run = torch ]; then
            GLIBC_TUNABLES=$tune $py "$here/train_pytorch.py" --csv "$data/train.csv" --images "$data/images" \
                --model "$model" --size "$size" --epochs "$epochs" --workers 2 --threads 2 --channels-last \
                | tee "$dir/out"
            awk -v f="$fmt" '$1 == "EPOCH" { print f, "torch", $2, $3 }' "$dir/out" >>"$dir/times"
            grep -o '[0-9]* parameters' "$dir/out" | sed "s/^/$fmt torch /" >>"$dir/params"
            continue
        fi
        [ $run = cold ] && rm -rf "$dir/runs-$fmt"
        "$df" train "$dir/$fmt.yaml" --set "run.name=e2e-$run" >"$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
        grep -E '^epoch [0-9]+/[0-9]+:|^total:|^test' "$dir/out"
        # metrics.csv: epoch first, wall seconds of the epoch last.
        awk -F, -v f="$fmt" -v r="$run" 'NR > 1 { print f, r, $1, $NF }' "$dir/runs-$fmt/e2e-$run/metrics.csv" >>"$dir/times"
        grep -o '^total: [0-9]* parameters' "$dir/out" | sed "s/^total: /$fmt dermfuse /" >>"$dir/params"
    done
done

echo "## parameters"
sort -u "$dir/params"
awk '{ p[$1 " " $2] = $3; f[$1] = 1 } END { for (x in f) if (p[x " dermfuse"] != p[x " torch"]) exit 1 }' "$dir/params" ||
    { echo "the two sides train different models" >&2; exit 1; }
cpu=$(awk -F': ' '/^model name/ { n = $2 } /^cpu family/ { f = $2 } /^model\t/ { m = $2 } END { printf "%s family %s model %s", n, f, m }' /proc/cpuinfo)
echo "## wall seconds per epoch on $cpu ($(getconf _NPROCESSORS_ONLN) CPUs); $model at ${size}px, $n training images, batch 32;"
echo "## ratio = PyTorch / dermfuse (> 1: dermfuse is faster)"
awk '{ t[$1, $2, $3] = $4; if (!(($1, $3) in seen)) { seen[$1, $3] = 1; key[++k] = $1 SUBSEP $3 } }
     END {
         for (i = 1; i <= k; i++) {
             split(key[i], a, SUBSEP); f = a[1]; e = a[2]
             c = t[f, "cold", e]; w = t[f, "warm", e]; p = t[f, "torch", e]
             printf "%-4s epoch %s  dermfuse cold %7.1f s  warm %7.1f s  PyTorch %7.1f s  ratio cold x%.2f  warm x%.2f\n",
                    f, e, c, w, p, p / c, p / w
         }
     }' "$dir/times"

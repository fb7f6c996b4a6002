"""bench_meta_dropout.py DERMFUSE [SEEDS] [P]: what train.meta_dropout does for a fusion model whose metadata
are missing at test time, on the set of bench_precise_bn.py (`dermfuse synth`, 28x28 gray, 70% training, 30%
test) trained by configs/recipes/small-cnn-fusion-28.yaml (intermediate fusion, 8 epochs).

Two studies over the same seeds: the image model and the fusion model as the recipe trains them, and the fusion
model with train.meta_dropout P (default 0.3). Each study's missing_meta.csv gives the fusion model's test AUC
and balanced accuracy with complete metadata and with all of it withheld (encoded as missing); printed beside
the image model's, per seed and as means, with a BENCH line (the fusion model's AUC without metadata, with
dropout against without). Run with `meson test -C build --benchmark meta_dropout`."""
import csv
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_precise_bn import N, RECIPE  # noqa: E402
from recipe_bench import gray28, run  # noqa: E402

DERMFUSE = os.path.abspath(sys.argv[1])
SEEDS = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2, 3]
P = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3


def study(tmp, root, name, models, extra):
    sets = [f"data.train_csv={root}/train.csv", f"data.test_csv={root}/test.csv", f"data.image_dir={root}/images"]
    sets += extra
    text = (f"study:\n  name: {name}\n  out_dir: runs\n  config: {RECIPE}\n  models: [{', '.join(models)}]\n"
            f"  seeds: [{', '.join(map(str, SEEDS))}]\n  baseline: {models[0]}\n  bootstrap: 100\n"
            f"  gradcam_samples: 0\n  sets: [{', '.join(sets)}]\n")
    with open(os.path.join(tmp, name + ".yaml"), "w") as f:
        f.write(text)
    run([DERMFUSE, "compare", name + ".yaml"], tmp)
    out = {}
    for r in csv.DictReader(open(os.path.join(tmp, "runs", name, "results.csv"))):
        out[(r["model"], int(r["seed"]), "none")] = (float(r["auc"]), float(r["balanced_accuracy"]))
    for r in csv.DictReader(open(os.path.join(tmp, "runs", name, "missing_meta.csv"))):
        out[(r["model"], int(r["seed"]), r["withheld"])] = (float(r["auc"]), float(r["balanced_accuracy"]))
    return out


def main():
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="dermfuse-meta-dropout-"))
    try:
        root = gray28(DERMFUSE, tmp, N)
        a = study(tmp, root, "plain", ["image", "intermediate"], [])
        b = study(tmp, root, "dropout", ["intermediate"], [f"train.meta_dropout={P}"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = {"image": [], "fusion, complete": [], "fusion, none": [], f"fusion+md{P}, complete": [],
            f"fusion+md{P}, none": []}
    for s in SEEDS:
        rows["image"].append(a[("image", s, "none")])
        rows["fusion, complete"].append(a[("intermediate", s, "none")])
        rows["fusion, none"].append(a[("intermediate", s, "all")])
        rows[f"fusion+md{P}, complete"].append(b[("intermediate", s, "none")])
        rows[f"fusion+md{P}, none"].append(b[("intermediate", s, "all")])
        print(f"seed {s}: " + "  ".join(f"{k} AUC {v[-1][0]:.4f} bacc {v[-1][1]:.4f}" for k, v in rows.items()),
              flush=True)
    mean = {k: (sum(x[0] for x in v) / len(v), sum(x[1] for x in v) / len(v)) for k, v in rows.items()}
    print(f"mean over seeds {SEEDS} (test AUC, balanced accuracy; 'none': all metadata withheld):")
    for k, (auc, bacc) in mean.items():
        print(f"  {k:28s} {auc:.4f}  {bacc:.4f}")
    ours, ref = mean[f"fusion+md{P}, none"][0], mean["fusion, none"][0]
    print(f"BENCH meta_dropout_fusion_without_metadata ours={ours:.4f} ref={ref:.4f} unit=AUC ratio={ours / ref:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

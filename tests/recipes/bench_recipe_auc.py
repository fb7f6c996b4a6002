"""bench_recipe_auc.py DERMFUSE: configs/recipes/small-cnn-fusion-28.yaml trained by dermfuse and by its
PyTorch twin (tests/recipes/small_cnn_fusion_28.py) over three seeds on a set the project draws; the two mean
test AUCs must agree within 0.01.

The set: `dermfuse synth` (ISIC-DICM-17K layout, 28x28, signal 0.35, meta-signal 0.5), the images saved again
as gray PNGs, 70% for training and 30% for testing. For each seed, dermfuse trains the recipe (run.seed) and
the twin trains from the same initial weights (`dermfuse export-init`) with its own data pipeline (PIL, its own
normalisation and metadata encoding, torch's shuffling), so what is compared is the recipe, not a shared
loader. Prints the mean AUCs as a BENCH line and their difference (speed is measured elsewhere:
scripts/bench_compare.sh); exit 1 when the means differ by more than 0.01,
77 where python3-torch is not installed. Run with `meson test -C build --benchmark recipe_auc`."""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
try:
    import torch  # noqa: F401
    from recipe_bench import gray28, run
except ImportError:
    print("python3-torch is not installed: skipped")
    sys.exit(77)

DERMFUSE = os.path.abspath(sys.argv[1])
RECIPE = os.path.join(ROOT, "configs", "recipes", "small-cnn-fusion-28.yaml")
SEEDS = [1, 2, 3]
N = 3000


def main():
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="dermfuse-recipe-auc-"))
    try:
        root = gray28(DERMFUSE, tmp, N)
        ours, theirs = [], []
        for seed in SEEDS:
            sets = [f"data.train_csv={root}/train.csv", f"data.test_csv={root}/test.csv",
                    f"data.image_dir={root}/images", "run.out_dir=runs", f"run.name=seed{seed}", f"run.seed={seed}"]
            args = [a for s in sets for a in ("--set", s)]
            init = os.path.join(tmp, f"init{seed}.safetensors")
            run([DERMFUSE, "export-init", RECIPE, "--out", init] + args, tmp)
            run([DERMFUSE, "train", RECIPE, "--quiet"] + args, tmp)
            ours.append(json.load(open(os.path.join(tmp, "runs", f"seed{seed}", "test_metrics.json")))["auc"])
            out = os.path.join(tmp, f"twin{seed}.json")
            run([sys.executable, os.path.join(HERE, "small_cnn_fusion_28.py"), "--data", root, "--seed", str(seed),
                 "--init", init, "--json", out], tmp)
            theirs.append(json.load(open(out))["auc"])
            print(f"seed {seed}: test AUC dermfuse {ours[-1]:.4f}  PyTorch {theirs[-1]:.4f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mo, mt = sum(ours) / len(ours), sum(theirs) / len(theirs)
    print(f"BENCH recipe_auc_small_cnn_fusion_28 ours={mo:.4f} ref={mt:.4f} unit=AUC ratio={mo / mt:.4f}")
    gap = abs(mo - mt)
    print(f"mean test AUC over seeds {SEEDS}: dermfuse {mo:.4f}, PyTorch {mt:.4f}, difference {gap:.4f} "
          f"({'within' if gap <= 0.01 else 'beyond'} 0.01)")
    return 0 if gap <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())

"""bench_precise_bn.py DERMFUSE [SEEDS]: what train.precise_bn does to a model's test metrics, on the set of
bench_recipe_auc.py (`dermfuse synth`, 28x28 gray, 70% training, 30% test) trained by
configs/recipes/small-cnn-fusion-28.yaml (8 epochs of Adam at a constant rate, the last checkpoint tested).

Each seed is trained twice in the same process order, with train.precise_bn 0 (the running statistics of
momentum 0.1) and with train.precise_bn 20 (recomputed over 20 training batches with the final weights); the
weights are the same bits in both (precise BN changes no weight), so the difference is the statistics alone.
Prints per seed and as means the test accuracy at 0.5, balanced accuracy and AUC of both, the median run
time of both (the epochs with their evaluations, from metrics.jsonl) and a BENCH line.
Run with `meson test -C build --benchmark precise_bn`."""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
try:
    from recipe_bench import gray28, run
except ImportError:
    print("python3-pil is not installed: skipped")
    sys.exit(77)

DERMFUSE = os.path.abspath(sys.argv[1])
SEEDS = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2, 3]
RECIPE = os.path.join(ROOT, "configs", "recipes", "small-cnn-fusion-28.yaml")
N = 3000
BATCHES = 20
METRICS = ("accuracy", "balanced_accuracy", "auc")


def main():
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="dermfuse-precise-bn-"))
    res = {0: [], BATCHES: []}
    try:
        root = gray28(DERMFUSE, tmp, N)
        for seed in SEEDS:
            for pb in (0, BATCHES):
                name = f"seed{seed}-pbn{pb}"
                sets = [f"data.train_csv={root}/train.csv", f"data.test_csv={root}/test.csv",
                        f"data.image_dir={root}/images", "run.out_dir=runs", f"run.name={name}",
                        f"run.seed={seed}", f"train.precise_bn={pb}"]
                run([DERMFUSE, "train", RECIPE, "--quiet"] + [a for s in sets for a in ("--set", s)], tmp)
                m = json.load(open(os.path.join(tmp, "runs", name, "test_metrics.json")))
                log = [json.loads(line) for line in open(os.path.join(tmp, "runs", name, "metrics.jsonl"))]
                m["seconds"] = sum(e["seconds"] for e in log)  # training, precise BN and evaluation
                res[pb].append(m)
            a, b = res[0][-1], res[BATCHES][-1]
            print(f"seed {seed}: " + "  ".join(f"{k} {a[k]:.4f} -> {b[k]:.4f}" for k in METRICS), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mean = {pb: {k: sum(m[k] for m in res[pb]) / len(res[pb]) for k in METRICS} for pb in res}
    print(f"mean over seeds {SEEDS}, precise_bn 0 -> {BATCHES}: " +
          "  ".join(f"{k} {mean[0][k]:.4f} -> {mean[BATCHES][k]:.4f}" for k in METRICS))
    secs = {pb: sorted(m["seconds"] for m in res[pb])[len(res[pb]) // 2] for pb in res}
    print(f"median run time (epochs with their evaluations): {secs[0]:.1f} s -> {secs[BATCHES]:.1f} s "
          f"(ratio {secs[BATCHES] / secs[0]:.3f})")
    print(f"BENCH precise_bn_small_cnn_fusion_28 ours={mean[BATCHES]['balanced_accuracy']:.4f} "
          f"ref={mean[0]['balanced_accuracy']:.4f} unit=balanced_accuracy "
          f"ratio={mean[BATCHES]['balanced_accuracy'] / mean[0]['balanced_accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

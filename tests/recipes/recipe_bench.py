"""recipe_bench.py: what the recipe benchmarks (bench_recipe_auc.py, bench_precise_bn.py, bench_meta_dropout.py)
share: running a command, and their data set, `dermfuse synth` (ISIC-DICM-17K layout, 28x28, signal 0.35, meta-signal 0.5, seed 11),
the images saved again as gray PNGs, the first 70% of the rows for training (train.csv) and the rest for
testing (test.csv), with the columns configs/recipes/small-cnn-fusion-28.yaml reads. Needs PIL."""
import csv
import os
import subprocess
import sys

from PIL import Image


def run(cmd, cwd):
    """cmd's output; the benchmark ends with its output when it fails."""
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p.stdout


def gray28(dermfuse, tmp, n):
    """Draws the set of n samples into <tmp>/data and returns that folder."""
    run([dermfuse, "synth", "--out", "data", "--n", str(n), "--size", "28", "--seed", "11", "--signal", "0.35",
         "--meta-signal", "0.5", "--format", "png"], tmp)
    root = os.path.join(tmp, "data")
    rows = list(csv.DictReader(open(os.path.join(root, "metadata.csv"))))
    for r in rows:
        path = os.path.join(root, "images", r["image"])
        Image.open(path).convert("L").save(path)
    cut = int(0.7 * n)
    for name, part in (("train.csv", rows[:cut]), ("test.csv", rows[cut:])):
        with open(os.path.join(root, name), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["image", "label", "age_approx", "sex", "anatom_site_general"])
            for r in part:
                w.writerow([r["image"], r["class"], r["age_approx"], r["sex"], r["anatom_site_general"]])
    return root

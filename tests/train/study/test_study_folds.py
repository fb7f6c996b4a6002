#!/usr/bin/env python3
"""test_study_folds.py DERMFUSE: a study with study.folds (repeated k-fold cross-validation) on a tiny
synthetic set, checked against values recomputed here from the files the runs wrote.

- every model runs once per seed and fold, in <model>-seed<s>-fold<f>; results.csv has one row per run with
  its seed and fold, and the folds of one seed test every sample of the training file exactly once;
- the verdict's corrected resampled t for each model equals the one computed here from results.csv's AUCs
  (t = mean(d) / sqrt((1/n + n_test/n_train) var(d))), and its pooled out-of-fold AUC equals the
  Mann-Whitney AUC of the first seed's test predictions concatenated over its folds;
- late fusion reuses the study's image and meta runs fold by fold;
- study.folds: 1 and a study over the replicate limit are refused, naming the key;
- with three classes, classes.csv's per-class AUC and per-class F1 (each class's probability above 0.5)
  equal those recomputed from every run's test predictions, and results.md has the Classes section.
"""
import csv
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

DERMFUSE = os.path.abspath(sys.argv[1])
failures = 0
K = 3


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAILED:", what, flush=True)
    return cond


def run(args, cwd):
    e = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([DERMFUSE] + args, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


BASE = """run:
  name: tiny
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  numeric: [age_approx]
  categorical: [sex, anatom_site_general]
  image_size: 16
  workers: 2
model:
  fusion: image
  widths: [4]
  depth: [1]
  meta_hidden: [8]
train:
  epochs: 1
  batch_size: 16
"""

STUDY = """study:
  name: cv
  out_dir: runs
  config: base.yaml
  models: [image, meta, late]
  seeds: [1, 2]
  folds: 3
  bootstrap: 100
  gradcam_samples: 0
"""


def auc(scores, labels):
    """Mann-Whitney: P(score of a positive > score of a negative), ties counting half."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def check_classes(tmp):
    """A three-class study: classes.csv against the runs' own test predictions."""
    r = run(["synth", "--out", "data3", "--n", "120", "--size", "16", "--seed", "5", "--classes", "3"], tmp)
    check(r.returncode == 0, "synth 3 classes: " + r.stdout[-2000:])
    # the isic layout's labels are binary: read the same files as a CSV with a 3-class label column
    open(os.path.join(tmp, "base3.yaml"), "w").write(BASE.replace("data/", "data3/").replace(
        "layout: isic", "layout: csv\n  label_column: class"))
    open(os.path.join(tmp, "k3.yaml"), "w").write(STUDY.replace("name: cv", "name: k3").replace(
        "base.yaml", "base3.yaml").replace("[image, meta, late]", "[image, meta]").replace("folds: 3", "folds: 0"))
    r = run(["compare", "k3.yaml"], tmp)
    if not check(r.returncode == 0, "3-class study: " + r.stdout[-3000:]):
        return
    sd = os.path.join(tmp, "runs", "k3")
    rows = list(csv.DictReader(open(os.path.join(sd, "classes.csv"))))
    check(len(rows) == 2 * 2 * 3, f"classes.csv has {len(rows)} rows")
    for row in rows:
        pred = list(csv.reader(open(os.path.join(sd, f"{row['model']}-seed{row['seed']}", "test_predictions.csv"))))
        classes = pred[0][2:]
        k = classes.index(row["class"])
        probs = [float(p[2 + k]) for p in pred[1:]]
        pos = [p[1] == row["class"] for p in pred[1:]]
        check(int(row["support"]) == sum(pos), f"{row['model']} {row['class']}: support")
        check(abs(float(row["auc"]) - auc(probs, pos)) < 2e-6, f"{row['model']} {row['class']}: AUC {row['auc']}")
        tp = sum(1 for q, y in zip(probs, pos) if q > 0.5 and y)
        fp = sum(1 for q, y in zip(probs, pos) if q > 0.5 and not y)
        fn = sum(1 for q, y in zip(probs, pos) if q <= 0.5 and y)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        check(abs(float(row["f1_milk"]) - f1) < 2e-6, f"{row['model']} {row['class']}: F1 {row['f1_milk']} vs {f1}")
    md = open(os.path.join(sd, "results.md")).read()
    check("## Classes (test split)" in md, "results.md has the Classes section")
    check('<section id="classes">' in open(os.path.join(sd, "report.html")).read(), "report.html has it")


def main():
    tmp = tempfile.mkdtemp(prefix="df_study_folds_")
    try:
        r = run(["synth", "--out", "data", "--n", "150", "--size", "16", "--seed", "4"], tmp)
        check(r.returncode == 0, "synth: " + r.stdout[-2000:])
        open(os.path.join(tmp, "base.yaml"), "w").write(BASE)
        open(os.path.join(tmp, "cv.yaml"), "w").write(STUDY)
        r = run(["compare", "cv.yaml"], tmp)
        if not check(r.returncode == 0, "study: " + r.stdout[-3000:]):
            return 1
        out = r.stdout
        sd = os.path.join(tmp, "runs", "cv")
        check("=== image, seed 2, fold 1 ===" in out, "runs are named by seed and fold")
        check(out.count("late fusion: reusing the finished image run runs/cv/image-seed") == 2 * K,
              "late fusion reuses the image run of every fold")

        rows = list(csv.DictReader(open(os.path.join(sd, "results.csv"))))
        check(len(rows) == 3 * 2 * K, f"results.csv has {len(rows)} rows")
        check(sorted({(r["seed"], r["fold"]) for r in rows}) == [(s, f) for s in "12" for f in "012"],
              "results.csv's seeds and folds")
        n_file = len(list(csv.reader(open(os.path.join(tmp, "data", "metadata.csv"))))) - 1
        for seed in (1, 2):
            ids = []
            for f in range(K):
                pred = list(csv.reader(open(os.path.join(sd, f"meta-seed{seed}-fold{f}", "test_predictions.csv"))))
                ids += [p[0] for p in pred[1:]]
            check(len(ids) == n_file and len(set(ids)) == n_file, f"seed {seed}: the folds test every sample once")

        md = open(os.path.join(sd, "results.md")).read()
        check("Cross-validation: 2 seed(s) x 3 grouped, stratified folds" in md, "results.md has the CV verdict")
        m = re.search(r"test/train size ratio ([0-9.]+)", md)
        ratio = float(m.group(1)) if m else float("nan")
        # the ratio of the first fold's split sizes, as the report's split line gives them
        sizes = re.search(r"Split \(seed 1, fold 0\): (\d+) training, (\d+) validation and (\d+) test", open(
            os.path.join(sd, "report.html")).read())
        if check(sizes is not None, "report.html names the first fold's split"):
            check(abs(ratio - int(sizes.group(3)) / int(sizes.group(1))) < 1e-3, f"ratio {ratio}")
        line = re.search(r"- AUC over folds:(.*)", md)
        check(line is not None, "AUC over folds line")
        for model in ("meta", "late"):
            d = [float(a["auc"]) - float(b["auc"]) for a in rows if a["model"] == model
                 for b in rows if b["model"] == "image" and (b["seed"], b["fold"]) == (a["seed"], a["fold"])]
            n = len(d)
            mean = sum(d) / n
            var = sum((x - mean) ** 2 for x in d) / (n - 1)
            t = mean / math.sqrt((1 / n + ratio) * var)
            got = re.search(r"`%s` ([-+0-9.]+) \(t ([-0-9.]+)" % model, line.group(1) if line else "")
            if check(got is not None, f"{model}'s corrected t in the verdict"):
                check(abs(float(got.group(1)) - mean) < 6e-4, f"{model}: mean difference {got.group(1)} vs {mean}")
                check(abs(float(got.group(2)) - t) < 0.006 + 0.01 * abs(t), f"{model}: t {got.group(2)} vs {t:.3f}")

        pooled = re.search(r"- pooled out-of-fold AUC:(.*)", md)
        for model in ("image", "meta", "late"):
            scores, labels = [], []
            for f in range(K):
                pred = list(csv.reader(open(os.path.join(sd, f"{model}-seed1-fold{f}", "test_predictions.csv"))))
                classes = pred[0][2:]
                for p in pred[1:]:
                    scores.append(float(p[3]))
                    labels.append(p[1] == classes[1])
            got = re.search(r"`%s` ([0-9.]+)" % model, pooled.group(1) if pooled else "")
            if check(got is not None, f"{model}'s pooled AUC in the verdict"):
                check(abs(float(got.group(1)) - auc(scores, labels)) < 6e-4,
                      f"{model}: pooled AUC {got.group(1)} vs {auc(scores, labels):.4f}")

        check_classes(tmp)

        # Bad folds: named.
        r = run(["compare", "cv.yaml", "--set", "study.folds=1"], tmp)
        check(r.returncode != 0 and "study.folds is 1" in r.stdout, "folds 1: " + r.stdout[-500:])
        r = run(["compare", "cv.yaml", "--set", "study.folds=20", "--set", "study.seeds=[1,2,3,4]"], tmp)
        check(r.returncode != 0 and "study.replicates" in r.stdout and "80" in r.stdout, "limit: " + r.stdout[-500:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("failures:", failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

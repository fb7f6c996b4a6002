#!/usr/bin/env python3
"""End-to-end tests of k-fold cross-validation splits (data.folds, data.fold; train/session/run_data.h)
through `dermfuse train`:
- the k test folds of one seed partition the training file: every sample is tested exactly once;
- a patient's samples fall in one fold (data.group_by), and each fold's class counts follow the file's;
- another seed draws other folds, the same seed the same ones;
- contradictory keys are refused with a message naming the key: data.fold without data.folds, a fold out of
  range, one fold, data.test_csv or data.test_fraction beside data.folds.
Usage: test_folds.py DERMFUSE"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

from checks import check, summary

DERMFUSE = os.path.abspath(sys.argv[1])
K = 4

CONFIG = """run:
  name: cv
  out_dir: runs
data:
  layout: isic
  split: holdout
  train_csv: data/grouped.csv
  image_size: 16
  workers: 1
  folds: 4
  numeric: [age_approx]
  categorical: [sex]
model:
  fusion: meta
  meta_hidden: [8]
train:
  epochs: 1
  batch_size: 8
  max_steps: 1
  test_checkpoint: last
"""


def run(tmp, args):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([DERMFUSE] + args, cwd=tmp, capture_output=True, text=True, env=env)


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_ids(tmp, fold, seed, name):
    """The test split's sample ids of one fold run."""
    p = run(tmp, ["train", "cv.yaml", "--quiet", "--set", f"data.fold={fold}", "--set", f"run.seed={seed}",
                  "--set", f"run.name={name}"])
    if not check(p.returncode == 0, f"fold {fold} seed {seed} failed: {p.stderr.strip()[-600:]}"):
        return []
    return [r[0] for r in read_rows(os.path.join(tmp, "runs", name, "test_predictions.csv"))[1:]]


def expect_error(tmp, what, sets, *wants):
    args = ["train", "cv.yaml", "--quiet"]
    for s in sets:
        args += ["--set", s]
    p = run(tmp, args)
    msg = p.stderr + p.stdout
    check(p.returncode != 0, f"{what}: exited 0")
    for w in wants:
        check(w in msg, f"{what}: message lacks {w!r}: {msg.strip()[-600:]}")


def main():
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="dermfuse-folds-"))
    try:
        p = run(tmp, ["synth", "--out", "data", "--n", "160", "--size", "16", "--seed", "3"])
        check(p.returncode == 0, f"synth failed: {p.stderr}")
        rows = read_rows(os.path.join(tmp, "data", "metadata.csv"))
        head, body = rows[0], rows[1:]
        col = {c: i for i, c in enumerate(head)}
        # Patients of 1 to 3 images (synth gives each image its own patient).
        for i, r in enumerate(body):
            r[col["patient_id"]] = f"P{(i * 7 // 17):04d}"
        with open(os.path.join(tmp, "data", "grouped.csv"), "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows([head] + body)
        with open(os.path.join(tmp, "cv.yaml"), "w") as f:
            f.write(CONFIG)
        patient = {r[col["isic_id"]]: r[col["patient_id"]] for r in body}
        label = {r[col["isic_id"]]: r[col["class"]] for r in body}

        folds = [test_ids(tmp, k, 1, f"cv-s1-f{k}") for k in range(K)]
        tested = Counter(i for f in folds for i in f)
        check(sorted(tested) == sorted(patient) and set(tested.values()) == {1},
              f"the {K} test folds do not partition the file: {len(tested)} ids of {len(patient)}, "
              f"counts {sorted(set(tested.values()))}")
        fold_of = {i: k for k, f in enumerate(folds) for i in f}
        for pid in set(patient.values()):
            where = {fold_of.get(i) for i, p in patient.items() if p == pid}
            check(len(where) == 1, f"patient {pid} split over folds {where}")
        overall = Counter(label.values())
        for k, f in enumerate(folds):
            counts = Counter(label[i] for i in f)
            for c, n in overall.items():
                # groups hold at most 3 images, so a fold's class count may miss its share by a group
                check(abs(counts[c] - n / K) <= 3, f"fold {k}: class {c} has {counts[c]} of {n} (share {n / K})")

        # The saved config says which cross-validation it ran, so it loads again the same.
        with open(os.path.join(tmp, "runs", "cv-s1-f0", "config.yaml")) as f:
            saved = f.read()
        check("folds: 4" in saved and "fold: 0" in saved, "saved config lacks data.folds / data.fold")

        again = test_ids(tmp, 1, 1, "cv-s1-f1-again")
        check(sorted(again) == sorted(folds[1]), "the same seed drew another fold 1")
        other = test_ids(tmp, 1, 2, "cv-s2-f1")
        check(other and sorted(other) != sorted(folds[1]), "seed 2 drew the same fold 1 as seed 1")

        expect_error(tmp, "fold without folds", ["data.folds=0", "data.fold=1"], "data.fold", "data.folds is 0")
        expect_error(tmp, "fold out of range", ["data.fold=4"], "data.fold is 4", "0 .. 3")
        expect_error(tmp, "one fold", ["data.folds=1"], "data.folds is 1", "at least 2")
        expect_error(tmp, "test file and folds", ["data.test_csv=data/grouped.csv"], "data.test_csv",
                     "data.folds is 4")
        expect_error(tmp, "test fraction and folds", ["data.test_fraction=0.2"], "data.test_fraction is 0.2",
                     "data.folds")
        expect_error(tmp, "validation too large", ["data.valid_fraction=0.8"], "data.valid_fraction (0.8)",
                     "one fold (1/4)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())

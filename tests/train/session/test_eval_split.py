#!/usr/bin/env python3
"""End-to-end tests of where a run's splits come from and which checkpoint its test results use
(train/config/run_splits.h, train/session/run_data.h, train/session/trainer.h), through `dermfuse train`,
`eval`, `predict` and `compare` on a small dataset drawn by `dermfuse synth`:
- data.test_csv is the test split with split: holdout (validation carved from train_csv) and with split:
  published; without it the test split is carved from train_csv;
- every combination that would leave a key unused is refused naming the key and file:line (valid_csv with
  holdout, test_fraction with a test_csv, valid_fraction with published, milk10k with split files, data.root
  with isic), and the saved config.yaml of a run loads again;
- train.test_checkpoint: the test predictions equal `dermfuse predict --checkpoint last` / `best`, and
  test_metrics.json names the checkpoint and epoch; a resume that finds the results missing follows the key;
- no validation split (empty valid_csv, or valid_fraction 0): no best.safetensors, empty validation columns
  in metrics.csv, null in metrics.jsonl, a stopped run resumes to the same bytes, the report renders; and
  the errors for test_checkpoint best, patience and late_combine weighted; a study of every single-graph
  model and late fusion (mean) without validation;
- the class names of a CSV data set (benign / melanoma) in the console, test files, eval's table, the study
  and the report, and no "(MILK10k)" label for a binary data set;
- a missing group column names data.group_by, and `--set data.group_by=` sets it empty.
Usage: test_eval_split.py DERMFUSE"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

from checks import check, summary

DERMFUSE = os.path.abspath(sys.argv[1])
TMP = ""

CONFIG = """run:
  name: {name}
  out_dir: runs
  seed: 2
data:
  layout: {layout}
  split: {split}
  train_csv: {train_csv}
  image_dir: data/images
  image_size: 32
  workers: 1
  numeric: [age_approx]
  categorical: [sex]
{data}model:
  fusion: {fusion}
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
{model}train:
  epochs: {epochs}
  batch_size: 16
  lr: 0.01
{train}"""


def run(args, env=None):
    e = dict(os.environ, OMP_NUM_THREADS="2", **(env or {}))
    return subprocess.run([DERMFUSE] + args, cwd=TMP, capture_output=True, text=True, env=e)


def write_config(name, split="holdout", data="", model="", train="", fusion="meta", epochs=2, layout="isic",
                 train_csv="data/train.csv"):
    with open(os.path.join(TMP, name + ".yaml"), "w") as f:
        f.write(CONFIG.format(name=name, split=split, data=data, model=model, train=train, fusion=fusion,
                              epochs=epochs, layout=layout, train_csv=train_csv))
    return name + ".yaml"


def train(cfg, *sets, what=None, env=None):
    args = ["train", cfg, "--quiet"]
    for s in sets:
        args += ["--set", s]
    p = run(args, env)
    check(p.returncode == 0, f"{what or cfg}: exited {p.returncode}: {(p.stdout + p.stderr)[-800:]}")
    return p


def expect_error(cfg, what, *wants, sets=()):
    args = ["train", cfg, "--quiet"]
    for s in sets:
        args += ["--set", s]
    p = run(args)
    msg = p.stdout + p.stderr
    check(p.returncode != 0, f"{what}: exited 0")
    for w in wants:
        check(w in msg, f"{what}: message lacks {w!r}: {msg.strip()[-600:]}")


def rows(path):
    with open(os.path.join(TMP, path), newline="") as f:
        return list(csv.reader(f))


def ids(path, col):
    r = rows(path)
    c = r[0].index(col)
    return [row[c] for row in r[1:]]


def read(path):
    with open(os.path.join(TMP, path)) as f:
        return f.read()


def exists(path):
    return os.path.exists(os.path.join(TMP, path))


def make_data():
    p = run(["synth", "--out", "data", "--n", "120", "--size", "32", "--seed", "5"])
    check(p.returncode == 0, f"synth: {p.stderr[-300:]}")
    table = rows("data/metadata.csv")
    head, body = table[0], table[1:]
    # Files by patient, so that no patient is in two files; each holds both classes.
    body.sort(key=lambda r: r[head.index("patient_id")])
    parts = {"train": body[:60], "valid": body[60:90], "test": body[90:]}
    for name, part in parts.items():
        with open(os.path.join(TMP, "data", name + ".csv"), "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows([head] + part)
    # The csv layout with the user's own labels, and no patient_id column.
    label = head.index("class")
    keep = [head.index(c) for c in ("image", "age_approx", "sex")]
    with open(os.path.join(TMP, "data", "labels.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["image", "age_approx", "sex", "label"])
        for r in body:
            w.writerow([r[k] for k in keep] + ["melanoma" if r[label] == "1" else "benign"])


def test_split_sources():
    test_ids = ids("data/test.csv", "isic_id")
    train_ids = set(ids("data/train.csv", "isic_id"))
    valid_ids = set(ids("data/valid.csv", "isic_id"))

    # holdout + test_csv: the test split is the test file, validation is carved from the training file.
    train(write_config("hold-test", data="  test_csv: data/test.csv\n"))
    check(ids("runs/hold-test/test_predictions.csv", "id") == test_ids, "holdout + test_csv: test ids are the file's")
    saved = read("runs/hold-test/config.yaml")
    check("test_fraction: 0.0\n" in saved and "valid_fraction: 0.15" in saved, f"holdout + test_csv saved: {saved}")
    p = run(["eval", "runs/hold-test/config.yaml"])  # the saved config loads again
    check(p.returncode == 0, f"saved config reloads: {p.stderr[-400:]}")

    # holdout without test_csv: a share of the training file.
    train(write_config("hold", data=""))
    got = ids("runs/hold/test_predictions.csv", "id")
    check(set(got) <= train_ids and 5 <= len(got) <= 15, f"holdout: test carved from train ({len(got)})")

    # published with both files, and with only a validation file.
    train(write_config("pub-test", split="published",
                       data="  valid_csv: data/valid.csv\n  test_csv: data/test.csv\n"))
    check(ids("runs/pub-test/test_predictions.csv", "id") == test_ids, "published + test_csv: test ids")
    train(write_config("pub", split="published", data="  valid_csv: data/valid.csv\n"))
    got = set(ids("runs/pub/test_predictions.csv", "id"))
    check(got and got <= train_ids and not got & valid_ids, "published: test carved from train, not valid")
    check(run(["eval", "runs/pub/config.yaml"]).returncode == 0, "published saved config reloads")

    # keys that a combination would not use
    expect_error(write_config("e1", data="  valid_csv: data/valid.csv\n"), "holdout + valid_csv",
                 "e1.yaml:", "data.valid_csv is given but data.split is holdout")
    expect_error(write_config("e2", data="  test_csv: data/test.csv\n  test_fraction: 0.2\n"),
                 "test_fraction with test_csv", "e2.yaml:", "data.test_fraction is 0.2 but data.test_csv is given")
    expect_error(write_config("e3", split="published", data="  valid_csv: data/valid.csv\n  valid_fraction: 0.2\n"),
                 "published + valid_fraction", "e3.yaml:", "data.valid_fraction is for data.split: holdout")
    expect_error(write_config("e4", data="  test_fraction: 0\n"), "no test split", "a run needs a test split")
    expect_error(write_config("e5", data="  valid_fraction: 0.5\n  test_fraction: 0.5\n"), "fractions sum",
                 "data.valid_fraction (0.5) + data.test_fraction (0.5) must be below 1")
    expect_error(write_config("e6", layout="milk10k", train_csv="''", data="  root: data\n  test_csv: data/test.csv\n"),
                 "milk10k + test_csv", "data.test_csv is for layouts isic and csv")
    expect_error(write_config("e7", data="  root: data\n"), "isic + root", "data.root is for layout milk10k")
    expect_error(write_config("e8"), "--set names the file", "<command line --set data.test_fraction=0.3>",
                 "data.test_fraction is 0.3", sets=("data.test_csv=data/test.csv", "data.test_fraction=0.3"))
    # a test_fraction of 0 says "unused": accepted with a test file
    train(write_config("tf0", data="  test_csv: data/test.csv\n  test_fraction: 0\n", epochs=1), what="test_fraction 0")


def test_checkpoints():
    for which in ("last", "best"):
        name = "ck-" + which
        cfg = write_config(name, epochs=3, train=f"  test_checkpoint: {which}\n", fusion="intermediate")
        out = train(cfg).stdout
        check(f"{which} checkpoint, epoch" in out, f"{which}: console names the checkpoint: {out[-300:]}")
        m = json.loads(read(f"runs/{name}/test_metrics.json"))
        log = [json.loads(line) for line in read(f"runs/{name}/metrics.jsonl").splitlines()]
        best = max(e["epoch"] for e in log if e["improved"])
        check(m["checkpoint"] == which and m["epoch"] == (3 if which == "last" else best),
              f"{which}: test_metrics.json {m['checkpoint']} epoch {m['epoch']} (best {best})")
        p = run(["predict", cfg, "--out", f"{name}.csv", "--checkpoint", which])
        check(p.returncode == 0 and read(f"{name}.csv") == read(f"runs/{name}/test_predictions.csv"),
              f"{which}: test predictions are predict --checkpoint {which}'s")
        p = run(["predict", cfg, "--out", f"{name}-default.csv"])
        check(p.returncode == 0 and read(f"{name}-default.csv") == read(f"{name}.csv"),
              f"{which}: predict without --checkpoint follows train.test_checkpoint")
    check(read("runs/ck-last/test_predictions.csv") != read("runs/ck-best/test_predictions.csv") or
          json.loads(read("runs/ck-best/test_metrics.json"))["epoch"] == 3, "last and best differ unless best is last")

    # The resume that finds the results missing writes them with the key's checkpoint.
    before = read("runs/ck-last/test_predictions.csv")
    os.remove(os.path.join(TMP, "runs/ck-last/test_metrics.json"))
    p = run(["train", "ck-last.yaml", "--resume", "--quiet"])
    check(p.returncode == 0 and "writing them now (last checkpoint)" in p.stdout, f"resume: {p.stdout[-300:]}")
    check(read("runs/ck-last/test_predictions.csv") == before and
          json.loads(read("runs/ck-last/test_metrics.json"))["checkpoint"] == "last", "resume wrote last's results")


def test_no_validation():
    cfg = write_config("nv", split="published", epochs=2, fusion="image", train="  test_checkpoint: last\n",
                       data="  test_csv: data/test.csv\n")
    out = train(cfg).stdout
    check("(no validation split)" in out, f"no validation: console says so: {out[-300:]}")
    check(not exists("runs/nv/best.safetensors") and exists("runs/nv/last.safetensors"), "no best.safetensors")
    table = rows("runs/nv/metrics.csv")
    check(len(table) == 3 and all(len(r) == len(table[0]) for r in table), "metrics.csv keeps its columns")
    check(all(r[table[0].index(c)] == "" for r in table[1:] for c in ("valid_loss", "auc", "accuracy")),
          "metrics.csv: validation cells empty")
    log = [json.loads(line) for line in read("runs/nv/metrics.jsonl").splitlines()]
    check(all(e["valid"] is None and e["valid_loss"] is None and not e["improved"] for e in log), "jsonl: null")
    check(ids("runs/nv/test_predictions.csv", "id") == ids("data/test.csv", "isic_id"), "no validation: test file")
    p = run(["predict", cfg, "--out", "nv.csv", "--checkpoint", "last"])
    check(p.returncode == 0 and read("nv.csv") == read("runs/nv/test_predictions.csv"), "no validation: last's")
    p = run(["report", "runs/nv"])
    check(p.returncode == 0 and exists("runs/nv/report.html"), f"report of a run without validation: {p.stderr}")
    p = run(["eval", cfg, "--split", "valid"])
    check(p.returncode != 0 and "the run has no valid split (data.valid_csv is empty)" in p.stderr,
          f"eval --split valid: {p.stderr[-300:]}")

    # stopped in its second epoch and resumed: the same bytes as the run that never stopped
    cfg2 = write_config("nv-stop", split="published", epochs=2, fusion="image", train="  test_checkpoint: last\n",
                        data="  test_csv: data/test.csv\n")
    p = run(["train", cfg2, "--quiet"], env={"DERMFUSE_STOP_AFTER_STEPS": "6"})
    check(p.returncode == 0 and "stopped at epoch 2" in p.stdout, f"stopped: {p.stdout[-300:]}")
    p = run(["train", cfg2, "--resume", "--quiet"])
    check(p.returncode == 0, f"resume without validation: {p.stderr[-400:]}")
    check(read("runs/nv-stop/test_predictions.csv") == read("runs/nv/test_predictions.csv"), "resumed = unstopped")

    # holdout with valid_fraction 0 is the same: no validation split
    train(write_config("nv-hold", data="  valid_fraction: 0\n", train="  test_checkpoint: last\n", epochs=1))
    check(not exists("runs/nv-hold/best.safetensors"), "valid_fraction 0: no best checkpoint")

    none = "data.valid_csv is empty (data.split: published)"
    expect_error(write_config("nv-e1", split="published"), "no validation, best", "train.test_checkpoint", none,
                 "set train.test_checkpoint: last")
    expect_error(write_config("nv-e2", split="published", train="  test_checkpoint: last\n  patience: 2\n"),
                 "no validation, patience", "nv-e2.yaml:", "train.patience is 2", none)
    expect_error(write_config("nv-e3", split="published", fusion="late", train="  test_checkpoint: last\n"),
                 "no validation, late weighted", "model.late_combine 'weighted'", none)
    expect_error(write_config("nv-e4", data="  valid_fraction: 0\n"), "valid_fraction 0, best",
                 "data.valid_fraction is 0 (data.split: holdout)", "train.test_checkpoint")

    # a study of every model without validation (late fusion combines by the mean)
    write_config("study-base", split="published", epochs=1, model="  late_combine: mean\n",
                 train="  test_checkpoint: last\n  max_steps: 3\n", data="  test_csv: data/test.csv\n")
    with open(os.path.join(TMP, "study.yaml"), "w") as f:
        f.write("study:\n  name: nvstudy\n  out_dir: runs\n  config: study-base.yaml\n"
                "  models: [image, meta, early, intermediate, gated, late]\n  seeds: [1]\n  baseline: image\n"
                "  bootstrap: 100\n  gradcam_samples: 4\n  gradcam_overlays: 1\n")
    p = run(["compare", "study.yaml"])
    check(p.returncode == 0, f"study without validation: {(p.stdout + p.stderr)[-800:]}")
    if p.returncode == 0:
        res = rows("runs/nvstudy/results.csv")
        check([r[0] for r in res[1:]] == ["image", "meta", "early", "intermediate", "gated", "late"],
              f"study rows: {[r[0] for r in res[1:]]}")
        check("no validation split" in read("runs/nvstudy/report.html") and "last epoch" in
              read("runs/nvstudy/report.html"), "study report says there is no validation and which weights")


def test_class_names_and_groups():
    base = dict(layout="csv", split="holdout", train_csv="data/labels.csv", fusion="image", epochs=1)
    # a missing group column (the default data.group_by) names the key and the way out
    cfg = write_config("names", **base)
    expect_error(cfg, "missing patient_id", "no column 'patient_id' (data.group_by; set data.group_by: '' to split "
                 "without grouping)")
    p = train(cfg, "data.group_by=", what="--set data.group_by=")
    check("positive class melanoma" in p.stdout, f"console names the positive class: {p.stdout[-300:]}")
    check("  group_by: \"\"\n" in read("runs/names/config.yaml"), "group_by saved empty")
    m = json.loads(read("runs/names/test_metrics.json"))
    check(m["class_names"] == ["benign", "melanoma"], f"test_metrics.json class names {m['class_names']}")
    pred = rows("runs/names/test_predictions.csv")
    check(pred[0][2:] == ["benign", "melanoma"] and {r[1] for r in pred[1:]} <= {"benign", "melanoma"},
          f"test_predictions.csv header {pred[0]}")
    p = run(["eval", cfg, "--set", "data.group_by="])
    check(p.returncode == 0 and "positive class: melanoma" in p.stdout and "MILK10k" not in p.stdout and
          "macro" not in p.stdout.split("{")[0], f"eval table: {p.stdout[:600]}")
    report = read("runs/names/report.html")
    check("melanoma" in report and "malignant" not in report and '"other"' not in report, "report class names")
    p = run(["train", cfg, "--quiet", "--set", "data.group_by=", "--set", "train.epochs="])
    check(p.returncode != 0 and "train.epochs: expected an integer" in p.stderr, f"--set train.epochs=: {p.stderr}")

    write_config("names-base", **base)
    with open(os.path.join(TMP, "names-study.yaml"), "w") as f:
        f.write("study:\n  name: namestudy\n  out_dir: runs\n  config: names-base.yaml\n  models: [image, meta]\n"
                "  seeds: [1]\n  baseline: image\n  bootstrap: 100\n  gradcam_samples: 0\n"
                "  sets: ['data.group_by=', train.max_steps=3]\n")
    p = run(["compare", "names-study.yaml"])
    check(p.returncode == 0, f"csv study: {(p.stdout + p.stderr)[-600:]}")
    if p.returncode == 0:
        md = read("runs/namestudy/results.md")
        check("MILK10k" not in md and "benign, melanoma" in read("runs/namestudy/report.html"),
              "study: no MILK10k label, the data's class names")


def test_config_keys():
    p = run(["config-keys"])
    check(p.returncode == 0 and "train.test_checkpoint" in p.stdout and "best" in p.stdout, "config-keys lists it")


def main():
    global TMP
    TMP = tempfile.mkdtemp(prefix="dermfuse-evalsplit-")
    try:
        make_data()
        test_split_sources()
        test_checkpoints()
        test_no_validation()
        test_class_names_and_groups()
        test_config_keys()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())

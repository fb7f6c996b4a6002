#!/usr/bin/env python3
"""End-to-end tests of the data rules through `dermfuse train` (data/layouts/datasets.h, data/table/meta.h,
train/session/run_data.h): each bad input is refused before training starts, with a message that names the
file, the line and what was expected; valid data still trains.
- a sample id in both the training and the validation file;
- a training or validation split without every class;
- an implausible or malformed number, text that is not UTF-8, a label spelled another way;
- an image path leading out of the image folder (refused; accepted with data.allow_outside_paths: true);
- a folder or a FIFO given as the CSV (refused at once, not waited on);
- `dermfuse config-keys` lists data.allow_outside_paths with its help.
Usage: test_data_rules.py DERMFUSE"""
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile

from checks import check, summary

DERMFUSE = os.path.abspath(sys.argv[1])


def run(tmp, args):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([DERMFUSE] + args, cwd=tmp, capture_output=True, text=True, env=env)


CONFIG = """run:
  name: {name}
  out_dir: runs
data:
  layout: isic
  split: {split}
  train_csv: {train}
  valid_csv: {valid}
  image_dir: {image_dir}
  image_size: 16
  workers: 1
  numeric: [age_approx]
  categorical: [sex]
model:
  fusion: {fusion}
  widths: [4]
  depth: [1]
  meta_hidden: [8]
train:
  epochs: 1
  batch_size: 8
  max_steps: 1
"""


def write_config(tmp, name, train, valid="''", split="published", fusion="meta", image_dir="''"):
    with open(os.path.join(tmp, name + ".yaml"), "w") as f:
        f.write(CONFIG.format(name=name, train=train, valid=valid, split=split, fusion=fusion, image_dir=image_dir))
    return name + ".yaml"


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write_rows(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def expect_error(tmp, cfg, what, *wants, sets=()):
    args = ["train", cfg, "--quiet"]
    for s in sets:
        args += ["--set", s]
    p = run(tmp, args)
    msg = p.stderr + p.stdout
    check(p.returncode != 0, f"{what}: exited 0")
    for w in wants:
        check(w in msg, f"{what}: message lacks {w!r}: {msg.strip()[-600:]}")


def main():
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="dermfuse-data-rules-"))
    try:
        p = run(tmp, ["synth", "--out", "data", "--n", "48", "--size", "16", "--seed", "2"])
        check(p.returncode == 0, f"synth failed: {p.stderr}")
        rows = read_rows(os.path.join(tmp, "data", "metadata.csv"))
        head, body = rows[0], rows[1:]
        col = {name: i for i, name in enumerate(head)}
        # train: rows 0..31, valid: rows 32..47 (both classes in each: synth alternates labels).
        write_rows(os.path.join(tmp, "train.csv"), [head] + body[:32])
        write_rows(os.path.join(tmp, "valid.csv"), [head] + body[32:])

        # Valid data trains (metadata only and with images).
        cfg = write_config(tmp, "ok", "train.csv", "valid.csv")
        p = run(tmp, ["train", cfg, "--quiet"])
        check(p.returncode == 0, f"valid data refused: {p.stderr.strip()[-600:]}")

        # A sample in both files: both lines named.
        dup = body[32:] + [body[5]]
        write_rows(os.path.join(tmp, "valid_dup.csv"), [head] + dup)
        cfg = write_config(tmp, "dup", "train.csv", "valid_dup.csv")
        expect_error(tmp, cfg, "id in two files", "valid_dup.csv:18", "train.csv:7", body[5][col["isic_id"]],
                     "training", "validation")

        # A training file with one class; a validation file with one class.
        one = [r for r in body if r[col["class"]] == "1"]
        write_rows(os.path.join(tmp, "train_one.csv"), [head] + one[:16])
        cfg = write_config(tmp, "one", "train_one.csv", "valid.csv")
        expect_error(tmp, cfg, "one-class training split", "train_one.csv", "training split", "class 'other'")
        zero = [r for r in body[32:] if r[col["class"]] == "0"]
        write_rows(os.path.join(tmp, "valid_one.csv"), [head] + zero)
        cfg = write_config(tmp, "vone", "train.csv", "valid_one.csv")
        expect_error(tmp, cfg, "one-class validation split", "valid_one.csv", "validation split",
                     "class 'malignant'")

        # Numbers, text and labels, each in the training file at data line 3 (file line 4).
        for name, column, value, wants in (
                ("age", "age_approx", "999", ["[0, 120]"]),
                ("hex", "age_approx", "0x1E", ["not a number"]),
                ("inf", "age_approx", "inf", ["not a number"]),
                ("label", "class", "1.00", ["column 'class'", "0, 1, 0.0, 1.0"]),
                ("sex", "sex", body[3][col["sex"]].upper(), ["spelled differently"])):
            bad = [list(r) for r in body[:32]]
            bad[2][col[column]] = value
            write_rows(os.path.join(tmp, f"train_{name}.csv"), [head] + bad)
            cfg = write_config(tmp, name, f"train_{name}.csv", "valid.csv")
            expect_error(tmp, cfg, f"bad {column} {value!r}", f"train_{name}.csv:", column, *wants)
        bad = [list(r) for r in body[:32]]
        bad[2][col["anatom_site_general"]] = "@LATIN1@"
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([head] + bad)
        with open(os.path.join(tmp, "train_latin1.csv"), "wb") as f:
            f.write(buf.getvalue().encode("utf-8").replace(b"@LATIN1@", b"caf\xe9"))
        cfg = write_config(tmp, "latin1", "train_latin1.csv", "valid.csv")
        expect_error(tmp, cfg, "Latin-1 text", "train_latin1.csv:4",
                     f"column {col['anatom_site_general'] + 1} ('anatom_site_general')", "UTF-8")

        # An image path out of the image folder; accepted when the config says so.
        shutil.copy(os.path.join(tmp, "data", "images", body[0][col["image"]]), os.path.join(tmp, "outside.jpg"))
        out = [list(r) for r in body[:32]]
        out[4][col["image"]] = "../../outside.jpg"
        write_rows(os.path.join(tmp, "data", "train_out.csv"), [head] + out)
        write_rows(os.path.join(tmp, "data", "valid.csv"), [head] + body[32:])
        cfg = write_config(tmp, "out", "data/train_out.csv", "data/valid.csv", fusion="image", image_dir="data/images")
        expect_error(tmp, cfg, "image outside the folder", "train_out.csv:6", "../../outside.jpg",
                     "data.allow_outside_paths: true")
        p = run(tmp, ["train", cfg, "--quiet", "--set", "data.allow_outside_paths=true"])
        check(p.returncode == 0, f"allow_outside_paths did not allow: {p.stderr.strip()[-600:]}")

        # A folder as the CSV.
        os.mkdir(os.path.join(tmp, "folder.csv"))
        cfg = write_config(tmp, "dir", "folder.csv", "valid.csv")
        expect_error(tmp, cfg, "folder as the CSV", "folder.csv", "not a regular file")
        os.mkfifo(os.path.join(tmp, "pipe.csv"))
        cfg = write_config(tmp, "fifo", "pipe.csv", "valid.csv")
        expect_error(tmp, cfg, "FIFO as the CSV", "pipe.csv", "not a regular file")

        p = run(tmp, ["config-keys"])
        line = [l for l in p.stdout.splitlines() if "data.allow_outside_paths" in l]
        check(len(line) == 1 and "bool" in line[0] and "false" in line[0] and "outside the image folder" in line[0],
              f"config-keys: {line}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())

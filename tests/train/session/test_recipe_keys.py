#!/usr/bin/env python3
"""End-to-end tests of the keys and tools for writing a training recipe exactly, through the dermfuse command,
on a small synthetic set:
- export-init writes the weights a run starts from: training from them (model.pretrained) gives the same
  checkpoint tensors as training without them; the same seed gives the same file, another seed another;
  late fusion is refused, naming its two models;
- show-batch --tensors writes the first batch as the model sees it: image (n, h, w, c), metadata (n, M) and
  targets (n), with the sample ids of the batch in its metadata, one per sample, all from the training file;
- model.pool none keeps a stage's map (the summary shows it), and avg adds a pooling node;
- the rules of the keys, each refused naming the key: milestones without the step schedule, model.pool with a
  resnet backbone, with the wrong number of stages or an unknown kind, an unknown model.init;
- train.milestones moves the logged learning rate at exactly those epochs (PyTorch's MultiStepLR);
- metrics.jsonl keeps the loss to nine significant digits; the progress line shows the step's loss beside the
  smoothed one; the keys added for recipes stay out of the saved config at their defaults and appear there when
  set.
Usage: test_recipe_keys.py DERMFUSE"""
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from checks import check, summary

DERMFUSE = os.path.abspath(sys.argv[1])

CONFIG = """run:
  name: {name}
  out_dir: runs
  seed: 3
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  image_size: 16
  workers: 2
  numeric: [age_approx]
  categorical: [sex]
model:
  fusion: {fusion}
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
train:
  epochs: 2
  batch_size: 16
"""


def run(tmp, args):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([DERMFUSE] + args, cwd=tmp, capture_output=True, text=True, env=env)


def tensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    return {k: (v["shape"], data[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in header.items()}, meta


def config(tmp, name, fusion="intermediate", extra=""):
    path = os.path.join(tmp, name + ".yaml")
    open(path, "w").write(CONFIG.format(name=name, fusion=fusion) + extra)
    return name + ".yaml"


def refused(tmp, cfg, sets, words, what):
    args = ["train", cfg, "--quiet"] + [a for s in sets for a in ("--set", s)]
    p = run(tmp, args)
    msg = p.stderr.strip()
    check(p.returncode == 1 and all(w in msg for w in words), f"{what}: exit {p.returncode}, {msg[-300:]!r}")


def test_export_init(tmp):
    cfg = config(tmp, "plain")
    p = run(tmp, ["export-init", cfg, "--out", "init.safetensors"])
    check(p.returncode == 0 and "wrote the initial weights" in p.stdout, "export-init: " + p.stderr[-300:])
    again = run(tmp, ["export-init", cfg, "--out", "again.safetensors"])
    other = run(tmp, ["export-init", cfg, "--out", "other.safetensors", "--set", "run.seed=4"])
    check(again.returncode == 0 and other.returncode == 0, "export-init again")
    a, meta = tensors(os.path.join(tmp, "init.safetensors"))
    check(a == tensors(os.path.join(tmp, "again.safetensors"))[0], "the same seed gives the same weights")
    check(a != tensors(os.path.join(tmp, "other.safetensors"))[0], "another seed gives other weights")
    check(not any(k.startswith("optim.") for k in a), "no optimizer moments in the initial weights")
    check(json.loads(meta["df.state"])["step"] == 0, "the state is at step 0")
    # Training from the exported weights is training from scratch: the same checkpoint tensors.
    check(run(tmp, ["train", cfg, "--quiet"]).returncode == 0, "train plain")
    init = os.path.join(tmp, "init.safetensors")
    p = run(tmp, ["train", config(tmp, "from_init"), "--quiet", "--set", f"model.pretrained={init}"])
    check(p.returncode == 0, "train from init: " + p.stderr[-300:])
    x = tensors(os.path.join(tmp, "runs", "plain", "last.safetensors"))[0]
    y = tensors(os.path.join(tmp, "runs", "from_init", "last.safetensors"))[0]
    check(x == y, "training from export-init's weights equals training from scratch")
    late = run(tmp, ["export-init", config(tmp, "late", "late"), "--out", "late.safetensors"])
    check(late.returncode == 1 and "model.fusion is late" in late.stderr, "export-init refuses late fusion")


def test_batch_tensors(tmp):
    cfg = config(tmp, "batch")
    p = run(tmp, ["show-batch", cfg, "--out", "b.png", "--tensors", "b.safetensors"])
    check(p.returncode == 0 and "its tensors to b.safetensors" in p.stdout, "show-batch --tensors: " + p.stderr)
    t, meta = tensors(os.path.join(tmp, "b.safetensors"))
    ids = json.loads(meta["df.ids"])
    check(t["input.image0"][0] == [16, 16, 16, 3], f"image shape {t['input.image0'][0]}")
    check(t["input.meta"][0] == [16, 5], f"meta shape {t['input.meta'][0]} (age, its missing flag, sex x3)")
    check(t["input.target"][0] == [16], "targets")
    train_ids = {r["isic_id"] for r in csv.DictReader(open(os.path.join(tmp, "data", "metadata.csv")))}
    check(len(ids) == 16 == len(set(ids)) and set(ids) <= train_ids, "one id per sample, from the data")
    check(meta["df.split"] == "train" and meta["df.batch"] == "0", "the batch is named")
    targets = struct.unpack("<16f", t["input.target"][1])
    check(all(v in (0.0, 1.0) for v in targets), "targets are class indices")


def test_pooling(tmp):
    p = run(tmp, ["train", config(tmp, "pool_none"), "--set", "model.pool=[max,none]", "--set", "train.epochs=1"])
    check(p.returncode == 0, "pool none: " + p.stderr[-300:])
    # 16 -> 8 after stage 1's max-pool; stage 2 keeps 8x8 (the summary's row: name, op, output shape, ...)
    rows = {line.split()[0]: line for line in p.stdout.splitlines() if line.startswith("image.stage")}
    check("(B, 8, 8, 8)" in rows.get("image.stage2.bn", ""), "stage 2 keeps its 8x8 map: " + str(rows))
    p = run(tmp, ["train", config(tmp, "pool_avg"), "--set", "model.pool=[avg,max]", "--set", "train.epochs=1"])
    check(p.returncode == 0 and "image.stage1.pool" in p.stdout, "pool avg adds image.stage1.pool")


def test_rules(tmp):
    cfg = config(tmp, "rules")
    refused(tmp, cfg, ["train.milestones=[2]"], ["train.milestones", "train.schedule"], "milestones with constant")
    refused(tmp, cfg, ["model.pool=[max,none]", "model.backbone=resnet"], ["model.pool", "resnet"], "pool resnet")
    refused(tmp, cfg, ["model.pool=[max]"], ["model.pool has 1 entries", "2 stages"], "pool count")
    refused(tmp, cfg, ["model.pool=[max,mean]"], ["model.pool[1]", "'mean'", "max, avg or none"], "pool kind")
    refused(tmp, cfg, ["model.init=xavier"], ["model.init", "xavier"], "unknown init")


def test_milestones(tmp):
    cfg = config(tmp, "steps")
    p = run(tmp, ["train", cfg, "--quiet", "--set", "train.schedule=step", "--set", "train.milestones=[2,3]",
                  "--set", "train.epochs=4", "--set", "train.lr=0.01", "--set", "train.gamma=0.5"])
    check(p.returncode == 0, "milestones: " + p.stderr[-300:])
    log = [json.loads(line) for line in open(os.path.join(tmp, "runs", "steps", "metrics.jsonl"))]
    # the logged rate is the last step's of each epoch: epochs 1-2 at 0.01, 3 at 0.005, 4 at 0.0025
    rates = [e["lr"] for e in log]
    check(all(abs(a - b) <= 1e-9 for a, b in zip(rates, [0.01, 0.01, 0.005, 0.0025])) and len(rates) == 4,
          f"rates {rates}")


def test_logs_and_saved_config(tmp):
    log = [json.loads(line) for line in open(os.path.join(tmp, "runs", "plain", "metrics.jsonl"))]
    digits = [len(repr(e["train_loss"]).replace("0.", "").lstrip("0")) for e in log]
    check(all(d >= 8 for d in digits), f"train_loss kept to nine digits: {[e['train_loss'] for e in log]}")
    p = run(tmp, ["train", config(tmp, "progress"), "--set", "train.epochs=1"])
    check("(smoothed " in p.stdout, "the progress line labels the smoothed loss")
    saved = open(os.path.join(tmp, "runs", "plain", "config.yaml")).read()
    check(all(k not in saved for k in ("pool:", "init:", "bn_momentum:", "beta1:", "milestones:", "decay_all:")),
          "keys at their defaults are left out of the saved config")
    p = run(tmp, ["train", config(tmp, "set_keys"), "--quiet", "--set", "model.init=pytorch", "--set",
                  "model.bn_momentum=0.01", "--set", "train.decay_all=true", "--set", "train.epochs=1"])
    saved = open(os.path.join(tmp, "runs", "set_keys", "config.yaml")).read()
    check(p.returncode == 0 and "init: pytorch" in saved and "bn_momentum: 0.01" in saved and
          "decay_all: true" in saved, "keys that are set are saved")


def main():
    tmp = tempfile.mkdtemp(prefix="dermfuse-recipe-keys-")
    try:
        p = run(tmp, ["synth", "--out", "data", "--n", "80", "--size", "16", "--seed", "2", "--signal", "0.8"])
        check(p.returncode == 0, "synth")
        test_export_init(tmp)
        test_batch_tensors(tmp)
        test_pooling(tmp)
        test_rules(tmp)
        test_milestones(tmp)
        test_logs_and_saved_config(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A fixed reference run whose output bytes are pinned: an intermediate-fusion run and a late-fusion run
(stacking) on a small generated dataset, trained with the portable GEMM, must give the best checkpoints and
test_predictions.csv recorded in reference_run.sha256; and a small study of the same data (image and late
fusion) must give the same analyses (feature separability, Grad-CAM heat-map index and overlays) and
metrics (results.csv without its timing columns). A refactoring that changes no behaviour keeps them;
anything that changes a single bit of training (an op's sum order, the batch order, an initialiser, the
checkpoint layout) shows here.

Why the portable GEMM: it is plain C compiled for the baseline CPU, and every other kernel a run reaches
with it gives the same bits on AVX2 and AVX-512 CPUs (layers/simd.h), so the digests hold on any x86-64
machine. The AVX-512 direct convolutions would change every product.

A checkpoint's JSON header is hashed without the saved config and the CRC (which covers the config text, and
which the loader checks on every read): the resolved config lists every key the schema has, so a new key
would change it without changing training, and it holds the absolute folder the test ran in. The config
this test writes is fixed above; every other header entry (state, RNG, encoder, architecture hash) and
every tensor byte is compared exactly.

Usage: test_reference_run.py DERMFUSE [--print]   (--print writes the digests instead of checking them)"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DERMFUSE = os.path.abspath(sys.argv[1])
PRINT = "--print" in sys.argv[2:]

CONFIG = """run:
  name: {name}
  out_dir: runs
  seed: 7
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  image_size: 32
  workers: 2
  numeric: [age_approx]
  categorical: [sex, anatom_site_general]
  hflip: true
  vflip: true
  rot90: true
  crop_scale_min: 0.6
  jitter: 0.1
model:
  fusion: {fusion}
  late_combine: stacking
  widths: [8, 16]
  depth: [1, 1]
  meta_hidden: [16]
  dropout: 0.2
train:
  epochs: 2
  batch_size: 16
  lr: 0.003
  weight_decay: 0.0001
  schedule: cosine
  warmup_epochs: 0.5
"""

STUDY = """study:
  name: study
  out_dir: runs
  config: inter.yaml
  models: [image, late]
  seeds: [1]
  baseline: image
  gradcam_samples: 20
  gradcam_overlays: 2
"""

OUTPUTS = ["inter/best.safetensors", "inter/last.safetensors", "inter/test_predictions.csv",
           "late/image/best.safetensors", "late/meta/best.safetensors", "late/test_predictions.csv",
           "study/analysis.csv", "study/results.csv", "study/gradcam/image-0.png", "study/gradcam/late-1.png"]


def run(tmp, args):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    p = subprocess.run([DERMFUSE] + args, cwd=tmp, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"FAIL: dermfuse {' '.join(args)} exited {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")


def digest(path):
    data = open(path, "rb").read()
    if path.endswith("results.csv"):  # all but train_seconds and images_per_second
        data = b"\n".join(b",".join(line.split(b",")[:-2]) for line in data.split(b"\n"))
    if path.endswith(".safetensors"):
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        meta = header["__metadata__"]
        del meta["df.checksum"]
        del meta["df.config"]
        data = json.dumps(header, sort_keys=True).encode() + data[8 + n:]
    return hashlib.sha256(data).hexdigest()


def main():
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="dermfuse-reference-"))
    try:
        run(tmp, ["synth", "--out", "data", "--n", "160", "--size", "32", "--seed", "3", "--signal", "0.8"])
        for name, fusion in (("inter", "intermediate"), ("late", "late")):
            with open(os.path.join(tmp, name + ".yaml"), "w") as f:
                f.write(CONFIG.format(name=name, fusion=fusion))
            run(tmp, ["train", name + ".yaml", "--quiet", "--gemm", "portable"])
        with open(os.path.join(tmp, "study.yaml"), "w") as f:
            f.write(STUDY)
        run(tmp, ["compare", "study.yaml", "--gemm", "portable"])
        got = {o: digest(os.path.join(tmp, "runs", o)) for o in OUTPUTS}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if PRINT:
        for o in OUTPUTS:
            print(f"{got[o]}  {o}")
        return 0
    want = {}
    for line in open(os.path.join(HERE, "reference_run.sha256")):
        if line.strip() and not line.startswith("#"):
            h, o = line.split()
            want[o] = h
    bad = [o for o in OUTPUTS if want.get(o) != got[o]]
    for o in bad:
        print(f"FAIL: {o}: sha256 {got[o]}, the reference is {want.get(o, 'missing')}", file=sys.stderr)
    print(f"{len(OUTPUTS) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

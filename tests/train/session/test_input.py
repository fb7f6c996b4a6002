#!/usr/bin/env python3
"""End-to-end tests of the image input keys (data.channels, data.normalize, data.mean, data.std;
train/session/run_input.h) through the dermfuse command, on a small data set of gray PNGs written here:
- data.channels auto on gray images gives a 1-channel model: the summary shows input.image0 with 1 channel
  and the early-fusion concat with 1 + M planes; input.json and the checkpoint's df.input record it;
- data.normalize dataset stores the training split's mean and std (equal to the pixels' own, computed here),
  and `eval` / `predict` of the run reproduce test_metrics.json and test_predictions.csv exactly;
- show-batch draws the gray run; a forced 3-channel run on the same images keeps its own image cache;
- bad combinations are refused naming the key: given without mean/std, mean/std with another mode, a
  list of the wrong length, std <= 0, eval with another channel count or normalisation than the run's;
- a 1-channel model initialised from a 3-channel checkpoint names both shapes.
Usage: test_input.py DERMFUSE"""
import csv
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

from checks import check, summary

DERMFUSE = os.path.abspath(sys.argv[1])
SIDE = 16


def run(tmp, args):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([DERMFUSE] + args, cwd=tmp, capture_output=True, text=True, env=env)


def write_gray_png(path, pixels):
    """An 8-bit gray PNG (colour type 0), rows unfiltered."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + bytes(pixels[y * SIDE:(y + 1) * SIDE]) for y in range(SIDE))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", SIDE, SIDE, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def gray_image(label, k):
    """A bright disc for class 1, a dim one for class 0, on a background that varies by image."""
    px = []
    for y in range(SIDE):
        for x in range(SIDE):
            r = math.hypot(x - 7.5, y - 7.5)
            v = (200 if label else 90) if r < 5 else 30 + (7 * k + 3 * x + 5 * y) % 40
            px.append(v)
    return px


CONFIG = """run:
  name: {name}
  out_dir: runs
  seed: 5
data:
  layout: isic
  split: holdout
  train_csv: {data}/metadata.csv
  image_dir: {data}/images
  image_size: 16
  workers: 2
  numeric: [age_approx]
  categorical: [sex]
{extra}model:
  fusion: {fusion}
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
train:
  epochs: 2
  batch_size: 8
"""


def write_config(tmp, name, extra="", fusion="early", data="gray"):
    with open(os.path.join(tmp, name + ".yaml"), "w") as f:
        f.write(CONFIG.format(name=name, extra="".join(f"  {line}\n" for line in extra.splitlines()), fusion=fusion,
                              data=data))
    return name + ".yaml"


def checkpoint_meta(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]).get("__metadata__", {})


def expect_error(tmp, args, what, *wants):
    p = run(tmp, args)
    msg = p.stderr + p.stdout
    check(p.returncode != 0, f"{what}: exited 0")
    for w in wants:
        check(w in msg, f"{what}: message lacks {w!r}: {msg.strip()[-500:]}")


def gray_dataset(tmp):
    """`dermfuse synth`'s metadata with gray images of our own; returns the pixels of every image by file name."""
    p = run(tmp, ["synth", "--out", "rgb", "--n", "48", "--size", str(SIDE), "--seed", "2", "--format", "png",
                  "--no-hair"])
    check(p.returncode == 0, f"synth: {p.stderr}")
    os.makedirs(os.path.join(tmp, "gray", "images"))
    shutil.copy(os.path.join(tmp, "rgb", "metadata.csv"), os.path.join(tmp, "gray", "metadata.csv"))
    shutil.copytree(os.path.join(tmp, "rgb", "masks"), os.path.join(tmp, "gray", "masks"))
    pixels = {}
    with open(os.path.join(tmp, "gray", "metadata.csv"), newline="") as f:
        for k, row in enumerate(csv.DictReader(f)):
            px = gray_image(int(row["class"]), k)
            write_gray_png(os.path.join(tmp, "gray", "images", row["image"]), px)
            pixels[row["image"]] = px
    return pixels


def main():
    tmp = tempfile.mkdtemp(prefix="dermfuse-input-")
    try:
        pixels = gray_dataset(tmp)
        # auto on gray images, dataset statistics, early fusion
        cfg = write_config(tmp, "gray", "normalize: dataset")
        p = run(tmp, ["train", cfg])
        check(p.returncode == 0, f"gray run trained: {p.stderr[-800:]}")
        out = p.stdout
        image_in = [line for line in out.splitlines() if line.startswith("input.image0")]
        check(image_in and "(B, 16, 16, 1)" in image_in[0], f"summary shows a 1-channel image input: {image_in}")
        check("data.normalize dataset:" in out, "the dataset statistics are printed")
        rd = os.path.join(tmp, "runs", "gray")
        stored = json.load(open(os.path.join(rd, "input.json")))
        check(stored["channels"] == 1 and stored["normalize"] == "dataset", f"input.json: {stored}")
        check(len(stored["mean"]) == 1 and len(stored["std"]) == 1, "one mean and one std")
        meta = checkpoint_meta(os.path.join(rd, "best.safetensors"))
        check(json.loads(meta.get("df.input", "{}")) == stored, "the checkpoint's df.input is input.json")
        # The training split's own statistics: its images unchanged by the 16 -> 16 evaluation transform.
        ids = [line.split(",")[0] for line in open(os.path.join(rd, "test_predictions.csv")).read().splitlines()[1:]]
        check(len(ids) > 0, "test predictions written")
        # every image, less the test and validation splits (identified through the predictions of each)
        p = run(tmp, ["predict", cfg, "--split", "valid", "--out", "valid.csv"])
        check(p.returncode == 0, f"predict valid: {p.stderr}")
        held = set(ids) | {line.split(",")[0] for line in open(os.path.join(tmp, "valid.csv")).read().splitlines()[1:]}
        train = [px for name, px in pixels.items() if name.rsplit(".", 1)[0] not in held]
        flat = [v / 255.0 for px in train for v in px]
        mean = sum(flat) / len(flat)
        std = math.sqrt(sum((v - mean) ** 2 for v in flat) / len(flat))
        check(abs(stored["mean"][0] - mean) < 1e-5 and abs(stored["std"][0] - std) < 1e-5,
              f"dataset statistics {stored['mean']} {stored['std']}, the pixels' own {mean:.7f} {std:.7f}")
        # the early-fusion concat has 1 + M planes (M: the encoded metadata's width, from the meta input)
        concat = [line for line in out.splitlines() if "early0.concat" in line]
        metain = [line for line in out.splitlines() if "input.meta" in line]
        m = int(metain[0].split("(B, ")[1].split(")")[0]) if metain else -1
        check(m > 0 and concat and f"(B, 16, 16, {1 + m})" in concat[0], f"early concat of 1 + M planes: {concat} {metain}")

        # eval and predict reproduce the run's test results exactly
        p = run(tmp, ["eval", cfg])
        check(p.returncode == 0, f"eval: {p.stderr}")
        got = json.loads(p.stdout[p.stdout.index("{"):p.stdout.rindex("}") + 1]) if "{" in p.stdout else {}
        want = json.load(open(os.path.join(rd, "test_metrics.json")))
        same = [k for k in got if k in want]
        check(len(same) > 3 and all(got[k] == want[k] for k in same), f"eval reproduces test_metrics.json: {got} {want}")
        p = run(tmp, ["predict", cfg, "--out", "test.csv"])
        check(p.returncode == 0 and open(os.path.join(tmp, "test.csv")).read() ==
              open(os.path.join(rd, "test_predictions.csv")).read(), "predict reproduces test_predictions.csv")
        p = run(tmp, ["show-batch", cfg, "--split", "valid", "--out", "batch.png"])
        check(p.returncode == 0 and os.path.exists(os.path.join(tmp, "batch.png")), f"show-batch: {p.stderr}")

        # the stored input cannot change under the trained checkpoint
        expect_error(tmp, ["eval", cfg, "--set", "data.channels=3"], "eval with 3 channels",
                     "data.channels is 3", "1 input channels", "input.json")
        expect_error(tmp, ["eval", cfg, "--set", "data.normalize=imagenet"], "eval with imagenet",
                     "data.normalize is 'imagenet'", "'dataset'")

        # a forced RGB run on the same gray images: 3 channels, its own cache file beside the gray one
        p = run(tmp, ["train", write_config(tmp, "gray3", "channels: 3"), "--quiet"])
        check(p.returncode == 0, f"3-channel run on gray images: {p.stderr[-500:]}")
        check(json.load(open(os.path.join(tmp, "runs", "gray3", "input.json")))["channels"] == 3, "forced 3 channels")
        caches = os.listdir(os.path.join(tmp, "runs", "cache"))
        check(len([c for c in caches if c.endswith("-gray.dfcache")]) == 1 and
              len([c for c in caches if not c.endswith("-gray.dfcache")]) == 1, f"one gray and one RGB cache: {caches}")

        # auto on colour images: 3 channels, and the default input leaves no df.input in the checkpoint
        p = run(tmp, ["train", write_config(tmp, "rgb", "", "image", "rgb"), "--quiet"])
        check(p.returncode == 0, f"rgb run: {p.stderr[-500:]}")
        meta = checkpoint_meta(os.path.join(tmp, "runs", "rgb", "best.safetensors"))
        check("df.input" not in meta and "channels" not in meta.get("df.config", "x"),
              "a default input adds nothing to the checkpoint or the saved config")
        # a gray model from 3-channel weights
        expect_error(tmp, ["train", write_config(tmp, "pre", "", "image"), "--quiet", "--set",
                           "model.pretrained=runs/rgb/best.safetensors"], "gray model, RGB weights",
                     "'image.stage1.conv.weight' is [4, 3, 3, 3]", "(4, 3, 3, 1)", "1 channel (data.channels)")

        # bad combinations, each naming the key
        bad = [("normalize: given", "given without mean/std", "data.mean is missing"),
               ("normalize: given\nmean: [0.5]", "given without std", "data.std is missing"),
               ("mean: [0.5]", "mean with imagenet", "data.mean is given but data.normalize is 'imagenet'"),
               ("normalize: dataset\nstd: [0.5]", "std with dataset", "data.std is given but data.normalize is 'dataset'"),
               ("channels: 1\nnormalize: given\nmean: [0.5, 0.5, 0.5]\nstd: [0.2, 0.2, 0.2]", "3 values for 1 channel",
                "data.mean has 3 values but data.channels is 1"),
               ("normalize: given\nmean: [0.5, 0.5]\nstd: [0.2, 0.2]", "2 values", "data.mean has 2 values"),
               ("normalize: given\nmean: [0.5]\nstd: [0]", "std 0", "data.std"),
               ("normalize: given\nmean: [0.5, 0.4, 0.3]\nstd: [0.2, 0.2, 0.2]", "3 values, auto found gray",
                "have 3 values but the input has 1 channels"),
               ("channels: 2", "channels 2", "data.channels")]
        for i, (extra, what, want) in enumerate(bad):
            expect_error(tmp, ["train", write_config(tmp, f"bad{i}", extra), "--quiet"], what, want)
        p = run(tmp, ["train", write_config(tmp, "given", "channels: 1\nnormalize: given\nmean: [0.3]\nstd: [0.25]"),
                      "--quiet", "--set", "train.max_steps=1"])
        check(p.returncode == 0, f"given with one value per channel trains: {p.stderr[-300:]}")
        given = json.load(open(os.path.join(tmp, "runs", "given", "input.json")))
        check(given.get("channels") == 1 and given.get("normalize") == "given" and
              abs(given["mean"][0] - 0.3) < 1e-7 and given["std"] == [0.25], f"given stored: {given}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())

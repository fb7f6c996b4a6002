#!/usr/bin/env python3
"""End-to-end tests of `dermfuse` runs on a small generated dataset:
- every fusion mode trains from a config and writes its test results;
- a run interrupted (SIGINT, SIGKILL, or stopped after k steps) and resumed ends with checkpoint files
  byte-identical to a run that never stopped;
- a finished run says so; a damaged checkpoint or a changed architecture is refused with a clear message;
- config errors name file:line:column;
- a saved checkpoint parses with a standard-library safetensors reader.
Usage: test_runs.py DERMFUSE SOURCE_ROOT"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

from checks import check, summary

DERMFUSE, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])


def run(args, env=None, expect=0):
    e = dict(os.environ, OMP_NUM_THREADS="2")
    if env:
        e.update(env)
    p = subprocess.run([DERMFUSE] + args, capture_output=True, text=True, env=e)
    if expect is not None and p.returncode != expect:
        print(p.stdout[-3000:], p.stderr[-3000:], file=sys.stderr)
    check(expect is None or p.returncode == expect, f"dermfuse {' '.join(args)} exited {p.returncode}, expected {expect}")
    return p


def write_config(tmp, name, fusion, extra=""):
    path = os.path.join(tmp, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(f"""base: {ROOT}/configs/common/isic-metadata.yaml
run:
  name: {name}
  out_dir: {tmp}/runs
  seed: 5
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  image_size: 32
  workers: 2
model:
  fusion: {fusion}
  widths: [8, 16]
  depth: [1, 1]
  meta_hidden: [16]
  dropout: 0.2
train:
  epochs: 2
  batch_size: 16
  lr: 0.003
  warmup_epochs: 0.5
{extra}""")
    return path


def files_equal(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    for name, t in header.items():
        b, e = t["data_offsets"]
        count = 1
        for d in t["shape"]:
            count *= d
        check(t["dtype"] == "F32" and e - b == 4 * count and e <= len(data), f"tensor {name} well formed")
    return header, meta


def rewrite_metadata(path, changes):
    """Rewrites a safetensors file with metadata entries changed and df.checksum dropped."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.setdefault("__metadata__", {})
    meta.pop("df.checksum", None)
    meta.update(changes)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main():
    tmp = tempfile.mkdtemp(prefix="dermfuse-runs-")
    try:
        os.chdir(tmp)
        run(["synth", "--out", "data", "--n", "240", "--size", "40", "--seed", "2", "--signal", "0.8"])

        # Every fusion mode trains and reports on its test split.
        for fusion in ["image", "meta", "early", "intermediate", "gated", "film", "cross_attention", "late"]:
            cfg = write_config(tmp, f"m-{fusion}", fusion)
            p = run(["train", cfg, "--quiet"])
            check("test (" in p.stdout or "late fusion" in p.stdout, f"{fusion}: test line printed")
            if fusion != "late":  # the run's report.html, rewritten after every epoch and at the end
                rep = os.path.join(tmp, "runs", f"m-{fusion}", "report.html")
                html = open(rep).read() if os.path.exists(rep) else ""
                check("<svg" in html and "run in progress" not in html, f"{fusion}: report.html of the finished run")
            res = os.path.join(tmp, "runs", f"m-{fusion}", "test_metrics.json")
            check(os.path.exists(res), f"{fusion}: {res} written")
            if os.path.exists(res):
                m = json.load(open(res))
                check(0.0 <= m.get("accuracy", -1) <= 1.0, f"{fusion}: accuracy in test_metrics.json")

        # A finished run says so when resumed.
        p = run(["train", write_config(tmp, "m-image", "image"), "--resume", "--quiet"])
        check("already finished" in p.stdout, "finished run says it is finished")
        # A fresh run refuses to overwrite a finished one.
        p = run(["train", write_config(tmp, "m-image", "image"), "--quiet"], expect=1)
        check("already holds a run" in p.stderr, "fresh run over an existing one refused")

        # Exact resume: straight vs interrupted after k steps (the SIGINT path) and resumed.
        straight = write_config(tmp, "straight", "intermediate", "  checkpoint_every: 1\n")
        run(["train", straight, "--quiet"])
        for k in (3, 11):
            cfg = write_config(tmp, f"stopped{k}", "intermediate", "  checkpoint_every: 1\n")
            p = run(["train", cfg, "--quiet"], env={"DERMFUSE_STOP_AFTER_STEPS": str(k)})
            check("stopped at" in p.stdout, f"stop after {k} steps reported")
            run(["train", cfg, "--quiet", "--resume"])
            for f in ("last.safetensors", "best.safetensors"):
                a = os.path.join(tmp, "runs", "straight", f)
                b = os.path.join(tmp, "runs", f"stopped{k}", f)
                # The run name is part of the saved config text, so compare with the name swapped.
                check(same_but_name(a, b, "straight", f"stopped{k}"), f"{f} identical after stop at {k} + resume")

        # Real signals: SIGINT and SIGTERM write a checkpoint and exit 130 and 143 (the shell's status for each);
        # SIGKILL loses at most the steps since the last checkpoint. All then resume to the same bytes.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            name = f"sig{int(sig)}"
            cfg = write_config(tmp, name, "intermediate", "  checkpoint_every: 1\n")
            proc = subprocess.Popen([DERMFUSE, "train", cfg, "--quiet"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=dict(os.environ, OMP_NUM_THREADS="2"))
            last = os.path.join(tmp, "runs", name, "last.safetensors")
            deadline = time.time() + 60
            while not os.path.exists(last) and time.time() < deadline and proc.poll() is None:
                time.sleep(0.02)
            proc.send_signal(sig)
            out, _ = proc.communicate(timeout=60)
            if sig != signal.SIGKILL:
                check(proc.returncode == 128 + int(sig) and b"stopped at" in out,
                      f"{sig.name}: clean stop (exit {proc.returncode})")
            else:
                check(proc.returncode == -signal.SIGKILL, f"SIGKILL: killed mid-run (exit {proc.returncode})")
            p = run(["train", cfg, "--quiet", "--resume"])
            check(f"resuming {tmp}/runs/{name} at epoch " in p.stdout, f"resume says where it goes on: {p.stdout[:300]}")
            for f in ("last.safetensors", "best.safetensors"):
                check(same_but_name(os.path.join(tmp, "runs", "straight", f), os.path.join(tmp, "runs", name, f),
                                    "straight", name), f"{f} identical after {sig.name} + resume")

        # --resume without a checkpoint is refused; a changed key other than epochs is refused on resume.
        p = run(["train", write_config(tmp, "never", "image"), "--resume", "--quiet"], expect=1)
        check(f"nothing to resume in {tmp}/runs/never: no last.safetensors" in p.stderr, f"nothing to resume: {p.stderr}")
        p = run(["train", straight, "--resume", "--quiet", "--set", "train.lr=0.1"], expect=1)
        check("lr: 0.003" in p.stderr and "lr: 0.1" in p.stderr, f"changed lr refused on resume: {p.stderr}")

        # A finished run extended by epochs equals a straight run (constant schedule: the lr does not depend on
        # the total); each epoch's images_per_second is that epoch's own.
        const = "  schedule: constant\n"
        run(["train", write_config(tmp, "three", "intermediate", const), "--quiet", "--set", "train.epochs=3"])
        ext = write_config(tmp, "extended", "intermediate", const)
        run(["train", ext, "--quiet"])
        p = run(["train", ext, "--quiet", "--resume", "--set", "train.epochs=3"])
        check("resuming " in p.stdout and "at epoch 3, step " in p.stdout, f"extension resumes at epoch 3: {p.stdout[:300]}")
        check(same_but_name(os.path.join(tmp, "runs", "three", "last.safetensors"),
                            os.path.join(tmp, "runs", "extended", "last.safetensors"), "three", "extended"),
              "2 epochs extended to 3 equal 3 straight epochs")
        rows = open(os.path.join(tmp, "runs", "extended", "metrics.csv")).read().splitlines()
        check(len(rows) == 4 and all(float(r.split(",")[-2]) > 0 for r in rows[1:]), f"three epochs logged: {rows}")
        check(p.stdout.count(" auc ") == 0 and "AUC" in p.stdout, "the monitored AUC is printed once")

        # The checkpoint is readable by a plain safetensors parser and holds names and state.
        header, meta = read_safetensors(os.path.join(tmp, "runs", "straight", "last.safetensors"))
        check("image.stage1.conv.weight" in header and "optim.m.image.stage1.conv.weight" in header,
              "weights and optimizer moments stored by name")
        check(json.loads(meta.get("df.state", "{}")).get("finished") is True, "state says finished")
        p = run(["inspect", os.path.join(tmp, "runs", "straight", "last.safetensors")])
        check("image.stage1.bn.running_mean" in p.stdout, "inspect lists tensors")

        # Damaged checkpoints and a changed architecture are refused.
        src = os.path.join(tmp, "runs", "straight")
        for damage in ("truncate", "flip"):
            name = f"bad-{damage}"
            dst = os.path.join(tmp, "runs", name)
            shutil.copytree(src, dst)
            last = os.path.join(dst, "last.safetensors")
            blob = bytearray(open(last, "rb").read())
            if damage == "truncate":
                blob = blob[: len(blob) // 2]
            else:
                blob[-100] ^= 0x10
            open(last, "wb").write(bytes(blob))
            p = run(["train", write_config(tmp, name, "intermediate"), "--resume", "--quiet"], expect=1)
            check("last.safetensors" in p.stderr, f"{damage}: message names the file ({p.stderr.strip()[:200]})")
        # Another tool's file (df.format changed, df.checksum dropped as a rewriting tool must) is named as such.
        dst = os.path.join(tmp, "runs", "bad-format")
        shutil.copytree(src, dst)
        rewrite_metadata(os.path.join(dst, "last.safetensors"), {"df.format": "other.format.v9"})
        p = run(["train", write_config(tmp, "bad-format", "intermediate"), "--resume", "--quiet"], expect=1)
        check("not a dermfuse checkpoint (df.format is other.format.v9" in p.stderr,
              f"another format refused, naming it ({p.stderr.strip()[:300]})")
        dst = os.path.join(tmp, "runs", "bad-arch")
        shutil.copytree(src, dst)
        os.remove(os.path.join(dst, "last.safetensors"))
        shutil.copy(os.path.join(src, "best.safetensors"), os.path.join(dst, "last.safetensors"))
        cfg = write_config(tmp, "bad-arch", "intermediate")
        p = run(["train", cfg, "--resume", "--quiet", "--set", "model.widths=[8, 24]"], expect=1)
        check("different architecture" in p.stderr and "image.stage2" in p.stderr,
              f"architecture change refused, naming the tensor ({p.stderr.strip()[:300]})")

        # Config errors name file:line:column.
        bad = os.path.join(tmp, "typo.yaml")
        open(bad, "w").write("run:\n  name: x\ndata:\n  layout: isic\n  train_csv: data/metadata.csv\n"
                             "model:\n  fusion: meta\ntrain:\n  optimiser: adam\n")
        p = run(["train", bad], expect=1)
        check(f"{bad}:9:3" in p.stderr and "optimizer" in p.stderr, f"typo names line and suggestion: {p.stderr.strip()}")
        for text, where, what in (("  epochs: ten\n", ":9:11", "integer"), ("  batch_size: 32\n  lr: fast\n", ":10:7", "number")):
            wrong = os.path.join(tmp, "wrong-type.yaml")
            open(wrong, "w").write("run:\n  name: x\ndata:\n  layout: isic\n  train_csv: data/metadata.csv\n"
                                   "model:\n  fusion: meta\ntrain:\n" + text)
            p = run(["train", wrong], expect=1)
            check(f"{wrong}{where}" in p.stderr and what in p.stderr, f"wrong type named: {p.stderr.strip()}")
        missing = os.path.join(tmp, "missing.yaml")
        open(missing, "w").write("run:\n  name: x\ndata:\n  layout: isic\n  train_csv: nowhere.csv\n"
                                 "model:\n  fusion: meta\n")
        p = run(["train", missing], expect=1)
        check(f"{missing}:5:14" in p.stderr and "nowhere.csv" in p.stderr, f"missing file named: {p.stderr.strip()}")
        p = run(["train", write_config(tmp, "neg", "meta"), "--set", "train.lr=-0.1"], expect=1)
        check("train.lr=-0.1" in p.stderr and ">" in p.stderr, f"negative lr refused: {p.stderr.strip()}")

        check_pretrained(tmp)

        # A study with supervised and transfer variants of a model, and an entry it does not know.
        study = os.path.join(tmp, "study.yaml")
        src = os.path.join(tmp, "runs", "m-image", "best.safetensors")
        with open(study, "w") as f:
            f.write(f"""study:
  name: st
  out_dir: {tmp}/runs
  config: {write_config(tmp, "study-base", "image")}
  models: [image, image+transfer]
  transfer_sets: [model.pretrained={src}, "model.pretrained_include=[image]", model.freeze_epochs=1]
  bootstrap: 100
  gradcam_samples: 8
""")
        run(["compare", study])
        rows = open(os.path.join(tmp, "runs", "st", "results.csv")).read().splitlines()
        check(any(r.startswith("image+transfer,") for r in rows), "transfer variant in the study's results")
        bad = study.replace(".yaml", "-bad.yaml")
        open(bad, "w").write(open(study).read().replace("image+transfer]", "image+finetune]"))
        p = run(["compare", bad], expect=1)
        check("image+finetune" in p.stderr, f"unknown study entry named: {p.stderr.strip()[:200]}")

        # eval and predict on a finished run.
        p = run(["eval", write_config(tmp, "m-gated", "gated")])
        check('"auc"' in p.stdout, "eval prints JSON metrics")
        out = os.path.join(tmp, "pred.csv")
        run(["predict", write_config(tmp, "m-late", "late"), "--out", out])
        lines = open(out).read().splitlines() if os.path.exists(out) else []
        check(len(lines) > 10 and lines[0].startswith("id,label,"), "predict writes a CSV per sample")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(summary())


def write_safetensors(path, tensors):
    """tensors: name -> (shape, list of floats), written as F32 per the format's specification."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def tensor_values(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    b, e = header[name]["data_offsets"]
    return list(struct.unpack(f"<{(e - b) // 4}f", data[b:e]))


def check_pretrained(tmp):
    # An image run's weights initialise the image branch of a fusion model and stay frozen.
    src = os.path.join(tmp, "runs", "m-image", "best.safetensors")
    cfg = write_config(tmp, "pre-dermfuse", "intermediate", "")
    p = run(["train", cfg, "--set", f"model.pretrained={src}", "--set", "model.freeze_epochs=2"], expect=1)
    check("logits.weight" in p.stderr, f"a head of another shape is refused, not re-initialised: {p.stderr.strip()}")
    p = run(["train", cfg, "--set", f"model.pretrained={src}", "--set", "model.freeze_epochs=2",
             "--set", "model.pretrained_include=[image]", "--set", "run.name=pre-dermfuse"])
    check("initialised" in p.stdout, "pretrained tensors reported")
    out = os.path.join(tmp, "runs", "pre-dermfuse", "last.safetensors")
    for name in ("image.stage1.conv.weight", "image.stage2.bn.weight"):
        check(tensor_values(out, name) == tensor_values(src, name), f"{name} loaded and kept frozen")
    check(tensor_values(out, "meta.fc1.weight") != tensor_values(
        os.path.join(tmp, "runs", "m-meta", "best.safetensors"), "meta.fc1.weight"), "meta branch trained")
    # A shape that differs is an error naming both shapes.
    cfg = write_config(tmp, "pre-bad", "image", "")
    p = run(["train", cfg, "--set", f"model.pretrained={src}", "--set", "model.widths=[8, 24]"], expect=1)
    check("'image.stage2." in p.stderr and "(24" in p.stderr and "[16" in p.stderr,
          f"shape mismatch names the tensor and both shapes: {p.stderr.strip()}")

    # A torchvision-style ResNet state dict: names mapped, convolution weights permuted to (O, KH, KW, I).
    def values(n, scale):
        return [scale * ((i * 7919) % 101 - 50) / 50.0 for i in range(n)]
    tv = {"conv1.weight": ([8, 3, 7, 7], values(8 * 3 * 49, 0.1)), "bn1.weight": ([8], values(8, 1.0)),
          "bn1.bias": ([8], values(8, 0.5)), "bn1.running_mean": ([8], values(8, 0.1)),
          "bn1.running_var": ([8], [1.5] * 8), "fc.weight": ([1000, 16], [0.0] * 16000)}
    for blk, (cin, cout) in (("layer1.0", (8, 8)), ("layer2.0", (8, 16))):
        tv[f"{blk}.conv1.weight"] = ([cout, cin, 3, 3], values(cout * cin * 9, 0.05))
        tv[f"{blk}.conv2.weight"] = ([cout, cout, 3, 3], values(cout * cout * 9, 0.05))
        for bn in ("bn1", "bn2"):
            tv[f"{blk}.{bn}.weight"] = ([cout], values(cout, 1.0))
            tv[f"{blk}.{bn}.bias"] = ([cout], values(cout, 0.2))
    tv["layer2.0.downsample.0.weight"] = ([16, 8, 1, 1], values(128, 0.1))
    tv["layer2.0.downsample.1.weight"] = ([16], values(16, 1.0))
    path = os.path.join(tmp, "resnet-tv.safetensors")
    write_safetensors(path, tv)
    cfg = write_config(tmp, "pre-tv", "image", "")
    p = run(["train", cfg, "--set", f"model.pretrained={path}", "--set", "model.pretrained_format=torchvision",
             "--set", "model.backbone=resnet", "--set", "model.stem_width=8", "--set", "model.freeze_epochs=2"])
    out = os.path.join(tmp, "runs", "pre-tv", "last.safetensors")
    if os.path.exists(out):
        got = tensor_values(out, "image.stem.conv.weight")
        src_w = tv["conv1.weight"][1]
        # dermfuse (o, y, x, i) = torchvision (o, i, y, x)
        ok = all(abs(got[((o * 7 + y) * 7 + x) * 3 + i] - src_w[((o * 3 + i) * 7 + y) * 7 + x]) < 1e-6
                 for o in range(8) for i in range(3) for y in range(7) for x in range(7))
        check(ok, "torchvision conv1 permuted into image.stem.conv")
        check(tensor_values(out, "image.stage2.block1.down.conv.weight") ==
              [struct.unpack("<f", struct.pack("<f", v))[0] for v in tv["layer2.0.downsample.0.weight"][1]],
              "downsample mapped")


def same_but_name(a, b, name_a, name_b):
    """Checkpoints of two runs are identical except for the run name inside the saved config (and the
    checksum that covers it): compare tensors byte for byte and metadata with the name swapped."""
    if not (os.path.exists(a) and os.path.exists(b)):
        return False
    ha, ma = read_safetensors(a)
    hb, mb = read_safetensors(b)
    da, db = open(a, "rb").read(), open(b, "rb").read()
    na, nb = struct.unpack("<Q", da[:8])[0], struct.unpack("<Q", db[:8])[0]
    if da[8 + na:] != db[8 + nb:] or ha != hb:
        return False
    ma.pop("df.checksum", None)
    mb.pop("df.checksum", None)
    ma["df.config"] = ma.get("df.config", "").replace(name_a, name_b)
    return ma == mb


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What a run does not trust, end to end through `dermfuse`:
- a checkpoint whose checksum is valid but whose state is impossible (epoch, batch, step, best epoch, optimizer
  steps) or whose tensors hold NaN or absurd values is refused by resume and by eval, naming the file and field;
- a resume whose config has fewer epochs than the checkpoint has done is refused, naming train.epochs; a run
  whose folder another process holds locked is refused at once;
- run and study names are plain names: nothing is written outside run.out_dir; a study lists a model or
  seed once;
- a config whose model and batch cannot fit in memory is refused before anything is allocated or written,
  naming the keys that size it;
- eval --checkpoint FILE reads FILE where the user is, and is refused for a late-fusion run.
Usage: test_untrusted_inputs.py DERMFUSE SOURCE_ROOT"""
import fcntl
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

from checks import check, summary

DERMFUSE, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])


def run(args, expect=0, cwd=None):
    p = subprocess.run([DERMFUSE] + args, capture_output=True, text=True, cwd=cwd,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    if expect is not None and p.returncode != expect:
        print(p.stdout[-2000:], p.stderr[-2000:], file=sys.stderr)
    check(expect is None or p.returncode == expect, f"dermfuse {' '.join(args)} exited {p.returncode}, expected {expect}")
    return p


def expect_error(args, phrases, what, status=1, cwd=None):
    p = run(args, expect=status, cwd=cwd)
    for phrase in phrases:
        check(phrase in p.stderr, f"{what}: '{phrase}' in: {p.stderr.strip()[:600]}")
    return p


def write_config(tmp, name, fusion="meta", extra="", run_extra=""):
    path = os.path.join(tmp, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(f"""base: {ROOT}/configs/common/isic-metadata.yaml
run:
  name: {name}
  out_dir: {tmp}/runs
  seed: 3
{run_extra}data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  image_size: 24
  workers: 1
model:
  fusion: {fusion}
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
train:
  epochs: 3
  batch_size: 16
  lr: 0.003
{extra}""")
    return path


def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    return header, data


def write_st(path, header, data):
    """Writes header and data with a freshly computed df.checksum, as a crafted file would have."""
    meta = header["__metadata__"]
    meta["df.checksum"] = "crc32:00000000"
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    crc = zlib.crc32(bytes(data), zlib.crc32(text)) & 0xFFFFFFFF
    text = text.replace(b"crc32:00000000", b"crc32:%08x" % crc)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(data))


def crafted_run(tmp, base_dir, name, change):
    """A copy of the run in base_dir whose last.safetensors is passed through change(header, data)."""
    dst = os.path.join(tmp, "runs", name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(base_dir, dst)
    path = os.path.join(dst, "last.safetensors")
    header, data = read_st(path)
    change(header, data)
    write_st(path, header, data)
    return path


def set_state(**fields):
    def change(header, data):
        state = json.loads(header["__metadata__"]["df.state"])
        state.update(fields)
        header["__metadata__"]["df.state"] = json.dumps(state)
    return change


def set_value(name, value):
    def change(header, data):
        b = header[name]["data_offsets"][0]
        data[b:b + 4] = struct.pack("<f", value)
    return change


def main():
    tmp = tempfile.mkdtemp(prefix="dermfuse-untrusted-")
    try:
        os.chdir(tmp)
        run(["synth", "--out", "data", "--n", "120", "--size", "24", "--seed", "4", "--no-hair"])

        # A run stopped in its second epoch: epoch 1 done, some batches of the next.
        cfg = write_config(tmp, "base", extra="  checkpoint_every: 1\n")
        p = subprocess.run([DERMFUSE, "train", cfg, "--quiet"], capture_output=True, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS="1", DERMFUSE_STOP_AFTER_STEPS="7"))
        check(p.returncode == 0 and "stopped at epoch 2" in p.stdout, f"stopped in epoch 2: {p.stdout[-300:]}")
        base = os.path.join(tmp, "runs", "base")
        state = json.loads(read_st(os.path.join(base, "last.safetensors"))[0]["__metadata__"]["df.state"])
        check(state["epoch"] == 1 and state["batch"] > 0, f"base state {state}")
        weight = next(k for k in read_st(os.path.join(base, "last.safetensors"))[0]
                      if k.endswith(".weight") and not k.startswith("optim."))

        # The unchanged copy resumes (the crafting itself is sound), then each impossible state is refused.
        crafted_run(tmp, base, "same", set_state())
        run(["train", write_config(tmp, "same", extra="  checkpoint_every: 1\n"), "--resume", "--quiet"])
        cases = [
            ("epoch-huge", set_state(epoch=10**12), "epoch is outside"),
            ("epoch-negative", set_state(epoch=-1), "epoch is outside"),
            ("batch-past-epoch", set_state(batch=10**6, epoch_loss_steps=10**6), "an epoch of this run has"),
            ("loss-steps", set_state(epoch_loss_steps=3), "epoch_loss_steps"),
            ("step-too-many", set_state(step=10**12, optim_step=10**12), "more than 1 epochs"),
            ("step-negative", set_state(step=-5), "step is negative"),
            ("best-after-epoch", set_state(best_epoch=4), "best_epoch"),
            ("best-missing", set_state(best_epoch=-1), "best_epoch"),
            ("bad-epochs", set_state(bad_epochs=40), "bad_epochs"),
            ("best-metric-null", set_state(best_metric=None), "best_metric"),
            ("optim-step", set_state(optim_step=10**9), "optim_step"),
            ("finished-early", set_state(epoch=0, best_epoch=-1, finished=True, step=3, batch=3), "finished before"),
            ("nan-weight", set_value(weight, float("nan")), "non-finite"),
            ("inf-moment", set_value("optim.m." + weight, float("inf")), "non-finite"),
            ("huge-weight", set_value(weight, 3.0e20), "checkpoint.weight"),
        ]
        for name, change, phrase in cases:
            path = crafted_run(tmp, base, name, change)
            expect_error(["train", write_config(tmp, name, extra="  checkpoint_every: 1\n"), "--resume", "--quiet"],
                         [path, phrase], name)
        # eval loads weights only: it refuses NaN and absurd weights too.
        for name in ("nan-weight", "huge-weight"):
            expect_error(["eval", write_config(tmp, name), "--checkpoint", "last"],
                         ["last.safetensors", "non-finite" if name == "nan-weight" else "checkpoint.weight"],
                         f"eval {name}")

        # Two processes never train one run: the second fails at once while the first holds the run's lock.
        crafted_run(tmp, base, "locked", set_state())
        with open(os.path.join(tmp, "runs", "locked", "train.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            expect_error(["train", write_config(tmp, "locked", extra="  checkpoint_every: 1\n"), "--resume",
                          "--quiet"], ["train.lock is held", "another process is training this run"], "locked run")
        run(["train", write_config(tmp, "locked", extra="  checkpoint_every: 1\n"), "--resume", "--quiet"])

        # Fewer epochs than the checkpoint has done.
        crafted_run(tmp, base, "fewer", set_state())
        expect_error(["train", write_config(tmp, "fewer", extra="  checkpoint_every: 1\n"), "--resume", "--quiet",
                      "--set", "train.epochs=1"], ["train.epochs is 1", "set train.epochs above 1"], "fewer epochs")

        # Run and study names stay inside out_dir.
        for bad, phrase in (("../escape", "may not start with '.'"), ("/tmp/abs", "empty part"),
                            ("a/b/c", "more than 2 parts"), ("sp ace", "holds ' '"), ("a//b", "empty part")):
            expect_error(["train", write_config(tmp, "names"), "--quiet", "--set", f"run.name={bad}"],
                         ["run.name", phrase], f"run.name {bad}")
        check(not os.path.exists(os.path.join(tmp, "escape")), "nothing written outside out_dir")
        study = os.path.join(tmp, "study.yaml")
        with open(study, "w") as f:
            f.write(f"study:\n  name: ../up\n  config: {write_config(tmp, 'st')}\n  models: [meta]\n"
                    f"  seeds: [1]\n  out_dir: {tmp}/studies\n")
        expect_error(["compare", study], ["study.name", "'../up'"], "study name")
        # A model or seed listed twice would make two runs share one folder.
        original = open(study).read()
        for field, value, phrase in (("models", "[meta, image, meta]", "lists 'meta' twice"),
                                     ("seeds", "[2, 1, 2]", "lists 2 twice")):
            text = original.replace("../up", "twice")
            text = text.replace("models: [meta]", f"models: {value}") if field == "models" else \
                text.replace("seeds: [1]", f"seeds: {value}")
            with open(study, "w") as f:
                f.write(text)
            expect_error(["compare", study], [study, phrase], f"study.{field} repeated")

        # A model and batch that need terabytes are refused up front, naming the keys and the amounts.
        p = expect_error(["train", write_config(tmp, "huge", fusion="image"), "--quiet", "--set",
                          "train.batch_size=4096", "--set", "data.image_size=1024", "--set",
                          "model.widths=[4096,4096]"],
                         ["does not fit in memory", "train.batch_size", "data.image_size", "TiB"], "memory plan")
        check(not os.path.exists(os.path.join(tmp, "runs", "huge")), "nothing written for a run that cannot fit")
        # Parameters alone (a metadata MLP of 65536-wide layers: 4 copies of 17 G floats), and a deep, wide
        # backbone at a tiny batch.
        expect_error(["train", write_config(tmp, "wide-mlp"), "--quiet", "--set", "model.meta_hidden=[65536,65536,65536,65536]",
                      "--set", "train.batch_size=1"], ["does not fit in memory", "optimizer moments"], "memory: MLP")
        expect_error(["train", write_config(tmp, "deep", fusion="intermediate"), "--quiet", "--set",
                      "model.widths=[4096,4096,4096]", "--set", "model.depth=[64,64,64]", "--set", "train.batch_size=1",
                      "--set", "data.image_size=16"], ["does not fit in memory", "model.depth"], "memory: deep backbone")
        # eval plans for inference only (no optimizer, one loader): it refuses the same way.
        expect_error(["eval", write_config(tmp, "huge", fusion="image"), "--set", "train.batch_size=4096", "--set",
                      "data.image_size=1024", "--set", "model.widths=[4096,4096]"], ["does not fit in memory"],
                     "memory plan in eval")

        # --checkpoint FILE is a file where the user is; a late-fusion run takes best or last only.
        shutil.copy(os.path.join(tmp, "runs", "same", "best.safetensors"), os.path.join(tmp, "mine.safetensors"))
        p = run(["eval", write_config(tmp, "same"), "--checkpoint", "mine.safetensors"])
        check("samples" in p.stdout, "eval of a checkpoint file named relative to the working directory")
        expect_error(["eval", write_config(tmp, "late", fusion="late"), "--checkpoint", "mine.safetensors"],
                     ["late-fusion run", "best or"], "late fusion --checkpoint file", status=2)
    finally:
        os.chdir("/")
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(summary())


if __name__ == "__main__":
    main()

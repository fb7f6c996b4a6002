#!/usr/bin/env python3
"""test_bn_meta_runs.py DERMFUSE SOURCE_ROOT: train.precise_bn and train.meta_dropout in whole runs, on the
data and config of test_runs.py (intermediate fusion, 2 epochs of 11 batches):
- with precise_bn 4 and meta_dropout 0.5, a run stopped after k steps (3: between two of its checkpoints, so
  the stop writes statistics that the run that goes on never computed at that step; 14) and resumed ends with
  the checkpoints and test results of the run that never stopped;
- precise BN changes no weight: that run's tensors are those of the same run with precise_bn 0, but for the
  running statistics, which differ; and its test results differ only through them; the default (20) is left
  out of the saved config, 0 is written;
- meta_dropout 0 written out trains the bits of the run without the key; meta_dropout 1 changes intermediate
  fusion's weights, and an image model (no metadata) is not touched by it."""
import json
import os
import shutil
import struct
import sys
import tempfile

from checks import check, summary
from test_runs import run, same_but_name, write_config


def tensors(path):
    """name -> raw bytes of every tensor of a safetensors file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return {k: data[t["data_offsets"][0]:t["data_offsets"][1]] for k, t in header.items()}


def read(path):
    return open(path, "rb").read() if os.path.exists(path) else None


def main():
    tmp = tempfile.mkdtemp(prefix="dermfuse-bn-meta-")
    try:
        os.chdir(tmp)
        run(["synth", "--out", "data", "--n", "240", "--size", "40", "--seed", "2", "--signal", "0.8"])
        both = "  checkpoint_every: 4\n  precise_bn: 4\n  meta_dropout: 0.5\n"
        run(["train", write_config(tmp, "straight", "intermediate", both), "--quiet"])
        for k in (3, 14):
            cfg = write_config(tmp, f"stopped{k}", "intermediate", both)
            p = run(["train", cfg, "--quiet"], env={"DERMFUSE_STOP_AFTER_STEPS": str(k)})
            check("stopped at" in p.stdout, f"stop after {k} steps reported")
            run(["train", cfg, "--quiet", "--resume"])
            for f in ("last.safetensors", "best.safetensors"):
                check(same_but_name(f"runs/straight/{f}", f"runs/stopped{k}/{f}", "straight", f"stopped{k}"),
                      f"{f} identical after stop at {k} + resume")
            check(read("runs/straight/test_predictions.csv") == read(f"runs/stopped{k}/test_predictions.csv"),
                  f"test predictions identical after stop at {k} + resume")

        # precise BN touches the running statistics only
        run(["train", write_config(tmp, "momentum", "intermediate",
                                   "  checkpoint_every: 4\n  precise_bn: 0\n  meta_dropout: 0.5\n"), "--quiet"])
        a, b = tensors("runs/straight/last.safetensors"), tensors("runs/momentum/last.safetensors")
        check(a.keys() == b.keys(), "the same tensors")
        stats = [k for k in a if k.endswith(".running_mean") or k.endswith(".running_var")]
        check(len(stats) >= 4, f"batch norms: {stats}")
        check(all(a[k] == b[k] for k in a if k not in stats), "precise BN changes no weight or optimizer moment")
        check(all(a[k] != b[k] for k in stats), "precise BN sets every running statistic")
        check(read("runs/straight/test_predictions.csv") != read("runs/momentum/test_predictions.csv"),
              "the test predictions follow the statistics")
        saved = open("runs/straight/config.yaml").read()
        check("precise_bn: 4" in saved and "meta_dropout: 0.5" in saved, "the keys are in the saved config")
        check("precise_bn: 0" in open("runs/momentum/config.yaml").read(), "precise_bn 0 is in the saved config")

        # meta_dropout 0 is no dropout, bit for bit; 1 changes a fusion model, not an image model
        run(["train", write_config(tmp, "plain", "intermediate"), "--quiet"])
        run(["train", write_config(tmp, "zero", "intermediate", "  meta_dropout: 0\n"), "--quiet"])
        check(same_but_name("runs/plain/last.safetensors", "runs/zero/last.safetensors", "plain", "zero"),
              "meta_dropout 0 is the run without the key")
        zero = open("runs/zero/config.yaml").read()
        check("meta_dropout" not in zero and "precise_bn" not in zero, "defaults are left out of the config")
        run(["train", write_config(tmp, "one", "intermediate", "  meta_dropout: 1\n"), "--quiet"])
        check(tensors("runs/one/last.safetensors") != tensors("runs/plain/last.safetensors"),
              "meta_dropout 1 changes the fusion model")
        run(["train", write_config(tmp, "img0", "image"), "--quiet"])
        run(["train", write_config(tmp, "img1", "image", "  meta_dropout: 1\n"), "--quiet"])
        check(tensors("runs/img0/last.safetensors") == tensors("runs/img1/last.safetensors"),
              "an image model takes no metadata to drop")

        p = run(["train", write_config(tmp, "bad", "intermediate", "  meta_dropout: 1.5\n"), "--quiet"], expect=1)
        check("meta_dropout" in p.stderr and "[0, 1]" in p.stderr, f"out of range refused: {p.stderr}")
        p = run(["train", write_config(tmp, "bad2", "intermediate", "  precise_bn: -1\n"), "--quiet"], expect=1)
        check("precise_bn" in p.stderr, f"negative precise_bn refused: {p.stderr}")
    finally:
        os.chdir("/")
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())

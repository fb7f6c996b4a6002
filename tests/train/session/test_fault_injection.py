#!/usr/bin/env python3
"""Fault injection into a tiny training run: a full disk, an I/O error or a kill at any file operation.

fault_shim.so (preloaded) counts the run's file operations in its run folder: opening a file for writing,
each write (fwrite, and the fflush that writes the rest), fsync (of the file and of the folder after a
rename) and rename. A first run counts them; it is the reference, and a run without the shim must give its
bytes. Then, for the operations chosen (below), a fresh run is made to fail there:
  (a) with ENOSPC or EIO (in turn): it must exit 1 with a message naming the file and the reason (a failed
      report.html, the command line's live view, is a warning and the run goes on), and leave no temporary
      file;
  (b) with SIGKILL at that operation.
After either, every file in the run folder must be whole (no half-written file is ever there to be read),
and a resume without faults (a fresh start where no checkpoint was written yet) must end with the reference's
bytes: last.safetensors, best.safetensors, config.yaml, test_predictions.csv, test_metrics.json, and
metrics.csv and metrics.jsonl but for their timing columns (images_per_second, seconds); and with no
temporary file left. A resume that finds training finished but no test results must say it writes them.
The same is done for the start of a resumed run (a run stopped after some steps, then resumed with a fault):
its rewriting of config.yaml and of the logs.

Which operations: by default, in every atomic write of the run (each file written, at each point of the run
it is written), each kind of operation: the open, the first write, a middle one, the last one (the flush),
the file's fsync, the rename and the folder's fsync. With DERMFUSE_FAULTS_ALL=1, every operation (some
minutes).

Usage: test_fault_injection.py DERMFUSE FAULT_SHIM SOURCE_ROOT"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

from checks import check, summary

DERMFUSE, SHIM, ROOT = (os.path.abspath(a) for a in sys.argv[1:4])
ALL = os.environ.get("DERMFUSE_FAULTS_ALL") == "1"
REASONS = {"enospc": "No space left on device", "eio": "Input/output error"}
COMPARED = ["config.yaml", "last.safetensors", "best.safetensors", "test_predictions.csv", "test_metrics.json",
            "metrics.csv", "metrics.jsonl"]
TEMP = re.compile(r"\.tmp\.\d+$")


CONFIG = """base: {root}/configs/common/isic-metadata.yaml
run:
  name: run
  out_dir: {out}
  seed: 5
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  image_size: 16
  workers: 1
model:
  fusion: intermediate
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
  dropout: 0.2
train:
  epochs: 2
  batch_size: 16
  lr: 0.003
  warmup_epochs: 0.5
  checkpoint_every: 3
"""


class Run:
    def __init__(self, tmp):
        self.tmp = tmp
        self.out = os.path.join(tmp, "runs")
        self.dir = os.path.join(self.out, "run")  # the image cache lies beside it, in runs/cache
        self.config = os.path.join(tmp, "run.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(root=ROOT, out=self.out))

    def train(self, resume=False, fault=None, log=None, stop_after=None, sets=()):
        """fault: (n, action); log: a file for the shim's count of operations; sets: --set overrides."""
        env = dict(os.environ, OMP_NUM_THREADS="1")
        if fault or log:
            env.update(LD_PRELOAD=SHIM, DF_FAULT_PREFIX=self.dir)
            # In a sanitizer build the shim is preloaded ahead of the ASan runtime the program links. ASan
            # refuses that order by default; it is sound here because the shim calls no allocator while
            # libraries load (it allocates only when the program opens a file), so the check is turned off.
            env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
        if fault:
            env.update(DF_FAULT_AT=str(fault[0]), DF_FAULT_ACTION=fault[1])
        if log:
            env.update(DF_FAULT_LOG=log)
        if stop_after:
            env.update(DERMFUSE_STOP_AFTER_STEPS=str(stop_after))
        args = [DERMFUSE, "train", self.config, "--quiet"] + (["--resume"] if resume else [])
        for s in sets:
            args += ["--set", s]
        return subprocess.run(args, cwd=self.tmp, capture_output=True, text=True, env=env, timeout=120)

    def files(self):
        return sorted(os.listdir(self.dir)) if os.path.isdir(self.dir) else []

    def read(self, name):
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            return None
        data = open(path, "rb").read()
        if name.startswith("metrics."):  # images_per_second and seconds are timings
            data = re.sub(rb'"images_per_second": [^,]*, "seconds": [^,]*,', b'"timing",', data)
            if name.endswith(".csv"):
                data = b"".join(b",".join(line.split(b",")[:-2]) + b"\n" for line in data.splitlines())
        return data

    def snapshot(self):
        return {name: self.read(name) for name in COMPARED}


def whole(run, name, reference):
    """Whether the file `name` of the run folder is complete, as its format says (config.yaml: the reference's)."""
    data = open(os.path.join(run.dir, name), "rb").read()
    try:
        if name.endswith(".safetensors"):
            n = struct.unpack("<Q", data[:8])[0]
            header = json.loads(data[8:8 + n])
            header.pop("__metadata__")
            return len(data) == 8 + n + max(t["data_offsets"][1] for t in header.values())
        if name.endswith(".json"):
            json.loads(data)
            return data.endswith(b"\n")
        if name.endswith(".jsonl"):
            return all(json.loads(line) for line in data.splitlines()) and (not data or data.endswith(b"\n"))
        if name.endswith(".csv"):
            widths = {len(line.split(b",")) for line in data.splitlines()}
            return data.endswith(b"\n") and len(widths) == 1
        if name.endswith(".html"):
            return data.rstrip().endswith(b"</html>")
        if name == "train.lock":
            return data == b""
        return name == "config.yaml" and data == reference["config.yaml"]
    except (ValueError, KeyError, struct.error):
        return False


def parse_log(path, folder):
    """The shim's log as [(n, kind, file)], file being the name in the run folder a temporary name stands
    for ('' for the folder itself), and the atomic writes: lists of the indices of one file's operations,
    from its open to the folder's fsync after its rename."""
    ops = []
    for line in open(path):
        n, kind, p = line.rstrip("\n").split(" ", 2)
        ops.append((int(n), kind, "" if p == folder else TEMP.sub("", os.path.basename(p))))
    units, cur = [], []
    for i, (n, kind, f) in enumerate(ops):
        if f == "train.lock":  # the run's lock: opened, never written, a unit of its own
            units.append([i])
            continue
        cur.append(i)
        if kind == "fsync" and f == "":
            units.append(cur)
            cur = []
    if cur:
        units.append(cur)
    return ops, units


def chosen(ops, units):
    """The indices of the operations to fault: all, or each kind in each atomic write."""
    if ALL:
        return list(range(len(ops)))
    picked = []
    for u in units:
        writes = [i for i in u if ops[i][1] == "write"]
        picked += [i for i in u if ops[i][1] != "write"]
        if writes:
            picked += sorted({writes[0], writes[len(writes) // 2], writes[-1]})
    return sorted(picked)


def target_of(ops, i):
    """The run folder's file an operation serves: the folder's fsync serves the rename before it."""
    n, kind, f = ops[i]
    while f == "" and i > 0:
        i -= 1
        f = ops[i][2]
    return f


def trial(run, ops, i, action, start, reference, sets=(), after_fault=None):
    """Faults operation i of a run begun by start() (which leaves the run folder as the faulted run begins
    from, and returns whether that run resumes); then resumes and compares. sets: the runs' --set overrides;
    after_fault(what): more checks of the faulted run's folder."""
    n, kind, _ = ops[i]
    name = target_of(ops, i)
    what = f"{action} at operation {n} ({kind} of {name})"
    resume = start()
    p = run.train(resume=resume, fault=(n, action), sets=sets)
    if action == "kill":
        check(p.returncode == -signal.SIGKILL, f"{what}: killed (exit {p.returncode}) {p.stderr[-300:]}")
    else:
        named = os.path.join(run.dir, name) in p.stderr and REASONS[action] in p.stderr
        if name == "report.html":  # the live report never fails the run
            check(p.returncode == 0 and "warning" in p.stderr and named, f"{what}: warned: {p.stderr[-300:]}")
        else:
            check(p.returncode == 1 and named, f"{what}: exit {p.returncode}, message names the file and the "
                  f"reason: {p.stderr[-400:]}")
        check(not any(TEMP.search(f) for f in run.files()), f"{what}: no temporary file after the error: "
              f"{run.files()}")
    if after_fault:
        after_fault(what)
    temps = [f for f in run.files() if TEMP.search(f)]
    for f in run.files():
        if not TEMP.search(f):
            check(whole(run, f, reference), f"{what}: {f} is whole")
    state = {}
    last = os.path.join(run.dir, "last.safetensors")
    if os.path.exists(last):
        data = open(last, "rb").read()
        state = json.loads(json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])["__metadata__"]["df.state"])
    results_missing = not os.path.exists(os.path.join(run.dir, "test_metrics.json"))
    p = run.train(resume=os.path.exists(last), sets=sets)
    if not check(p.returncode == 0, f"{what}: the resume exits 0: {p.stdout[-300:]} {p.stderr[-500:]}"):
        return
    if state.get("finished") and results_missing:
        check("test results were not written; writing them now" in p.stdout,
              f"{what}: the resume says it writes the missing results: {p.stdout[-300:]}")
    if temps:
        check(f"removed {len(temps)} temporary file" in p.stdout, f"{what}: the resume removes {temps}: "
              f"{p.stdout[-300:]}")
    check(not any(TEMP.search(f) for f in run.files()), f"{what}: no temporary file after the resume: {run.files()}")
    got = run.snapshot()
    for f in COMPARED:
        check(got[f] == reference[f], f"{what}: {f} after the resume equals the uninterrupted run's")


def main():
    # The faults come from the shim, not from the disk: a memory file system, where there is one, keeps the
    # run's hundreds of fsyncs cheap (a few times faster than a disk).
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="dermfuse-faults-", dir=os.environ.get("TMPDIR") or shm))
    t0 = time.time()
    try:
        p = subprocess.run([DERMFUSE, "synth", "--out", os.path.join(tmp, "data"), "--n", "120", "--size", "24",
                            "--seed", "2", "--signal", "0.8"], capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"FAIL: synth: {p.stderr}")
        run = Run(tmp)
        # The reference: an uninterrupted run, counted; a run without the shim gives the same bytes.
        log = os.path.join(tmp, "count.log")
        p = run.train(log=log)
        if not check(p.returncode == 0, f"reference run: {p.stderr[-500:]}"):
            sys.exit(1)
        reference = run.snapshot()
        shutil.copytree(run.dir, os.path.join(tmp, "reference"))
        shutil.rmtree(run.dir)
        check(run.train().returncode == 0 and run.snapshot() == reference, "a run without the shim gives its bytes")
        ops, units = parse_log(log, run.dir)
        check(len(units) >= 10 and all(ops[u[-1]][1] == "fsync" or ops[u[0]][2] == "train.lock" for u in units),
              f"the count shows atomic writes ending with the folder's fsync ({len(ops)} operations)")
        written = [target_of(ops, u[0]) for u in units]
        for f in ("config.yaml", "last.safetensors", "best.safetensors", "metrics.csv", "metrics.jsonl",
                  "test_predictions.csv", "test_metrics.json", "report.html"):
            check(f in written, f"the count sees {f} written")
        # The final checkpoint (the one that says training is finished) comes before the test results,
        # test_metrics.json last of them.
        check(written.index("test_predictions.csv") < written.index("test_metrics.json") and
              max(i for i, f in enumerate(written) if f == "last.safetensors") < written.index("test_predictions.csv"),
              f"order of the run's end: {written}")

        def fresh():
            shutil.rmtree(run.dir, ignore_errors=True)
            return False

        picked = chosen(ops, units)
        for k, i in enumerate(picked):
            trial(run, ops, i, "enospc" if k % 2 == 0 else "eio", fresh, reference)
            trial(run, ops, i, "kill", fresh, reference)
        tried = 2 * len(picked)

        # A resumed run's own start: stopped after 8 steps (in the second epoch), then resumed with a fault in
        # what it rewrites before training on.
        shutil.rmtree(run.dir)
        p = run.train(stop_after=8)
        check(p.returncode == 0 and "stopped at" in p.stdout, f"stop after 8 steps: {p.stdout[-300:]}")
        stopped = os.path.join(tmp, "stopped")
        shutil.copytree(run.dir, stopped)
        log = os.path.join(tmp, "count-resume.log")
        check(run.train(resume=True, log=log).returncode == 0 and run.snapshot() == reference,
              "the counted resume gives the reference's bytes")
        ops, units = parse_log(log, run.dir)
        first_checkpoint = next(k for k, u in enumerate(units) if target_of(ops, u[0]).endswith(".safetensors"))
        start_units = units[:first_checkpoint]
        check({target_of(ops, u[0]) for u in start_units} == {"train.lock", "config.yaml", "metrics.csv",
                                                               "metrics.jsonl"},
              f"a resume locks the run, then rewrites config.yaml and the logs first: "
              f"{[target_of(ops, u[0]) for u in start_units]}")

        def from_stopped():
            shutil.rmtree(run.dir, ignore_errors=True)
            shutil.copytree(stopped, run.dir)
            return True

        picked = chosen(ops, start_units)
        for k, i in enumerate(picked):
            trial(run, ops, i, "eio" if k % 2 == 0 else "enospc", from_stopped, reference)
            trial(run, ops, i, "kill", from_stopped, reference)
        tried += 2 * len(picked)

        # A finished run extended by an epoch: its earlier test results go before it trains on, so a kill after
        # its final checkpoint leaves none that a resume could take for its own; the resume writes them.
        extend = ("train.epochs=3",)

        def from_reference():
            shutil.rmtree(run.dir, ignore_errors=True)
            shutil.copytree(os.path.join(tmp, "reference"), run.dir)
            return True

        from_reference()
        log = os.path.join(tmp, "count-extend.log")
        check(run.train(resume=True, log=log, sets=extend).returncode == 0, "the counted extension")
        extended = run.snapshot()

        def no_results(what):
            check(not {"test_predictions.csv", "test_metrics.json"} & set(run.files()),
                  f"{what}: the results of the run's first end are gone: {run.files()}")
        ops, units = parse_log(log, run.dir)
        end = [u for u in units if target_of(ops, u[0]) == "test_predictions.csv"]
        if check(len(end) == 1, "the extension writes its results once"):
            for action in ("kill", "enospc"):
                trial(run, ops, end[0][0], action, from_reference, extended, extend, no_results)
            tried += 2
        print(f"{tried} faults tried{' (all operations)' if ALL else ''} in {time.time() - t0:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(summary())


if __name__ == "__main__":
    main()

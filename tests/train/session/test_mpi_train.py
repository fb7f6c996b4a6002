#!/usr/bin/env python3
"""Data-parallel `dermfuse train` over MPI ranks (2 ranks, each with one OpenMP thread), end to end:

- 2 ranks with sync batch norm end within float rounding of 1 rank with the same global batch: every
  parameter within a relative 1e-5 (lr 1e-3, 2 epochs of 3 steps). batch_size 31 over the 63 training samples
  makes batches of 31, 31 and 1: uneven parts (15 and 16) and, in the last, an empty part on rank 1;
- the same run's validation and test predictions (sharded over the ranks) equal the 1-rank ones exactly, given
  the same weights (`dermfuse eval` of the 1-rank checkpoint under 2 ranks);
- two 2-rank runs are byte-identical (checkpoint tensors and state);
- precise BN's statistics on 2 ranks are within float rounding of 1 rank's, with no weight changed by it, and
  with sync batch norm off they still cover both ranks' rows;
- late fusion trains on 2 ranks and writes what 1 rank writes;
- only rank 0 writes the run folder (rank 1 leaves no file there: compared with a 1-rank run's file list);
- a 2-rank run killed with SIGKILL after a mid-epoch checkpoint (train.checkpoint_every), resumed on 2 ranks,
  ends with the checkpoint bytes of an uninterrupted 2-rank run; resumed on 1 rank it ends within float
  rounding of it;
- a rank given a different config (mpirun's MPMD form, --set on rank 1 only) ends the job with one message
  naming the rank and the key, a non-zero status and no hang; a rank that fails on a file ends the job with
  its message prefixed by its rank; a rank killed with SIGKILL mid-run ends the job (mpirun names the rank),
  leaves a whole checkpoint, and the run resumes to the uninterrupted run's bytes.

Exits 77 (skipped) when the build has no MPI or mpirun is missing.
Usage: test_mpi_train.py DERMFUSE"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, summary  # noqa: E402

DERMFUSE = os.path.abspath(sys.argv[1])
MPIRUN = shutil.which("mpirun")
ENV = dict(os.environ, OMP_NUM_THREADS="1")
TIMEOUT = 120

CONFIG = """run:
  name: r
  out_dir: runs
  seed: 7
  threads: 1
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  image_size: 16
  workers: 1
  numeric: [age_approx]
  categorical: [sex, anatom_site_general]
  hflip: true
  jitter: 0.1
model:
  fusion: intermediate
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
  dropout: 0.2
train:
  epochs: 2
  batch_size: 31
  lr: 0.001
"""


def mpi(n, args, expect=0):
    cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", str(n), DERMFUSE] + args if n else \
        [DERMFUSE] + args
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
    check(p.returncode == expect if expect is not None else p.returncode != 0,
          f"{' '.join(args)} on {n or 1} rank(s): status {p.returncode}\n{p.stdout[-1500:]}{p.stderr[-1500:]}")
    return p


def train(n, out, extra=(), expect=0):
    return mpi(n, ["train", "a.yaml", "--quiet", "--set", f"run.out_dir={out}"] + list(extra), expect)


def tensors(path):
    """{name: float list}, and the checkpoint's state entry."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        out[name] = struct.unpack(f"<{(e - b) // 4}f", data[b:e])
    return out, meta.get("df.state")


def max_rel_diff(a, b):
    worst, where = 0.0, ""
    for name in a:
        scale = max(max((abs(v) for v in a[name]), default=0.0), 1e-3)
        d = max((abs(x - y) for x, y in zip(a[name], b[name])), default=0.0) / scale
        if d > worst:
            worst, where = d, name
    return worst, where


def same_checkpoint(a, b):
    ta, sa = tensors(a)
    tb, sb = tensors(b)
    return ta == tb and sa == sb


def children(pid):
    """The processes whose parent is pid (mpirun's ranks)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def rank_of(pid):
    """The MPI rank of a process mpirun started (its OMPI_COMM_WORLD_RANK)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                    return int(item.split(b"=", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def one_rank_killed(extra):
    """Starts a 2-rank run and, once a mid-epoch checkpoint exists, kills rank 1 alone with SIGKILL. Returns
    (the killed rank, mpirun's exit status or None on a hang, its stderr)."""
    cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", "2", DERMFUSE, "train", "a.yaml", "--quiet",
           "--set", "run.out_dir=lost"] + extra
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    ckpt, deadline, killed = os.path.join("lost", "r", "last.safetensors"), time.time() + TIMEOUT, None
    while killed is None and time.time() < deadline and p.poll() is None:
        if os.path.exists(ckpt) and json.loads(tensors(ckpt)[1])["batch"] > 0:
            for pid in children(p.pid):
                if rank_of(pid) == 1:
                    os.kill(pid, signal.SIGKILL)
                    killed = 1
        time.sleep(0.005)
    try:
        _, err = p.communicate(timeout=60)
        return killed, p.returncode, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return killed, None, ""


def mid_epoch_kill(extra):
    """Starts a 2-rank run that saves every step, kills it with SIGKILL once a mid-epoch checkpoint exists."""
    out = "killed"
    cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", "2", DERMFUSE, "train", "a.yaml", "--quiet",
           "--set", f"run.out_dir={out}"] + extra
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    ckpt = os.path.join(out, "r", "last.safetensors")
    deadline = time.time() + TIMEOUT
    killed = False
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(ckpt):
            _, state = tensors(ckpt)
            st = json.loads(state)
            if st["step"] >= 2 and st["batch"] > 0:
                ranks = children(p.pid)
                for pid in ranks:  # the ranks first: mpirun's own death reaches them only later
                    os.kill(pid, signal.SIGKILL)
                os.killpg(p.pid, signal.SIGKILL)
                while any(os.path.exists(f"/proc/{pid}") and not zombie(pid) for pid in ranks):
                    time.sleep(0.01)
                killed = bool(ranks)
                break
        time.sleep(0.005)
    p.wait()
    return killed, out


def main():
    if not MPIRUN:
        print("mpirun not found: skipped")
        return 77
    v = subprocess.run([DERMFUSE, "version"], capture_output=True, text=True)
    if "no MPI" in v.stdout:
        print("built without MPI: skipped")
        return 77
    tmp = tempfile.mkdtemp(prefix="dermfuse-mpi-")
    os.chdir(tmp)
    try:
        subprocess.run([DERMFUSE, "synth", "--out", "data", "--n", "90", "--size", "16", "--seed", "2"],
                       check=True, capture_output=True)
        with open("a.yaml", "w") as f:
            f.write(CONFIG)

        # 1 rank against 2 ranks with sync batch norm, and 2 ranks twice
        train(0, "one")
        train(2, "two")
        train(2, "two_again")
        a, _ = tensors("one/r/last.safetensors")
        b, _ = tensors("two/r/last.safetensors")
        worst, where = max_rel_diff(a, b)
        print(f"1 rank vs 2 ranks: max relative parameter difference {worst:.3g} ({where})")
        check(worst <= 1e-5, f"2 ranks end within 1e-5 of 1 rank: {worst:.3g} in {where}")
        check(worst > 0 or a == b, "the comparison read tensors")
        check(same_checkpoint("two/r/last.safetensors", "two_again/r/last.safetensors"),
              "two 2-rank runs give the same checkpoint bytes")
        check(sorted(os.listdir("one/r")) == sorted(os.listdir("two/r")),
              f"a 2-rank run folder holds what a 1-rank one does: {sorted(os.listdir('two/r'))}")
        with open("one/r/metrics.csv") as f1, open("two/r/metrics.csv") as f2:
            check(len(f1.readlines()) == len(f2.readlines()) == 3, "one metrics line per epoch, written once")

        # precise BN (train.precise_bn, on by default in both runs above): its statistics over the ranks are the
        # 1-rank ones, to rounding, and it changes no weight; without sync batch norm too, where each rank's
        # forward normalises its own part but the statistics still combine every rank's rows
        stats = [k for k in a if k.endswith(".running_mean") or k.endswith(".running_var")]
        check(len(stats) >= 4 and max_rel_diff({k: a[k] for k in stats}, b)[0] <= 1e-5,
              "2 ranks' precise statistics within 1e-5 of 1 rank's")
        train(2, "momentum2", ["--set", "train.precise_bn=0"])
        m2, _ = tensors("momentum2/r/last.safetensors")
        check(all(m2[k] == b[k] for k in b if k not in stats), "precise BN changes no weight on 2 ranks")
        check(all(m2[k] != b[k] for k in stats), "precise BN sets every statistic on 2 ranks")
        # (a rate of 1e-9 leaves the weights as they start on both, so the first batch norm's input is the same)
        still = ["--set", "train.sync_bn=false", "--set", "train.lr=1e-9"]
        train(0, "local1", still)
        train(2, "local2", still)
        l1, _ = tensors("local1/r/last.safetensors")
        l2, _ = tensors("local2/r/last.safetensors")
        first = {k: l1[k] for k in ("image.stage1.bn.running_mean", "image.stage1.bn.running_var")}
        worst, where = max_rel_diff(first, l2)
        check(worst <= 1e-5, f"without sync, the first batch norm's precise statistics span both ranks: {worst:.3g}")

        # without sync batch norm the run differs from the 1-rank one (each rank normalises its own part)
        train(2, "local", ["--set", "train.sync_bn=false"])
        c, _ = tensors("local/r/last.safetensors")
        check(max_rel_diff(a, c)[0] > 1e-4, "train.sync_bn=false is not the synced run")
        with open("one/r/config.yaml") as f:
            check("sync_bn" not in f.read(), "sync_bn at its default is left out of the saved config")

        # late fusion: two runs and their combination, written by rank 0 alone
        late = ["--set", "model.fusion=late", "--set", "train.epochs=1"]
        train(0, "late1", late)
        train(2, "late2", late)
        for sub in ("r", "r/image", "r/meta"):
            same = os.path.isdir(f"late2/{sub}") and \
                sorted(os.listdir(f"late1/{sub}")) == sorted(os.listdir(f"late2/{sub}"))
            check(same, f"late fusion on 2 ranks writes {sub} as 1 rank does")

        # sharded evaluation gives the 1-rank predictions exactly, from the same weights
        e1 = mpi(0, ["eval", "a.yaml", "--set", "run.out_dir=one", "--split", "test"])
        e2 = mpi(2, ["eval", "a.yaml", "--set", "run.out_dir=one", "--split", "test"])
        check(e1.stdout.strip().splitlines()[-1:] == e2.stdout.strip().splitlines()[-1:],
              f"2-rank eval prints the 1-rank metrics:\n{e1.stdout[-300:]}\n{e2.stdout[-300:]}")

        # killed mid-epoch, resumed on 2 ranks: the uninterrupted run's bytes; on 1 rank: within rounding
        every = ["--set", "train.checkpoint_every=1", "--set", "train.batch_size=7", "--set", "train.epochs=3"]
        train(2, "full", every)
        killed, out = mid_epoch_kill(every)
        check(killed, "the 2-rank run was killed after a mid-epoch checkpoint")
        shutil.copytree(out, "killed_copy")
        mpi(2, ["train", "a.yaml", "--quiet", "--resume", "--set", f"run.out_dir={out}"] + every)
        check(same_checkpoint("full/r/last.safetensors", f"{out}/r/last.safetensors"),
              "killed and resumed on 2 ranks: the uninterrupted run's checkpoint bytes")
        check(same_checkpoint("full/r/best.safetensors", f"{out}/r/best.safetensors"), "and its best checkpoint")
        mpi(0, ["train", "a.yaml", "--quiet", "--resume", "--set", "run.out_dir=killed_copy"] + every)
        worst, where = max_rel_diff(tensors("full/r/last.safetensors")[0],
                                    tensors("killed_copy/r/last.safetensors")[0])
        print(f"resumed on 1 rank vs 2: max relative parameter difference {worst:.3g} ({where})")
        check(worst <= 1e-5, f"resumed on 1 rank: within 1e-5 of the 2-rank run ({worst:.3g} in {where})")

        # a rank with another config ends the job, naming the rank and the key
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", "1", DERMFUSE, "train", "a.yaml",
               "--quiet", "--set", "run.out_dir=mixed", ":", "-np", "1", DERMFUSE, "train", "a.yaml", "--quiet",
               "--set", "run.out_dir=mixed", "--set", "train.lr=0.01"]
        t0 = time.time()
        p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
        check(p.returncode != 0, f"a rank with another config fails the job (status {p.returncode})")
        check("rank 1" in p.stderr and "train.lr" in p.stderr and "0.01" in p.stderr,
              f"the message names rank 1 and train.lr:\n{p.stderr[-800:]}")
        check(p.stderr.count("train.lr") == 1, f"one message:\n{p.stderr[-800:]}")
        check(time.time() - t0 < 60, "no hang")
        check(not os.path.exists("mixed/r/last.safetensors"), "nothing trained")

        # a rank that fails on its own (here: a file only it is told to read) ends the job with its message
        cmd = cmd[:cmd.index(":")] + [":", "-np", "1", DERMFUSE, "train", "a.yaml", "--quiet", "--set",
                                      "run.out_dir=mixed", "--set", "data.train_csv=data/absent.csv"]
        t0 = time.time()
        p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
        check(p.returncode != 0 and time.time() - t0 < 60, f"a failing rank ends the job (status {p.returncode})")
        check("dermfuse: rank 1: " in p.stderr and "absent.csv" in p.stderr,
              f"its message names the rank and the file:\n{p.stderr[-800:]}")

        # one rank killed (SIGKILL) mid-run: the job ends, mpirun names the rank, the checkpoint is whole
        rank, status, err = one_rank_killed(every)
        check(rank is not None, "one rank of a 2-rank run was killed mid-epoch")
        check(status is not None and status != 0, f"the job ended with a non-zero status ({status}), no hang")
        check(rank is not None and f"rank {rank}" in err, f"the message names rank {rank}:\n{err[-600:]}")
        ok = subprocess.run([DERMFUSE, "inspect", "lost/r/last.safetensors"], env=ENV, capture_output=True)
        check(ok.returncode == 0, "the last checkpoint is whole (inspect reads it)")
        mpi(2, ["train", "a.yaml", "--quiet", "--resume", "--set", "run.out_dir=lost"] + every)
        check(same_checkpoint("full/r/last.safetensors", "lost/r/last.safetensors"),
              "resumed after losing a rank: the uninterrupted run's checkpoint bytes")
    finally:
        os.chdir("/")
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())

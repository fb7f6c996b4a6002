#!/usr/bin/env python3
"""test_compare_mpi.py DERMFUSE: `dermfuse compare` over the ranks of an MPI job (2 ranks under mpirun,
OMP_NUM_THREADS=1), on a tiny synthetic set (`dermfuse synth --size 16`) and the study [image, meta, early,
late] x seeds [1, 2]. Checked:
- 2 ranks with one rank per run give the results table (results.csv without its timing columns) and
  analysis.csv of the same study on one rank, byte for byte (every run is single-process either way);
- every run folder is written, and rank 0 prints the deal; rank 1 prints nothing;
- a restarted distributed study trains nothing again and changes no file of any run;
- a distributed study stopped inside its runs (DERMFUSE_STOP_AFTER_STEPS) ends non-zero naming a rank, and
  started again resumes them and ends with the one-rank table;
- --ranks-per-run 2 on 2 ranks (one group) gives a results table with every run; --ranks-per-run 3 on 2 ranks
  is an error that says so;
- a rank that fails (rank 1 given a study whose config is missing, through an MPMD mpirun line; or rank 1
  alone stopped in its first run while rank 0 goes on to the phase barrier) ends the job non-zero within the
  timeout, with a message naming rank 1.
Skips (77) when dermfuse was built without MPI or mpirun is missing."""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "session"))
from checks import check, summary  # noqa: E402

DERMFUSE = os.path.abspath(sys.argv[1])
MPIRUN = shutil.which("mpirun")
TIMEOUT = 240
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def mpirun(tmp, programs, expect=0, env=None):
    """programs: one argument list per rank group (an MPMD line when there are several): [np, args...]."""
    line = [MPIRUN, "--oversubscribe", "--allow-run-as-root"]
    for i, (np, args) in enumerate(programs):
        line += ([":"] if i else []) + ["-np", str(np)] + args
    try:
        p = subprocess.run(line, cwd=tmp, capture_output=True, text=True, env=dict(ENV, **(env or {})),
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        check(False, f"{' '.join(line)} still running after {TIMEOUT} s (a hang)")
        return None
    if expect is not None and p.returncode != expect:
        print(p.stdout[-3000:], p.stderr[-3000:], file=sys.stderr)
    check(expect is None or p.returncode == expect, f"{' '.join(line)} exited {p.returncode}, expected {expect}")
    return p


def table(path):
    """results.csv without its timing columns, as rows."""
    if not os.path.exists(path):
        return None
    rows = list(csv.reader(open(path)))
    drop = {rows[0].index(c) for c in ("train_seconds", "images_per_second")}
    return [[v for i, v in enumerate(r) if i not in drop] for r in rows]


def run_files(study_dir):
    """Every file of every run folder: path -> (bytes, mtime)."""
    out = {}
    for d in sorted(os.listdir(study_dir)):
        top = os.path.join(study_dir, d)
        if not os.path.isdir(top) or d == "gradcam":
            continue
        for root, _, files in os.walk(top):
            for f in files:
                p = os.path.join(root, f)
                out[p] = (open(p, "rb").read(), os.stat(p).st_mtime_ns)
    return out


def study(tmp, name, config="base.yaml"):
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"""study:
  name: {name}
  out_dir: runs
  config: {config}
  models: [image, meta, early, late]
  seeds: [1, 2]
  baseline: image
  bootstrap: 100
  gradcam_samples: 4
""")
    return path


RUNS = [f"{m}-seed{s}" for s in (1, 2) for m in ("image", "meta", "early", "late")]


def main():
    version = subprocess.run([DERMFUSE, "version"], capture_output=True, text=True).stdout
    if "no MPI" in version or not MPIRUN:
        print("skipped: dermfuse was built without MPI, or mpirun is missing")
        return 77
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="dermfuse-compare-mpi-"))
    try:
        subprocess.run([DERMFUSE, "synth", "--out", "data", "--n", "160", "--size", "16", "--seed", "3",
                        "--signal", "0.8"], cwd=tmp, check=True, capture_output=True, env=ENV)
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
        with open(os.path.join(tmp, "base.yaml"), "w") as f:
            f.write(f"""base: {os.path.realpath(root)}/configs/common/isic-metadata.yaml
run:
  name: x
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  image_size: 16
  workers: 1
model:
  fusion: image
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
train:
  epochs: 2
  batch_size: 16
""")
        # The reference: one rank, no mpirun.
        p = subprocess.run([DERMFUSE, "compare", study(tmp, "one")], cwd=tmp, capture_output=True, text=True,
                           env=ENV, timeout=TIMEOUT)
        check(p.returncode == 0, f"one-rank study exited {p.returncode}: {p.stderr[-2000:]}")
        ref = table(os.path.join(tmp, "runs", "one", "results.csv"))
        ref_analysis = open(os.path.join(tmp, "runs", "one", "analysis.csv"), "rb").read()

        # Two ranks, one rank per run.
        p = mpirun(tmp, [(2, [DERMFUSE, "compare", study(tmp, "two")])])
        two = os.path.join(tmp, "runs", "two")
        check(ref is not None and table(os.path.join(two, "results.csv")) == ref,
              "2 ranks: results.csv (without timing) equals the one-rank study's")
        check(os.path.exists(os.path.join(two, "analysis.csv")) and
              open(os.path.join(two, "analysis.csv"), "rb").read() == ref_analysis,
              "2 ranks: analysis.csv equals the one-rank study's")
        check(all(os.path.exists(os.path.join(two, r, "test_metrics.json")) for r in RUNS), "every run folder written")
        check(os.path.exists(os.path.join(two, "report.html")), "report.html written")
        check(p is not None and "ranks 1-1" in p.stdout and "ranks 0-0" in p.stdout, "rank 0 prints the deal")
        check(p is not None and p.stdout.count("study two on 2 ranks") == 1, "one progress log")

        # Restarted: nothing trained again, no run file touched.
        before = run_files(two)
        p = mpirun(tmp, [(2, [DERMFUSE, "compare", os.path.join(tmp, "two.yaml")])])
        check(p is not None and "epoch 1/2" not in p.stdout, "restarted study trains nothing")
        check(p is not None and p.stdout.count("finished earlier") >= 4, "rank 0's runs said finished")
        check(run_files(two) == before, "restarted study changes no file of any run")
        check(table(os.path.join(two, "results.csv")) == ref, "restarted study: the same table")

        # Stopped inside its runs, then resumed.
        stop = study(tmp, "stop")
        p = mpirun(tmp, [(2, [DERMFUSE, "compare", stop])], expect=None, env={"DERMFUSE_STOP_AFTER_STEPS": "5"})
        check(p is not None and p.returncode != 0, "a stopped distributed study ends non-zero")
        check(p is not None and "rank " in p.stderr and "stopped" in p.stderr, "the stop names a rank")
        mpirun(tmp, [(2, [DERMFUSE, "compare", stop])])
        check(table(os.path.join(tmp, "runs", "stop", "results.csv")) == ref, "resumed: the one-rank table")

        # One group of two ranks.
        p = mpirun(tmp, [(2, [DERMFUSE, "compare", study(tmp, "group"), "--ranks-per-run", "2"])])
        got = table(os.path.join(tmp, "runs", "group", "results.csv"))
        check(got is not None and sorted(f"{r[0]}-seed{r[1]}" for r in got[1:]) == sorted(RUNS),
              "--ranks-per-run 2: a results table with every run")
        check(p is not None and "1 group of 2 ranks" in p.stdout, "--ranks-per-run 2: one group")
        p = mpirun(tmp, [(2, [DERMFUSE, "compare", study(tmp, "three"), "--ranks-per-run", "3"])], expect=2)
        check(p is not None and "--ranks-per-run 3" in p.stderr and "2 ranks" in p.stderr,
              f"--ranks-per-run 3 on 2 ranks refused: {p.stderr[:300] if p else ''}")
        check(not os.path.exists(os.path.join(tmp, "runs", "three")), "--ranks-per-run 3: nothing written")

        # Rank 1 fails at once: its study's config is missing.
        good, bad = study(tmp, "fault"), study(tmp, "fault-bad", config="missing.yaml")
        p = mpirun(tmp, [(1, [DERMFUSE, "compare", good]), (1, [DERMFUSE, "compare", bad])], expect=None)
        check(p is not None and p.returncode != 0, "a failing rank ends the job non-zero")
        check(p is not None and "rank 1: " in p.stderr and "missing.yaml" in p.stderr,
              f"the message names rank 1 and the file: {p.stderr[:400] if p else ''}")
        # Rank 1 fails in its first run while rank 0 trains its share and waits at the phase barrier.
        late = study(tmp, "late-fault")
        p = mpirun(tmp, [(1, [DERMFUSE, "compare", late]),
                         (1, ["env", "DERMFUSE_STOP_AFTER_STEPS=3", DERMFUSE, "compare", late])], expect=None)
        check(p is not None and p.returncode != 0, "a rank failing during training ends the job non-zero")
        check(p is not None and "rank 1: " in p.stderr and "meta, seed 1" in p.stderr,
              f"the message names rank 1 and its run: {p.stderr[:400] if p else ''}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())

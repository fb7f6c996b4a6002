#!/usr/bin/env python3
"""test_compare_resume.py DERMFUSE: a study interrupted again and again finishes without redoing finished runs.

On a tiny synthetic set (drawn by `dermfuse synth`), the study [image, meta, late] runs once without a stop
(the reference) and once with DERMFUSE_STOP_AFTER_STEPS=5, so that every invocation of `dermfuse compare`
stops its current run after five steps (6 steps make an epoch here, so stops fall inside epochs), as a kill would, and is started again until it succeeds. Checked:
- before each invocation every file of every finished run (test_metrics.json written) is recorded, and after
  it none of them has changed (bytes and modification time);
- the interrupted study did stop several times and then completed;
- a last invocation with everything finished retrains nothing and changes no file of any run;
- late fusion reuses the study's image and meta runs (no <late>/image sub-run);
- every run's test predictions equal the reference's byte for byte (resume is exact), and so do the
  metrics columns of results.csv and the analyses (analysis.csv);
- the study directory holds results.md, the Grad-CAM overlays and report.html with its charts.
"""
import os
import shutil
import subprocess
import sys
import tempfile

DERMFUSE = os.path.abspath(sys.argv[1])
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAILED:", what, flush=True)


def run(args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    e.setdefault("OMP_NUM_THREADS", "2")
    return subprocess.run([DERMFUSE] + args, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def snapshot(study_dir, only_finished):
    """(bytes, mtime_ns) of every file under the run directories (finished ones only, if asked)."""
    snap = {}
    for name in sorted(os.listdir(study_dir)):
        run_dir = os.path.join(study_dir, name)
        if not os.path.isdir(run_dir) or name == "gradcam":
            continue
        if only_finished and not os.path.exists(os.path.join(run_dir, "test_metrics.json")):
            continue
        for root, _, files in os.walk(run_dir):
            for f in files:
                p = os.path.join(root, f)
                with open(p, "rb") as fh:
                    snap[p] = (fh.read(), os.stat(p).st_mtime_ns)
    return snap


def write_study(tmp, name):
    with open(os.path.join(tmp, "base.yaml"), "w") as f:
        f.write(f"""run:
  name: tiny
data:
  layout: isic
  split: holdout
  train_csv: {tmp}/data/metadata.csv
  image_dir: {tmp}/data/images
  group_by: patient_id
  numeric: [age_approx]
  categorical: [sex, anatom_site_general]
  image_size: 16
  workers: 2
model:
  fusion: image
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
train:
  epochs: 2
  batch_size: 16
  optimizer: adamw
  lr: 0.005
""")
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"""study:
  name: {name}
  out_dir: {tmp}/runs
  config: base.yaml
  models: [image, meta, late]
  seeds: [1]
  bootstrap: 100
  gradcam_samples: 20
  gradcam_overlays: 2
""")
    return path


def main():
    tmp = tempfile.mkdtemp(prefix="df_compare_resume_")
    try:
        r = run(["synth", "--out", os.path.join(tmp, "data"), "--n", "120", "--size", "16", "--seed", "3"])
        check(r.returncode == 0, "synth: " + r.stdout[-2000:])
        ref, stopped = write_study(tmp, "reference"), write_study(tmp, "stopped")

        r = run(["compare", ref])
        check(r.returncode == 0, "reference study: " + r.stdout[-3000:])
        # late fusion takes the study's image and meta runs as its parts instead of training its own
        check("late fusion: reusing the finished image run" in r.stdout, "late fusion says it reuses the image run")
        check(not os.path.exists(os.path.join(tmp, "runs", "reference", "late-seed1", "image")),
              "no <late>/image sub-run in a study")

        study_dir = os.path.join(tmp, "runs", "stopped")
        interruptions, guarded = 0, 0
        for attempt in range(60):
            before = snapshot(study_dir, True) if os.path.isdir(study_dir) else {}
            r = run(["compare", stopped], env={"DERMFUSE_STOP_AFTER_STEPS": "5"})
            after = snapshot(study_dir, False)
            for p, v in before.items():
                check(after.get(p) == v, f"invocation {attempt + 1} touched {p}, a finished run's file")
            guarded += len(before) > 0
            if r.returncode == 0:
                break
            check("stopped" in r.stdout, "an unsuccessful invocation says it stopped: " + r.stdout[-2000:])
            interruptions += 1
        check(r.returncode == 0, "the interrupted study never completed: " + r.stdout[-3000:])
        check(interruptions >= 3, f"the study was interrupted {interruptions} times, expected several")
        check(guarded >= 2, "finished runs were present across at least two restarts")

        # Everything finished: nothing is trained again and no run file changes.
        before = snapshot(study_dir, False)
        r = run(["compare", stopped])
        check(r.returncode == 0, "final invocation: " + r.stdout[-3000:])
        check(r.stdout.count("finished earlier; not trained again") == 3, "all three runs skipped")
        check("warning" not in r.stdout, "no warnings: " + r.stdout[-3000:])
        check("epoch 1/2" not in r.stdout, "no training in the final invocation")
        check(snapshot(study_dir, False) == before, "the final invocation changed a run's file")

        # Exact resume: the same test predictions as the uninterrupted study.
        ref_dir = os.path.join(tmp, "runs", "reference")
        for sub in ["image-seed1", "meta-seed1", "late-seed1"]:
            a = open(os.path.join(ref_dir, sub, "test_predictions.csv"), "rb").read()
            b = open(os.path.join(study_dir, sub, "test_predictions.csv"), "rb").read()
            check(a == b, f"{sub}: test predictions differ from the uninterrupted study")

        def metric_rows(d):
            rows = open(os.path.join(d, "results.csv")).read().splitlines()
            return [",".join(line.split(",")[:11]) for line in rows]  # without the timing columns

        check(metric_rows(ref_dir) == metric_rows(study_dir), "results.csv metrics differ")
        check(open(os.path.join(ref_dir, "analysis.csv")).read() == open(os.path.join(study_dir, "analysis.csv")).read(),
              "analysis.csv differs")
        check(len(open(os.path.join(study_dir, "analysis.csv")).read().splitlines()) == 4, "analysis.csv rows")

        for f in ["results.md", "results.csv", "analysis.csv", "report.html", "gradcam/image-0.png",
                  "gradcam/late-1.png"]:
            check(os.path.exists(os.path.join(study_dir, f)), f"{f} written")
        html = open(os.path.join(study_dir, "report.html")).read()
        for chart in ['<svg id="roc"', '<svg id="curve-auc"', '<svg id="curve-loss"', '<svg id="cm-meta"',
                      '<svg id="pca-late"', '<div id="gradcam-image"', '<div id="gradcam-late"']:
            check(chart in html, "report.html holds " + chart)
        check("gradcam-meta" not in html, "no Grad-CAM for the metadata-only model")
        md = open(os.path.join(study_dir, "results.md")).read()
        check("## Analyses" in md and "heat-map index" in md, "results.md has the analyses table")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{failures} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

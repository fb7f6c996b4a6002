#!/usr/bin/env python3
"""test_study_outputs.py DERMFUSE: what a study writes, on a tiny synthetic set (1 epoch, two seeds).

Checked:
- late fusion reuses the study's image and meta runs: it says so, and no <late>/image or <late>/meta
  sub-run is created; its test predictions equal those of a standalone `dermfuse train` of its config
  (which trains its own parts), and its test_metrics.json records late_image_weight;
- results.csv has the AUC interval and p-value columns, with numbers in range (lo <= auc <= hi, p in [0, 1],
  "n/a" for the baseline's tests), and late_image_weight for late fusion;
- analysis.csv's n_features is the model's feature dimension (the meta model's last hidden width) and
  n_samples the test split's size;
- results.md opens with a Verdict whose Holm-adjusted p-values are >= the raw ones, and report.html shows it
  in a section before the tables;
- missing_meta.csv has, for every run of a model that uses metadata (meta, late; not image), a row with
  nothing withheld (the run's results.csv metrics), one per field and one with all withheld, whose drops are
  the differences; with all withheld the meta model sees one input for every sample (AUC and balanced
  accuracy 0.5), and late fusion ranks the test samples as its image model does (the same AUC, or 0.5 where
  its image weight is 0); results.md and report.html have the section.
- calibration.csv (eval.calibrate): ECE in [0, 1], Brier in [0, 2], a fitted temperature lowers (or keeps) the
  validation NLL, which it minimises (the ECE need not fall: T is not fitted to it), else a note says why;
  reliability.csv's bins hold every test sample, each bin's confidence inside its edges, and give back the ECE;
- subgroups.csv: each column's groups partition the test split, positives <= n, intervals hold the estimate, a
  too-small group has no metrics; subgroup_gaps.csv's AUC gap is the best minus the worst group's, compared with
  the baseline's; results.md and report.html have both sections, the reliability diagrams and the tables.
"""
import csv
import json
import os
import re
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


def run(args, cwd):
    e = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([DERMFUSE] + args, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


BASE = """run:
  name: tiny
data:
  layout: isic
  split: holdout
  train_csv: data/metadata.csv
  image_dir: data/images
  numeric: [age_approx]
  categorical: [sex, anatom_site_general]
  image_size: 16
  workers: 2
  hflip: true
  vflip: true
  rot90: true
  crop_scale_min: 0.6
  jitter: 0.1
model:
  fusion: image
  widths: [4, 8]
  depth: [1, 1]
  meta_hidden: [8]
train:
  epochs: 2
  batch_size: 16
  weight_decay: 0.0001
  schedule: cosine
  # the momentum statistics: with the recomputed ones this 1-epoch set picks late fusion's image weight 1 for
  # seed 1, which makes late fusion the baseline and leaves it no test to check
  precise_bn: 0
"""

STUDY = """study:
  name: s
  out_dir: runs
  config: base.yaml
  models: [late, image, meta]
  seeds: [1, 2]
  sets: [train.epochs=1]
  bootstrap: 100
  gradcam_samples: 0
eval:
  calibrate: true
  subgroup_min_samples: 5
  subgroup_min_class: 1
"""


def check_missing(sd, results, md, html):
    path = os.path.join(sd, "missing_meta.csv")
    if not check(os.path.exists(path), "missing_meta.csv written"):
        return
    rows = list(csv.DictReader(open(path)))
    fields = ["none", "age_approx", "sex", "anatom_site_general", "all"]
    got = {}
    for r in rows:
        got.setdefault((r["model"], int(r["seed"])), []).append(r)
    check(sorted(got) == [("late", 1), ("late", 2), ("meta", 1), ("meta", 2)], f"runs with metadata: {sorted(got)}")
    res = {(r["model"], int(r["seed"])): r for r in results}
    for key, rs in got.items():
        check([r["withheld"] for r in rs] == fields, f"{key}: one row per withheld field: {[r['withheld'] for r in rs]}")
        whole = res[key]
        check(abs(float(rs[0]["auc"]) - float(whole["auc"])) < 1e-3 and
              abs(float(rs[0]["balanced_accuracy"]) - float(whole["balanced_accuracy"])) < 1e-3,
              f"{key}: 'none' is the run's own result")
        for r in rs:
            for m in ("auc", "balanced_accuracy"):
                check(abs(float(rs[0][m]) - float(r[m]) - float(r[m + "_drop"])) < 1e-5, f"{key} {r['withheld']} {m} drop")
        a = {r["withheld"]: r for r in rs}["all"]
        if key[0] == "meta":
            check(float(a["auc"]) == 0.5 and float(a["balanced_accuracy"]) == 0.5,
                  f"{key}: the meta model without metadata knows nothing: {a}")
        else:
            w = float(whole["late_image_weight"])
            image_auc = float(res[("image", key[1])]["auc"])
            check(abs(float(a["auc"]) - (image_auc if w > 0 else 0.5)) < 0.01,
                  f"{key}: late fusion without metadata ranks as its image model (weight {w}): {a['auc']} vs {image_auc}")
        check(any(float(r["auc_drop"]) != 0 for r in rs[1:]), f"{key}: withholding changes something")
    check("\n## Missing metadata\n" in md and "| meta | all |" in md and "| late | sex |" in md,
          "results.md has the missing-metadata section")
    check('<table id="missing-meta">' in html, "report.html has the missing-metadata table")


def number(cell):
    return float("nan") if cell == "n/a" else float(cell)


def check_calibration(sd, rows, md, html):
    n_test = {(r["model"], r["seed"]): int(r["n"]) for r in rows}
    cal = list(csv.DictReader(open(os.path.join(sd, "calibration.csv"))))
    check(len(cal) == 6, "calibration.csv: one row per run")
    for col in ("temperature", "valid_nll_before", "valid_nll_after", "valid_ece_before", "valid_ece_after",
                "ece_before", "ece_after", "brier_before", "brier_after", "note"):
        check(col in cal[0], "calibration.csv has " + col)
    rel = list(csv.DictReader(open(os.path.join(sd, "reliability.csv"))))
    for c in cal:
        key = (c["model"], c["seed"])
        check(0 <= float(c["ece_before"]) <= 1 and 0 <= float(c["brier_before"]) <= 2, f"{key}: ECE, Brier in range")
        T = number(c["temperature"])
        if T == T:
            check(T > 0 and c["note"] == "", f"{key}: a temperature > 0, no note")
            check(float(c["valid_nll_after"]) <= float(c["valid_nll_before"]) + 1e-9,
                  f"{key}: T does not raise the validation NLL it minimises")
            check(0 <= float(c["ece_after"]) <= 1 and 0 <= float(c["brier_after"]) <= 2, f"{key}: after in range")
        else:
            check(c["note"] != "" and c["ece_after"] == "n/a", f"{key}: no temperature, a note says why")
        for stage, ece in (("before", c["ece_before"]), ("after", c["ece_after"])):
            bins = [b for b in rel if (b["model"], b["seed"], b["stage"]) == key + (stage,)]
            if ece == "n/a":
                check(not bins, f"{key}: no bins after without a temperature")
                continue
            check(len(bins) == 15, f"{key} {stage}: 15 bins (the default)")
            n = n_test[key]
            check(sum(int(b["count"]) for b in bins) == n, f"{key} {stage}: the bins hold every test sample")
            total = 0
            for b in bins:
                if int(b["count"]):
                    conf, acc = float(b["confidence"]), float(b["accuracy"])
                    check(float(b["lo"]) - 1e-6 <= conf <= float(b["hi"]) + 1e-6 and 0 <= acc <= 1,
                          f"{key} {stage}: bin {b['bin']} in range")
                    total += int(b["count"]) / n * abs(acc - conf)
            check(abs(total - float(ece)) < 1e-4, f"{key} {stage}: the bins give back the ECE {ece} ({total})")
    check("## Calibration (test split)" in md and "| ECE at T |" in md, "results.md has the calibration table")
    for m in ("image", "meta", "late"):
        check(f'<svg id="reliability-{m}"' in html, f"report.html has the reliability diagram of {m}")
    check('<section id="calibration">' in html and '<table id="calibration"' in html, "report.html calibration")


def check_subgroups(sd, rows, md, html):
    n_test = {(r["model"], r["seed"]): int(r["n"]) for r in rows}
    sub = list(csv.DictReader(open(os.path.join(sd, "subgroups.csv"))))
    for col in ("model", "seed", "column", "group", "n", "positives", "min_class", "status", "auc", "auc_lo",
                "auc_hi", "sensitivity", "sensitivity_lo", "sensitivity_hi", "specificity", "specificity_lo",
                "specificity_hi"):
        check(col in sub[0], "subgroups.csv has " + col)
    columns = sorted({s["column"] for s in sub})
    check(columns == ["age_approx (age band)", "anatom_site_general", "sex"], f"grouped by {columns}")
    ages = {s["group"] for s in sub if s["column"] == "age_approx (age band)"}
    check(ages == {"<30", "30-44", "45-59", "60-74", ">=75", "missing"}, f"age bands {ages}")
    best = {}
    for key in n_test:
        for column in columns:
            groups = [s for s in sub if (s["model"], s["seed"], s["column"]) == key + (column,)]
            check(sum(int(g["n"]) for g in groups) == n_test[key], f"{key} {column}: the groups partition the test split")
            ok = {}
            for g in groups:
                check(0 <= int(g["positives"]) <= int(g["n"]), f"{key} {column} {g['group']}: positives <= n")
                if g["status"] == "too small":
                    check(g["auc"] == "n/a" and g["sensitivity"] == "n/a", f"{key} {g['group']}: too small, no metrics")
                    continue
                for m in ("auc", "sensitivity", "specificity"):
                    v, lo, hi = number(g[m]), number(g[m + "_lo"]), number(g[m + "_hi"])
                    check(0 <= v <= 1 and (lo != lo or lo <= v <= hi), f"{key} {g['group']} {m}: {lo} <= {v} <= {hi}")
                if g["auc"] != "n/a":
                    ok[g["group"]] = float(g["auc"])
            best[key + (column,)] = max(ok.values()) - min(ok.values()) if len(ok) > 1 else float("nan")
    gaps = [g for g in csv.DictReader(open(os.path.join(sd, "subgroup_gaps.csv"))) if g["metric"] == "auc"]
    check(len(gaps) == 6 * len(columns), "subgroup_gaps.csv: one AUC row per run and column")
    for g in gaps:
        key = (g["model"], g["seed"], g["column"])
        want, gap = best[key], number(g["gap"])
        check((want != want and gap != gap) or abs(gap - want) < 2e-6, f"{key}: gap {gap}, expected {want}")
        base = number(g["baseline_gap"])
        expect = ("baseline" if g["model"] == "image" else "n/a" if gap != gap or base != base else
                  "narrower" if gap < base else "wider" if gap > base else "equal")
        check(g["vs_baseline"] == expect, f"{key}: vs_baseline {g['vs_baseline']}, expected {expect}")
    check("## Subgroups (seed 1, test split)" in md and "| AUC gap (best - worst) |" in md, "results.md subgroups")
    for t in ('<section id="subgroups">', '<table id="subgroups"', '<table id="subgroup-gaps"'):
        check(t in html, "report.html has " + t)


def main():
    tmp = tempfile.mkdtemp(prefix="df_study_outputs_")
    try:
        r = run(["synth", "--out", "data", "--n", "160", "--size", "32", "--seed", "3"], tmp)
        check(r.returncode == 0, "synth: " + r.stdout[-2000:])
        open(os.path.join(tmp, "base.yaml"), "w").write(BASE)
        open(os.path.join(tmp, "s.yaml"), "w").write(STUDY)
        r = run(["compare", "s.yaml"], tmp)
        check(r.returncode == 0, "study: " + r.stdout[-3000:])
        out = r.stdout
        sd = os.path.join(tmp, "runs", "s")

        # late fusion reuses the study's runs, which ran before it
        check(out.index("=== image, seed 1 ===") < out.index("=== late, seed 1 ==="), "image runs before late")
        check(out.count("late fusion: reusing the finished image run runs/s/image-seed") == 2, "reuse said per seed")
        check(out.count("late fusion: reusing the finished meta run runs/s/meta-seed") == 2, "meta reuse said")
        for seed in (1, 2):
            for part in ("image", "meta"):
                check(not os.path.exists(os.path.join(sd, f"late-seed{seed}", part)), f"no late-seed{seed}/{part}")
            tm = json.load(open(os.path.join(sd, f"late-seed{seed}", "test_metrics.json")))
            check(tm.get("late_combine") == "weighted" and 0 <= tm.get("late_image_weight", -1) <= 1,
                  "test_metrics.json has the late weight")
            # a standalone late run of the same config trains its own parts and predicts the same
            r = run(["train", f"runs/s/late-seed{seed}/config.yaml", "--set", f"run.name=alone{seed}", "--quiet"], tmp)
            check(r.returncode == 0, "standalone late: " + r.stdout[-2000:])
            check(os.path.isdir(os.path.join(tmp, "runs", f"alone{seed}", "image")), "standalone trains its parts")
            a = open(os.path.join(tmp, "runs", f"alone{seed}", "test_predictions.csv"), "rb").read()
            b = open(os.path.join(sd, f"late-seed{seed}", "test_predictions.csv"), "rb").read()
            check(a == b, f"seed {seed}: the study's late predictions equal the standalone run's")

        rows = list(csv.DictReader(open(os.path.join(sd, "results.csv"))))
        check(len(rows) == 6, "results.csv rows")
        for col in ("auc_lo", "auc_hi", "delong_p", "mcnemar_p", "late_image_weight", "train_seconds",
                    "images_per_second"):
            check(col in rows[0], "results.csv has " + col)
        for row in rows:
            lo, hi, auc = float(row["auc_lo"]), float(row["auc_hi"]), float(row["auc"])
            check(0 <= lo <= auc <= hi <= 1, f"{row['model']}: interval {lo} {auc} {hi}")
            if row["model"] == "image":
                check(row["delong_p"] == "n/a" and row["mcnemar_p"] == "n/a", "the baseline has no tests")
            else:
                for c in ("delong_p", "mcnemar_p"):
                    check(0 <= float(row[c]) <= 1, f"{row['model']} {c} in [0, 1]")
            check((row["late_image_weight"] != "n/a") == (row["model"] == "late"), "the late weight, late only")
            check((row["images_per_second"] == "n/a") == (row["model"] == "meta"), "img/s n/a for meta only")

        an = {row["model"]: row for row in csv.DictReader(open(os.path.join(sd, "analysis.csv")))}
        n_test = int(rows[0]["n"])
        check(an["meta"]["n_features"] == "8", "meta's feature dimension is its hidden width")
        check(an["image"]["n_features"] == "8", "image's feature dimension is its last width")
        check(an["late"]["n_features"] == "16", "late's features are its parts' side by side")
        check(all(int(a["n_samples"]) == n_test for a in an.values()), "n_samples is the test split's size")

        md = open(os.path.join(sd, "results.md")).read()
        check(md.startswith("# Study s\n\n## Verdict\n"), "results.md opens with the verdict")
        verdict = md.split("## Metrics")[0]
        pairs = re.findall(r"\(p ([0-9.e+-]+), Holm p ([0-9.e+-]+)", verdict)
        check(len(pairs) == 6, f"two compared models x three metrics: {len(pairs)}")
        for p, h in pairs:
            check(float(h) >= float(p), f"Holm p {h} >= raw p {p}")
        check("Warning: the test split's smallest class" in verdict, "small test split warned")
        check("2 seeds (mean ± sd over seeds)" in md, "two seeds: mean ± sd")
        check("the image model's weight, chosen on validation data" in md, "results.md notes the late weight")
        html = open(os.path.join(sd, "report.html")).read()
        check('<section id="verdict">' in html, "report.html has the verdict section")
        check(html.index('<section id="verdict">') < html.index("<table"), "the verdict comes before the tables")
        check(html.count("DeLong, AUC") == 2 and html.count("McNemar, F1") == 2, "each comparison in the verdict")
        check_missing(sd, rows, md, html)
        check_calibration(sd, rows, md, html)
        check_subgroups(sd, rows, md, html)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{failures} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

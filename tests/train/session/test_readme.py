#!/usr/bin/env python3
"""test_readme.py DERMFUSE ROOT: README.md's "Using it" commands run as written on a fresh copy.

Every ```sh block of the "Using it" section is run line by line, in order, in a new temporary folder that
holds a copy of ROOT/configs/ (configs name their data relative to themselves, so a copy, not a link), with
the leading `build/dermfuse` replaced by DERMFUSE. Every command must exit 0. To stay small, and only so, the
test changes exactly this:
- `synth`: the numbers after --n and --size become 240 and 32 (the configs resize images to their own size);
- `train` (both lines, so the resumed run has the config it started with): `--set train.epochs=1` appended;
- `compare`: `--set study.sets=[train.epochs=1] --set study.bootstrap=100 --set study.gradcam_samples=8`
  appended (the quick start study otherwise trains 8 epochs per model).
Then the files the section names (and each command writes) must exist. Each command's time is printed.

Then, in a second new folder, every example that a command's --help shows (the lines under "examples:"),
command by command in the order a user would meet them (synth, train, eval, predict, inspect, report,
show-batch, export-init, compare, config-keys, limits, version), with the same changes, and `--n` of a MILK10k synth made 60;
each must exit 0.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

DERMFUSE, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SMALL_SYNTH = {"--n": "240", "--size": "32"}
HELP_ORDER = ["synth", "train", "eval", "predict", "inspect", "report", "show-batch", "export-init", "compare",
              "config-keys", "limits", "version"]
SMALL_TRAIN = ["--set", "train.epochs=1"]
SMALL_COMPARE = ["--set", "study.sets=[train.epochs=1]", "--set", "study.bootstrap=100",
                 "--set", "study.gradcam_samples=8"]


def using_it_commands(readme):
    text = open(readme).read()
    m = re.search(r"^## Using it\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        sys.exit("README.md has no '## Using it' section")
    lines = []
    for block in re.findall(r"^```sh\n(.*?)^```", m.group(1), re.S | re.M):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                lines.append(words)
    return lines


def smaller(words):
    """The command as run here: DERMFUSE for build/dermfuse, and the changes the docstring lists."""
    if words[0] != "build/dermfuse":
        sys.exit(f"a README command that does not start with build/dermfuse: {' '.join(words)}")
    args = list(words[1:])
    if args and args[0] == "synth":
        for i in range(len(args) - 1):
            if args[i] in SMALL_SYNTH:
                args[i + 1] = SMALL_SYNTH[args[i]]
    elif args and args[0] == "train":
        args += SMALL_TRAIN
    elif args and args[0] == "compare":
        args += SMALL_COMPARE
    return [DERMFUSE] + args


def help_examples(command):
    """The example lines of `dermfuse COMMAND --help`, as word lists."""
    out = subprocess.run([DERMFUSE, command, "--help"], capture_output=True, text=True).stdout
    if "\nexamples:\n" not in out:
        sys.exit(f"dermfuse {command} --help shows no examples")
    return [shlex.split(line, comments=True) for line in out.split("\nexamples:\n", 1)[1].splitlines()
            if line.strip()]


def run_all(commands, tmp, env):
    """Runs each command in tmp; returns the number that did not exit 0."""
    failures = 0
    for words in commands:
        argv = smaller(words)
        if "milk10k" in words:  # lesions of two views each: fewer of them
            argv[argv.index("--n") + 1] = "60"
        t0 = time.time()
        p = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, env=env)
        print(f"{time.time() - t0:7.2f} s  exit {p.returncode}  {' '.join(words)}")
        if p.returncode != 0:
            failures += 1
            print(f"FAIL: {' '.join(argv[1:])} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}",
                  file=sys.stderr)
    return failures


def main():
    commands = using_it_commands(os.path.join(ROOT, "README.md"))
    examples = [words for command in HELP_ORDER for words in help_examples(command)]
    tmp = tempfile.mkdtemp(prefix="dermfuse-readme-")
    tmp2 = tempfile.mkdtemp(prefix="dermfuse-help-")
    env = dict(os.environ, OMP_NUM_THREADS="2")
    try:
        shutil.copytree(os.path.join(ROOT, "configs"), os.path.join(tmp, "configs"))
        failures = run_all(commands, tmp, env)
        expected = ["runs/synthetic-data/metadata.csv", "runs/synthetic-intermediate/config.yaml",
                    "runs/synthetic-intermediate/last.safetensors", "runs/synthetic-intermediate/best.safetensors",
                    "runs/synthetic-intermediate/metrics.csv", "runs/synthetic-intermediate/test_metrics.json",
                    "predictions.csv", "runs/synthetic-intermediate/report.html", "batch.png",
                    "runs/quickstart/results.md", "runs/quickstart/results.csv", "runs/quickstart/report.html"]
        for f in expected:
            if not os.path.exists(os.path.join(tmp, f)):
                failures += 1
                print(f"FAIL: {f} was not written", file=sys.stderr)
        # Every word in the section that names a file under runs/ or a .csv output exists after the sequence.
        for words in commands:
            for w in words:
                if (w.startswith("runs/") or w.endswith((".csv", ".png"))) and not os.path.exists(os.path.join(tmp, w)):
                    failures += 1
                    print(f"FAIL: {w}, named in the README, does not exist", file=sys.stderr)
        print("--help examples:")
        shutil.copytree(os.path.join(ROOT, "configs"), os.path.join(tmp2, "configs"))
        help_failures = run_all(examples, tmp2, env)
        failures += help_failures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(tmp2, ignore_errors=True)
    print(f"{len(commands)} README commands and {len(examples)} --help examples, {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

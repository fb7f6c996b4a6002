#!/usr/bin/env python3
"""bench_pytorch.py: PyTorch's figures for the shapes of tests/bench/bench_layers.c and bench_step.c.

Prints one line per figure, in the C benchmarks' units (higher is better):
    TORCH <name> <value> <unit> <ms per call>
figures (select some by name; none: all at 128 px):
    conv3x3 (conv3x3_fwd, conv3x3_bwd, conv3x3_fwd_bwd in GFLOP/s), batchnorm (batchnorm_fwd_bwd,
    batchnorm_relu_fwd_bwd in img/s), step_image, step_intermediate, step_resnet18 (3x128x128),
    step_image_224, step_intermediate_224, step_resnet18_224 (3x224x224): training steps, batch 32, img/s.
The models are scripts/torch_models.py's twins of dermfuse's; each step figure first prints
    # step_<model>: <N> parameters
and when exactly one step figure runs, the process's peak RSS (VmHWM, so `import torch` included) follows:
    TORCH rss_step_<model> <MB> MB
Each figure is the median of timed calls after warm-up.

Usage: bench_pytorch.py [--threads N] [--channels-last] [--quick] [--reps N] [--warmup N] [--steps N] [figure...]
  --threads N      torch.set_num_threads(N) (default: leave PyTorch's own choice)
  --channels-last  NHWC memory format for the image tensors and models (dermfuse's layout)
  --reps N         timed calls per layer figure (default 15, 5 with --quick; --quick leaves the steps alone)
  --warmup N, --steps N   warm-up and timed training steps (default 2 and 9 at 128 px, 1 and 3 at 224 px,
                   as tests/bench/bench_step.c)
The malloc tuning (GLIBC_TUNABLES) must be set in the environment before Python starts;
scripts/bench_compare.sh runs this out of the box and tuned. Needs python3-torch (Debian's /usr/bin/python3).
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import VGG, ResNet18, count_parameters  # noqa: E402


def median_ms(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t) * 1e3


def emit(name, value, unit, ms):
    print(f"TORCH {name} {value:.2f} {unit} {ms:.2f}", flush=True)


def fmt(x, cl):
    return x.contiguous(memory_format=torch.channels_last) if cl else x


def bench_conv(cl, reps):
    B, H, W, C, CO = 8, 56, 56, 64, 64
    conv = nn.Conv2d(C, CO, 3, padding=1, bias=False)
    if cl:
        conv = conv.to(memory_format=torch.channels_last)
    x = fmt(torch.randn(B, C, H, W), cl).requires_grad_(True)
    flops = 2.0 * B * H * W * CO * 9 * C
    with torch.no_grad():
        ms = median_ms(lambda: conv(x), 3, reps)
    emit("conv3x3_fwd", flops / (ms * 1e-3) * 1e-9, "GFLOP/s", ms)
    y = conv(x)
    dy = fmt(torch.randn_like(y), cl)

    def bwd():
        x.grad = None
        conv.weight.grad = None
        # The graph is kept so that only the backward (input and weight gradients) is timed.
        torch.autograd.backward(y, dy, retain_graph=True)

    ms = median_ms(bwd, 3, reps)
    emit("conv3x3_bwd", 2 * flops / (ms * 1e-3) * 1e-9, "GFLOP/s", ms)

    def fwd_bwd():
        x.grad = None
        conv.weight.grad = None
        torch.autograd.backward(conv(x), dy)

    ms = median_ms(fwd_bwd, 3, reps)
    emit("conv3x3_fwd_bwd", 3 * flops / (ms * 1e-3) * 1e-9, "GFLOP/s", ms)


def bench_bn(cl, reps):
    B, H, W, C = 32, 56, 56, 64
    bn = nn.BatchNorm2d(C)
    x = fmt(torch.randn(B, C, H, W), cl).requires_grad_(True)
    dy = fmt(torch.randn(B, C, H, W), cl)
    for name, f in (("batchnorm_fwd_bwd", lambda: bn(x)), ("batchnorm_relu_fwd_bwd", lambda: F.relu(bn(x)))):
        def step():
            x.grad = None
            bn.weight.grad = bn.bias.grad = None
            f().backward(dy)
        ms = median_ms(step, 3, reps)
        emit(name, B / (ms * 1e-3), "img/s", ms)


def peak_rss_mb():
    """The process's peak resident set in MB (10^6 bytes), VmHWM as tests/bench/bench_util.h reads it."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return 0.0


# step figure -> (model class, metadata length, image side)
STEPS = {
    "step_image": (VGG, 0, 128),
    "step_intermediate": (VGG, 16, 128),
    "step_resnet18": (ResNet18, 0, 128),
    "step_image_224": (VGG, 0, 224),
    "step_intermediate_224": (VGG, 16, 224),
    "step_resnet18_224": (ResNet18, 0, 224),
}


def bench_step(name, cl, warmup, steps):
    """A training step as bench_step.c times it: zero grads, forward, cross-entropy, backward, SGD with
    momentum 0.9 (dermfuse's step also takes the gradient norm, which costs one pass over the gradients)."""
    cls, meta_dim, S = STEPS[name]
    B = 32
    big = S > 128
    warmup = warmup if warmup >= 0 else (1 if big else 2)
    steps = steps if steps > 0 else (3 if big else 9)
    torch.manual_seed(1)
    model = cls(meta_dim) if meta_dim else cls()
    print(f"# {name}: {S}x{S}x3, {count_parameters(model)} parameters, {warmup} warm-up and {steps} timed steps",
          flush=True)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    x = fmt(torch.randn(B, 3, S, S), cl)
    meta = torch.randn(B, meta_dim) if meta_dim else None
    target = torch.arange(B) % 2

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x, meta), target)
        loss.backward()
        opt.step()

    ms = median_ms(step, warmup, steps)
    emit(name, B / (ms * 1e-3), "img/s", ms)


LAYERS = ("conv3x3", "batchnorm")
DEFAULT = ("conv3x3", "batchnorm", "step_image", "step_intermediate", "step_resnet18")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--reps", type=int, default=0, help="timed calls per layer figure")
    ap.add_argument("--warmup", type=int, default=-1, help="warm-up training steps")
    ap.add_argument("--steps", type=int, default=0, help="timed training steps")
    ap.add_argument("figures", nargs="*", metavar="figure", help=" ".join(LAYERS + tuple(STEPS)))
    a = ap.parse_args()
    a.figures = a.figures or DEFAULT
    for f in a.figures:
        if f not in LAYERS and f not in STEPS:
            ap.error(f"unknown figure {f}")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    reps = a.reps if a.reps > 0 else 5 if a.quick else 15
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{'channels-last' if a.channels_last else 'NCHW'}, "
          f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '(unset)')}; "
          f"peak RSS after import torch {peak_rss_mb():.1f} MB", flush=True)
    if "conv3x3" in a.figures:
        bench_conv(a.channels_last, reps)
    if "batchnorm" in a.figures:
        bench_bn(a.channels_last, reps)
    steps = [f for f in a.figures if f in STEPS]
    for name in steps:
        bench_step(name, a.channels_last, a.warmup, a.steps)
    if len(steps) == 1:
        print(f"TORCH rss_{steps[0]} {peak_rss_mb():.1f} MB", flush=True)


if __name__ == "__main__":
    main()

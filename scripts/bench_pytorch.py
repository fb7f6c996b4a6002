#!/usr/bin/env python3
"""bench_pytorch.py: PyTorch's figures for the shapes of tests/bench/bench_layers.c and bench_step.c.

Prints one line per figure, in the C benchmarks' units (higher is better):
    TORCH <name> <value> <unit> <ms per call>
names: conv3x3_fwd, conv3x3_bwd, conv3x3_fwd_bwd (GFLOP/s), batchnorm_fwd_bwd, batchnorm_relu_fwd_bwd (img/s),
step_image, step_intermediate (img/s). Each figure is the median of timed calls after warm-up.

Usage: bench_pytorch.py [--threads N] [--channels-last] [--quick]
  --threads N      torch.set_num_threads(N) (default: leave PyTorch's own choice)
  --channels-last  NHWC memory format for the image tensors and models (dermfuse's layout)
The malloc tuning (GLIBC_TUNABLES) must be set in the environment before Python starts;
scripts/bench_compare.sh runs this out of the box and tuned. Needs python3-torch (Debian's /usr/bin/python3).
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


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
    print(f"TORCH {name} {value:.1f} {unit} {ms:.2f}", flush=True)


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


class VGG(nn.Module):
    """4 blocks conv3x3 (no bias)-BN-ReLU-maxpool 32/64/128/256, GAP, linear; optional metadata MLP
    (meta_dim -> 64 -> 32, ReLU) concatenated with the pooled features (intermediate fusion), as
    dermfuse's df_model_spec_default builds them."""

    def __init__(self, meta_dim=0, n_classes=2):
        super().__init__()
        layers, c = [], 3
        for w in (32, 64, 128, 256):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c = w
        self.backbone = nn.Sequential(*layers)
        self.meta = (nn.Sequential(nn.Linear(meta_dim, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
                     if meta_dim else None)
        self.head = nn.Linear(c + (32 if meta_dim else 0), n_classes)

    def forward(self, x, meta=None):
        f = self.backbone(x).mean(dim=(2, 3))
        if self.meta is not None:
            f = torch.cat([f, self.meta(meta)], dim=1)
        return self.head(f)


def bench_step(cl, reps):
    B, S, M = 32, 128, 16
    for name, meta_dim in (("step_image", 0), ("step_intermediate", M)):
        torch.manual_seed(1)
        model = VGG(meta_dim)
        if cl:
            model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
        x = fmt(torch.randn(B, 3, S, S), cl)
        meta = torch.randn(B, M) if meta_dim else None
        target = torch.arange(B) % 2

        def step():
            opt.zero_grad(set_to_none=False)
            loss = F.cross_entropy(model(x, meta), target)
            loss.backward()
            opt.step()

        ms = median_ms(step, 2, reps)
        emit(name, B / (ms * 1e-3), "img/s", ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    reps = 5 if a.quick else 15
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{'channels-last' if a.channels_last else 'NCHW'}, "
          f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '(unset)')}", flush=True)
    bench_conv(a.channels_last, reps)
    bench_bn(a.channels_last, reps)
    bench_step(a.channels_last, max(5, reps // 2))


if __name__ == "__main__":
    main()

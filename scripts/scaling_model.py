#!/usr/bin/env python3
"""scaling_model.py: docs/SCALING.md's tables of predicted data-parallel speed-up, from measured inputs.

  step time(N)      = compute(N) + all-reduce(N)
  compute(N)        = T1 x B(N)/32 / N            (T1: one rank's step at batch 32; B(N) = max(32, N): the
                                                   global batch, at least one image per rank)
  all-reduce(N)     = G x 2(N-1)/N / link + ALPHA x 2(N-1)   (G: gradient bytes, 4 x trainable parameters)
  speed-up(N)       = (B(N) / step time(N)) / (32 / T1)      images per second against one rank
Usage: scaling_model.py STEPS.txt, where each line of STEPS.txt is "<model name>,<T1 seconds>,<parameters>"."""
import sys

ALPHA = 30e-6  # seconds per message step: TCP over Ethernet (see docs/SCALING.md), not measured here
NS = [1, 2, 4, 8, 16, 32, 64]


def allreduce(g, n, gbps):
    return 0.0 if n == 1 else g * 2 * (n - 1) / n / (gbps * 1e9 / 8) + ALPHA * 2 * (n - 1)


def main():
    models = [(n, float(t), int(p)) for n, t, p in (line.strip().rsplit(",", 2) for line in open(sys.argv[1])
                                                    if line.strip())]
    for gbps in (10, 25, 100):
        print(f"\n#### {gbps} Gb/s: speed-up (efficiency)\n")
        print("| model | T1 | gradient | all-reduce, 64 nodes | " + " | ".join(f"N={n}" for n in NS) + " |")
        print("|---|---|---|---|" + "---|" * len(NS))
        for name, t1, p in models:
            g = 4 * p
            cells = []
            for n in NS:
                b = max(32, n)
                s = (b / (t1 * b / 32 / n + allreduce(g, n, gbps))) / (32 / t1)
                cells.append(f"{s:.1f} ({100 * s / n:.0f}%)")
            print(f"| {name} | {t1 * 1000:.0f} ms | {g / 1e6:.2f} MB | {allreduce(g, 64, gbps) * 1000:.1f} ms | "
                  + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

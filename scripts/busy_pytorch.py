#!/usr/bin/env python3
"""busy_pytorch.py: the PyTorch side of scripts/bench_busy.sh: trains the twin of
configs/recipes/small-cnn-fusion-28.yaml (tests/recipes/small_cnn_fusion_28.py: the same model, Adam at 0.001,
batches of 64 shuffled, the images held in memory as a short PyTorch script holds them) and prints one line
per epoch, "EPOCH <n> <seconds>", timing the training loop only (as dermfuse's metrics.jsonl times its epochs).

  busy_pytorch.py --data DIR [--epochs 3] [--threads 2]"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "recipes"))

import torch  # noqa: E402

from small_cnn_fusion_28 import Encoder, SmallCnnFusion, read_split, train_epoch  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    rows, x = read_split(args.data, "train.csv")
    x = torch.from_numpy((x - x.mean()) / x.std())
    m = Encoder(rows)(rows)
    classes = sorted({r["label"] for r in rows})
    y = torch.tensor([classes.index(r["label"]) for r in rows])
    model = SmallCnnFusion(1, m.shape[1], len(classes))
    print(f"PARAMS {sum(p.numel() for p in model.parameters())}", flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        train_epoch(model, opt, x, m, y)
        print(f"EPOCH {epoch + 1} {time.perf_counter() - t0:.4f}", flush=True)


if __name__ == "__main__":
    main()

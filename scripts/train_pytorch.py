#!/usr/bin/env python3
"""train_pytorch.py: PyTorch's side of scripts/bench_train.sh: trains the model `dermfuse train` trains, from
the same image files, and prints the wall time of each epoch.

What it does, as the config bench_train.sh writes does it in dermfuse: a CSV with columns `image` (file name
in --images) and `class` (label); every image read with PIL, converted to RGB, resized to --size x --size
(bilinear), scaled to [0, 1] (dermfuse's data.normalize none), no augmentation; shuffled batches of --batch
(the last one partial) from a torch.utils.data.DataLoader with --workers worker processes that stay up
between epochs; the model from scripts/torch_models.py; cross-entropy; SGD with momentum; --threads compute
threads. Prints
    # <model>: <N> parameters
    EPOCH <e> <seconds> <images/s>
where an epoch's time runs from asking for its first batch to the end of its last step (the workers' start
counts in the first epoch, as dermfuse's loader start counts in its).

Usage: train_pytorch.py --csv FILE --images DIR [--model vgg|resnet18] [--size 64] [--batch 32] [--epochs 2]
                        [--workers 2] [--threads 2] [--lr 0.01] [--momentum 0.9] [--channels-last] [--seed 1]
"""
import argparse
import csv
import os
import sys
import time

import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import VGG, ResNet18, count_parameters  # noqa: E402


class Files(torch.utils.data.Dataset):
    def __init__(self, csv_path, image_dir, size):
        with open(csv_path, newline="") as f:
            self.rows = [(r["image"], int(float(r["class"]))) for r in csv.DictReader(f)]
        self.image_dir, self.size = image_dir, size

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        name, label = self.rows[i]
        with Image.open(os.path.join(self.image_dir, name)) as im:
            im = im.convert("RGB").resize((self.size, self.size), Image.BILINEAR)
            x = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
        return x.view(self.size, self.size, 3).permute(2, 0, 1).float().div_(255), label


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--model", choices=("vgg", "resnet18"), default="vgg")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = Files(a.csv, a.images, a.size)
    n_classes = max(label for _, label in data.rows) + 1
    model = VGG(n_classes=n_classes) if a.model == "vgg" else ResNet18(n_classes=n_classes)
    print(f"# {a.model}: {count_parameters(model)} parameters", flush=True)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.workers,
                                         persistent_workers=a.workers > 0, drop_last=False)
    model.train()
    for epoch in range(1, a.epochs + 1):
        t0, seen, total = time.perf_counter(), 0, 0.0
        for x, y in loader:
            if a.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=False)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            seen += len(y)
            total += loss.item() * len(y)
        sec = time.perf_counter() - t0
        print(f"EPOCH {epoch} {sec:.2f} {seen / sec:.1f}  # train loss {total / seen:.4f}", flush=True)


if __name__ == "__main__":
    main()

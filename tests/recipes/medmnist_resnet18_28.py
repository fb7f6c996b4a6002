"""medmnist_resnet18_28.py: the PyTorch twin of configs/recipes/medmnist-resnet18-28.yaml, MedMNIST v2's
ResNet-18 (28) baseline as its reference script trains it: a 3x3 stride-1 stem without max-pool, basic blocks
[2, 2, 2, 2] of widths 64-512, PyTorch's default initialisation, ToTensor + Normalize(0.5, 0.5), Adam at
0.001 with the rate times 0.1 after half and three quarters of the epochs, batch 128 shuffled, cross-entropy,
the weights after the last epoch tested.

  python3 medmnist_resnet18_28.py --data DIR [--epochs 100] [--seed 1] [--init init.safetensors]

DIR holds train.csv, valid.csv and test.csv (columns `image`, `label`) and the images they name in DIR/images.
--init starts from the weights `dermfuse export-init` wrote for the recipe instead of a fresh draw. The model
and the name map are imported by tests/recipes/test_recipe_trajectory.py."""
import argparse
import csv
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dermfuse_io import load_init, read_safetensors


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class ResNet18(nn.Module):
    def __init__(self, in_channels, n_classes, widths=(64, 128, 256, 512), depth=(2, 2, 2, 2), stem=64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, stem, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        stages, cin = [], stem
        for s, (w, d) in enumerate(zip(widths, depth)):
            stages.append(nn.Sequential(*[Block(cin if b == 0 else w, w, 2 if s > 0 and b == 0 else 1)
                                          for b in range(d)]))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.linear = nn.Linear(cin, n_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for stage in self.stages:
            x = stage(x)
        return self.linear(x.mean(dim=(2, 3)))


def dermfuse_names(model):
    """dermfuse's tensor names (train/model/model.c) -> this model's state_dict keys."""
    names = {}

    def bn(prefix, key):
        for p in ("weight", "bias", "running_mean", "running_var"):
            names[f"{prefix}.{p}"] = f"{key}.{p}"

    names["image.stem.conv.weight"] = "conv1.weight"
    bn("image.stem.bn", "bn1")
    for s, stage in enumerate(model.stages):
        for b, block in enumerate(stage):
            p, k = f"image.stage{s + 1}.block{b + 1}", f"stages.{s}.{b}"
            names[f"{p}.a.conv.weight"] = f"{k}.conv1.weight"
            bn(f"{p}.a.bn", f"{k}.bn1")
            names[f"{p}.b.conv.weight"] = f"{k}.conv2.weight"
            bn(f"{p}.b.bn", f"{k}.bn2")
            if block.down is not None:
                names[f"{p}.down.conv.weight"] = f"{k}.down.0.weight"
                bn(f"{p}.down.bn", f"{k}.down.1")
    names["logits.weight"] = "linear.weight"
    names["logits.bias"] = "linear.bias"
    return names


def read_split(folder, name, classes=None):
    from PIL import Image
    rows = list(csv.DictReader(open(os.path.join(folder, name))))
    classes = classes or sorted({r["label"] for r in rows})
    x = np.stack([np.asarray(Image.open(os.path.join(folder, "images", r["image"])).convert("RGB"), np.float32)
                  for r in rows]) / 255.0
    x = (x - 0.5) / 0.5
    y = np.array([classes.index(r["label"]) for r in rows], np.int64)
    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y), classes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    x, y, classes = read_split(args.data, "train.csv")
    xt, yt, _ = read_split(args.data, "test.csv", classes)
    model = ResNet18(3, len(classes))
    if args.init:
        load_init(model, read_safetensors(args.init)[0], dermfuse_names(model))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(0.5 * args.epochs), int(0.75 * args.epochs)], 0.1)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y))
        for i in range(0, len(y), 128):
            idx = order[i:i + 128]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        sched.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(xt), 1).numpy()
    print("test accuracy", float((p.argmax(1) == yt.numpy()).mean()))


if __name__ == "__main__":
    main()

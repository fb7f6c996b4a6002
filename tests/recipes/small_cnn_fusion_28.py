"""small_cnn_fusion_28.py: the PyTorch twin of configs/recipes/small-cnn-fusion-28.yaml: a small CNN on
28x28 gray images with intermediate metadata fusion, written as a short PyTorch script would write it.

  python3 small_cnn_fusion_28.py --data DIR [--epochs 8] [--seed 1] [--init init.safetensors] [--json OUT]

DIR holds train.csv and test.csv (columns image, label, age_approx, sex, anatom_site_general) and the images
they name in DIR/images. The input is normalised with the training pixels' mean and standard deviation; the
metadata are encoded as dermfuse's data/table/meta.h says (age standardised with the training mean and
population sd plus a missing indicator; each category one-hot over the training values in byte order plus an
unknown slot). --init starts from the weights `dermfuse export-init` wrote for the recipe; --json writes the
test AUC and accuracy. The model and the name map are imported by tests/recipes/test_recipe_trajectory.py."""
import argparse
import csv
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dermfuse_io import load_init, read_safetensors

NUMERIC = ["age_approx"]
CATEGORICAL = ["sex", "anatom_site_general"]


class SmallCnnFusion(nn.Module):
    def __init__(self, in_channels, meta_dim, n_classes, widths=(16, 32), meta_hidden=16):
        super().__init__()
        stages, cin = [], in_channels
        for w in widths:
            stages.append(nn.Sequential(nn.Conv2d(cin, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                                        nn.MaxPool2d(2)))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.meta = nn.Linear(meta_dim, meta_hidden)
        self.logits = nn.Linear(cin + meta_hidden, n_classes)

    def forward(self, image, meta):
        x = self.stages(image).mean(dim=(2, 3))
        return self.logits(torch.cat([x, F.relu(self.meta(meta))], 1))


def dermfuse_names(model):
    """dermfuse's tensor names (train/model/model.c) -> this model's state_dict keys."""
    names = {}
    for s in range(len(model.stages)):
        names[f"image.stage{s + 1}.conv.weight"] = f"stages.{s}.0.weight"
        for p in ("weight", "bias", "running_mean", "running_var"):
            names[f"image.stage{s + 1}.bn.{p}"] = f"stages.{s}.1.{p}"
    for p in ("weight", "bias"):
        names[f"meta.fc1.{p}"] = f"meta.{p}"
        names[f"logits.{p}"] = f"logits.{p}"
    return names


def missing(v):
    return v.strip().lower() in ("", "na", "nan")


class Encoder:
    def __init__(self, rows):
        self.stats = {}
        for c in NUMERIC:
            x = np.array([float(r[c]) for r in rows if not missing(r[c])])
            sd = x.std() if len(x) else 0.0
            self.stats[c] = (x.mean() if len(x) else 0.0, sd if sd > 0 else 1.0)
        self.values = {c: sorted({r[c] for r in rows if not missing(r[c])}, key=lambda s: s.encode())
                       for c in CATEGORICAL}

    def __call__(self, rows):
        out = []
        for r in rows:
            v = []
            for c in NUMERIC:
                mean, sd = self.stats[c]
                v += [0.0, 1.0] if missing(r[c]) else [(float(r[c]) - mean) / sd, 0.0]
            for c in CATEGORICAL:
                one = [0.0] * (len(self.values[c]) + 1)
                one[self.values[c].index(r[c]) if r[c] in self.values[c] else -1] = 1.0
                v += one
            out.append(v)
        return torch.tensor(out, dtype=torch.float32)


def read_split(folder, name):
    from PIL import Image
    rows = list(csv.DictReader(open(os.path.join(folder, name))))
    x = np.stack([np.asarray(Image.open(os.path.join(folder, "images", r["image"])).convert("L"), np.float32)
                  for r in rows])[:, None] / 255.0
    return rows, x


def train_epoch(model, opt, x, m, y, batch=64):
    """One epoch of shuffled batches; returns the mean training loss."""
    model.train()
    order = torch.randperm(len(y))
    total = 0.0
    for i in range(0, len(y), batch):
        idx = order[i:i + batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx], m[idx]), y[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total / len(y)


def auc(p, y):
    """Area under the ROC curve: the Mann-Whitney statistic, ties counted half."""
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ps = p[order]
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and ps[j + 1] == ps[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init")
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    train_rows, x = read_split(args.data, "train.csv")
    test_rows, xt = read_split(args.data, "test.csv")
    mean, std = x.mean(), x.std()
    x, xt = torch.from_numpy((x - mean) / std), torch.from_numpy((xt - mean) / std)
    encode = Encoder(train_rows)
    m, mt = encode(train_rows), encode(test_rows)
    classes = sorted({r["label"] for r in train_rows})
    y = torch.tensor([classes.index(r["label"]) for r in train_rows])
    yt = np.array([classes.index(r["label"]) for r in test_rows])
    model = SmallCnnFusion(1, m.shape[1], len(classes))
    if args.init:
        load_init(model, read_safetensors(args.init)[0], dermfuse_names(model))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(args.epochs):
        print(f"epoch {epoch + 1}: train loss {train_epoch(model, opt, x, m, y):.4f}")
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(xt, mt), 1).numpy()
    result = {"auc": auc(p[:, 1], yt), "accuracy": float((p.argmax(1) == yt).mean()), "n": len(yt)}
    print(f"test AUC {result['auc']:.4f}  accuracy {result['accuracy']:.4f}")
    if args.json:
        json.dump(result, open(args.json, "w"))


if __name__ == "__main__":
    main()

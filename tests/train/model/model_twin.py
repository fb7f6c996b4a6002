#!/usr/bin/env python3
"""PyTorch twins of the film and cross_attention models, written from model.h's description and fed the
tensors tests/train/model/model_dump (path in argv[1]) wrote under dermfuse's names: the twin's logits, loss and
every parameter gradient of one training-mode forward and backward must match dermfuse's. Each array is held to
|ours - torch| <= 1e-5 + 2e-4 max|torch| (float32 through a dozen layers, against mistakes of order 1e-2).
Exit 0 if both match, 1 if not, 77 (skipped) where PyTorch is not installed."""
import array
import json
import math
import os
import subprocess
import sys
import tempfile

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("PyTorch is not installed (Debian package python3-torch): skipped")
    sys.exit(77)


def load(folder, model, name, shape):
    a = array.array("f")
    with open(os.path.join(folder, f"{model}.{name}.f32"), "rb") as f:
        a.frombytes(f.read())
    return torch.tensor(a, dtype=torch.float32).reshape(shape)


def twin(P, x, model, cfg):
    """Forward of the model on NHWC images x (list of views) and metadata; P maps names to tensors."""
    lin = lambda name, v: F.linear(v, P[name + ".weight"], P[name + ".bias"])
    meta = F.relu(lin("meta.fc1", x["input.meta"]))
    views = cfg["views"]
    maps, pooled = [], []
    for v in range(views):
        prefix = "image" if views == 1 else f"image{v}"
        h = x[f"input.image{v}"].permute(0, 3, 1, 2)
        for st in (1, 2):
            s = f"{prefix}.stage{st}"
            h = F.conv2d(h, P[s + ".conv.weight"].permute(0, 3, 1, 2), padding=1)
            h = F.batch_norm(h, None, None, P[s + ".bn.weight"], P[s + ".bn.bias"], training=True, eps=1e-5)
            h = F.max_pool2d(F.relu(h), 2)
            if model == "film":
                f = f"film.{prefix}.stage{st}"
                gamma, beta = lin(f + ".gamma", meta), lin(f + ".beta", meta)
                h = (1 + gamma[:, :, None, None]) * h + beta[:, :, None, None]
        maps.append(h)
        pooled.append(h.mean(dim=(2, 3)))
    if model == "cross_attention":
        T, d, H = cfg["tokens"], cfg["dim"], cfg["heads"]
        tokens = lin("attn.tokens", meta).reshape(-1, T, d)
        pos = torch.cat([m.permute(0, 2, 3, 1).flatten(1, 2) for m in maps], dim=1)  # (B, P, C), view 0 first
        heads = []
        for j in range(1, H + 1):
            q, k, vv = lin(f"attn.head{j}.q", tokens), lin(f"attn.head{j}.k", pos), lin(f"attn.head{j}.v", pos)
            a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d // H), dim=-1)
            heads.append(a @ vv)
        y = tokens + lin("attn.out", torch.cat(heads, dim=-1))
        y = F.layer_norm(y, [d], P["attn.norm.weight"], P["attn.norm.bias"], eps=1e-5)
        pooled.append(y.mean(dim=1))
    return lin("logits", torch.cat(pooled, dim=1))


def main():
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.argv[1], folder], check=True)
        with open(os.path.join(folder, "manifest.json")) as f:
            models = json.load(f)
        failed = 0
        for model, cfg in models.items():
            arrays = cfg["arrays"]
            get = lambda n: load(folder, model, n, arrays[n])
            x = {n: get(n) for n in arrays if n.startswith("input.")}
            P = {n: get(n).requires_grad_() for n in arrays
                 if not n.startswith(("input.", "grad.")) and n not in ("logits", "loss")}
            logits = twin(P, x, model, cfg)
            loss = F.cross_entropy(logits, x["input.target"].long())
            loss.backward()
            checks = [("logits", get("logits"), logits.detach()), ("loss", get("loss"), loss.detach())]
            checks += [(f"grad.{n}", get(f"grad.{n}"), p.grad) for n, p in P.items()]
            ok, worst = True, 0.0
            for what, ours, ref in checks:
                ours, ref = ours.reshape(-1), ref.reshape(-1)
                err = float((ours - ref).abs().max())
                tol = 1e-5 + 2e-4 * float(ref.abs().max())
                worst = max(worst, err)
                if not err <= tol:
                    ok = False
                    print(f"  {model}: {what} differs by {err:.3g} (tolerance {tol:.3g})")
            print(f"{'ok  ' if ok else 'FAIL'} {model:<16} {len(checks)} arrays (logits, loss, {len(P)} gradients), "
                  f"max |diff| {worst:.2e}")
            failed += not ok
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

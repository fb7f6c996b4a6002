#!/usr/bin/env python3
"""Compares dermfuse's layers with PyTorch's on the same inputs: forward outputs, input and parameter
gradients, and batch-norm running statistics. Runs tests/layers/torch_dump (path in argv[1]) into a temporary
folder, recomputes every case with torch and prints one line per case. Exit 0 if all match, 1 if any
differs, 77 (skipped) where PyTorch is not installed."""
import array
import json
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

torch.set_default_dtype(torch.float32)


def load(folder, case, name, shape):
    a = array.array("f")
    with open(os.path.join(folder, f"{case}.{name}.f32"), "rb") as f:
        a.frombytes(f.read())
    return torch.tensor(a, dtype=torch.float32).reshape(shape)


def nchw(t):
    return t.permute(0, 3, 1, 2).contiguous()


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def run(folder, case):
    name, op, shapes, attrs = case["name"], case["op"], case["shapes"], case["attrs"]
    get = lambda arr, shape: load(folder, name, arr, shape)
    checks = []
    out_ours = get("out", shapes["out"])
    if op in ("softmax_ce", "bce"):
        z = get("z", shapes["z"]).requires_grad_()
        t = get("t", shapes["t"])
        w = torch.tensor(attrs["weights"])
        if op == "softmax_ce":
            y = F.cross_entropy(z, t.long(), weight=w, label_smoothing=attrs["smoothing"])
        else:
            wt = w[t.long()]
            y = F.binary_cross_entropy_with_logits(z.view(-1), t, weight=wt, reduction="sum") / wt.sum()
        y.backward()
        checks += [("out", out_ours.view(-1), y.detach().view(-1)),
                   ("grad.z", get("grad.z", shapes["z"]), z.grad)]
        return checks
    if op in ("bmm", "film"):
        names = ["a", "b"] if op == "bmm" else ["x", "gamma", "beta"]
        ins = {n: get(n, shapes[n]).requires_grad_() for n in names}
        if op == "bmm":
            a, b = ins["a"], ins["b"]
            y = attrs["alpha"] * torch.bmm(a.transpose(1, 2) if attrs["trans_a"] else a,
                                           b.transpose(1, 2) if attrs["trans_b"] else b)
        else:
            g, b = ins["gamma"][:, None, None, :], ins["beta"][:, None, None, :]
            y = (1 + g) * ins["x"] + b
        y.backward(get("dout", shapes["out"]))
        checks.append(("out", out_ours, y.detach()))
        checks += [(f"grad.{n}", get(f"grad.{n}", shapes[n]), t.grad) for n, t in ins.items()]
        return checks
    x = get("x", shapes["x"]).requires_grad_()
    dout = get("dout", shapes["out"])
    image = len(shapes["x"]) == 4
    xt = nchw(x) if image else x
    params = {}
    if op == "linear":
        W = get("fc.weight", [shapes["out"][1], shapes["x"][1]]).requires_grad_()
        b = get("fc.bias", [shapes["out"][1]]).requires_grad_()
        params = {"fc.weight": W, "fc.bias": b}
        y = F.linear(x, W, b)
    elif op == "conv2d":
        co, k, c = shapes["out"][3], attrs["k"], shapes["x"][3]
        W = get("conv.weight", [co, k, k, c]).requires_grad_()
        params["conv.weight"] = W
        b = None
        if attrs["bias"]:
            b = get("conv.bias", [co]).requires_grad_()
            params["conv.bias"] = b
        y = F.conv2d(xt, W.permute(0, 3, 1, 2), b, stride=attrs["stride"], padding=attrs["pad"])
    elif op in ("batchnorm2d", "batchnorm1d", "batchnorm_relu_maxpool"):
        c = shapes["x"][-1]
        W = get("bn.weight", [c]).requires_grad_()
        b = get("bn.bias", [c]).requires_grad_()
        rm, rv = get("bn.running_mean", [c]), get("bn.running_var", [c])
        params = {"bn.weight": W, "bn.bias": b}
        y = F.batch_norm(xt, rm, rv, W, b, training=bool(case["training"]), momentum=attrs["momentum"],
                         eps=attrs["eps"])
        checks += [("after.bn.running_mean", get("after.bn.running_mean", [c]), rm),
                   ("after.bn.running_var", get("after.bn.running_var", [c]), rv)]
        if op == "batchnorm_relu_maxpool":
            y = F.max_pool2d(F.relu(y), 2, 2)
    elif op == "layernorm":
        d = shapes["x"][-1]
        W = get("ln.weight", [d]).requires_grad_()
        b = get("ln.bias", [d]).requires_grad_()
        params = {"ln.weight": W, "ln.bias": b}
        y = F.layer_norm(x, [d], W, b, eps=attrs["eps"])
    elif op == "softmax":
        y = F.softmax(x, dim=-1)
    elif op == "relu":
        y = F.relu(xt)
    elif op == "silu":
        y = F.silu(xt)
    elif op == "sigmoid":
        y = torch.sigmoid(xt)
    elif op == "maxpool":
        y = F.max_pool2d(xt, attrs["k"], attrs["stride"], attrs["pad"])
    elif op == "avgpool":
        y = F.avg_pool2d(xt, attrs["k"], attrs["stride"], attrs["pad"], count_include_pad=True)
    elif op == "gap":
        y = xt.mean(dim=(2, 3))
    else:
        raise SystemExit(f"unknown op {op}")
    y_ours_layout = nhwc(y) if y.dim() == 4 else y
    y_ours_layout.backward(dout)
    checks.append(("out", out_ours, y_ours_layout.detach()))
    checks.append(("grad.x", get("grad.x", shapes["x"]), x.grad))
    for pname, p in params.items():
        g = p.grad
        checks.append((f"grad.{pname}", get(f"grad.{pname}", list(p.shape)), g))
    return checks


def main():
    dump = sys.argv[1]
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([dump, folder], check=True)
        with open(os.path.join(folder, "manifest.json")) as f:
            cases = json.load(f)
        failed = 0
        for case in cases:
            worst = 0.0
            ok = True
            for what, ours, ref in run(folder, case):
                ours, ref = ours.reshape(-1), ref.reshape(-1)
                err = (ours - ref).abs()
                tol = 1e-5 + 1e-4 * ref.abs()
                worst = max(worst, float(err.max()) if err.numel() else 0.0)
                if not bool((err <= tol).all()):
                    ok = False
                    i = int((err - tol).argmax())
                    print(f"  {case['name']}: {what}[{i}] dermfuse {float(ours[i]):.7g} vs torch {float(ref[i]):.7g}")
            print(f"{'ok  ' if ok else 'FAIL'} {case['name']:<16} max |diff| {worst:.2e}")
            failed += not ok
        print(f"{len(cases) - failed} of {len(cases)} layers match PyTorch {torch.__version__}")
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""dermfuse_io.py: what a PyTorch twin of a dermfuse recipe needs from dermfuse's files, in plain numpy.

- read_safetensors(path): the tensors (float32 arrays) and the metadata of a safetensors file, such as the
  weights `dermfuse export-init` writes or the batch `dermfuse show-batch --tensors` writes.
- load_init(module, tensors, names): copies dermfuse tensors into a torch module's state, through a map from
  dermfuse names to the module's state_dict keys. Convolution weights are stored (out, kh, kw, in) by dermfuse
  and (out, in, kh, kw) by PyTorch, so rank-4 tensors are permuted. Every tensor on either side must be mapped
  (PyTorch's num_batches_tracked counters aside) and every shape must agree: a twin that silently skipped a
  tensor would not start where dermfuse starts.
- nchw(images): a batch of (n, h, w, c) images as dermfuse's tensors hold them, as PyTorch's (n, c, h, w)."""
import json
import struct

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {t['dtype']}, expected F32")
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(t["shape"]).copy()
    return tensors, meta


def torch_layout(array):
    return array.transpose(0, 3, 1, 2) if array.ndim == 4 else array


def load_init(module, tensors, names):
    import torch
    state = module.state_dict()
    wanted = {k for k in state if not k.endswith("num_batches_tracked")}
    unmapped = sorted(set(tensors) - set(names))
    if unmapped:
        raise ValueError(f"dermfuse tensors with no PyTorch twin: {unmapped[:5]}")
    missing = sorted(wanted - {names[n] for n in tensors})
    if missing:
        raise ValueError(f"PyTorch tensors dermfuse does not set: {missing[:5]}")
    new = {}
    for name, array in tensors.items():
        key = names[name]
        value = torch.from_numpy(np.ascontiguousarray(torch_layout(array)))
        if tuple(value.shape) != tuple(state[key].shape):
            raise ValueError(f"{name} -> {key}: shape {tuple(value.shape)}, PyTorch has {tuple(state[key].shape)}")
        new[key] = value
    module.load_state_dict(new, strict=False)


def nchw(images):
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))

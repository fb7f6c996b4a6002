#!/usr/bin/env python3
"""st_read.py: an independent safetensors reader using only the standard library.

Parses a file exactly as the format defines it (8-byte little-endian header length, JSON header, data
buffer), validates it (F32/F16/BF16 dtypes, shape against offsets, offsets tiling the buffer, dermfuse's
df.checksum when present) and prints one JSON object per line:
  {"metadata": {...}}
  {"name": ..., "dtype": ..., "shape": [...], "crc32": n, "sum": x}   per tensor, in data order
  {"checksum": "ok" | "absent"}
"sum" is the float64 sum of the values in order; "crc32" is zlib's CRC-32 of the tensor's bytes.
If the `safetensors` package (with numpy) is installed, the file is also loaded with it and compared.
Exits 1 with a message on stderr when the file is invalid.
"""
import json
import struct
import sys
import zlib

SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def fail(msg):
    sys.stderr.write("st_read.py: %s\n" % msg)
    sys.exit(1)


def values(dtype, raw):
    n = len(raw) // SIZES[dtype]
    if dtype == "F32":
        return struct.unpack("<%df" % n, raw)
    if dtype == "F16":
        return struct.unpack("<%de" % n, raw)
    halves = struct.unpack("<%dH" % n, raw)
    return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in halves]


def main(path):
    with open(path, "rb") as fh:
        blob = fh.read()
    if len(blob) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > 100_000_000 or 8 + n > len(blob):
        fail("bad header length %d" % n)
    header_raw = blob[8 : 8 + n]

    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            fail("duplicate key in header")
        return dict(pairs)

    header = json.loads(header_raw.decode("utf-8"), object_pairs_hook=no_dupes)
    data = blob[8 + n :]
    meta = header.pop("__metadata__", {})
    for k, v in meta.items():
        if not isinstance(v, str):
            fail("metadata %r is not a string" % k)
    entries = []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            fail("tensor %r has fields %s" % (name, sorted(info)))
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in SIZES:
            fail("tensor %r has dtype %s" % (name, dtype))
        count = 1
        for d in shape:
            count *= d
        if count * SIZES[dtype] != end - begin:
            fail("tensor %r: shape %s does not match offsets %s" % (name, shape, [begin, end]))
        entries.append((begin, end, name, dtype, shape))
    entries.sort()
    pos = 0
    for begin, end, name, _, _ in entries:
        if begin != pos:
            fail("tensor %r begins at %d, expected %d" % (name, begin, pos))
        pos = end
    if pos != len(data):
        fail("tensors cover %d of %d data bytes" % (pos, len(data)))

    status = "absent"
    if "df.checksum" in meta:
        stored = meta["df.checksum"]
        needle = b'"df.checksum":"' + stored.encode() + b'"'
        if header_raw.count(needle) != 1 or not stored.startswith("crc32:") or len(stored) != 14:
            fail("df.checksum not found in the expected form")
        zeroed = header_raw.replace(needle, b'"df.checksum":"crc32:00000000"')
        computed = zlib.crc32(data, zlib.crc32(zeroed)) & 0xFFFFFFFF
        if computed != int(stored[6:], 16):
            fail("checksum mismatch")
        status = "ok"

    print(json.dumps({"metadata": meta}, sort_keys=True))
    for begin, end, name, dtype, shape in entries:
        raw = data[begin:end]
        total = 0.0
        for x in values(dtype, raw):
            total += x
        print(json.dumps({"name": name, "dtype": dtype, "shape": shape,
                          "crc32": zlib.crc32(raw) & 0xFFFFFFFF, "sum": total}))
    print(json.dumps({"checksum": status}))

    try:
        from safetensors.numpy import load_file  # optional cross-check
    except ImportError:
        return
    loaded = load_file(path)
    if sorted(loaded) != sorted(e[2] for e in entries):
        fail("safetensors package sees different tensor names")
    for begin, end, name, dtype, shape in entries:
        arr = loaded[name]
        if list(arr.shape) != shape or arr.tobytes() != data[begin:end]:
            fail("safetensors package reads tensor %r differently" % name)
    sys.stderr.write("st_read.py: safetensors package agrees\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: st_read.py FILE")
    main(sys.argv[1])

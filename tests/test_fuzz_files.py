"""Fuzzing the file parsers that read what strangers send -- safetensors weights (random bytes,
mutated files, hostile headers), MNIST idx files and the image-folder loader -- against a reference
reader (differential oracles). Where the reference rejects the bytes, ganzoo must raise its
documented error naming the file; where it accepts them, ganzoo must load exactly what the reference
read, or refuse for the reason the reference's result implies (missing tensor, shape, dtype, NaN).
Never "loaded something else"."""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ganzoo
import reliability
from ganzoo.data import load_dataset
from ganzoo.errors import ConfigError, WeightsError

pytestmark = pytest.mark.reliability("input")
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz") / "m"
    model = ganzoo.create("mlp", g_hidden=[4], d_hidden=[4])
    model.save(folder)
    return folder, (folder / "generator.safetensors").read_bytes()


# -- safetensors: the reference is safetensors' own loader ----------------------------------------------------
ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
             torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
ST_REASON = (r"(not a safetensors file \(too short\)|corrupt safetensors header|corrupt entry for tensor|"
             r"points outside the file|corrupt safetensors file|is missing|unexpected tensor|has shape|has dtype|"
             r"contains NaN)")
# the checks a safetensors file meets, in order, and the words of each one's refusal
ST_CHECKS = [("length", r"too short|header \(claims"), ("header JSON", r"corrupt safetensors header"),
             ("entries", r"corrupt entry for tensor"), ("offsets", r"points outside the file"),
             ("names", r"is missing|unexpected tensor"), ("shapes", r"has shape"), ("dtypes", r"has dtype"),
             ("data", r"corrupt safetensors file"), ("values", r"contains NaN")]


def st_check(message: str) -> str:
    return next(name for name, words in ST_CHECKS if re.search(words, message))


def _expected_refusal(ref: dict, expected: dict):
    """The reason ganzoo must give for tensors the reference read (None: it must load them)."""
    missing, extra = sorted(expected.keys() - ref.keys()), sorted(ref.keys() - expected.keys())
    if missing:
        return rf"tensor {re.escape(repr(missing[0]))} is missing \({len(missing)} missing in all\)"
    if extra:
        return rf"unexpected tensor {re.escape(repr(extra[0]))}"
    for name, want in expected.items():
        if tuple(ref[name].shape) != tuple(want.shape):
            return rf"tensor {re.escape(repr(name))} has shape"
    for name, want in expected.items():
        if ref[name].dtype != want.dtype:
            return rf"tensor {re.escape(repr(name))} has dtype {ST_DTYPES.get(ref[name].dtype, '')}"
    bad = [name for name, t in ref.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:  # ganzoo names the first it meets; any tensor the reference finds non-finite is right
        return rf"tensor ({'|'.join(re.escape(repr(name)) for name in bad)}) contains NaN or infinite values"
    return None


def _safetensors_differential(folder, data: bytes, fmt: str) -> None:
    from safetensors.torch import load as reference_load

    path = folder / "generator.safetensors"
    path.write_bytes(data)
    try:
        ref = reference_load(data)
    except Exception:  # noqa: BLE001  -- whatever way the reference says no
        ref = None
    expected = ganzoo.create("mlp", g_hidden=[4], d_hidden=[4]).generator.state_dict()
    try:
        got = ganzoo.load(folder, components=["generator"])
    except WeightsError as exc:
        why = ST_REASON if ref is None else _expected_refusal(ref, expected)
        assert why is not None, f"ganzoo refused a file the reference reads as a valid model: {exc}"
        reliability.refused(f"safetensors ({fmt})", exc, WeightsError, "^" + re.escape(str(path)) + ": .*" + why)
        reliability.reached("safetensors", st_check(str(exc)))
        return
    assert ref is not None, "ganzoo loaded a file that safetensors itself rejects"
    assert _expected_refusal(ref, expected) is None, "ganzoo loaded weights it should have refused"
    state = got.generator.state_dict()
    assert state.keys() == ref.keys()
    for k, t in ref.items():
        assert state[k].dtype == t.dtype and torch.equal(state[k], t), f"tensor {k} differs from the reference"
    reliability.loaded_equal(f"safetensors ({fmt})")
    reliability.reached("safetensors", "loaded")


@settings(FUZZ, max_examples=200)
@given(data=st.binary(max_size=400))
def test_fuzz_safetensors_random_bytes(model_folder, data):
    _safetensors_differential(model_folder[0], data, "random bytes")


@pytest.mark.slow
@settings(FUZZ, max_examples=300)
@given(edits=st.lists(st.tuples(st.sampled_from(["flip", "set", "cut", "insert", "delete"]),
                                st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
       header_bias=st.booleans())
def test_fuzz_safetensors_mutated_files(model_folder, edits, header_bias):
    folder, good = model_folder
    data = bytearray(good)
    n_header = 8 + struct.unpack("<Q", good[:8])[0]
    for op, pos, byte in edits:
        if not data:
            break
        pos = pos % (n_header if header_bias else len(data))
        pos = min(pos, len(data) - 1)
        if op == "flip":
            data[pos] ^= 1 << (byte % 8)
        elif op == "set":
            data[pos] = byte
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = bytes([byte])
        else:
            del data[pos]
    _safetensors_differential(folder, bytes(data), "mutated file")


json_junk = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
                         lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                         max_leaves=10)
tensor_info = st.fixed_dictionaries({
    "dtype": st.sampled_from(["F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E4M3", "Q4", ""]) | json_junk,
    "shape": st.lists(st.integers(-2, 2**40) | st.integers(0, 8), max_size=3) | json_junk,
    "data_offsets": st.lists(st.integers(-8, 2**66), min_size=0, max_size=3) | json_junk,
})


@pytest.mark.slow
@settings(FUZZ, max_examples=300)
@given(header=st.dictionaries(st.sampled_from(["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias",
                                               "__metadata__", "x"]), tensor_info | json_junk, max_size=6),
       body=st.binary(max_size=256), claimed=st.none() | st.integers(0, 2**64 - 1))
def test_fuzz_safetensors_headers(model_folder, header, body, claimed):
    raw = json.dumps(header).encode()
    n = len(raw) if claimed is None else claimed
    _safetensors_differential(model_folder[0], struct.pack("<Q", n) + raw + body, "hostile header")


@settings(FUZZ, max_examples=150)
@given(tensors=st.dictionaries(
    st.sampled_from(["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "extra"]),
    st.tuples(st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64]),
              st.sampled_from([(4, 16), (4,), (2, 4), (2,), (3,), ()]),
              st.sampled_from(["randn", "zeros", "nan", "inf"])),
    min_size=0, max_size=3),
    complete=st.booleans(),
    poison=st.none() | st.tuples(st.sampled_from(["net.0.weight", "net.2.bias"]), st.sampled_from(["nan", "inf", "-inf"])))
def test_fuzz_safetensors_valid_files(model_folder, tensors, complete, poison):
    """Well-formed safetensors files with the right or wrong names, shapes, dtypes and values."""
    from safetensors.torch import save

    expected = ganzoo.create("mlp", g_hidden=[4], d_hidden=[4]).generator.state_dict()
    out = {}
    if complete:
        out = {k: torch.randn(v.shape) for k, v in expected.items()}
    for name, (dtype, shape, fill) in tensors.items():
        t = torch.randn(shape, dtype=torch.float64)
        if fill == "zeros":
            t = torch.zeros(shape, dtype=torch.float64)
        elif fill in ("nan", "inf") and t.numel():
            t.view(-1)[0] = float(fill)
        out[name] = t.to(dtype)
    if poison and poison[0] in out and out[poison[0]].is_floating_point():
        out[poison[0]].view(-1)[-1] = float(poison[1])
    _safetensors_differential(model_folder[0], save(out), "valid file")


def _lying_header(good: bytes, edits, tail: int) -> bytes:
    """The valid file ``good`` with its header edited as ``edits`` say and re-serialised (its length
    prefix right): valid JSON and a valid layout, but dtypes, shapes, offsets and names that lie."""
    n = struct.unpack("<Q", good[:8])[0]
    header, body = json.loads(good[8:8 + n]), good[8 + n:]
    names = sorted(k for k in header if k != "__metadata__")
    for op, i, value in edits:
        name = names[i % len(names)]
        info = header.get(name)
        if info is None:
            continue
        if op == "dtype":
            info["dtype"] = value
        elif op == "shape":
            info["shape"] = value
        elif op == "shift":  # move the tensor's window by `value` bytes (overlapping its neighbour, or past the end)
            info["data_offsets"] = [info["data_offsets"][0] + value, info["data_offsets"][1] + value]
        elif op == "swap":  # two tensors trade windows (of other sizes)
            other = header.get(names[(i + 1) % len(names)], info)
            info["data_offsets"], other["data_offsets"] = other["data_offsets"], info["data_offsets"]
        elif op == "grow":
            info["data_offsets"] = [info["data_offsets"][0], info["data_offsets"][1] + value]
        elif op == "rename":
            header[value] = header.pop(name)
        elif op == "drop":
            del header[name]
        elif op == "metadata":
            header["__metadata__"] = {"format": "pt", "x": "y" * (value if isinstance(value, int) else 3)}
    raw = json.dumps(header).encode()
    body = body[: len(body) + tail] if tail < 0 else body + bytes(tail)
    return struct.pack("<Q", len(raw)) + raw + body


@pytest.mark.slow
@settings(FUZZ, max_examples=300)
@given(edits=st.lists(st.one_of(
    st.tuples(st.just("dtype"), st.integers(0, 3), st.sampled_from(["F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL"])),
    st.tuples(st.just("shape"), st.integers(0, 3), st.sampled_from([[], [4], [16], [4, 4], [16, 4], [4, 16], [2, 2, 4],
                                                                  [0, 4], [1, 64], [64, 1], [1 << 20, 4]])),
    st.tuples(st.just("shift"), st.integers(0, 3), st.sampled_from([-8, -4, -1, 1, 2, 4, 8, 1 << 20])),
    st.tuples(st.just("swap"), st.integers(0, 3), st.none()),
    st.tuples(st.just("grow"), st.integers(0, 3), st.sampled_from([-4, -1, 4, 64])),
    st.tuples(st.just("rename"), st.integers(0, 3), st.sampled_from(["net.9.weight", "extra", "net.0.weight"])),
    st.tuples(st.just("drop"), st.integers(0, 3), st.none()),
    st.tuples(st.just("metadata"), st.integers(0, 3), st.integers(0, 5000))), min_size=1, max_size=3),
    tail=st.sampled_from([0, 0, 0, -8, -1, 1, 64]))
def test_fuzz_safetensors_lying_headers(model_folder, edits, tail):
    """Structure-aware mutations: a well-formed header whose dtypes, shapes, offsets and names lie about the
    bytes; they reach the checks past the first bytes (the tally counts how many reached which)."""
    _safetensors_differential(model_folder[0], _lying_header(model_folder[1], edits, tail), "lying header")


def test_deeply_nested_safetensors_header_is_refused(model_folder):
    raw = b"[" * 100_000 + b"]" * 100_000
    (model_folder[0] / "generator.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    with reliability.refuses("safetensors (deeply nested header)", WeightsError,
                             r"generator\.safetensors: corrupt safetensors header \(not JSON\)"):
        ganzoo.load(model_folder[0], components=["generator"])


# -- MNIST idx files: the reference is the small idx reader below ----------------------------------------------
MAX_IDX_VALUES = 10_000_000 * 28 * 28


def reference_idx(data: bytes, magic: int):
    """An idx file, read from the format's description: a 4-byte big-endian magic (0, 0, type 0x08 =
    unsigned byte, number of dimensions), one 4-byte big-endian size per dimension, then the values.
    Returns the array, or a string saying why the bytes are not such a file."""
    if len(data) < 4 or int.from_bytes(data[:4], "big") != magic:
        return "bad magic number"
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        return "cannot read idx file"
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    n = math.prod(dims)
    if n > MAX_IDX_VALUES:
        return "too large"
    if n == 0:
        return "holds no items"
    body = data[4 + 4 * ndim:]
    if len(body) < n:
        return "truncated"
    return np.array(bytearray(body[:n]), dtype=np.uint8).reshape(dims)


def _idx(magic: int, dims, body: bytes) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + body


def _valid_pair(n: int, seed: int) -> tuple[bytes, bytes]:
    rng = np.random.default_rng(seed)
    return (_idx(0x803, [n, 3, 2], rng.integers(0, 256, n * 6, dtype=np.uint8).tobytes()),
            _idx(0x801, [n], rng.integers(0, 10, n, dtype=np.uint8).tobytes()))


@settings(FUZZ, max_examples=200)
@given(images=st.binary(max_size=200) | st.builds(_idx, st.sampled_from([0x803, 0x801, 0x804]),
                                                   st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), max_size=4),
                                                   st.binary(max_size=300)),
       labels=st.binary(max_size=50) | st.builds(_idx, st.just(0x801), st.lists(st.integers(0, 12), max_size=2),
                                                  st.binary(max_size=20)),
       valid=st.none() | st.tuples(st.integers(1, 6), st.integers(0, 99)),
       gz=st.sampled_from(["none", "gzip", "junk-gzip"]))
@example(images=_idx(0x803, [0, 0xD7000000, 0x98690000], b""), labels=b"", valid=None, gz="none")  # once a ValueError
@example(images=b"\x00\x00\x00\x00\x00\x00:\x80\x00", labels=b"", valid=None, gz="junk-gzip")  # reads past a break
def test_fuzz_mnist_idx_files(tmp_path_factory, images, labels, valid, gz):
    if valid is not None:
        images, labels = _valid_pair(*valid)
    folder = tmp_path_factory.mktemp("idx")
    paths, refs = {}, {}
    for stem, data, magic in (("t10k-images-idx3-ubyte", images, 0x803), ("t10k-labels-idx1-ubyte", labels, 0x801)):
        if gz == "gzip":
            raw = gzip.compress(data)
        elif gz == "junk-gzip":
            raw = b"\x1f\x8b\x08\x00" + data
        else:
            raw = data
        path = folder / (f"{stem}.gz" if gz != "none" else stem)
        path.write_bytes(raw)
        if gz != "none":
            try:
                data = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error):
                # a broken gzip stream: ganzoo reads only the bytes it needs, so it may meet the break or
                # a bad header first; either way the file is refused, naming it
                refs[stem] = "(cannot read idx file|bad magic number|truncated|too large|holds no items)"
                paths[stem] = path
                continue
        refs[stem], paths[stem] = reference_idx(data, magic), path
    img, lab = refs["t10k-images-idx3-ubyte"], refs["t10k-labels-idx1-ubyte"]
    try:
        got = load_dataset(f"mnist:{folder}", split="test")
    except ConfigError as exc:
        # the first file the reference rejects is the one named, with the reference's reason (past a broken
        # gzip stream ganzoo may not have reached the break, so the next file may be the one named)
        whys = []
        for stem, ref in refs.items():
            if isinstance(ref, str):
                whys.append("^" + re.escape(str(paths[stem])) + ": .*" + (ref if ref.startswith("(") else re.escape(ref)))
                if not ref.startswith("("):
                    break
        if whys and whys[-1].endswith(")"):  # only broken gzip streams: their readable prefixes may disagree in count
            whys.append(r"^mnist: \S+ has \d+ images but \S+ has \d+ labels$")
        if whys:
            reliability.refused(f"MNIST idx ({gz})", exc, ConfigError, "|".join(f"(?:{w})" for w in whys))
            return
        assert len(img) != len(lab), f"ganzoo refused idx files the reference reads: {exc}"
        reliability.refused(f"MNIST idx ({gz})", exc, ConfigError,
                            rf"^mnist: {paths['t10k-images-idx3-ubyte'].name} has {len(img)} images but "
                            rf"{paths['t10k-labels-idx1-ubyte'].name} has {len(lab)} labels")
        return
    assert not isinstance(img, str) and not isinstance(lab, str), f"ganzoo read files the reference rejects: {refs}"
    assert len(img) == len(lab)
    want = torch.from_numpy(img.astype(np.float32) / 255.0)[:, None]
    assert got.x.shape == want.shape and torch.equal(got.x, want), "images differ from the reference"
    assert torch.equal(got.y, torch.from_numpy(lab.astype(np.int64))), "labels differ from the reference"
    reliability.loaded_equal(f"MNIST idx ({gz})")


# -- image folders: the reference is PIL ---------------------------------------------------------------------
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png(w: int, h: int, depth: int, colour: int, rest: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    return PNG_SIG + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rest) + _png_chunk(b"IEND", b"")


def _valid_image(w: int, h: int, mode: str, fmt: str, seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    bands = {"L": 1, "RGB": 3, "RGBA": 4, "P": 1, "LA": 2}[mode]
    arr = rng.integers(0, 256, (h, w, bands), dtype=np.uint8)
    im = Image.fromarray(arr[..., 0] if bands == 1 else arr, "L" if mode == "P" else mode)
    if mode == "P":
        im = im.convert("P")
    if (fmt == "JPEG" and mode not in ("L", "RGB")) or (fmt == "BMP" and mode == "LA"):
        im = im.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def reference_image(path, size: int, channels: int):
    """What the documented folder: pipeline makes of one file, with PIL: refused above the pixel
    limit before decoding; else converted to L/RGB, resized (bicubic) to size x size, scaled to [0, 1]."""
    from PIL import Image

    from ganzoo.data.sources import MAX_IMAGE_PIXELS

    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                return "refusing to decode it"
            im = im.convert("L" if channels == 1 else "RGB").resize((size, size), Image.BICUBIC)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except Exception:  # noqa: BLE001  -- PIL says no, in whatever way
        return "cannot read image"
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


@settings(FUZZ, max_examples=150)
@given(data=st.binary(max_size=300) | st.builds(lambda b: PNG_SIG + b, st.binary(max_size=200))
       | st.builds(_png, st.integers(0, 2**31 - 1) | st.integers(1, 16), st.integers(0, 2**31 - 1) | st.integers(1, 16),
                   st.sampled_from([1, 2, 4, 8, 16, 3]), st.sampled_from([0, 2, 3, 4, 6, 7]), st.binary(max_size=64))
       | st.builds(_valid_image, st.integers(1, 24), st.integers(1, 24), st.sampled_from(["L", "RGB", "RGBA", "P", "LA"]),
                   st.sampled_from(["PNG", "JPEG", "BMP", "GIF"]), st.integers(0, 99)),
       suffix=st.sampled_from([".png", ".jpg", ".gif", ".bmp", ".webp"]), channels=st.sampled_from([1, 3]))
def test_fuzz_image_folder(tmp_path_factory, data, suffix, channels):
    folder = tmp_path_factory.mktemp("img")
    path = folder / f"x{suffix}"
    path.write_bytes(data)
    ref = reference_image(path, 8, channels)
    try:
        got = load_dataset(f"folder:{folder}", image_size=8, channels=channels)
    except ConfigError as exc:
        assert isinstance(ref, str), f"ganzoo refused an image PIL reads: {exc}"
        at = re.escape(str(path))
        why = rf"^folder: cannot read image {at}: " if ref == "cannot read image" else \
            rf"^folder: image {at} is \d+x\d+ pixels, .* refusing to decode it$"
        reliability.refused("image (folder:)", exc, ConfigError, why)
        return
    assert not isinstance(ref, str), "ganzoo read an image PIL rejects"
    assert tuple(got.x.shape) == (1, *ref.shape) and torch.equal(got.x[0], torch.from_numpy(ref)), \
        "pixels differ from the reference"
    reliability.loaded_equal("image (folder:)")


def test_decompression_bomb_image_is_refused(tmp_path):
    raw = zlib.compress(b"\x00" * 1000)
    (tmp_path / "bomb.png").write_bytes(_png(100_000, 100_000, 8, 0, raw))
    with reliability.refuses("image (decompression bomb)", ConfigError,
                             r"^folder: .*bomb\.png.*(100000x100000 pixels, .*refusing to decode it|decompression bomb)"):
        load_dataset(f"folder:{tmp_path}", image_size=8, channels=1)

"""Fuzzing the file parsers that read what strangers send: safetensors weights (random bytes, mutated
files, hostile headers), MNIST idx files and the image-folder loader. Whatever the bytes, ganzoo
either loads them or raises its own error type (one line), never anything else."""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ganzoo
import reliability
from ganzoo.data import load_dataset
from ganzoo.errors import ConfigError, GanzooError

pytestmark = pytest.mark.reliability("input")
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz") / "m"
    ganzoo.create("mlp", g_hidden=[4], d_hidden=[4]).save(folder)
    return folder, (folder / "generator.safetensors").read_bytes()


def _load_must_be_clean(folder, data: bytes) -> None:
    (folder / "generator.safetensors").write_bytes(data)
    try:
        ganzoo.load(folder, components=["generator"])
    except GanzooError as exc:
        assert "\n" not in str(exc)


# -- safetensors ---------------------------------------------------------------------------------
@settings(FUZZ, max_examples=200)
@given(data=st.binary(max_size=400))
def test_fuzz_safetensors_random_bytes(model_folder, data):
    reliability.tried("fuzz: safetensors random bytes")
    _load_must_be_clean(model_folder[0], data)


@pytest.mark.slow
@settings(FUZZ, max_examples=300)
@given(edits=st.lists(st.tuples(st.sampled_from(["flip", "set", "cut", "insert", "delete"]),
                                st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
       header_bias=st.booleans())
def test_fuzz_safetensors_mutated_files(model_folder, edits, header_bias):
    reliability.tried("fuzz: safetensors mutated file")
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
    _load_must_be_clean(folder, bytes(data))


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
    reliability.tried("fuzz: safetensors hostile header")
    raw = json.dumps(header).encode()
    n = len(raw) if claimed is None else claimed
    _load_must_be_clean(model_folder[0], struct.pack("<Q", n) + raw + body)


def test_deeply_nested_safetensors_header_is_refused(model_folder):
    raw = b"[" * 100_000 + b"]" * 100_000
    (model_folder[0] / "generator.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(GanzooError, match="corrupt safetensors header"):
        ganzoo.load(model_folder[0], components=["generator"])


# -- MNIST idx files --------------------------------------------------------------------------------
def _idx(magic: int, dims, body: bytes) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + body


@settings(FUZZ, max_examples=200)
@given(images=st.binary(max_size=200) | st.builds(_idx, st.sampled_from([0x803, 0x801, 0x804]),
                                                   st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), max_size=4),
                                                   st.binary(max_size=300)),
       labels=st.binary(max_size=50) | st.builds(_idx, st.just(0x801), st.lists(st.integers(0, 12), max_size=2),
                                                  st.binary(max_size=20)),
       gz=st.sampled_from(["none", "gzip", "junk-gzip"]))
@example(images=_idx(0x803, [0, 0xD7000000, 0x98690000], b""), labels=b"", gz="none")   # once a ValueError
def test_fuzz_mnist_idx_files(tmp_path_factory, images, labels, gz):
    reliability.tried("fuzz: MNIST idx file")
    folder = tmp_path_factory.mktemp("idx")
    for stem, data in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        if gz == "gzip":
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
        elif gz == "junk-gzip":
            (folder / f"{stem}.gz").write_bytes(b"\x1f\x8b\x08\x00" + data)
        else:
            (folder / stem).write_bytes(data)
    try:
        load_dataset(f"mnist:{folder}")
    except ConfigError as exc:
        assert "\n" not in str(exc)


# -- image folders -------------------------------------------------------------------------------------
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png(w: int, h: int, depth: int, colour: int, rest: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    return PNG_SIG + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rest) + _png_chunk(b"IEND", b"")


@settings(FUZZ, max_examples=150)
@given(data=st.binary(max_size=300) | st.builds(lambda b: PNG_SIG + b, st.binary(max_size=200))
       | st.builds(_png, st.integers(0, 2**31 - 1) | st.integers(1, 16), st.integers(0, 2**31 - 1) | st.integers(1, 16),
                   st.sampled_from([1, 2, 4, 8, 16, 3]), st.sampled_from([0, 2, 3, 4, 6, 7]), st.binary(max_size=64)),
       suffix=st.sampled_from([".png", ".jpg", ".gif", ".bmp", ".webp"]))
def test_fuzz_image_folder(tmp_path_factory, data, suffix):
    reliability.tried("fuzz: image file in folder:DIR")
    folder = tmp_path_factory.mktemp("img")
    (folder / f"x{suffix}").write_bytes(data)
    try:
        load_dataset(f"folder:{folder}", image_size=8)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_decompression_bomb_image_is_refused(tmp_path):
    raw = zlib.compress(b"\x00" * 1000)
    (tmp_path / "bomb.png").write_bytes(_png(100_000, 100_000, 8, 0, raw))
    with pytest.raises(ConfigError, match="bomb.png"):
        load_dataset(f"folder:{tmp_path}", image_size=8)

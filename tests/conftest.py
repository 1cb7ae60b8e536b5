"""Test-wide settings. The Hugging Face client is pointed at a dead local port before anything can
import it, so no test can reach the real Hub by accident; Hub tests start their own server."""

import os
import socket
import tempfile
from pathlib import Path

import pytest


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


_HF_HOME = tempfile.mkdtemp(prefix="ganzoo-test-hf-")
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{_dead_port()}"
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_CACHE"] = os.path.join(_HF_HOME, "hub")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


@pytest.fixture
def mnist_dir():
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test split not found at {MNIST_DIR} (../shared/data/mnist); skipping")
    return MNIST_DIR


@pytest.fixture(autouse=True)
def _seed():
    import torch

    torch.manual_seed(0)
    yield

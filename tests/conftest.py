"""Test-wide settings. The Hugging Face client is pointed at a dead local port before anything can
import it, so no test can reach the real Hub by accident; Hub tests start their own server."""

import os
import tempfile
from pathlib import Path

import pytest


from helpers import free_port  # noqa: E402  (tests/ is on sys.path: this conftest's folder)

_HF_HOME = tempfile.mkdtemp(prefix="ganzoo-test-hf-")
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_CACHE"] = os.path.join(_HF_HOME, "hub")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("GANZOO_TEST_MNIST") or ROOT.parent / "shared" / "data" / "mnist")


@pytest.fixture
def mnist_dir():
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test split not found at {MNIST_DIR} (../shared/data/mnist, or set GANZOO_TEST_MNIST); "
                    "skipping")
    return MNIST_DIR


@pytest.fixture(autouse=True)
def _seed():
    import torch

    torch.manual_seed(0)
    yield


# -- the test Hub (tests/hubserver.py) ----------------------------------------------------------
@pytest.fixture(scope="session")
def hub_server():
    """A Hub-compatible server on 127.0.0.1 (random port) for the whole session."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from hubserver import HubServer

    server = HubServer().start()
    yield server
    server.stop()


@pytest.fixture
def hub(hub_server, monkeypatch, tmp_path):
    """Point HF_ENDPOINT (the env var and huggingface_hub's import-time constants) at the test Hub,
    give the test its own HF cache, short timeouts, no token; faults and the request log are reset."""
    from huggingface_hub import constants

    hub_server.reset()
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    monkeypatch.setattr(constants, "ENDPOINT", hub_server.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub_server.url + "/{repo_id}/resolve/{revision}/{filename}")
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("GANZOO_HUB_TIMEOUT", "2")
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 2)
    start = len(hub_server.scenarios)  # the Hub records a fault scenario when it first injects it, not when armed
    probe = lambda: len(hub_server.scenarios) > start  # noqa: E731 - for reliability.check_file
    reliability.FAULT_PROBES.append(probe)
    yield hub_server
    reliability.FAULT_PROBES.remove(probe)
    names = {"fail": "Hub HTTP error (5xx)", "stall": "Hub stalled response", "cut": "Hub cut-off download",
             "hold": "Hub download held mid-transfer", "overlap": "two pulls held to overlap"}
    for kind in hub_server.scenarios[start:]:
        reliability.fault(names.get(kind, kind))
    hub_server.reset()


# -- the reliability tally (tests/reliability.py, scripts/reliability_tally.py) --------------------
import reliability  # noqa: E402  (tests/ is on sys.path: this conftest's folder)

_TALLY = {"tests": {"passed": 0, "failed": 0, "skipped": 0}, "survived": {}, "not_survived": {}}


@pytest.fixture(autouse=True)
def _reliability_counts(request):
    """Keep on each reliability-marked test's item what it recorded in tests/reliability.py (outcomes
    it asserted, faults it observed), so the tally can attribute them to the test's result."""
    mark = request.node.get_closest_marker("reliability")
    before = reliability.COUNTS.copy()
    reliability.new_test()
    yield
    if mark is not None:
        request.node._reliability_delta = reliability.COUNTS - before


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if item.get_closest_marker("reliability") is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        item._reliability_outcome = report.outcome
    if report.when == "teardown":
        result = getattr(item, "_reliability_outcome", "failed")
        if result == "passed" and report.failed:
            result = "failed"
        _TALLY["tests"][result] = _TALLY["tests"].get(result, 0) + 1
        bucket = _TALLY["survived" if result == "passed" else "not_survived"]
        for key, n in getattr(item, "_reliability_delta", {}).items():
            bucket[key] = bucket.get(key, 0) + n


def pytest_sessionfinish(session, exitstatus):
    import json

    path = os.environ.get("GANZOO_RELIABILITY_TALLY")
    if path:
        data = dict(_TALLY, exitstatus=int(exitstatus), totals=dict(reliability.COUNTS))
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


@pytest.fixture
def one_thread():
    """One intra-op torch thread for the test (tiny models: fastest, and immune to a busy CI machine);
    a test file opts in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def graph_stand_ins(monkeypatch):
    """torch's CUDA-graph API replaced by stand-ins, so ``CudaGraphStep``'s bookkeeping runs on the CPU: a
    capture runs the step once (as the real capture plus its first replay do); a replay runs nothing and is
    counted in the returned list. tests/test_gpu.py runs the real thing where there is a GPU."""
    import contextlib

    import torch

    replays = []

    class Stream:
        def __init__(self, *a):
            pass

        def wait_stream(self, other):
            pass

    class Graph:
        def replay(self):
            replays.append(1)

    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda *a: Stream())
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", Graph)
    monkeypatch.setattr(torch.cuda, "graph", lambda g: contextlib.nullcontext())
    return replays

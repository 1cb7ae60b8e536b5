"""The Hub: push/pull/load against the test Hub in tests/hubserver.py, with the real huggingface_hub
client. Revisions and tags, LFS, error mapping, offline use, sha256 pins, generator-only downloads,
retries and cut-offs, path traversal, token hygiene, and two processes pulling at once."""

import os
import re
import socket
import time
from pathlib import Path

import pytest
import torch

import ganzoo
import reliability
from ganzoo import hub as ghub
from ganzoo.api import entry_folder
from ganzoo.card import render_card
from ganzoo.errors import ConfigError, HubError, IntegrityError, NotFoundError
from ganzoo.fsutil import sha256_file
from ganzoo.registry import ModelEntry
from helpers import cli as _cli, popen

CANARY = "hf_CANARYtoken_do_not_leak_8f3a9c"
_counter = iter(range(10_000))


def make_folder(tmp_path, name="model", variant="mlp", **kw):
    if variant == "mlp":
        kw = {"g_hidden": [16], "d_hidden": [16], **kw}
        m = ganzoo.create("mlp", "non-saturating", dataset="ring8", **kw)
    else:
        kw = {"sample_shape": [1, 16, 16], "latent_dim": 8, **kw}
        m = ganzoo.create(variant, **kw)
    folder = tmp_path / name
    m.save(folder)
    return m, folder


def repo_name(prefix="toy"):
    return f"org/{prefix}-{next(_counter)}-{os.getpid()}"


@pytest.fixture
def writer(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", hub.token)
    return hub


def pushed(tmp_path, monkeypatch, hub, **kw):
    """Push a small model as the writer, then drop the token; returns (model, repo, sha, folder)."""
    monkeypatch.setenv("HF_TOKEN", hub.token)
    m, folder = make_folder(tmp_path, **kw)
    repo = repo_name()
    sha = ghub.push(folder, repo)
    monkeypatch.delenv("HF_TOKEN")
    hub.reset()
    return m, repo, sha, folder


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _record_waits(monkeypatch) -> list:
    """Record the seconds the code under test asks ``time.sleep`` for (its backoff) instead of sleeping."""
    waits = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


def cli(*args, capsys=None):
    r = _cli(*args)
    return r.code, r.out, r.err


# -- round trip ---------------------------------------------------------------------------------
def test_push_then_load_is_identical(hub, tmp_path, monkeypatch):
    m, repo, sha, folder = pushed(tmp_path, monkeypatch, hub)
    assert len(sha) == 40
    loaded = ganzoo.load(f"hf://{repo}")
    assert same_state(m.generator, loaded.generator) and same_state(m.discriminator, loaded.discriminator)
    assert torch.equal(m.sample(64, seed=3), loaded.sample(64, seed=3))
    # the repo holds the documented layout
    files = ghub.list_files(repo)
    assert {"config.json", "generator.safetensors", "discriminator.safetensors", "README.md", "samples.png"} <= set(files)
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: ganzoo\n") and "- \"gan\"" in card and "![samples](samples.png)" in card


def test_plain_huggingface_hub_user_can_read_it(hub, tmp_path, monkeypatch):
    import json

    from huggingface_hub import hf_hub_download, snapshot_download
    from safetensors.torch import load_file

    m, repo, sha, _ = pushed(tmp_path, monkeypatch, hub)
    snap = Path(snapshot_download(repo, cache_dir=tmp_path / "plain", endpoint=hub.url))
    cfg = json.loads((snap / "config.json").read_text())
    assert cfg["variant"] == "mlp" and cfg["components"]["generator"]["file"] == "generator.safetensors"
    state = load_file(hf_hub_download(repo, "generator.safetensors", cache_dir=tmp_path / "plain2", endpoint=hub.url))
    ref = m.generator.state_dict()
    assert state.keys() == ref.keys() and all(torch.equal(state[k], ref[k]) for k in ref)


def test_dcgan_sample_cli_from_hub(hub, tmp_path, monkeypatch, capsys):
    import numpy as np

    m, repo, _, _ = pushed(tmp_path, monkeypatch, hub, variant="dcgan")
    out = tmp_path / "s.npy"
    code, _, err = cli("sample", f"hf://{repo}", "-n", "4", "--seed", "7", "-o", str(out), capsys=capsys)
    assert code == 0, err
    np.testing.assert_array_equal(np.load(out), m.sample_unit(4, seed=7).numpy())
    assert not any("discriminator" in p for _, p in hub.requests)


# -- revisions, tags, LFS -----------------------------------------------------------------------
def test_revisions_and_tags(writer, tmp_path):
    from huggingface_hub import HfApi

    m1, f1 = make_folder(tmp_path, "v1")
    m2, f2 = make_folder(tmp_path, "v2", g_hidden=[8])
    repo = repo_name()
    sha1 = ghub.push(f1, repo, message="first")
    HfApi(endpoint=writer.url, token=writer.token).create_tag(repo, tag="v1.0", revision=sha1)
    sha2 = ghub.push(f2, repo, revision="dev")
    assert sha1 != sha2
    assert same_state(ganzoo.load(f"hf://{repo}").generator, m1.generator)
    assert same_state(ganzoo.load(f"hf://{repo}@dev").generator, m2.generator)
    assert same_state(ganzoo.load(f"hf://{repo}@v1.0").generator, m1.generator)
    assert same_state(ganzoo.load(f"hf://{repo}@{sha2}").generator, m2.generator)
    with reliability.refuses("Hub revision", NotFoundError,
                             rf"^hf://{repo}@nope: revision 'nope' not found in {repo}; check the branch, tag or commit$"):
        ganzoo.load(f"hf://{repo}@nope")
    with reliability.refuses("Hub revision", ConfigError, r"^bad Hub revision '\.\./\.\./x'; use a branch, tag or commit sha$"):
        ganzoo.load(f"hf://{repo}@../../x")


def test_large_file_goes_through_lfs(writer, tmp_path):
    m, folder = make_folder(tmp_path, g_hidden=[1700, 1600], d_hidden=[8])  # generator > 10 MB
    assert (folder / "generator.safetensors").stat().st_size > 10 * 1024 * 1024
    repo = repo_name("big")
    ghub.push(folder, repo)
    assert any(p.startswith("/_lfs/") for meth, p in writer.requests if meth == "PUT")
    assert max(len(v) for v in writer.lfs.values()) > 10 * 1024 * 1024
    loaded = ganzoo.load(f"hf://{repo}", components=["generator"])
    assert same_state(m.generator, loaded.generator)


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.reliability("input")
def test_not_found_and_unauthorised_are_one_clear_line(writer, tmp_path, monkeypatch, capsys):
    _, folder = make_folder(tmp_path)
    private = repo_name("private")
    ghub.push(folder, private, private=True)
    monkeypatch.delenv("HF_TOKEN")
    with reliability.refuses("Hub repo", NotFoundError, rf"^hf://{private}: .*not found.*HF_TOKEN"):
        ganzoo.load(f"hf://{private}")  # 401 without a token
    with reliability.refuses("Hub repo", NotFoundError, "^hf://org/missing: repository 'org/missing' not found"):
        ganzoo.load("hf://org/missing")
    with pytest.raises(HubError, match="^push to org/.*HTTP 401.*HF_TOKEN"):
        ghub.push(folder, repo_name())  # no token: 401 on create
    reliability.refused_cli("Hub repo", _cli("pull", "hf://org/missing"),
                            "^ganzoo: error: hf://org/missing: repository 'org/missing' not found")
    with reliability.refuses("Hub repo", ConfigError, r"^bad Hub repo id 'not a repo'; expected 'org/name'"):
        ganzoo.load("hf://not a repo")
    monkeypatch.setenv("HF_TOKEN", writer.token)
    assert same_state(ganzoo.load(f"hf://{private}").generator, ganzoo.load(folder).generator)


@pytest.mark.reliability("fault")
def test_unreachable_hub_fails_fast_with_one_line(hub, monkeypatch):
    from huggingface_hub import constants

    dead = os.environ["HF_ENDPOINT"].replace(hub.url, "http://127.0.0.1:9")
    monkeypatch.setenv("HF_ENDPOINT", dead)
    monkeypatch.setattr(constants, "ENDPOINT", dead)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", dead + "/{repo_id}/resolve/{revision}/{filename}")
    with pytest.raises(ConnectionRefusedError):  # the fault is there: nothing answers on that port
        socket.create_connection(("127.0.0.1", 9), timeout=2).close()
    waits = _record_waits(monkeypatch)
    with pytest.raises(HubError, match="cannot reach the Hub") as info:
        ganzoo.load("hf://org/anything")
    assert "\n" not in str(info.value)
    reliability.fault("Hub unreachable (connection refused)")
    assert len(waits) <= 2 and sum(waits) <= 1.0, waits  # fails fast: 3 tries, short backoff between them


# -- offline ------------------------------------------------------------------------------------
@pytest.mark.reliability("fault")
def test_offline_from_cache_and_hint_when_missing(hub, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    m, repo, _, _ = pushed(tmp_path, monkeypatch, hub)
    code, out, err = cli("pull", f"hf://{repo}", capsys=capsys)
    assert code == 0, err
    assert Path(out.strip(), "generator.safetensors").is_file()
    hub.fail(1000, status=502)  # the Hub goes down: the cached copy still loads, without the flag
    assert same_state(m.generator, ganzoo.load(f"hf://{repo}").generator)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    hub.reset()
    loaded = ganzoo.load(f"hf://{repo}")
    assert same_state(m.generator, loaded.generator)
    assert hub.requests == []  # not a single request
    with pytest.raises(HubError) as info:
        ganzoo.load("hf://org/never-pulled")
    assert str(info.value) == ("hf://org/never-pulled is not in the cache (HF_HUB_OFFLINE=1); "
                               "run `ganzoo pull hf://org/never-pulled` once online")


# -- integrity ----------------------------------------------------------------------------------
def _entry(repo, sha, pins):
    return ModelEntry(name="toy-zoo", variant="mlp", objective="non-saturating", dataset="ring8",
                      source={"repo": repo, "revision": sha, "files": pins})


def _cached_files(tmp_path):
    cache = Path(os.environ["HF_HUB_CACHE"])
    return {p.name for p in cache.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.mark.reliability("input")
def test_registry_pins_are_enforced_and_bad_files_removed(hub, tmp_path, monkeypatch):
    m, repo, sha, folder = pushed(tmp_path, monkeypatch, hub)
    pins = {f: sha256_file(folder / f) for f in ("config.json", "generator.safetensors", "discriminator.safetensors")}
    good = entry_folder(_entry(repo, sha, pins), components=["generator"])
    assert sha256_file(good / "generator.safetensors") == pins["generator.safetensors"]
    bad = dict(pins, **{"discriminator.safetensors": "0" * 64})
    with reliability.refuses("pinned Hub download", IntegrityError,
                             "discriminator.safetensors has sha256 .* registry pins 000000000000"):
        entry_folder(_entry(repo, sha, bad))
    snap = Path(os.environ["HF_HUB_CACHE"]) / f"models--{repo.replace('/', '--')}" / "snapshots" / sha
    assert not (snap / "discriminator.safetensors").exists()
    blob = Path(os.environ["HF_HUB_CACHE"]) / f"models--{repo.replace('/', '--')}" / "blobs" / pins["discriminator.safetensors"]
    assert not blob.exists()
    with reliability.refuses("pinned Hub download", IntegrityError, "config.json|generator.safetensors.*no sha256 pin"):
        entry_folder(_entry(repo, sha, {"config.json": pins["config.json"]}), components=["generator"])


@pytest.mark.reliability("input")
def test_tampered_download_is_refused_and_not_cached(hub, tmp_path, monkeypatch):
    m, repo, sha, folder = pushed(tmp_path, monkeypatch, hub)
    data = bytearray((folder / "generator.safetensors").read_bytes())
    data[-1] ^= 0xFF
    hub.corrupt(repo, "generator.safetensors", bytes(data))  # same ETag, different bytes
    with reliability.refuses("tampered Hub download", IntegrityError, "generator.safetensors .*refusing to load it"):
        ganzoo.load(f"hf://{repo}", components=["generator"])
    assert "generator.safetensors" not in _cached_files(tmp_path)
    assert not any(p.name.endswith(".incomplete") for p in Path(os.environ["HF_HUB_CACHE"]).rglob("*"))


def test_generator_only_downloads_only_the_generator(hub, tmp_path, monkeypatch, capsys):
    m, repo, _, _ = pushed(tmp_path, monkeypatch, hub)
    loaded = ganzoo.load(f"hf://{repo}", components=["generator"])
    assert loaded.discriminator is None and same_state(m.generator, loaded.generator)
    got = {p.rsplit("/", 1)[-1] for meth, p in hub.requests if meth == "GET"}
    assert got <= {"config.json", "generator.safetensors", "README.md"} and "generator.safetensors" in got
    code, out, err = cli("pull", f"hf://{repo}", "--generator-only", capsys=capsys)
    assert code == 0, err
    assert not Path(out.strip(), "discriminator.safetensors").exists()


# -- reliability --------------------------------------------------------------------------------
@pytest.mark.reliability("fault")
def test_bounded_retries_on_5xx_and_cut_offs(hub, tmp_path, monkeypatch):
    m, repo, _, _ = pushed(tmp_path, monkeypatch, hub)
    hub.fail(2, status=503)
    assert same_state(ganzoo.load(f"hf://{repo}", components=["generator"]).generator, m.generator)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache2"))
    hub.reset()
    hub.cut(1, match="generator.safetensors")
    assert same_state(ganzoo.load(f"hf://{repo}", components=["generator"]).generator, m.generator)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache3"))
    hub.reset()
    hub.fail(1000, status=500)
    waits = _record_waits(monkeypatch)
    with pytest.raises(HubError, match=r"HTTP 500 .*gave up after 3 tries") as info:
        ganzoo.load(f"hf://{repo}")
    assert "\n" not in str(info.value)
    assert len(hub.requests) == 3 and len(waits) == 2 and sum(waits) <= 1.0, waits


@pytest.mark.reliability("fault")
def test_stalled_hub_times_out(hub, tmp_path, monkeypatch):
    _, repo, _, _ = pushed(tmp_path, monkeypatch, hub)
    monkeypatch.setenv("GANZOO_HUB_TIMEOUT", "0.5")
    monkeypatch.setenv("GANZOO_HUB_RETRIES", "2")
    hub.stall(2, match="/resolve/")  # held back until the test releases them
    with pytest.raises(HubError, match="no answer from .* within 0.5s"):
        ganzoo.load(f"hf://{repo}")
    assert hub.stalled_now == 2  # the client gave up on both tries while the Hub still held each answer
    hub.reset()
    assert hub.wait_idle()


@pytest.mark.reliability("input")
def test_file_names_never_escape_the_cache(hub, tmp_path, monkeypatch):
    import json

    for bad in ("../evil.safetensors", "/etc/passwd", "a/b.png", ".hidden.png", "..", "x.py", "C:\\x.png", ""):
        assert not ghub.is_allowed_file(bad)
    for ok in ("generator.safetensors", "config.json", "README.md", "samples.png"):
        assert ghub.is_allowed_file(ok)
    _, repo, _, folder = pushed(tmp_path, monkeypatch, hub)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["components"]["generator"]["file"] = "../../../../escaped.safetensors"
    hub.add_files(repo, {"config.json": json.dumps(cfg).encode(), "sub/x.png": b"png", "..x.png": b"png"})
    assert ghub.list_files(repo) == sorted(n for n in ghub.list_files(repo) if "/" not in n and not n.startswith("."))
    with reliability.refuses("path traversal (config.json)", ConfigError,
                             rf"^hf://{repo}: config.json: component 'generator' names a bad file "
                             r"'\.\./\.\./\.\./\.\./escaped\.safetensors'$"):
        ganzoo.load(f"hf://{repo}")
    assert not list(tmp_path.rglob("escaped.safetensors"))
    assert not any("escaped" in p for _, p in hub.requests)


@pytest.mark.reliability("input")
def test_token_never_leaks(hub, tmp_path, monkeypatch, capsys, caplog):
    _, folder = make_folder(tmp_path)
    monkeypatch.setenv("HF_TOKEN", CANARY)  # a wrong token: every write answers 401
    texts = []
    for call, what in ((lambda: ghub.push(folder, repo_name()), "push to org/"),
                       (lambda: ganzoo.load("hf://org/missing"), "hf://org/missing"),
                       (lambda: ganzoo.load("hf://org/missing@v1"), "hf://org/missing@v1")):
        with pytest.raises(HubError, match=f"^{re.escape(what)}.*refused access \\(HTTP 401\\); set HF_TOKEN") as info:
            call()
        texts += [str(info.value), repr(info.value)]
    code, out, err = cli("push", str(folder), repo_name(), capsys=capsys)
    assert code == 1
    texts += [out, err, caplog.text]
    assert not (folder / "README.md").exists()  # a failed push writes nothing into the folder
    texts.append(render_card(ganzoo.load(folder).to_config(), repo_id="org/x"))
    assert all(CANARY not in t for t in texts)


@pytest.mark.reliability("fault")
def test_two_processes_pull_the_same_model(hub, tmp_path, monkeypatch):
    """The Hub holds the first download of the generator until the second process asks for the same
    file, so the two pulls overlap for certain; both end with one complete, verified file."""
    m, repo, sha, _ = pushed(tmp_path, monkeypatch, hub)
    hub.overlap("/generator.safetensors")
    procs = [popen(["pull", f"hf://{repo}"]) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert hub.fired.count("overlap") >= 1, "the two downloads did not overlap"
    assert [p.returncode for p in procs] == [0, 0], outs
    folders = {o.decode().strip().splitlines()[-1] for o, _ in outs}
    assert len(folders) == 1
    folder = Path(folders.pop())
    assert folder.name == sha
    gets = [p for meth, p in hub.requests if meth == "GET" and p.endswith("/generator.safetensors")]
    assert len(gets) >= 1
    reliability.check_hf_cache(os.environ["HF_HUB_CACHE"])
    reliability.check_file(folder / "generator.safetensors")
    assert same_state(ganzoo.load(f"hf://{repo}").generator, m.generator)


def test_a_push_carries_no_local_path_and_names_the_public_dataset(writer, tmp_path):
    """A run's config.json names its data folder (so that ganzoo eval RUN finds it); what is pushed names the
    source only, and the card lists the public Hub dataset and the task of a class-conditional model."""
    import json

    m = ganzoo.create("dcgan", sample_shape=[1, 16, 16], latent_dim=8, g_width=4, d_width=4, num_classes=10,
                      dataset="mnist:/home/someone/private/mnist",
                      training={"data": "mnist:/home/someone/private/mnist", "steps": 1}, metrics={"fd_ratio": 2.5})
    folder = tmp_path / "run"
    m.save(folder)
    repo = repo_name()
    ghub.push(folder, repo)
    snap = Path(ghub.download(repo))
    texts = {p.name: p.read_text(errors="replace") for p in snap.iterdir() if p.suffix in (".json", ".md")}
    assert texts and not any("/home/someone" in t for t in texts.values()), [n for n, t in texts.items() if "/home" in t]
    cfg = json.loads(texts["config.json"])
    assert cfg["dataset"] == "mnist" and cfg["training"]["data"] == "mnist"
    assert '\ndatasets:\n- "ylecun/mnist"\n' in texts["README.md"]
    assert "      type: conditional-image-generation\n" in texts["README.md"]
    assert json.loads((folder / "config.json").read_text())["dataset"] == "mnist:/home/someone/private/mnist"  # kept
    assert ganzoo.load(f"hf://{repo}").meta["dataset"] == "mnist"

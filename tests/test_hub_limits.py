"""What a Hub repo (or a zoo entry) can make ganzoo spend, against the test Hub: a config.json describing a
huge model is refused before any weights are downloaded; a file larger than what the config's model needs
is never downloaded; a Hub sending more than it announced is cut off; every file ganzoo refuses leaves the
cache; a full disk while pulling is the usual one line. And what a push sends: only the folder's own files."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import pytest

import ganzoo
import reliability
from ganzoo import hub as ghub
from ganzoo.errors import ConfigError, IntegrityError, TooLargeError, WeightsError
from helpers import cli
from test_hub import make_folder, pushed, repo_name, same_state, writer  # noqa: F401 (writer: a fixture)

pytestmark = pytest.mark.reliability("input")


def cache() -> Path:
    return Path(os.environ["HF_HUB_CACHE"])


def cached(repo: str) -> list[str]:
    """Names of the files of ``repo`` in the cache (snapshot links and blobs, partial downloads too)."""
    storage = cache() / f"models--{repo.replace('/', '--')}"
    return sorted(p.name for p in storage.rglob("*") if p.is_file() or p.is_symlink()) if storage.exists() else []


def gets(hub, fname: str) -> int:
    return sum(1 for meth, p in hub.requests if meth == "GET" and p.endswith("/" + fname))


def hub_config(folder: Path, **config) -> bytes:
    cfg = json.loads((folder / "config.json").read_text())
    cfg["config"].update(config)
    return json.dumps(cfg).encode()


# -- a config.json that asks for too much ---------------------------------------------------------------------
def test_a_hub_config_asking_for_a_huge_model_is_refused_before_any_weights(hub, tmp_path, monkeypatch):
    _, repo, _, folder = pushed(tmp_path, monkeypatch, hub)
    hub.add_files(repo, {"config.json": hub_config(folder, g_hidden=[20000, 20000])})
    with reliability.refuses("Hub config.json (too large)", TooLargeError,
                             rf"^hf://{repo}: config\.json: variant 'mlp' with this config has 400,\d{{3}},\d{{3}} "
                             r"parameters, over the limit of 200,000,000; set GANZOO_MAX_PARAMETERS to raise it$"):
        ganzoo.load(f"hf://{repo}")
    assert gets(hub, "generator.safetensors") == 0 and gets(hub, "discriminator.safetensors") == 0
    assert "config.json" not in cached(repo)  # refused: out of the cache
    reliability.refused_cli("Hub config.json (too large)", cli("sample", f"hf://{repo}", "-n", "1", "-o", tmp_path / "s.npy"),
                            rf"^ganzoo: error: hf://{repo}: config\.json: variant 'mlp' with this config has 400,")
    # raised limit: the retry fetches config.json again, then the weights, which do not fit it (and go too)
    hub.add_files(repo, {"config.json": hub_config(folder, g_hidden=[300])})
    monkeypatch.setenv("GANZOO_MAX_PARAMETERS", "1000")
    with pytest.raises(TooLargeError, match=r"over the limit of 1,000"):
        ganzoo.load(f"hf://{repo}")
    monkeypatch.setenv("GANZOO_MAX_PARAMETERS", "100000")
    with reliability.refuses("Hub weights (not the config's model)", WeightsError,
                             r"generator\.safetensors: tensor '[\w.]+' has shape \(\d+(, \d+)*\), the model expects \(300"):
        ganzoo.load(f"hf://{repo}")
    assert "generator.safetensors" not in cached(repo) and "config.json" in cached(repo)


def test_a_zoo_entry_asking_for_a_huge_model_is_refused(tmp_path):
    """A plugin's zoo entry whose bundled config.json (pinned and all) describes 400 million parameters."""
    from ganzoo.fsutil import sha256_file
    from ganzoo.plugins import get_registry
    from ganzoo.registry import ModelEntry

    _, folder = make_folder(tmp_path)
    (folder / "config.json").write_bytes(hub_config(folder, g_hidden=[20000, 20000]))
    pins = {f: sha256_file(folder / f) for f in ("config.json", "generator.safetensors", "discriminator.safetensors")}
    reg = get_registry()
    reg.add(ModelEntry(name="huge-toy", variant="mlp", objective="non-saturating", dataset="ring8",
                       source={"path": str(folder), "files": pins}), "limits-test")
    try:
        with reliability.refuses("zoo entry (too large)", TooLargeError,
                                 rf"^{re.escape(str(folder / 'config.json'))}: variant 'mlp' with this config has 400,"):
            ganzoo.load("huge-toy")
    finally:
        reg.remove_plugin("limits-test")


# -- weights larger than the model needs, or than announced ----------------------------------------------------
def test_a_weights_file_larger_than_its_model_needs_is_never_downloaded(hub, tmp_path, monkeypatch):
    """The issue's case: a valid header followed by megabytes of zeros. The Hub announces its size, the
    config's model needs 1,4xx bytes (plus 1 MiB for a header): refused before a byte is fetched."""
    _, repo, _, folder = pushed(tmp_path, monkeypatch, hub)
    padded = (folder / "generator.safetensors").read_bytes() + bytes(3 * 1024**2)
    hub.add_files(repo, {"generator.safetensors": padded})
    with reliability.refuses("Hub weights (too large)", TooLargeError,
                             rf"^hf://{repo}: generator\.safetensors is 3\.0 MiB \({len(padded):,} bytes\), more than the "
                             r"[\d,]+ bytes the generator that config\.json describes needs; refusing to download it$"):
        ganzoo.load(f"hf://{repo}", components=["generator"])
    assert gets(hub, "generator.safetensors") == 0 and "generator.safetensors" not in cached(repo)


def test_a_weights_file_refused_after_download_leaves_the_cache(hub, tmp_path, monkeypatch):
    """A little junk after the tensors (within the header allowance): downloaded, refused by the strict
    loader, and removed from the cache, so a retry after the repo is fixed starts clean."""
    m, repo, _, folder = pushed(tmp_path, monkeypatch, hub)
    good = (folder / "generator.safetensors").read_bytes()
    hub.add_files(repo, {"generator.safetensors": good + bytes(1000)})
    with reliability.refuses("Hub weights (trailing junk)", WeightsError,
                             r"generator\.safetensors: corrupt safetensors file: .*not fully covered"):
        ganzoo.load(f"hf://{repo}", components=["generator"])
    assert "generator.safetensors" not in cached(repo)
    assert not [n for n in cached(repo) if len(n) == 64]  # no blob left either
    hub.add_files(repo, {"generator.safetensors": good})
    assert same_state(ganzoo.load(f"hf://{repo}", components=["generator"]).generator, m.generator)


def test_a_hub_sending_more_than_it_announced_is_cut_off(hub, tmp_path, monkeypatch):
    _, repo, _, folder = pushed(tmp_path, monkeypatch, hub)
    hub.announce(repo, "generator.safetensors", 100)
    with reliability.refuses("Hub download (more than announced)", IntegrityError,
                             rf"^hf://{repo}: the Hub sent more than the 100 bytes it announced for "
                             r"generator\.safetensors; refusing it \(nothing was kept\)$"):
        ganzoo.load(f"hf://{repo}", components=["generator"])
    assert gets(hub, "generator.safetensors") >= 1  # it was sent ...
    assert "generator.safetensors" not in cached(repo) and not [n for n in cached(repo) if "incomplete" in n]


@pytest.mark.parametrize("fname", ["config.json", "README.md"])
def test_tampered_small_files_are_refused_and_not_cached(hub, tmp_path, monkeypatch, fname):
    """config.json and README.md are plain git files: their ETag is a git blob id, checked like the sha256
    of the weights (a mirror serving other bytes under the same ETag is refused)."""
    _, repo, _, folder = pushed(tmp_path, monkeypatch, hub)
    data = (folder / fname).read_bytes() + b" "  # one more byte: still valid JSON / Markdown
    hub.corrupt(repo, fname, data)
    with reliability.refuses(f"tampered Hub download ({fname})", IntegrityError,
                             rf"^hf://{repo}: {re.escape(fname)} does not match the git object id [0-9a-f]{{12}}\.\.\. "
                             r"the Hub announced \(corrupt download\?\); refusing to load it \(removed from the cache\)$"):
        ganzoo.load(f"hf://{repo}", components=["generator"])
    assert fname not in cached(repo)


def test_a_config_json_refused_by_its_schema_leaves_the_cache(hub, tmp_path, monkeypatch):
    _, repo, _, folder = pushed(tmp_path, monkeypatch, hub)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["surprise"] = 1
    hub.add_files(repo, {"config.json": json.dumps(cfg).encode()})
    with reliability.refuses("Hub config.json", ConfigError, rf"^hf://{repo}: config\.json: unknown key 'surprise'$"):
        ganzoo.load(f"hf://{repo}")
    assert "config.json" not in cached(repo)


# -- a full disk while pulling ------------------------------------------------------------------------------
def test_too_little_free_space_is_the_usual_disk_full_line(hub, tmp_path, monkeypatch):
    import shutil

    _, repo, _, _ = pushed(tmp_path, monkeypatch, hub)
    real = shutil.disk_usage
    asked = []

    def nearly_full(path):
        asked.append(path)
        return real(path)._replace(free=100)  # the disk has 100 bytes left

    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    r = cli("pull", f"hf://{repo}")
    assert asked
    reliability.fault("disk nearly full while pulling")
    storage = re.escape(str(cache() / f"models--{repo.replace('/', '--')}"))
    assert r.code == 1 and r.err.count("\n") == 1 and "warning" not in r.err.lower(), r.err  # no library warning
    assert re.fullmatch(rf"ganzoo: error: {storage}: disk full while writing \(No space left on device\); nothing "
                        r"half-written was kept, config\.json \(\d+ bytes; 100 bytes free\) was not downloaded\. Free "
                        r"some space and try again\n", r.err), r.err
    assert cached(repo) == []


def test_a_disk_filling_up_mid_download_is_the_usual_disk_full_line(hub, tmp_path, monkeypatch):
    import pathlib

    m, repo, _, _ = pushed(tmp_path, monkeypatch, hub)
    real_open = pathlib.Path.open
    hit = []

    class Full:
        """A download file on a disk that fills up after 100 bytes."""

        def __init__(self, fh):
            self.fh, self.n = fh, 0

        def write(self, data):
            if self.n + len(data) > 100:
                hit.append(self.fh.name)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.n += len(data)
            return self.fh.write(data)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def fake_open(self, mode="r", *a, **k):
        fh = real_open(self, mode, *a, **k)
        return Full(fh) if self.name.endswith(".incomplete") and "w" in mode else fh

    with pytest.MonkeyPatch.context() as mp:  # (not monkeypatch.undo(): that would undo the test Hub's settings)
        mp.setattr(pathlib.Path, "open", fake_open)
        r = cli("pull", f"hf://{repo}")
    assert hit, "no download met the full disk"
    reliability.fault("ENOSPC (disk full)")
    storage = re.escape(str(cache() / f"models--{repo.replace('/', '--')}"))
    assert r.code == 1 and r.err.count("\n") == 1, r.err
    assert re.fullmatch(rf"ganzoo: error: {storage}: disk full while writing \(No space left on device\); nothing "
                        r"half-written was kept, \S+ was not downloaded\. Free some space and try again\n", r.err), r.err
    assert not [n for n in cached(repo) if n.endswith(".incomplete")]
    reliability.check_hf_cache(cache())
    assert cli("pull", f"hf://{repo}").code == 0  # space again: the retry succeeds
    assert same_state(ganzoo.load(f"hf://{repo}").generator, m.generator)


# -- what a push sends ------------------------------------------------------------------------------------------
def test_push_refuses_a_symlink_out_of_the_folder(writer, tmp_path):
    """The issue's case: ln -s ~/secret.txt run/notes.png; ganzoo push run org/x."""
    _, folder = make_folder(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("hf_very_secret_token\n")
    (folder / "notes.png").symlink_to(secret)
    repo = repo_name("leak")
    reliability.refused_cli("push folder", cli("push", folder, repo),
                            rf"^ganzoo: error: {re.escape(str(folder / 'notes.png'))}: a link to {re.escape(str(secret))}, "
                            r"outside the folder; push sends only the folder's own files: replace it with a copy or remove it$")
    assert repo not in writer.repos and not any(b"very_secret" in d for d in writer.lfs.values())
    (folder / "notes.png").unlink()
    (folder / "notes.png").write_text("not a picture")
    with reliability.refuses("push folder", ConfigError, r"notes\.png: not a PNG image; push sends \*\.png files as pictures"):
        ghub.push(folder, repo)
    assert repo not in writer.repos


def test_push_sends_only_the_model_files(writer, tmp_path):
    """config.json, the weights it names, README.md and real PNGs -- a link to a PNG inside the folder is
    sent as that picture; other files (a stray .safetensors, notes, sub-folders) stay home."""
    from PIL import Image

    _, folder = make_folder(tmp_path)
    (folder / "samples").mkdir()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(folder / "samples" / "step-1.png")
    (folder / "samples.png").symlink_to(folder / "samples" / "step-1.png")
    (folder / "stray.safetensors").write_bytes(b"private weights")
    (folder / "notes.txt").write_text("todo")
    repo = repo_name("only")
    ghub.push(folder, repo)
    remote = writer.repos[repo]
    files = remote.commits[remote.branches["main"]]["files"]
    assert sorted(files) == ["README.md", "config.json", "discriminator.safetensors", "generator.safetensors",
                             "samples.png"]
    assert files["samples.png"][0] == (folder / "samples" / "step-1.png").read_bytes()

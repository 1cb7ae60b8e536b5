"""``ganzoo demo`` (plugins/demo): the page served by a real ``ganzoo demo`` process on 127.0.0.1, called
with gradio_client and driven in a headless Chromium (Selenium); every picture is compared pixel for pixel
with what ``ganzoo sample`` writes for the same model, seed, n and class. The server is stopped with
Ctrl-C (SIGINT) and must exit cleanly. No request leaves the machine: Gradio's analytics are off and the
browser resolves no host but 127.0.0.1.

The browser tests need Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``, which
``scripts/browser.sh`` tries); where they are missing those tests skip with a message. ``GANZOO_DEMO_SCREENSHOT=
docs/demo.png`` makes the browser test save its screenshot there (the README's picture)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from helpers import ROOT, cli, env, free_port

LOOPBACK = "http://127.0.0.1:"


def pixels(path):
    """A PNG's pixels as an RGB array (a greyscale picture's grey repeated), with its mode."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")), im.mode


def cli_picture(tmp_path, *args):
    """The picture ``ganzoo sample ARGS -o x.png`` writes, as (RGB pixels, mode)."""
    out = tmp_path / f"cli-{len(list(tmp_path.iterdir()))}.png"
    code, _, err = cli("sample", *args, "-o", out)
    assert code == 0, err
    return pixels(out)


@pytest.fixture(scope="module")
def folder_model(tmp_path_factory):
    """A model folder (a copy of the zoo's digits-vae) to give ``ganzoo demo`` on its command line."""
    dest = tmp_path_factory.mktemp("folder") / "my-vae"
    shutil.copytree(ROOT / "plugins" / "zoo" / "models" / "digits-vae", dest)
    return dest


@pytest.fixture(scope="module")
def server(folder_model, tmp_path_factory):
    """``ganzoo demo FOLDER --port P`` in a child process (127.0.0.1, the default host): its URL. Stopped
    with SIGINT (Ctrl-C) at the end, which must end it with exit status 0 and a last line."""
    pytest.importorskip("gradio", reason="the demo extra is not installed (pip install -e '.[demo]')")
    pytest.importorskip("gradio_client", reason="the demo extra is not installed (pip install -e '.[demo]')")
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "stderr.txt"   # a file, not a pipe: a full pipe would stall the server
    # Ctrl-C as at a terminal: a pytest started in the background (`cmd &`) passes SIGINT on ignored
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo.cli", "demo", str(folder_model), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
                            env=env(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = []   # the URL line once the server listens ("" if it died); a hung start fails after 10 minutes
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=600)
    line = first[0] if first else ""
    if f"at {LOOPBACK}{port}/" not in line:
        proc.kill()
        pytest.fail(f"ganzoo demo did not start: {line!r} {log.read_text()[-2000:]}")
    yield f"{LOOPBACK}{port}/"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip().endswith("ganzoo demo: stopped"), (proc.returncode, out,
                                                                                   log.read_text()[-3000:])


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


@pytest.mark.slow
def test_sample_endpoint_matches_ganzoo_sample(client, tmp_path, folder_model, record_property):
    cases = [("mnist-cdcgan-hinge", 3, 20, -1, ["-n", 20, "--seed", 3]),          # the class grid
             ("mnist-cdcgan-hinge", 4, 6, 7, ["-n", 6, "--seed", 4, "--label", 7]),
             ("ring8-mlp-nonsat", 1, 500, -1, ["-n", 500, "--seed", 1]),              # a 2-D scatter
             (str(folder_model), 2, 9, -1, ["-n", 9, "--seed", 2])]                  # the folder given
    for model, seed, n, label, args in cases:
        got = client.predict(model, seed, n, label, api_name="/sample")
        want = cli_picture(tmp_path, folder_model if model == str(folder_model) else model, *args)
        have = pixels(got)
        assert have[1] == want[1] and have[0].shape == want[0].shape, (model, have[1], want[1])
        assert np.array_equal(have[0], want[0]), f"{model} seed {seed}: the demo's pixels differ from ganzoo sample"
    start = time.perf_counter()   # the model is cached: a second request does not load it again
    client.predict("mnist-cdcgan-hinge", 5, 64, -1, api_name="/sample")
    took = time.perf_counter() - start
    record_property("demo_sample_seconds", round(took, 3))
    print(f"\nganzoo demo: a 64-sample request to the sample endpoint for mnist-cdcgan-hinge (loaded) "
          f"took {took:.3f} s")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["/etc", "../plugins/zoo/models/mnist-ae", str(ROOT / "plugins/zoo/models/mnist-ae"),
                                   "hf://org/repo", "", "mnist-ae/../../../etc"])
def test_only_the_listed_models_load(client, model):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="not in the list of choices|not a model of this demo"):
        client.predict(model, 0, 4, -1, api_name="/sample")


@pytest.mark.slow
def test_bad_requests_are_one_message(client):
    from gradio_client.exceptions import AppError

    for args, says in [(("mnist-cdcgan-hinge", 0, 4, 10), "label must be a whole number from -1 to 9"),
                       (("mnist-dcgan-selfcond", 0, 100_000, -1), "greater than maximum value 2500"),
                       (("mnist-ae", 0, 4, -1), "plain autoencoder")]:
        with pytest.raises(AppError, match=says):
            client.predict(*args, api_name="/sample")


@pytest.mark.slow
def test_latent_and_code_values_endpoints(client):
    """/latent and /code_values take comma-separated lists; their pictures are the service's (tested above
    against the decoder called by hand); a bad request is one message."""
    from gradio_client.exceptions import AppError

    from ganzoo_plugins.demo.service import Demo

    here = Demo()
    got = client.predict("mnist-vae-16d", 5, "3, 11", "1.5, -2.25", -1, api_name="/latent")
    _same(here.latent("mnist-vae-16d", 5, [3, 11], [1.5, -2.25]), pixels(got)[0])
    got = client.predict("mnist-infogan", 4, "7, -, -0.5", -1, api_name="/code_values")
    _same(here.code_values("mnist-infogan", 4, [7, None, -0.5]), pixels(got)[0])
    with pytest.raises(AppError, match="latent dimension must be a whole number from 0 to 15, not '16'"):
        client.predict("mnist-vae-16d", 0, "16", "0", -1, api_name="/latent")
    with pytest.raises(AppError, match="code 0 \\(categorical\\) must be a whole number from 0 to 9, not '12'"):
        client.predict("mnist-infogan", 0, "12", -1, api_name="/code_values")


@pytest.mark.slow
def test_the_server_serves_no_file_outside_its_outputs(server):
    for path in ["gradio_api/file=/etc/passwd", "file=/etc/passwd", f"gradio_api/file={ROOT}/pyproject.toml"]:
        try:
            with urllib.request.urlopen(server + path, timeout=30) as r:
                body = r.read()
        except urllib.error.HTTPError as exc:
            assert exc.code in (403, 404), (path, exc.code)
            continue
        assert b"root:" not in body and b"[project]" not in body, path


@pytest.mark.slow
def test_without_gradio_one_line_says_what_to_install(tmp_path):
    """The demo extra missing (gradio hidden from the child): one line naming the install command."""
    (tmp_path / "gradio.py").write_text("raise ImportError('No module named gradio', name='gradio')\n")
    e = env(PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT), *sys.path]))
    r = subprocess.run([sys.executable, "-m", "ganzoo.cli", "demo"], capture_output=True, text=True, env=e,
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        "ganzoo: error: ganzoo demo needs Gradio: pip install 'ganzoo[demo]'"], r.stderr


def test_a_model_given_that_does_not_exist_is_one_line(tmp_path):
    code, _, err = cli("demo", "no-such-model")
    assert code == 1 and err.startswith("ganzoo: error:") and "no-such-model" in err and len(err.splitlines()) == 1
    code, _, err = cli("demo", tmp_path)   # a folder without config.json
    assert code == 1 and "not a model folder" in err
    for host in ("", "-1", "a=b", "x" * 300):   # refused before anything is served (or looked up)
        code, _, err = cli("demo", "--host", host)
        assert code == 1 and "--host must be an IP address or a host name" in err, (host, err)


# -- the page's work, without a server (plugins/demo/service.py) ---------------------------------------------

@pytest.fixture(scope="module")
def demo():
    from ganzoo_plugins.demo.service import Demo

    return Demo()


def _same(picture, want):
    assert np.array_equal(np.asarray(picture.convert("RGB")), want)


def test_walk_strip_is_ganzoo_sample_interpolate(demo, tmp_path):
    want, _ = cli_picture(tmp_path, "mnist-dcgan-selfcond", "--interpolate", "-n", 1, "--steps", 6, "--seed", 3)
    _same(demo.walk("mnist-dcgan-selfcond", 3, 4, 6), want)   # to seed 4 = seed + 1, as the command walks
    other = np.asarray(demo.walk("mnist-dcgan-selfcond", 3, 9, 6).convert("RGB"))
    assert other.shape == want.shape and not np.array_equal(other, want)   # the end seed is used


def test_latent_grid_is_ganzoo_traverse(demo, tmp_path):
    out = tmp_path / "grid.png"
    assert cli("traverse", "mnist-vae-2d", "--dims", "1,0", "--steps", 7, "-o", out).code == 0
    assert demo.describe("mnist-vae-2d")["traverses"] and not demo.describe("mnist-ae")["traverses"]
    _same(demo.traverse("mnist-vae-2d", 1, 0, 7), pixels(out)[0])
    from ganzoo.errors import ConfigError

    for args, says in [((0, 0, 7), "two different latent dimensions"), ((0, 2, 7), "latent dimension must be")]:
        with pytest.raises(ConfigError, match=says):
            demo.traverse("mnist-vae-2d", *args)


def test_latent_codes_are_ganzoo_traverse_code(tmp_path):
    import ganzoo
    from ganzoo.errors import ConfigError
    from ganzoo_plugins.demo.service import Demo

    folder = tmp_path / "info"
    ganzoo.create("infogan", sample_shape=[1, 8, 8], g_hidden=16, g_width=4, d_width=4, d_hidden=16,
                  q_hidden=8, categories=[3], continuous=1, noise=4).save(folder)
    d = Demo([str(folder)])
    about = d.describe(str(folder))
    assert about["codes"] == ["0: categorical, 3 values", "1: continuous"] and f"`{folder}`" in about["card"]
    for args, cli_args in [((0, 2, 15, 1), ["--code", 0, "--rows", 2, "--seed", 1]),
                           ((1, 3, 4, 0), ["--code", 1, "--rows", 3, "--steps", 4])]:
        out = tmp_path / "c.png"
        assert cli("traverse", folder, *cli_args, "-o", out).code == 0
        _same(d.codes(str(folder), *args), pixels(out)[0])
    with pytest.raises(ConfigError, match="code must be a whole number from 0 to 1"):
        d.codes(str(folder), 2)
    with pytest.raises(ConfigError, match="declares no latent codes"):
        d.codes("mnist-vae-2d", 0)


def test_truncation_is_the_sampling_option_the_model_declares(demo, tmp_path):
    assert "truncation" in demo.describe("mnist-cdcgan-hinge")["options"]
    want, _ = cli_picture(tmp_path, "mnist-cdcgan-hinge", "-n", 10, "--seed", 2, "--truncation", 0.5)
    _same(demo.sample("mnist-cdcgan-hinge", 2, 10, -1, truncation=0.5), want)
    plain = np.asarray(demo.sample("mnist-cdcgan-hinge", 2, 10, -1).convert("RGB"))
    assert not np.array_equal(plain, want)
    from ganzoo.errors import ConfigError

    with pytest.raises(ConfigError, match="truncation"):
        demo.sample("mnist-cdcgan-hinge", 2, 10, -1, truncation=-1.0)
    with pytest.raises(ConfigError, match="no sampling option 'noise'"):
        demo.sample("mnist-cdcgan-hinge", 2, 10, -1, noise="none")


def test_the_style_model_samples_in_the_demo_as_the_cli_draws_it(demo, tmp_path):
    """mnist-stylegan (issue 46): its own options reach the page (truncation in w, the per-pixel noise with its
    choices), and a truncated, noise-free draw is the CLI's picture pixel for pixel; psi 0 gives every seed the
    same image (w = w_avg), which a z-truncation would not."""
    options = demo.describe("mnist-stylegan")["options"]
    assert "truncation" in options and "noise" in options
    want, _ = cli_picture(tmp_path, "mnist-stylegan", "-n", 6, "--seed", 3, "--truncation", 0.6,
                          "--sample-opt", 'noise="none"')
    _same(demo.sample("mnist-stylegan", 3, 6, -1, truncation=0.6, noise="none"), want)
    assert not np.array_equal(np.asarray(demo.sample("mnist-stylegan", 3, 6, -1, truncation=0.6).convert("RGB")), want)
    a = np.asarray(demo.sample("mnist-stylegan", 1, 2, -1, truncation=0.0).convert("RGB"))
    b = np.asarray(demo.sample("mnist-stylegan", 2, 2, -1, truncation=0.0).convert("RGB"))
    assert np.array_equal(a, b)


def test_what_a_model_offers_comes_from_the_model(demo, tmp_path):
    """No variant named: an autoencoder with a learned prior (the VQ-VAE) samples, a plain one does not; the
    sampling options are those its generator declares (no truncation for the VQ-VAE's prior)."""
    vq, ae = demo.describe("mnist-vqvae"), demo.describe("mnist-ae")
    assert vq["samples"] and not ae["samples"] and vq["reconstructs"] and ae["reconstructs"]
    assert "truncation" not in vq["options"] and "truncation" in demo.describe("mnist-vae-2d")["options"]
    want, _ = cli_picture(tmp_path, "mnist-vqvae", "-n", 4, "--seed", 1)
    _same(demo.sample("mnist-vqvae", 1, 4), want)


def _decoded(model, z, y=None):
    """The picture of ``model``'s sample for latent ``z``, computed here: generate, map to [0, 1], ganzoo's grid."""
    import torch

    from ganzoo.images import grid
    from ganzoo.ranges import to_unit

    with torch.no_grad():
        x = model.generator.eval().generate(z, y)
    return np.asarray(grid(to_unit(x, model.generator.output_range), nrow=1).convert("RGB"))


def test_latent_sliders_set_dimensions_of_the_seeds_latent(demo, tmp_path):
    import ganzoo

    assert demo.describe("mnist-vae-16d")["latent"] and demo.describe("mnist-betavae")["latent"]
    assert not any(demo.describe(n)["latent"] for n in ("mnist-ae", "mnist-vqvae", "ring8-mlp-hinge"))
    m = ganzoo.load("mnist-vae-16d")   # a model of its own: computed here, not by the demo
    z = m.generator.sample_latent(1, seed=5)
    z[0, 3], z[0, 11] = 1.5, -2.25
    want = _decoded(m, z)
    _same(demo.latent("mnist-vae-16d", 5, [3, 11], [1.5, -2.25]), want)
    other = np.asarray(demo.latent("mnist-vae-16d", 5, [3, 11], [-1.5, -2.25]).convert("RGB"))
    assert other.shape == want.shape and not np.array_equal(other, want)   # the slider's value is used
    untouched, _ = cli_picture(tmp_path, "mnist-vae-16d", "-n", 1, "--seed", 5)
    _same(demo.latent("mnist-vae-16d", 5, [], []), untouched)   # no dimension set: ganzoo sample -n 1
    from ganzoo.errors import ConfigError

    for name, dims, values, says in [
            ("mnist-vae-16d", [16], [0.0], "latent dimension must be a whole number from 0 to 15, not 16"),
            ("mnist-vae-16d", [-1], [0.0], "latent dimension must be a whole number from 0 to 15"),
            ("mnist-vae-16d", [2, 2], [0.0, 1.0], "latent dimension 2 is chosen twice"),
            ("mnist-vae-16d", [2], [], "one value per latent dimension"),
            ("mnist-vae-16d", [2], [float("nan")], "value of latent dimension 2 must be a number from -10 to 10"),
            ("mnist-vae-16d", [2], [11.0], "value of latent dimension 2 must be a number from -10 to 10"),
            ("mnist-vqvae", [0], [0.0], "no latent vector z ~ N\\(0, I\\)"),
            ("mnist-ae", [0], [0.0], "plain autoencoder")]:
        with pytest.raises(ConfigError, match=says):
            demo.latent(name, 0, dims, values)


def test_code_values_set_each_latent_code(demo):
    import torch

    import ganzoo

    about = demo.describe("mnist-infogan")
    assert about["code_categories"] == [10, 0, 0] and demo.describe("mnist-vae-2d")["code_categories"] == []
    m = ganzoo.load("mnist-infogan")
    layout = m.generator.code_layout
    z = m.generator.sample_latent(1, seed=4)
    z = layout.set(layout.set(layout.set(z, 0, torch.tensor([7])), 1, torch.tensor([1.5])), 2, torch.tensor([-0.5]))
    want = _decoded(m, z)
    _same(demo.code_values("mnist-infogan", 4, [7, 1.5, -0.5]), want)
    other = np.asarray(demo.code_values("mnist-infogan", 4, [2, 1.5, -0.5]).convert("RGB"))
    assert other.shape == want.shape and not np.array_equal(other, want)   # the category is used
    kept = layout.set(m.generator.sample_latent(1, seed=4), 1, torch.tensor([1.5]))   # None: as the seed drew it
    _same(demo.code_values("mnist-infogan", 4, [None, 1.5]), _decoded(m, kept))
    from ganzoo.errors import ConfigError

    for name, values, says in [
            ("mnist-infogan", [10], "code 0 \\(categorical\\) must be a whole number from 0 to 9, not 10"),
            ("mnist-infogan", [2.5], "code 0 \\(categorical\\) must be a whole number from 0 to 9"),
            ("mnist-infogan", [0, "x"], "code 1 \\(continuous\\) must be a number from -10 to 10"),
            ("mnist-infogan", [0, 0, 0, 0], "mnist-infogan has 3 latent codes, not 4"),
            ("mnist-vae-2d", [0], "declares no latent codes")]:
        with pytest.raises(ConfigError, match=says):
            demo.code_values(name, 0, values)


def test_api_lists_are_comma_separated():
    from ganzoo_plugins.demo.service import numbers

    assert numbers("0, 5,", "dims") == ["0", "5"] and numbers("", "dims") == [] and numbers([1, 2], "v") == [1, 2]
    from ganzoo.errors import ConfigError

    with pytest.raises(ConfigError, match="dims: at most 1024 items"):
        numbers(",".join(["1"] * 1025), "dims")


def test_upload_of_any_size_is_reconstructed(demo, tmp_path):
    from PIL import Image

    from ganzoo.images import grid

    seven = tmp_path / "seven.png"
    assert cli("sample", "mnist-cdcgan-hinge", "-n", 1, "--label", 7, "-o", seven).code == 0
    Image.open(seven).convert("RGB").resize((61, 45)).save(tmp_path / "seven.jpg", quality=90)  # RGB JPEG, odd size
    size = grid(np.zeros((2, 1, 28, 28))).size
    for path in (seven, tmp_path / "seven.jpg"):
        picture = np.asarray(demo.reconstruct("mnist-ae", str(path)).convert("L"), dtype=float) / 255
        assert picture.shape == size[::-1]
        half = picture.shape[1] // 2
        shown, recon = picture[:, :half], picture[:, half:half * 2]
        assert np.abs(shown - recon).mean() < np.abs(shown - shown.mean()).mean()   # it looks like its input
    from ganzoo.errors import ConfigError

    if "mnist-cvae" in demo.choices:   # a conditional encoder gets the class picked on the page
        assert demo.reconstruct("mnist-cvae", str(seven), 7).size == size
        with pytest.raises(ConfigError, match="pick the class of the image"):
            demo.reconstruct("mnist-cvae", str(seven))


def test_bad_uploads_are_one_message(demo, tmp_path):
    import struct
    import zlib

    from ganzoo.errors import ConfigError
    from PIL import Image

    gif = tmp_path / "a.gif"
    Image.new("L", (8, 8)).save(gif)
    huge = tmp_path / "huge.png"   # a valid PNG header claiming 9,000 x 9,000 pixels: refused before decoding

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 9000, 9000, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    cut = tmp_path / "cut.png"
    Image.new("RGB", (64, 64), "white").save(cut)
    cut.write_bytes(cut.read_bytes()[:60])
    for path, says in [(gif, "upload a PNG or a JPEG"), (huge, "9000x9000 pixels"),
                       (cut, "cannot read the upload"), (None, "upload an image")]:
        with pytest.raises(ConfigError, match=says):
            demo.reconstruct("mnist-ae", path and str(path))
    with pytest.raises(ConfigError, match="has no encoder"):
        demo.reconstruct("mnist-cdcgan-hinge", str(gif))


def test_only_listed_names_and_folders_given(tmp_path):
    from ganzoo.errors import ConfigError, NotFoundError
    from ganzoo_plugins.demo.service import Demo

    with pytest.raises(NotFoundError):
        Demo(["no-such-model"])
    d = Demo([str(ROOT / "plugins/zoo/models/digits-ae")])
    assert d.first == str(ROOT / "plugins/zoo/models/digits-ae") and "mnist-cdcgan-hinge" in d.choices
    with pytest.raises(ConfigError, match="not a model of this demo"):
        d.model(str(ROOT / "plugins/zoo/models/mnist-ae"))   # a real folder, but not one given


# -- a real browser ------------------------------------------------------------------------------------------

def _browser():
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
                   None)
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("no headless Chromium and chromedriver here (Debian: apt-get install chromium chromium-driver, "
                    "which scripts/browser.sh tries); the browser test is skipped, the gradio_client tests still run")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    os.environ.setdefault("SE_AVOID_STATS", "true")   # Selenium Manager: no usage statistics
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--force-device-scale-factor=1", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):   # no host but 127.0.0.1 resolves
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=driver))


@pytest.fixture(scope="module")
def page(server):
    from selenium.webdriver.support.ui import WebDriverWait

    d = _browser()
    try:
        d.get(server)
        d.wait = WebDriverWait(d, 120)
        d.wait.until(lambda d: d.find_element("id", "card").text.strip())
        yield d
        requested = [json.loads(e["message"])["message"]["params"]["request"]["url"]
                     for e in d.get_log("performance") if '"Network.requestWillBeSent"' in e["message"]]
        elsewhere = [u for u in requested if not u.startswith((server, "data:", "blob:"))]
        assert requested and not elsewhere, f"the page asked for something not on the demo's server: {elsewhere[:5]}"
    finally:
        d.quit()


def _pick(d, element_id, text):
    """Choose ``text`` in the Gradio dropdown ``element_id``: type it, take the first match."""
    from selenium.webdriver.common.keys import Keys

    box = d.find_element("css selector", f"#{element_id} input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text)
    d.wait.until(lambda d: d.find_elements("css selector", f"#{element_id} li[data-testid='dropdown-option']"))
    box.send_keys(Keys.ENTER)


def _type(d, element_id, value):
    from selenium.webdriver.common.keys import Keys

    box = d.find_element("css selector", f"#{element_id} input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value), Keys.TAB)


def _shown_image(d, element_id):
    """The image the page shows in ``element_id``, read back from the browser: its <img> drawn on a canvas
    (the decoded pixels, no colour conversion), as an RGB array."""
    import base64
    import io

    from PIL import Image

    data = d.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const img = document.querySelector(arguments[0] + ' img');
        const draw = () => {
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            c.getContext('2d', {colorSpace: 'srgb'}).drawImage(img, 0, 0);
            done(c.toDataURL('image/png'));
        };
        if (img.complete && img.naturalWidth) { draw(); } else { img.onload = draw; }
    """, f"#{element_id}")
    png = base64.b64decode(data.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _generate(d, seed):
    d.find_element("id", "generate").click()
    d.wait.until(lambda d: f"seed {seed}:" in d.find_element("id", "status").text
                 and d.find_elements("css selector", "#samples img"))


@pytest.mark.slow
def test_browser_samples_are_ganzoo_samples(page, tmp_path):
    _pick(page, "model", "mnist-dcgan-selfcond")
    page.wait.until(lambda d: "mnist-dcgan-selfcond" in d.find_element("id", "card").text)
    _type(page, "seed", 11)
    _type(page, "n", 16)
    _generate(page, 11)
    want, _ = cli_picture(tmp_path, "mnist-dcgan-selfcond", "-n", 16, "--seed", 11)
    assert np.array_equal(_shown_image(page, "samples"), want), "the page shows other pixels than ganzoo sample"


@pytest.mark.slow
def test_browser_class_of_a_conditional_model(page, tmp_path):
    _pick(page, "model", "mnist-cdcgan-hinge")
    page.wait.until(lambda d: "mnist-cdcgan-hinge" in d.find_element("id", "card").text
                    and d.find_element("id", "label").is_displayed())
    _type(page, "seed", 5)
    _type(page, "n", 30)
    _generate(page, 5)    # the default: every class, one row each
    want, _ = cli_picture(tmp_path, "mnist-cdcgan-hinge", "-n", 30, "--seed", 5)
    assert np.array_equal(_shown_image(page, "samples"), want)
    _pick(page, "label", "7")
    page.find_element("id", "status").get_attribute("id")
    before = page.find_element("css selector", "#samples img").get_attribute("src")
    page.find_element("id", "generate").click()
    page.wait.until(lambda d: d.find_element("css selector", "#samples img").get_attribute("src") != before)
    want, _ = cli_picture(tmp_path, "mnist-cdcgan-hinge", "-n", 30, "--seed", 5, "--label", 7)
    assert np.array_equal(_shown_image(page, "samples"), want)
    shot = os.environ.get("GANZOO_DEMO_SCREENSHOT")
    page.save_screenshot(str(tmp_path / "demo.png"))
    if shot:
        shutil.copyfile(tmp_path / "demo.png", shot)


@pytest.mark.slow
def test_browser_bad_upload_is_a_message(page, tmp_path):
    _pick(page, "model", "mnist-ae")
    page.wait.until(lambda d: d.find_element("id", "reconstruct").is_displayed())
    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"these are not pixels" * 50)
    page.find_element("css selector", "#upload input[type=file]").send_keys(str(bad))
    page.wait.until(lambda d: "not-an-image" in d.find_element("id", "upload").text)
    page.find_element("id", "reconstruct").click()
    page.wait.until(lambda d: "cannot read the upload" in d.find_element("id", "recon-status").text)
    assert "Traceback" not in page.find_element("tag name", "body").text


@pytest.mark.slow
def test_browser_latent_sliders(page, demo):
    _pick(page, "model", "mnist-vae-16d")
    page.wait.until(lambda d: d.find_element("id", "latent-box").is_displayed())
    page.find_element("css selector", "#latent-box .label-wrap").click()
    page.wait.until(lambda d: d.find_element("id", "latent").is_displayed())
    _type(page, "seed", 5)
    _type(page, "latent-dim-0", 7)
    _type(page, "latent-value-0", 2.5)
    page.find_element("id", "latent").click()
    want = np.asarray(demo.latent("mnist-vae-16d", 5, [7, 1], [2.5, 0.0]).convert("RGB"))   # slot 2: dim 1 at 0
    page.wait.until(lambda d: d.find_elements("css selector", "#latent-image img")
                    and np.array_equal(_shown_image(d, "latent-image"), want))
    _pick(page, "model", "mnist-ae")
    page.wait.until(lambda d: "mnist-ae" in d.find_element("id", "card").text)
    page.wait.until(lambda d: not any(e.is_displayed() for e in d.find_elements("id", "latent-box")))   # hidden

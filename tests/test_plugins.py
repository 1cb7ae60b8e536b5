"""Plugin discovery: third-party entry points, lazy loading, clashes, broken plugins, allow/deny."""

import subprocess
import sys
import textwrap

import pytest

import torch

import ganzoo
import ganzoo.errors
import reliability
from ganzoo import plugins


def make_dist(root, dist, ep_name, module, source):
    """A minimal installed distribution (dist-info + module) on a sys.path folder."""
    (root / f"{dist.replace('-', '_')}-1.2.3.dist-info").mkdir(parents=True)
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{ep_name} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))


GOOD = """
from ganzoo import hookimpl, VariantSpec, ObjectiveSpec
import click

@hookimpl
def register_variants(register):
    register(VariantSpec("tiny", "a third-party variant", "gan",
                         build="ganzoo_plugins.mlp.model:build",
                         defaults={"sample_shape": [2], "latent_dim": 2, "g_hidden": [8], "d_hidden": [8],
                                   "num_classes": 0, "output": "auto", "g_norm": False, "d_norm": "none",
                                   "pack": 1}))

@hookimpl
def register_commands(cli):
    @cli.command("hello")
    def hello():
        "Say hello from a plugin."
        click.echo("hello from tiny")
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("GANZOO_PLUGINS_ALLOW", raising=False)
    monkeypatch.delenv("GANZOO_PLUGINS_DENY", raising=False)
    plugins.reset()
    yield tmp_path
    plugins.reset()
    for mod in [m for m in sys.modules if m.startswith("tp_")]:
        del sys.modules[mod]


def test_builtins_register_through_the_hooks():
    reg = plugins.get_registry()
    assert {"mlp", "dcgan", "ae", "vae"} <= set(reg.names("variant"))
    assert set(reg.names("objective")) >= {"minimax", "non-saturating", "wgan", "wgan-gp", "hinge", "lsgan",
                                           "elbo", "reconstruction"}
    assert reg.variant("mlp").plugin == "mlp"
    assert reg.objective("hinge").plugin == "objectives"
    # the built-in modules are plain pluggy plugins, found by the public API
    names = {plugins.get_plugin_manager().get_name(p) for p in plugins.get_plugin_manager().get_plugins()}
    assert {"mlp", "dcgan", "ae", "vae", "objectives", "data", "zoo"} <= names


def test_third_party_plugin_is_discovered(site):
    make_dist(site, "ganzoo-tiny", "tiny", "tp_tiny", GOOD)
    assert "tiny" in ganzoo.list_variants()
    info = {i.name: i for i in plugins.plugin_infos()}["tiny"]
    assert info.version == "1.2.3" and info.source == "ganzoo-tiny" and info.error is None
    assert info.registered == {"variant": ["tiny"]}
    m = ganzoo.create("tiny", "hinge")
    assert m.sample(3, seed=0).shape == (3, 2)
    assert ganzoo.create("tiny", "wgan").objective == "wgan"   # paired by kind: every gan objective
    with pytest.raises(ganzoo.errors.IncompatibleError, match="use an objective of kind gan: hinge, lsgan"):
        ganzoo.create("tiny", "elbo")


def test_loading_is_lazy_and_idempotent(site):
    make_dist(site, "ganzoo-tiny", "tiny", "tp_tiny", GOOD)
    import ganzoo.plugins as p

    assert p._state is None          # nothing loaded at import or reset
    assert "tp_tiny" not in sys.modules
    r1 = p.get_registry()
    r2 = p.get_registry()
    assert r1 is r2 and "tp_tiny" in sys.modules


@pytest.mark.reliability("input")
def test_name_clash_is_an_error_naming_both(site, capsys):
    make_dist(site, "ganzoo-clash", "clash", "tp_clash", """
        from ganzoo import hookimpl, VariantSpec
        @hookimpl
        def register_variants(register):
            register(VariantSpec("mlp", "steals a name", "gan", build="x:y"))
    """)
    reg = plugins.get_registry()
    assert reg.variant("mlp").plugin == "mlp"         # the built-in keeps its name
    info = {i.name: i for i in plugins.plugin_infos()}["clash"]
    assert "registered by both 'mlp' and 'clash'" in info.error
    line = [ln for ln in capsys.readouterr().err.splitlines() if "'clash'" in ln][0]
    reliability.reported("plugin (name clash)", line,
                         r"plugin 'clash' \(.*\) is disabled: .*variant 'mlp' .*registered by both 'mlp' and 'clash'")


@pytest.mark.reliability("input")
def test_broken_plugins_are_reported_and_the_rest_keep_working(site, capsys):
    make_dist(site, "ganzoo-badimport", "badimport", "tp_badimport", "raise RuntimeError('boom at import')\n")
    make_dist(site, "ganzoo-badhook", "badhook", "tp_badhook", """
        from ganzoo import hookimpl, VariantSpec
        @hookimpl
        def register_variants(register):
            register(VariantSpec("half", "registered before the crash", "gan", build="x:y"))
            raise ValueError("hook exploded")
    """)
    make_dist(site, "ganzoo-tiny", "tiny", "tp_tiny", GOOD)
    reg = plugins.get_registry()
    infos = {i.name: i for i in plugins.plugin_infos()}
    assert "boom at import" in infos["badimport"].error
    assert "hook exploded" in infos["badhook"].error
    assert "half" not in reg.names("variant")          # nothing half-registered
    assert "tiny" in reg.names("variant")              # the rest keep working
    err = capsys.readouterr().err.splitlines()
    reliability.reported("plugin (broken)", next(ln for ln in err if "'badimport'" in ln),
                         r"plugin 'badimport' \(.*\) is disabled: RuntimeError: boom at import$")
    reliability.reported("plugin (broken)", next(ln for ln in err if "'badhook'" in ln),
                         r"plugin 'badhook' \(.*\) is disabled: register_variants failed: ValueError: hook exploded$")


@pytest.mark.reliability("input")
def test_allow_and_deny_lists(site, monkeypatch):
    make_dist(site, "ganzoo-tiny", "tiny", "tp_tiny", GOOD)
    monkeypatch.setenv("GANZOO_PLUGINS_DENY", "tiny")
    assert "tiny" not in ganzoo.list_variants()
    plugins.reset()
    monkeypatch.delenv("GANZOO_PLUGINS_DENY")
    monkeypatch.setenv("GANZOO_PLUGINS_ALLOW", "")
    assert "tiny" not in ganzoo.list_variants()
    assert "mlp" in ganzoo.list_variants()            # built-ins are not third-party plugins
    plugins.reset()
    monkeypatch.setenv("GANZOO_PLUGINS_ALLOW", "ganzoo-tiny")
    assert "tiny" in ganzoo.list_variants()


def test_plugin_cli_command_and_plugins_listing(site):
    make_dist(site, "ganzoo-tiny", "tiny", "tp_tiny", GOOD)
    env_path = str(site)
    code = "from ganzoo.cli import main; main()"
    run = lambda *a: subprocess.run([sys.executable, "-c", code, *a], capture_output=True, text=True,  # noqa: E731
                                    env={**__import__("os").environ, "PYTHONPATH": env_path})
    out = run("hello")
    assert out.returncode == 0 and "hello from tiny" in out.stdout
    out = run("plugins")
    assert "tiny" in out.stdout and "1.2.3" in out.stdout and "ganzoo-tiny" in out.stdout
    out = run("list", "--variants")
    assert "tiny" in out.stdout


# -- the plugin contract: pairing by kind ------------------------------------------------------------
CONTRACT = """
import torch
from torch import nn
import torch.nn.functional as F

from ganzoo import Discriminator, Generator, ObjectiveSpec, VariantSpec, hookimpl
from ganzoo.layers import mlp, one_hot

CALLS = {"d": 0, "g": 0, "after": 0}


class Softplus:
    \"\"\"A third-party adversarial objective written against the documented protocol only.\"\"\"

    def __init__(self, margin: float = 0.0):
        self.margin = margin

    def discriminator_step_loss(self, D, real_x, fake_x, y=None):
        CALLS["d"] += 1
        real, fake = D(real_x, y), D(fake_x, y)
        return F.softplus(self.margin - real).mean() + F.softplus(fake).mean(), {"d_real": real.detach(),
                                                                               "d_fake": fake.detach()}

    def generator_step_loss(self, D, fake_x, y=None):
        CALLS["g"] += 1
        fake = D(fake_x, y)
        return F.softplus(-fake).mean(), {"d_fake": fake.detach()}

    def after_discriminator_step(self, D):
        CALLS["after"] += 1

    def report(self, scores):
        return torch.sigmoid(scores)


class G(Generator):
    def __init__(self, sample_shape, latent_dim, hidden, num_classes):
        super().__init__(latent_dim, sample_shape, num_classes, output_range=None)
        self.net = mlp([latent_dim + num_classes, hidden, 2], act="relu")

    def forward(self, z, y=None):
        y = self.check_labels(y, z.shape[0])
        if y is not None:
            z = torch.cat([z, one_hot(y.to(z.device), self.num_classes, z.dtype)], 1)
        return self.net(z)


class D(Discriminator):
    batch_independent = True

    def __init__(self, sample_shape, hidden, num_classes):
        super().__init__(sample_shape, num_classes)
        self.net = mlp([2 + num_classes, hidden, 1])

    def forward(self, x, y=None):
        y = self.check_labels(y, x.shape[0])
        if y is not None:
            x = torch.cat([x, one_hot(y.to(x.device), self.num_classes, x.dtype)], 1)
        return self.net(x).squeeze(1)


def build(sample_shape, latent_dim, hidden, num_classes, d_norm):
    return {"generator": G(sample_shape, latent_dim, hidden, num_classes),
            "discriminator": D(sample_shape, hidden, num_classes)}


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("tp-softplus", "a third-party GAN loss", "gan", "tp_contract:Softplus", d_steps=2,
                           defaults={"margin": 0.0}, optimizer={"name": "adam", "lr": 1e-3}))


@hookimpl
def register_variants(register):
    register(VariantSpec("tp-points", "a third-party GAN for 2-D points", "gan", "tp_contract:build",
                         defaults={"sample_shape": [2], "latent_dim": 4, "hidden": 16, "num_classes": 0,
                                   "d_norm": "none"}))
"""


def _short_run(tmp_path, variant, objective, data, **config):
    return ganzoo.train(variant, objective, data=data, out=tmp_path / f"{variant}-{objective}", steps=2,
                        batch_size=16, progress=False, log_every=1, sample_every=1000, checkpoint_every=1000,
                        config=config)


def test_third_party_objective_trains_the_builtin_gans_unchanged(site, tmp_path):
    make_dist(site, "ganzoo-contract", "contract", "tp_contract", CONTRACT)
    reg = plugins.get_registry()
    assert {"mlp", "dcgan", "tp-points"} <= set(reg.variants_for("tp-softplus"))
    assert "tp-softplus" in reg.objectives_for("mlp") and "tp-softplus" in reg.objectives_for("dcgan")
    import tp_contract

    runs = (("mlp", "ring8", {"g_hidden": [16], "d_hidden": [16]}),
            ("dcgan", "digits", {"sample_shape": [1, 8, 8], "g_width": 8, "d_width": 8, "latent_dim": 8}))
    for variant, data, config in runs:
        before = dict(tp_contract.CALLS)
        model = _short_run(tmp_path, variant, "tp-softplus", data, **config)
        assert (model.variant, model.objective) == (variant, "tp-softplus")
        # Goodfellow's k = the spec's d_steps = 2 discriminator steps per generator step, 2 steps
        assert tp_contract.CALLS["g"] - before["g"] == 2
        assert tp_contract.CALLS["d"] - before["d"] == 4 == tp_contract.CALLS["after"] - before["after"]
        assert torch.isfinite(model.sample(4, seed=0)).all()


def test_third_party_variant_trains_with_every_builtin_objective_of_its_kind(site, tmp_path):
    make_dist(site, "ganzoo-contract", "contract", "tp_contract", CONTRACT)
    reg = plugins.get_registry()
    builtin_gan = {o.name for o in reg.items("objective") if o.kind == "gan" and o.plugin == "objectives"}
    assert builtin_gan >= {"non-saturating", "minimax", "wgan", "wgan-gp", "hinge", "lsgan"}
    assert builtin_gan <= set(reg.objectives_for("tp-points"))
    assert reg.variant("tp-points").default_objective == "non-saturating"   # the kind's documented default
    for objective in sorted(builtin_gan):
        model = _short_run(tmp_path, "tp-points", objective, "ring8")
        assert model.objective == objective and torch.isfinite(model.sample(8, seed=0)).all()
    for objective in ("elbo", "reconstruction"):
        with pytest.raises(ganzoo.errors.IncompatibleError, match=f"does not work with objective '{objective}'"):
            ganzoo.create("tp-points", objective)


# -- aliases: a renamed zoo model keeps loading under its former name -----------------------------------
RENAMED = """
import dataclasses

import ganzoo_plugins.zoo as zoo
from ganzoo import hookimpl
from ganzoo.registry import parse_registry

@hookimpl
def register_models(register):
    (entry,) = [e for e in parse_registry(zoo.REGISTRY.read_text(), base=zoo.HERE / "models")
                if e.name == "ring8-mlp-nonsat"]
    # the same bundled weights and pins, under a new name with the old one as an alias
    register(dataclasses.replace(entry, name="tp-ring8-renamed", aliases=("tp-ring8-old",)))
"""


def test_an_alias_loads_and_samples_with_one_deprecation_line(site, tmp_path):
    import warnings

    from ganzoo.registry import ModelRenamedWarning

    make_dist(site, "ganzoo-renamed", "renamed", "tp_renamed", RENAMED)
    assert "tp-ring8-renamed" in ganzoo.list_models() and "tp-ring8-old" not in ganzoo.list_models()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = ganzoo.load("tp-ring8-old", components=["generator"])
    notes = [w for w in caught if issubclass(w.category, ModelRenamedWarning)]
    assert len(notes) == 1 and str(notes[0].message) == "'tp-ring8-old' is now 'tp-ring8-renamed'"
    assert issubclass(ModelRenamedWarning, FutureWarning)
    new = ganzoo.load("tp-ring8-renamed", components=["generator"])
    assert torch.equal(old.sample(16, seed=3), new.sample(16, seed=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # the current name warns about nothing
        ganzoo.load("tp-ring8-renamed", components=["generator"])
    with pytest.warns(ModelRenamedWarning, match="is now 'tp-ring8-renamed'"):
        assert ganzoo.model_info("tp-ring8-old").name == "tp-ring8-renamed"

    code = "from ganzoo.cli import main; main()"
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    run = lambda *a: subprocess.run([sys.executable, "-c", code, *a], capture_output=True, text=True, env=env)  # noqa: E731
    out = run("sample", "tp-ring8-old", "-n", "8", "-o", str(tmp_path / "x.npy"))
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines() == ["ganzoo: note: 'tp-ring8-old' is now 'tp-ring8-renamed'"]
    assert (tmp_path / "x.npy").is_file()
    listed = run("list").stdout.split()
    assert "tp-ring8-renamed" in listed and "tp-ring8-old" not in listed
    info = run("info", "tp-ring8-old")
    assert info.returncode == 0 and "model tp-ring8-renamed" in info.stdout and "is now" in info.stderr


CLASH = """
from ganzoo import hookimpl
import click

@hookimpl
def register_commands(cli):
    @cli.command("train")
    def train():
        "Shadow the built-in train."
        click.echo("the plugin's train")

    @cli.command("hello2")
    def hello2():
        "A command of its own."
        click.echo("hello2")
"""


def test_a_plugin_command_named_like_a_builtin_is_refused_by_name(site):
    make_dist(site, "ganzoo-clash", "clash", "tp_clash", CLASH)
    code = "from ganzoo.cli import main; main()"
    run = lambda *a: subprocess.run([sys.executable, "-c", code, *a], capture_output=True, text=True,  # noqa: E731
                                    env={**__import__("os").environ, "PYTHONPATH": str(site)})
    out = run("--help")
    assert "hello2" in out.stdout
    assert "plugin 'clash' (ganzoo-clash): command 'train' is already a built-in command; it is ignored" in out.stderr
    out = run("hello2")
    assert out.returncode == 0 and out.stdout.strip() == "hello2"


def test_a_folder_of_a_plugin_that_is_not_installed_names_the_distribution(site, tmp_path, monkeypatch):
    make_dist(site, "ganzoo-tiny", "tiny", "tp_tiny", GOOD)
    model = ganzoo.create("tiny")
    model.save(tmp_path / "m")
    assert ganzoo.load(tmp_path / "m").variant == "tiny"
    monkeypatch.setenv("GANZOO_PLUGINS_DENY", "tiny")   # as if uninstalled
    plugins.reset()
    with pytest.raises(ganzoo.errors.NotFoundError, match=r"unknown variant 'tiny': this model was saved with plugin "
                       r"'tiny' from the distribution ganzoo-tiny 1\.2\.3, which is not installed here .*; "
                       r"pip install ganzoo-tiny$"):
        ganzoo.load(tmp_path / "m")


def test_a_damaged_bundled_model_says_to_reinstall_the_distribution_that_shipped_it(site, tmp_path):
    """A bundled copy does not match its pin: pull cannot repair it (it is not in the Hub cache); the line says to
    reinstall the distribution that installed it."""
    from ganzoo.fsutil import sha256_file

    folder = site / "tp_zoo_models" / "tiny-zoo"
    ganzoo.create("mlp", g_hidden=[8], d_hidden=[8]).save(folder)
    pins = {p.name: sha256_file(p) for p in folder.iterdir()}
    make_dist(site, "ganzoo-tinyzoo", "tinyzoo", "tp_tinyzoo", f"""
from ganzoo import hookimpl, ModelEntry

@hookimpl
def register_models(register):
    register(ModelEntry("tiny-zoo", "mlp", "non-saturating", "ring8",
                        source={{"bundled": "tiny-zoo", "path": {str(folder)!r}, "files": {pins!r}}}))
""")
    plugins.reset()   # (creating the model above loaded the plugins before this one was installed)
    assert ganzoo.load("tiny-zoo").variant == "mlp"
    data = bytearray((folder / "generator.safetensors").read_bytes())
    data[-1] ^= 1
    (folder / "generator.safetensors").write_bytes(bytes(data))
    with pytest.raises(ganzoo.errors.IntegrityError,
                       match=r"^model 'tiny-zoo' \(bundled\): generator\.safetensors has sha256 .*; refusing to load it\. "
                             r"The copy installed with ganzoo-tinyzoo is damaged: reinstall it \(pip install "
                             r"--force-reinstall ganzoo-tinyzoo\); ganzoo pull cannot repair a bundled file$"):
        ganzoo.load("tiny-zoo")

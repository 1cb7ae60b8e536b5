"""Plugin discovery: third-party entry points, lazy loading, clashes, broken plugins, allow/deny."""

import subprocess
import sys
import textwrap

import pytest

import ganzoo
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
    register(VariantSpec("tiny", "a third-party variant", "gan", ("non-saturating", "hinge"),
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
    with pytest.raises(ganzoo.GanzooError, match="does not work with objective 'wgan'"):
        ganzoo.create("tiny", "wgan")


def test_loading_is_lazy_and_idempotent(site):
    make_dist(site, "ganzoo-tiny", "tiny", "tp_tiny", GOOD)
    import ganzoo.plugins as p

    assert p._state is None          # nothing loaded at import or reset
    assert "tp_tiny" not in sys.modules
    r1 = p.get_registry()
    r2 = p.get_registry()
    assert r1 is r2 and "tp_tiny" in sys.modules


@pytest.mark.reliability("fault")
def test_name_clash_is_an_error_naming_both(site, capsys):
    make_dist(site, "ganzoo-clash", "clash", "tp_clash", """
        from ganzoo import hookimpl, VariantSpec
        @hookimpl
        def register_variants(register):
            register(VariantSpec("mlp", "steals a name", "gan", ("hinge",), build="x:y"))
    """)
    reg = plugins.get_registry()
    reliability.fault("plugin stealing a built-in name")
    assert reg.variant("mlp").plugin == "mlp"         # the built-in keeps its name
    info = {i.name: i for i in plugins.plugin_infos()}["clash"]
    assert "registered by both 'mlp' and 'clash'" in info.error
    assert "clash" in capsys.readouterr().err


@pytest.mark.reliability("fault")
def test_broken_plugins_are_reported_and_the_rest_keep_working(site, capsys):
    make_dist(site, "ganzoo-badimport", "badimport", "tp_badimport", "raise RuntimeError('boom at import')\n")
    make_dist(site, "ganzoo-badhook", "badhook", "tp_badhook", """
        from ganzoo import hookimpl, VariantSpec
        @hookimpl
        def register_variants(register):
            register(VariantSpec("half", "registered before the crash", "gan", ("hinge",), build="x:y"))
            raise ValueError("hook exploded")
    """)
    make_dist(site, "ganzoo-tiny", "tiny", "tp_tiny", GOOD)
    reg = plugins.get_registry()
    reliability.fault("broken plugin (raises at import / in a hook)", 2)
    infos = {i.name: i for i in plugins.plugin_infos()}
    assert "boom at import" in infos["badimport"].error
    assert "hook exploded" in infos["badhook"].error
    assert "half" not in reg.names("variant")          # nothing half-registered
    assert "tiny" in reg.names("variant")              # the rest keep working
    err = capsys.readouterr().err
    assert "'badimport'" in err and "'badhook'" in err


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

"""Every option of every command -- the built-ins and whatever plugins add, found by walking the click tree --
given out-of-range, wrong-type and unwritable values: each answer is a specific one-line error (or success),
never ``internal error`` and never a traceback."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

import ganzoo

from helpers import cli

pytestmark = pytest.mark.usefixtures("one_thread")

# bad values by parameter type; each command also gets them for its arguments
INTS = ["99999999999999999999", "-1", "0", "1.5"]
FLOATS = ["nan", "inf", "-1", "abc"]
TEXTS = ["", "-1", "/proc/nope/x", "a=b", "x" * 300]
PATHS = ["/proc/nope", "/proc/x.png", "/proc/nope/x.npy", ""]


def _bad_values(param) -> list:
    t = param.type
    if isinstance(t, click.Choice):
        return ["bogus", ""]
    if isinstance(t, (click.IntRange, type(click.INT))) or t.name.startswith("integer"):
        return INTS
    if isinstance(t, click.FloatRange) or t.name.startswith("float"):
        return FLOATS
    if isinstance(t, click.Path):
        return PATHS
    return TEXTS


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("walk")
    junk = root / "junk.pth"
    junk.write_bytes(b"\x80\x02not a checkpoint")
    return root, junk


def _base(name, root, junk):
    """A valid (cheap) invocation of each built-in command, as (arguments, {option: value}); a command a plugin
    adds gets its required parameters filled with plain words."""
    import uuid

    out = root / f"out-{uuid.uuid4().hex[:8]}"   # a fresh run folder each time
    zoo_folder = str(Path(ganzoo.__file__).parents[1] / "plugins" / "zoo" / "models" / "ring8-mlp-nonsat")
    return {
        "sample": (["ring8-mlp-nonsat"], {"--output": str(root / "s.png"), "-n": "8"}),
        "eval": (["ring8-mlp-nonsat"], {"--data": "ring8", "-n": "64", "--draws": "1"}),
        "train": (["mlp"], {"--data": "ring8", "--data-opt": "n=64", "--batch-size": "16", "--steps": "1",
                            "--out": str(out), "--set": "g_hidden=[8]"}),
        "traverse": (["digits-vae"], {"--output": str(root / "t.png"), "--steps": "2"}),
        "reconstruct": (["digits-ae"], {"--data": "digits", "-n": "4", "--output": str(root / "r.png")}),
        "info": (["ring8-mlp-nonsat"], {}),
        "list": ([], {}),
        "plugins": ([], {}),
        "pull": (["org/name"], {}),
        "push": ([zoo_folder, "org/name"], {}),
        "import-legacy": ([str(junk)], {"--variant": "dcgan", "--out": str(root / "legacy")}),
        "new-plugin": (["my-gan", str(root / "plugin")], {}),
    }.get(name)


def _cases():
    from ganzoo.cli import cli as group

    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        for param in command.params:
            if param.name == "debug" or getattr(param, "is_flag", False) or getattr(param, "hidden", False):
                continue
            yield name, param


def _invocation(name, command, param, value, root, junk):
    base = _base(name, root, junk)
    if base is None:  # a plugin's command: plain words for what it requires
        args = [str(root / "x") for p in command.params if isinstance(p, click.Argument) and p.required]
        opts = {p.opts[0]: "1" for p in command.params if isinstance(p, click.Option) and p.required}
    else:
        args, opts = list(base[0]), dict(base[1])
    if isinstance(param, click.Argument):
        index = [p for p in command.params if isinstance(p, click.Argument)].index(param)
        args = args + [value] if index >= len(args) else args[:index] + [value] + args[index + 1:]
    else:
        for decl in param.opts:
            opts.pop(decl, None)
        opts[param.opts[0]] = value
    return [name, *args, *(x for kv in opts.items() for x in kv)]


def test_every_option_of_every_command_answers_bad_values_with_a_line(places, tmp_path, monkeypatch):
    from ganzoo.cli import cli as group

    root, junk = places
    monkeypatch.chdir(tmp_path)
    ctx = click.Context(group)
    seen, failures = set(), []
    for name, param in _cases():
        command = group.get_command(ctx, name)
        seen.add(name)
        for value in _bad_values(param):
            argv = _invocation(name, command, param, value, root, junk)
            code, out, err = cli(*argv)
            text = out + err
            if "internal error" in text or "Traceback" in text or code not in (0, 1, 2):
                failures.append(f"ganzoo {' '.join(argv)}\n    -> {code}: {text.strip().splitlines()[-1:]}")
    assert {"train", "sample", "eval", "push"} <= seen
    assert not failures, "\n".join(failures)
    assert not any(tmp_path.iterdir()), "a command wrote into the current folder, which no argument named"

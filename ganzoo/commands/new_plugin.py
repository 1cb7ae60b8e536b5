"""``ganzoo new-plugin NAME [DIR]``: start a third-party plugin package (no torch needed)."""

from __future__ import annotations

import os

import click


@click.command("new-plugin")
@click.argument("name")
@click.argument("directory", metavar="[DIR]", required=False, type=click.Path(file_okay=False))
def new_plugin_cmd(name, directory):
    """Write a pip-installable plugin package that adds the GAN variant NAME.

    NAME uses lowercase letters, digits and '-'. It becomes the variant and plugin name NAME,
    the distribution ganzoo-NAME and the package ganzoo_NAME ('-' as '_'). DIR (default:
    ./ganzoo-NAME) must not exist or be empty.

    The package holds pyproject.toml (with the 'ganzoo' entry point), a hook module that
    registers the variant, a generator and discriminator, a passing test and a README.

    \b
    Example:
      ganzoo new-plugin my-gan
      pip install -e ganzoo-my-gan
      ganzoo list --variants          # my-gan, from plugin my-gan
    """
    from ..scaffold import names_for, new_plugin

    path = new_plugin(name, directory)
    names = names_for(name)
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    click.echo(f"Created plugin {name!r} in {shown} (distribution {names['dist']}, package {names['package']}).")
    click.echo("Next steps:")
    click.echo(f"  pip install -e {shown}")
    click.echo(f"  ganzoo list --variants              # {name}, from plugin {name}")
    click.echo(f"  pytest {os.path.join(shown, 'tests')}")
    click.echo(f"  ganzoo train {name} --data ring8 --out runs/{name} --steps 2000   # images: --data digits")
    click.echo(f"Edit {os.path.join(shown, names['package'], 'model.py')} to change the networks; "
               "the guide is docs/writing-a-plugin.md in ganzoo's repository.")

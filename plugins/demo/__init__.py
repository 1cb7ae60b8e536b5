"""``demo``: ``ganzoo demo``, a local Gradio page to look at the zoo's models (``pip install 'ganzoo[demo]'``)."""

from ganzoo.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from .command import demo_cmd

    cli.add_command(demo_cmd)

"""The ``ganzoo`` command line. Commands are imported only when used, so ``ganzoo --help`` and
``ganzoo list`` never import torch; plugins add commands through ``register_commands``."""

from __future__ import annotations

import errno
import importlib
import os
import sys

import click

from .errors import GanzooError

# name -> "module:attribute"; each module imports only click at top level.
BUILTIN_COMMANDS = {
    "list": "ganzoo.commands.zoo:list_cmd",
    "info": "ganzoo.commands.zoo:info_cmd",
    "plugins": "ganzoo.commands.zoo:plugins_cmd",
    "sample": "ganzoo.commands.sample:sample_cmd",
    "eval": "ganzoo.commands.eval:eval_cmd",
    "train": "ganzoo.commands.train:train_cmd",
    "import": "ganzoo.commands.interop:import_cmd",
    "export": "ganzoo.commands.interop:export_cmd",
    "import-legacy": "ganzoo.commands.interop:legacy_cmd",
    "traverse": "ganzoo.commands.pictures:traverse_cmd",
    "reconstruct": "ganzoo.commands.pictures:reconstruct_cmd",
    "push": "ganzoo.commands.hub:push_cmd",
    "pull": "ganzoo.commands.hub:pull_cmd",
    "new-plugin": "ganzoo.commands.new_plugin:new_plugin_cmd",
}


class LazyGroup(click.Group):
    def __init__(self, *args, lazy: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self._plugins_added = False

    def _add_plugin_commands(self):
        if not self._plugins_added:
            self._plugins_added = True
            from .plugins import register_commands

            register_commands(self)

    def list_commands(self, ctx):
        self._add_plugin_commands()
        return sorted(set(self.lazy) | set(self.commands))

    def get_command(self, ctx, name):
        if name in self.lazy:
            module, _, attr = self.lazy[name].partition(":")
            return _with_debug(getattr(importlib.import_module(module), attr))
        if name not in self.commands:
            self._add_plugin_commands()
        return _with_debug(self.commands.get(name))

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            from .errors import did_you_mean

            raise click.UsageError(did_you_mean(name, self.list_commands(ctx), "command") + "; see ganzoo --help")
        return super().resolve_command(ctx, args)


def _set_debug(ctx, param, value):
    if value:
        ctx.find_root().ensure_object(dict)["debug"] = True


def _with_debug(command):
    """``command`` taking ``--debug`` too (hidden), so it works after the subcommand as well as before."""
    if command is not None and not any(p.name == "debug" for p in command.params):
        command.params.append(click.Option(["--debug"], is_flag=True, hidden=True, expose_value=False,
                                           callback=_set_debug, help="Show full tracebacks on errors."))
    return command


@click.group(cls=LazyGroup, lazy=BUILTIN_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, envvar="GANZOO_DEBUG", help="Show full tracebacks on errors.")
@click.version_option(package_name="ganzoo", message="ganzoo %(version)s")
@click.pass_context
def cli(ctx, debug):
    """ganzoo: a model zoo for autoencoders, VAEs and GANs.

    \b
    Examples:
      ganzoo list                       # the pretrained zoo
      ganzoo sample ring8-mlp-nonsat -o ring.png
      ganzoo list --variants            # what you can train
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# file-system errors a path on the command line causes (not a bug in ganzoo): one line, exit 1
USER_ERRNOS = {getattr(errno, name) for name in ("ENOENT", "EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR",
                                                 "EEXIST", "ENAMETOOLONG", "ELOOP", "EXDEV", "ENOTEMPTY")
               if hasattr(errno, name)}


def _debug_requested(argv) -> bool:
    return "--debug" in argv or os.environ.get("GANZOO_DEBUG", "") not in ("", "0")


def _notes(warning_cls):
    """Show warnings of ``warning_cls`` (a renamed zoo model) as one line ``ganzoo: note: ...``."""
    import warnings

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, warning_cls):
            click.echo(f"ganzoo: note: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    return show


def main(argv=None) -> None:
    import warnings

    from .registry import ModelRenamedWarning

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ModelRenamedWarning)
            warnings.showwarning = _notes(ModelRenamedWarning)
            cli.main(args=argv, prog_name="ganzoo", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("ganzoo: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except GanzooError as exc:
        if debug:
            raise
        click.echo(f"ganzoo: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("ganzoo: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug, not a user error: still one line unless --debug
        if debug:
            raise
        from .fsutil import is_disk_full

        if is_disk_full(exc):  # a full disk anywhere else (logs, pictures): the user's problem, one line
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            click.echo(f"ganzoo: error: {where}disk full ({exc.strerror or exc}); free some space and try again",
                       err=True)
            sys.exit(1)
        if isinstance(exc, OSError) and exc.errno in USER_ERRNOS:  # a path the user gave that cannot be used
            where = f"{str(exc.filename)[:200]}: " if getattr(exc, "filename", None) else ""
            click.echo(f"ganzoo: error: {where}{exc.strerror}; check the path (and that its folder exists and "
                       "is writable)", err=True)
            sys.exit(1)
        from .errors import first_line

        click.echo(f"ganzoo: internal error: {type(exc).__name__}: {first_line(exc)} (run with --debug for details)", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()

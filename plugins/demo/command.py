"""``ganzoo demo``: serve the demo page (registered by the demo plugin; imports only click at top level)."""

from __future__ import annotations

import click

INSTALL = "ganzoo demo needs Gradio: pip install 'ganzoo[demo]'"


@click.command("demo")
@click.argument("models", nargs=-1, metavar="[NAME_OR_DIR]...")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; 0.0.0.0 makes the page reachable from other machines.")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535), help="Port to bind.")
def demo_cmd(models, host, port):
    """Serve a local web page to sample the zoo's models (and model folders given here).

    The page picks a model (every zoo model, plus each NAME_OR_DIR given: a zoo name or
    a model folder such as runs/mnist; the first one given is shown first), shows its card's
    summary and metrics, and draws samples for a seed and a count (a class for a
    class-conditional model, the truncation trick for one that takes it), a latent walk
    between two seeds, and for an AE or a VAE the reconstruction of an image you upload.
    The pictures are those of `ganzoo sample`: the same seed gives the same pixels. Only the
    listed models can be loaded from the page. Ctrl-C stops the server.

    Scripts call the page with gradio_client: Client(URL).predict(MODEL, SEED, N, LABEL,
    api_name="/sample") returns the path of the PNG (LABEL -1: every class, one row each).

    \b
    Examples:
      ganzoo demo                          # http://127.0.0.1:7860
      ganzoo demo runs/mnist --port 8000   # your model first, then the zoo
    """
    from ganzoo.errors import ConfigError

    if not _is_host(host):
        raise ConfigError(f"--host must be an IP address or a host name such as 127.0.0.1 or localhost, "
                          f"not {host[:80]!r}")
    try:
        from .app import serve
    except ImportError as exc:
        if getattr(exc, "name", None) in ("gradio", "gradio_client") or "gradio" in str(exc):
            raise ConfigError(INSTALL) from None
        raise
    serve(list(models), host=host, port=port)


def _is_host(host: str) -> bool:
    """An IP address, or a well-formed host name (RFC 1123 labels; nothing is looked up here)."""
    import ipaddress
    import re

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        label = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        return len(host) <= 253 and re.fullmatch(rf"{label}(\.{label})*", host) is not None

"""First-party ganzoo plugins (installed as ``ganzoo_plugins``): each folder registers itself
through the hooks in :mod:`ganzoo.hookspecs`, exactly as a third-party plugin does."""

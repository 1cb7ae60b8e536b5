"""Package discovery for setuptools; everything else is in pyproject.toml.

ganzoo has two source folders: ``ganzoo/`` and ``plugins/``, which installs as ``ganzoo_plugins``
(``package-dir`` in pyproject.toml). ``[tool.setuptools.packages.find]`` cannot give a folder
another package name, so the packages are found here: every folder with an ``__init__.py`` under
either one, so a new subpackage (``ganzoo/training/``, ``plugins/resnet/``) ships without being
listed. tests/test_packaging.py checks the wheel against the tracked source files.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["ganzoo", "ganzoo.*"])
      + ["ganzoo_plugins"] + [f"ganzoo_plugins.{name}" for name in find_packages("plugins")])

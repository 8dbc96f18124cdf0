"""Helpers shared by the subcommands: loading MODEL and the output-file policy."""
from __future__ import annotations

from pathlib import Path

from dsge_agents.errors import DSGEError


class OutputExistsError(DSGEError):
    """An output file exists and ``--force`` was not given."""


def load_model(source=None):
    """Load the model a command names: a file, a bundled model name, or (``None``) the bundled default.

    Goes through :func:`dsge_agents.api.load_model`, which also understands Dynare
    ``.mod`` files and orchestrated-economy YAML.
    """
    from dsge_agents import api
    return api.default_model() if source is None else api.load_model(source)


def check_output(path, force: bool) -> Path:
    """Refuse to overwrite an existing user-named output file unless ``force``."""
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; use --force to overwrite it")
    if p.parent and not p.parent.exists():
        raise OutputExistsError(f"directory {p.parent} does not exist")
    return p

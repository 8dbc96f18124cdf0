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


def one_shot(model):
    """The same model, for a command that evaluates its compiled functions once (``irf``).

    Its ``compiled`` is the model layer's vectorized NumPy code path (``compile_model(model,
    large=True)``, docs/ARCHITECTURE.md), which needs no Numba: importing Numba and loading the first
    cached Numba function cost a fresh process ~0.7 s on an idle machine, far more than one evaluation
    of the steady state and Jacobian in NumPy (~1 ms). Same class, same attributes otherwise; results
    agree with the Numba path to rounding (the model layer's tests check the two paths against each
    other).
    """
    from dsge_agents import api

    class _OneShot(type(model) if isinstance(model, api.Model) else api.Model):
        @property
        def compiled(self):
            cm = self.__dict__.get("_one_shot_compiled")
            if cm is None:
                from dsge_agents.model.compiled import compile_model
                cm = self.__dict__["_one_shot_compiled"] = compile_model(self, large=True)
            return cm

    m = _OneShot.__new__(_OneShot)
    m.__dict__.update(model.__dict__)
    return m


def check_output(path, force: bool) -> Path:
    """Refuse to overwrite an existing user-named output file unless ``force``."""
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; use --force to overwrite it")
    if p.parent and not p.parent.exists():
        raise OutputExistsError(f"directory {p.parent} does not exist")
    return p

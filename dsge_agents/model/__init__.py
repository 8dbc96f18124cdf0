"""Model language: YAML and Dynare ``.mod`` readers, safe parser, compiled derivatives, steady state.

>>> from dsge_agents.model import load
>>> m = load("models/nk3.yaml")
>>> A_lag, A_cur, A_lead, A_u = m.compiled.jacobian(ss, theta)
"""
from __future__ import annotations

from pathlib import Path

from dsge_agents.errors import ModelSyntaxError
from dsge_agents.model.spec import Equation, Model
from dsge_agents.model.yaml_reader import from_dict
from dsge_agents.model.compiled import CompiledModel

__all__ = ["Model", "Equation", "load", "from_dict", "read_datafile", "CompiledModel"]


def load(path) -> Model:
    """Load a model file: ``.yaml``/``.yml`` (native format) or ``.mod`` (Dynare subset)."""
    p = Path(path)
    if not p.exists():
        raise ModelSyntaxError("model file not found", str(p))
    suf = p.suffix.lower()
    if suf in (".yaml", ".yml"):
        from dsge_agents.model.yaml_reader import read_yaml
        return read_yaml(p)
    if suf == ".mod":
        from dsge_agents.model.mod_reader import read_mod
        return read_mod(p)
    raise ModelSyntaxError(f"unknown model file type {suf!r} (expected .yaml, .yml or .mod)", str(p))


def read_datafile(path, **kw):
    """Read a ``.csv`` or Dynare ``.m`` data file into a DataFrame (see :mod:`dsge_agents.model.datafile`)."""
    from dsge_agents.model.datafile import read_datafile as _r
    return _r(path, **kw)

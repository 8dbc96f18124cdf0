"""Model language: YAML and Dynare ``.mod`` readers, safe parser, compiled derivatives, steady state.

>>> from dsge_agents.model import load
>>> m = load("models/nk3.yaml")
>>> A_lag, A_cur, A_lead, A_u = m.compiled.jacobian(ss, theta)
"""
from __future__ import annotations

import re
from pathlib import Path

from dsge_agents.errors import ModelSyntaxError
from dsge_agents.model.spec import Equation, Model
from dsge_agents.model.yaml_reader import from_dict
from dsge_agents.model.compiled import CompiledModel

__all__ = ["Model", "Equation", "load", "from_dict", "read_datafile", "CompiledModel"]


def load(path, cache: bool = True) -> Model:
    """Load a model file: ``.yaml``/``.yml`` (native format) or ``.mod`` (Dynare subset).

    With ``cache=True`` a model parsed before from the same file bytes (and path) is read back
    from the on-disk cache (:mod:`dsge_agents.model.cache`): no parsing and no SymPy import.
    """
    p = Path(path)
    if not p.exists():
        raise ModelSyntaxError("model file not found", str(p))
    if p.is_dir():
        raise ModelSyntaxError("is a directory, not a model file (.yaml, .yml or .mod)", str(p))
    suf = p.suffix.lower()
    if suf not in (".yaml", ".yml", ".mod"):
        raise ModelSyntaxError(f"unknown model file type {suf!r} (expected .yaml, .yml or .mod)", str(p))
    try:
        data = p.read_bytes()        # read once: the cache key and the parse see the same bytes
    except OSError as exc:
        raise ModelSyntaxError(f"cannot read the model file ({exc.strerror})", str(p)) from None
    key = None
    if cache and suf == ".mod" and re.search(rb"@#[ \t]*include", data):
        cache = False    # the key would not cover the included files; parsing a .mod is cheap
    if cache:
        from dsge_agents.model import cache as _cache
        key = _cache.key_for_file(p, text=data)
        m = _cache.get(key)
        if m is not None:
            return m
    if suf in (".yaml", ".yml"):
        from dsge_agents.model.yaml_reader import read_yaml as reader
    else:
        from dsge_agents.model.mod_reader import read_mod as reader
    if key is None:
        return reader(p, data=data)
    m, warned = _cache.parse_recording(reader, p, data=data)
    _cache.put(key, m, warned)
    return m


def read_datafile(path, **kw):
    """Read a ``.csv`` or Dynare ``.m`` data file into a DataFrame (see :mod:`dsge_agents.model.datafile`)."""
    from dsge_agents.model.datafile import read_datafile as _r
    return _r(path, **kw)

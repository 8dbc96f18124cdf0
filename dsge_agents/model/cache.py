"""On-disk cache of parsed models: a warm load imports no SymPy and parses nothing.

An entry is a pickled :class:`~dsge_agents.model.spec.Model` (expression trees, no
SymPy objects) stored in :func:`dsge_agents.model.compiled.cache_dir` as
``model_<key>.pkl``. The key is a SHA-256 over

* the kind of input (``file`` or ``dict``) and the source name recorded in the model,
* the input itself: the bytes of the model file, or a canonical JSON dump of the dict
  (order preserved: the order of declarations is meaningful),
* :func:`code_version` — a hash of the source of every module of ``dsge_agents.model``, so any
  change of the parser, the model builder or the code generator gives new keys.

Entries are written atomically (temporary file + ``os.replace``), so concurrent processes see
either nothing or a complete file; an entry that cannot be read back (truncated, corrupt, from
an incompatible version) is ignored and rewritten. Nothing in the cache is trusted beyond a
pickle in the user's own cache directory (the same trust as Numba's cache next to it).
"""
from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

__all__ = ["code_version", "key_for_file", "key_for_dict", "get", "put", "entry_path", "parse_recording"]

_FORMAT = "model-cache-1"
_CODE_VERSION: str | None = None


def code_version() -> str:
    """Hash of the sources of the model layer (computed once per process)."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        h = hashlib.sha256(_FORMAT.encode())
        here = Path(__file__).resolve().parent
        for p in sorted(here.glob("*.py")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
        _CODE_VERSION = h.hexdigest()[:20]
    return _CODE_VERSION


def _digest(kind: str, source, payload: bytes) -> str:
    h = hashlib.sha256()
    for part in (code_version(), kind, repr(source)):
        h.update(part.encode())
        h.update(b"\0")
    h.update(payload)
    return h.hexdigest()[:32]


def key_for_file(path, text: bytes | None = None) -> str:
    """Key of a model file: its bytes and its path (the path is recorded in the model)."""
    data = Path(path).read_bytes() if text is None else text
    # the resolved path too: a .mod records its data file resolved against its own folder
    return _digest("file", (str(path), str(Path(path).resolve())), data)


def _no_default(o):
    raise TypeError(f"not JSON-serializable: {type(o).__name__}")


def key_for_dict(d: dict, source=None) -> str | None:
    """Key of a model dict (canonical JSON, order preserved); None if ``d`` holds non-JSON values."""
    try:
        payload = json.dumps(d, ensure_ascii=False, allow_nan=True, default=_no_default,
                             separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return None
    return _digest("dict", source, payload)


def entry_path(key: str) -> Path:
    from dsge_agents.model.compiled import cache_dir
    return cache_dir() / f"model_{key}.pkl"


def get(key: str | None):
    """The cached Model of ``key``, or None (missing or unreadable entries are ignored).

    Warnings recorded when the entry was parsed (e.g. ignored reporting commands of a .mod) are
    issued again, so a cache hit tells the user what a fresh parse would.
    """
    if key is None:
        return None
    path = entry_path(key)
    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:   # noqa: BLE001 - corrupt / truncated / incompatible entry: rebuild it
        return None
    if not (isinstance(obj, dict) and obj.get("format") == _FORMAT and obj.get("key") == key):
        return None
    from dsge_agents.model import cachedir
    cachedir.touch(path)  # least-recently-used order of the cache (cachedir.prune)
    from dsge_agents.model.spec import Model
    m = obj.get("model")
    if not isinstance(m, Model):
        return None
    import warnings
    for msg, cat in obj.get("warnings", ()):
        warnings.warn(msg, cat if isinstance(cat, type) and issubclass(cat, Warning) else UserWarning,
                      stacklevel=3)
    return m


def put(key: str | None, model, warned=()) -> None:
    """Store ``model`` under ``key`` (atomic; errors writing the cache are not fatal).

    ``warned`` — the ``warnings.WarningMessage`` records issued while parsing (re-issued on hits).
    """
    if key is None:
        return
    try:
        from dsge_agents.model.compiled import _atomic_write, constant_steady_state, default_large, static_digest
        static_digest(model)          # memoized in the pickle: a warm compile skips hashing the trees
        if not default_large(model) and constant_steady_state(model) is not None:
            static_digest(model, steady=False)     # the code key of such models (compiled._model_key)
        path = entry_path(key)
        wl = [(str(w.message), w.category) for w in warned]
        data = pickle.dumps({"format": _FORMAT, "key": key, "model": model, "warnings": wl},
                            protocol=pickle.HIGHEST_PROTOCOL)
        _atomic_write(path, data)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return
    from dsge_agents.model import cachedir
    cachedir.after_write(f"model_{key}")


def parse_recording(fn, *args, **kw):
    """Run ``fn(*args, **kw)``, re-issuing its warnings; return (result, recorded warnings)."""
    import warnings
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*args, **kw)
    for w in rec:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out, rec

"""Size of the model cache directory and least-recently-used pruning.

The cache directory (:func:`dsge_agents.model.compiled.cache_dir`) holds, per model, a parsed
model (``model_<key>.pkl``), generated code (``dsge_agents_gen_<key>.py`` with ``.code`` /
``.npz`` companions), fused re-solvers (``dsge_agents_resolve_<key>.py``) and Numba's cache
files for these modules (``__pycache__/<module>.*``, or, when ``$NUMBA_CACHE_DIR`` is set, in
the folder Numba derives there from the cache directory's path). Every model variant adds entries — a what-if study that rebuilds the economy for
each configuration adds a few MB per variant — so the directory is kept under a size limit:

* ``$DSGE_AGENTS_CACHE_MAX_MB`` (default 1024; ``0`` = no limit). After a new entry is
  written, if the directory holds more, whole entries are removed, least recently used first,
  until it holds at most 80 % of the limit. An entry's last use is the newest modification
  time of its files; loading an entry touches it.
* Entries used in the last :data:`MIN_AGE_S` seconds, and those this process has imported,
  are never removed (another process may be loading them); so the limit can be exceeded for
  a while.
* Only files of the patterns above are counted or removed: anything else in the directory
  (downloaded data sets in sub-folders, files of the user) is left alone. Stale temporary
  files of interrupted writes (``dsge_agents_partial_*.tmp`` older than a day) are removed too.

``dsge-agents cache`` shows the usage and prunes or clears on request.
"""
from __future__ import annotations

import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TMP_PREFIX", "Entry", "entries", "usage", "prune", "clear", "touch", "max_bytes", "after_write", "used"]

DEFAULT_MAX_MB = 1024
MIN_AGE_S = 600.0
_TMP_AGE_S = 86400.0
#: the writers' names carry keys of fixed length (hex digits): model_<32> (model.cache.cache_key),
#: dsge_agents_gen_<24> (model.compiled), dsge_agents_resolve_<20> (linear.resolver); a user's file
#: that only looks similar (model_cafe.pkl) is not an entry and is never removed
_GEN, _RES = r"dsge_agents_gen_[0-9a-f]{24}(?:_ss_[0-9a-f]{16})?", r"dsge_agents_resolve_[0-9a-f]{20}"
_TOP = re.compile(rf"^(model_[0-9a-f]{{32}})\.pkl$|^({_GEN}|{_RES})\.(?:py|code|npz)$")
_PYCACHE = re.compile(rf"^({_GEN}|{_RES})\.")
#: prefix of the writers' temporary files (``tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp")``);
#: only those are removed when stale, not any ``*.tmp`` of the user
TMP_PREFIX = "dsge_agents_partial_"


@dataclass
class Entry:
    """All files of one cached item (a parsed model, a generated module or a re-solver)."""

    name: str
    files: list = field(default_factory=list)
    size: int = 0
    last_used: float = 0.0

    @property
    def kind(self) -> str:
        return "model" if self.name.startswith("model_") else (
            "resolver" if self.name.startswith("dsge_agents_resolve_") else "code")


def _dir(directory=None) -> Path:
    if directory is not None:
        return Path(directory)
    from dsge_agents.model.compiled import cache_dir
    return cache_dir()


def max_bytes() -> int | None:
    """The size limit in bytes from ``$DSGE_AGENTS_CACHE_MAX_MB`` (None: no limit)."""
    raw = os.environ.get("DSGE_AGENTS_CACHE_MAX_MB", "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 2**20
    try:
        mb = float(raw)
        if math.isnan(mb):
            raise ValueError
    except ValueError:
        raise ValueError(f"$DSGE_AGENTS_CACHE_MAX_MB={raw!r}: expected a number of megabytes (0 = no limit)")
    return None if mb <= 0 or math.isinf(mb) else int(mb * 2**20)   # inf: no limit, as 0


def _numba_folder(d: Path) -> Path | None:
    """Where Numba keeps the cache files of modules in ``d`` when ``$NUMBA_CACHE_DIR`` is set
    (Numba's user-provided cache locator: ``<NUMBA_CACHE_DIR>/<name of d>_<sha1 of d's path>``),
    else None (they are in ``d/__pycache__``). Numba is not imported for this (the one-shot CLI
    commands never import it): its own helper is used only when it is loaded already."""
    numba_loaded = "numba" in sys.modules
    if numba_loaded:
        from numba.core import config

        root = config.CACHE_DIR
    else:
        root = os.environ.get("NUMBA_CACHE_DIR", "")
    if not root:
        return None
    if numba_loaded:
        try:  # a private helper of Numba's; the rule below restates it
            from numba.core.caching import _CacheLocator

            return Path(root) / _CacheLocator.get_suitable_cache_subpath(str(d.resolve() / "module.py"))
        except (ImportError, AttributeError):
            pass
    import hashlib

    parent = str(d.resolve())
    return Path(root) / f"{Path(parent).name}_{hashlib.sha1(parent.encode()).hexdigest()}"


def entries(directory=None) -> list[Entry]:
    """The cache's entries, least recently used first."""
    d = _dir(directory)
    found: dict[str, Entry] = {}

    def add(name, path):
        try:
            st = path.stat()
        except OSError:  # removed meanwhile by another process
            return
        e = found.setdefault(name, Entry(name))
        e.files.append(path)
        e.size += st.st_size
        e.last_used = max(e.last_used, st.st_mtime)

    folders = [(d, _TOP), (d / "__pycache__", _PYCACHE)]
    numba_folder = _numba_folder(d)
    if numba_folder is not None:
        folders.append((numba_folder, _PYCACHE))
    for folder, pattern in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for fn in names:
            m = pattern.match(fn)
            if m:
                add(next(g for g in m.groups() if g), folder / fn)
    return sorted(found.values(), key=lambda e: (e.last_used, e.name))


def usage(directory=None) -> dict:
    """``{"directory", "numba_folder", "bytes", "entries", "by_kind": {kind: (count, bytes)}}``
    (``numba_folder``: where Numba's cache files of the entries are when ``$NUMBA_CACHE_DIR`` is
    set, else None)."""
    es = entries(directory)
    by_kind: dict[str, list] = {}
    for e in es:
        c = by_kind.setdefault(e.kind, [0, 0])
        c[0] += 1
        c[1] += e.size
    nf = _numba_folder(_dir(directory))
    return {"directory": str(_dir(directory)), "numba_folder": None if nf is None else str(nf),
            "bytes": sum(e.size for e in es), "entries": len(es),
            "by_kind": {k: tuple(v) for k, v in sorted(by_kind.items())}}


def _in_use() -> set[str]:
    return {n for n in sys.modules if n.startswith(("dsge_agents_gen_", "dsge_agents_resolve_"))}


def _remove(e: Entry) -> int:
    freed = 0
    for p in e.files:
        try:
            size = p.stat().st_size
            p.unlink()
            freed += size
        except OSError:
            pass
    return freed


def prune(limit: int | None = None, *, directory=None, min_age_s: float = MIN_AGE_S, keep=(),
          now: float | None = None) -> dict:
    """Remove least-recently-used entries until the cache holds at most 80 % of ``limit`` bytes.

    ``limit``: bytes (default :func:`max_bytes`; None = no limit: nothing is removed).
    Entries newer than ``min_age_s``, named in ``keep`` or imported by this process stay.
    Returns ``{"removed": n, "freed_bytes": b, "bytes": remaining}``.
    """
    d = _dir(directory)
    now = time.time() if now is None else now
    for tmp in d.glob(TMP_PREFIX + "*.tmp"):
        try:
            if now - tmp.stat().st_mtime > _TMP_AGE_S:
                tmp.unlink()
        except OSError:
            pass
    es = entries(d)
    total = sum(e.size for e in es)
    if limit is None:
        limit = max_bytes()
    removed = freed = 0
    if limit is not None and total > limit:
        target = 0.8 * limit
        protected = set(keep) | _in_use()
        for e in es:  # least recently used first
            if total <= target:
                break
            if e.name in protected or now - e.last_used < min_age_s:
                continue
            f = _remove(e)
            total -= f
            freed += f
            removed += 1
    return {"removed": removed, "freed_bytes": freed, "bytes": total}


def clear(directory=None) -> dict:
    """Remove every entry (data sets and other files stay). Entries in use by this process too:
    they are rebuilt when next needed."""
    es = entries(directory)
    freed = sum(_remove(e) for e in es)
    return {"removed": len(es), "freed_bytes": freed}


def touch(path) -> None:
    """Mark a cache file as used now (least-recently-used order); errors are ignored."""
    try:
        os.utime(path)
    except OSError:
        pass


def used(name: str, path, written: bool) -> None:
    """Record that entry ``name`` (file ``path``) was just loaded: prune after a new write
    (:func:`after_write`), else mark it as used now (:func:`touch`). Call it after importing a
    module entry, so that the entry counts as in use while pruning."""
    if written:
        after_write(name)
    else:
        touch(path)


def after_write(name: str) -> None:
    """Called after a new entry ``name`` was written: prune if the directory is over the limit.
    Never raises (a cache that cannot be pruned is not an error of the computation)."""
    try:
        prune(keep={name})
    except OSError:
        pass
    except ValueError as exc:  # a malformed $DSGE_AGENTS_CACHE_MAX_MB: say so, keep computing
        import warnings
        warnings.warn(f"model cache not pruned: {exc}", RuntimeWarning, stacklevel=2)

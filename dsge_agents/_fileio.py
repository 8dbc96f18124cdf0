"""Writing user-named output files atomically (a utility below every layer; imports nothing of the package).

A command that is interrupted (Ctrl-C, a full disk, an error in the middle of a writer) must not
leave a half-written CSV / Parquet / figure under the name the user gave, nor destroy the file that
was there before (``--force``). :func:`atomic_path` hands the writer a temporary name beside the
target -- same directory, hence same file system, and the same suffix, so pandas, pyarrow and
matplotlib pick the same format -- and renames it over the target only when the writer returned
(POSIX ``rename(2)``, which ``os.replace`` calls, replaces the name atomically within one file
system). On any exception, ``KeyboardInterrupt`` included, the temporary file is removed and the
target is untouched.
"""
from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: marks the temporary files (``.<name>-<hex>-partial<suffix>``)
PARTIAL = "-partial"


def partial_name(target: Path) -> Path:
    """The temporary path for ``target``: hidden, unique, and with ``target``'s own suffix (``Path.suffix``),
    also when ``target`` has none (``fig`` -> ``.fig-1a2b3c4d-partial``, whose suffix is empty too)."""
    suffix = target.suffix
    stem = target.name[: len(target.name) - len(suffix)] if suffix else target.name
    stem = stem.lstrip(".").replace(".", "_") or "out"
    return target.parent / f".{stem}-{secrets.token_hex(4)}{PARTIAL}{suffix}"


@contextmanager
def atomic_path(target) -> Iterator[Path]:
    """``with atomic_path(out) as tmp: write(tmp)`` -- ``out`` appears complete or not at all.

    A symbolic link as ``target`` is followed (the file it points to is replaced, as writing through
    the link would). An existing target's permission bits are kept. A writer that returns without
    creating ``tmp`` leaves ``target`` as it was.
    """
    target = Path(target)
    if target.is_symlink():
        target = target.resolve()
    tmp = partial_name(target)
    try:
        yield tmp
        if not tmp.exists():
            return
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        except OSError:
            pass  # no target yet: the new file keeps the mode the umask gave it
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise

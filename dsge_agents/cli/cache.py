"""``dsge-agents cache [--prune [--max-mb N] | --clear]``: the model cache directory.

Without options: where it is, how much it holds (parsed models, generated code, re-solvers) and
its size limit (``$DSGE_AGENTS_CACHE_MAX_MB``, default 1024 MB; see
:mod:`dsge_agents.model.cachedir`). ``--prune`` removes least-recently-used entries until the
directory holds at most 80 % of the limit (``--max-mb`` overrides it); ``--clear`` removes every
entry. Downloaded data sets and other files in the directory are never touched.
"""
from __future__ import annotations

from dsge_agents.errors import DSGEError


class CacheCommandError(DSGEError):
    """Bad arguments to ``dsge-agents cache``."""


def _env_limit() -> str:
    import os
    return os.environ.get("DSGE_AGENTS_CACHE_MAX_MB", "").strip()


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def run(args) -> int:
    from dsge_agents.model import cachedir

    if args.prune and args.clear:
        raise CacheCommandError("give --prune or --clear, not both")
    if args.max_mb is not None and not args.prune:
        raise CacheCommandError("--max-mb only goes with --prune")
    if args.max_mb is not None and not (0 < args.max_mb < float("inf")):   # also NaN
        raise CacheCommandError(f"--max-mb must be a positive number of megabytes, got {args.max_mb}")
    if args.clear:
        r = cachedir.clear()
        print(f"removed {r['removed']} entries ({_mb(r['freed_bytes'])})")
        return 0
    if args.prune:
        try:
            limit = int(args.max_mb * 2**20) if args.max_mb is not None else cachedir.max_bytes()
        except ValueError as exc:
            raise CacheCommandError(str(exc)) from exc
        if limit is None:
            print(f"no size limit ($DSGE_AGENTS_CACHE_MAX_MB={_env_limit()}): nothing to prune; use --max-mb")
            return 0
        r = cachedir.prune(limit, min_age_s=0.0)
        print(f"removed {r['removed']} entries ({_mb(r['freed_bytes'])}); {_mb(r['bytes'])} left "
              f"(limit {_mb(limit)}, pruned to 80 %)")
        return 0
    u = cachedir.usage()
    try:
        limit = cachedir.max_bytes()
        lim = f"none ($DSGE_AGENTS_CACHE_MAX_MB={_env_limit()})" if limit is None else _mb(limit)
    except ValueError as exc:
        lim = f"invalid: {exc}"
    print(f"model cache: {u['directory']}")
    if u["numba_folder"]:
        print(f"  (Numba's cache files of these entries: {u['numba_folder']}, from $NUMBA_CACHE_DIR)")
    print(f"  {u['entries']} entries, {_mb(u['bytes'])} (limit {lim})")
    for kind, (count, size) in u["by_kind"].items():
        print(f"  {kind:9s} {count:6d}  {_mb(size):>12s}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cache", help="show, prune or clear the model cache",
        description="Show the model cache directory (parsed models, generated code, Numba re-solvers), "
                    "or prune / clear it. Data sets stored in the same folder are never touched.")
    p.add_argument("--prune", action="store_true",
                   help="remove least-recently-used entries down to 80%% of the size limit")
    p.add_argument("--max-mb", type=float, default=None,
                   help="size limit for --prune in MB (default: $DSGE_AGENTS_CACHE_MAX_MB or 1024)")
    p.add_argument("--clear", action="store_true", help="remove every entry")
    p.set_defaults(func=run)

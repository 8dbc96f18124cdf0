"""Parallel parameter sweeps: local processes or a Dask cluster, one code path.

:func:`sweep` evaluates a function over a grid of points and returns one tidy
:class:`pandas.DataFrame` row per point. The work is split into chunks that are
submitted to a :class:`concurrent.futures.Executor`; a local
:class:`~concurrent.futures.ProcessPoolExecutor` is the default and a Dask
cluster is used through ``distributed.Client.get_executor()`` — the same
``submit``/``as_completed`` protocol, so there is only one code path (DESIGN §7).

Failures at a grid point are caught inside the worker and reported in the
``error`` column (``None`` when the point succeeded); they never stop the sweep.
"""
from __future__ import annotations

import concurrent.futures as cf
import itertools
import math
import os
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from ..errors import PolicyError

__all__ = ["sweep", "make_grid", "parse_grid_spec", "resolve_executor", "SERIAL"]

SERIAL = "serial"
"""Pass ``executor="serial"`` to evaluate in the calling process (debugging, tiny grids)."""


# ---------------------------------------------------------------------------
# grids
# ---------------------------------------------------------------------------
def make_grid(grid: Any) -> pd.DataFrame:
    """Normalise a grid specification to a DataFrame with one row per point.

    Accepted forms: a DataFrame (used as is); a mapping ``name -> sequence``
    (Cartesian product, first name varying slowest); a sequence of mappings
    (one point each); a 1-D sequence of scalars (column ``x``).
    """
    if isinstance(grid, pd.DataFrame):
        df = grid.reset_index(drop=True)
    elif isinstance(grid, Mapping):
        if not grid:
            raise PolicyError("empty grid: no parameters given")
        names = list(grid)
        axes = []
        for name in names:
            vals = np.atleast_1d(np.asarray(grid[name]))
            if vals.ndim != 1 or vals.size == 0:
                raise PolicyError(f"grid axis {name!r} is empty or not one-dimensional")
            axes.append(vals)
        df = pd.DataFrame(list(itertools.product(*axes)), columns=names)
    elif isinstance(grid, (list, tuple)):
        if len(grid) == 0:
            raise PolicyError("empty grid: no points")
        if all(isinstance(p, Mapping) for p in grid):
            df = pd.DataFrame([dict(p) for p in grid])
        else:
            df = pd.DataFrame({"x": list(grid)})
    elif isinstance(grid, np.ndarray):
        if grid.size == 0:
            raise PolicyError("empty grid: no points")
        df = pd.DataFrame({"x": grid.ravel()})
    else:
        raise PolicyError(f"cannot interpret grid of type {type(grid).__name__}")
    if len(df) == 0 or df.shape[1] == 0:
        raise PolicyError("empty grid: no points")
    return df


#: largest number of points ``parse_grid_spec`` accepts on one axis (each point is a model
#: solve of ~1 ms: 10 million points are hours of CPU; more is taken for a typo)
MAX_AXIS_POINTS = 10_000_000


def parse_grid_spec(spec: str) -> tuple[str, np.ndarray]:
    """Parse ``NAME=START:STOP:N`` (N evenly spaced points, both ends included).

    Also accepts ``NAME=v1,v2,...`` for an explicit list. Raises
    :class:`~dsge_agents.errors.PolicyError` naming the bad part.
    """
    if "=" not in spec:
        raise PolicyError(f"malformed grid {spec!r}: expected NAME=START:STOP:N")
    name, rng = spec.split("=", 1)
    name = name.strip()
    if not name:
        raise PolicyError(f"malformed grid {spec!r}: missing parameter name")
    rng = rng.strip()
    try:
        if ":" in rng:
            parts = rng.split(":")
            if len(parts) != 3:
                raise ValueError("need START:STOP:N")
            start, stop = float(parts[0]), float(parts[1])
            try:
                n = int(parts[2])
            except ValueError:
                raise ValueError(f"N must be a whole number of points, got {parts[2].strip()!r}") from None
            if n < 1:
                raise ValueError("N must be >= 1")
            if n > MAX_AXIS_POINTS:
                raise ValueError(f"N = {n:,} points on one axis (more than {MAX_AXIS_POINTS:,}); "
                                 "a typo? use a coarser grid")
            if not (math.isfinite(start) and math.isfinite(stop)):
                raise ValueError("bounds must be finite")
            vals = np.linspace(start, stop, n)
        else:
            vals = np.array([float(v) for v in rng.split(",") if v.strip()])
            if vals.size == 0:
                raise ValueError("no values")
            if not np.all(np.isfinite(vals)):
                raise ValueError("values must be finite")
    except ValueError as exc:
        raise PolicyError(f"malformed grid {spec!r}: {exc}") from None
    return name, vals


# ---------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------
@dataclass
class _ExecutorHandle:
    executor: Any          # concurrent.futures-compatible, or None for serial
    n_workers: int
    owned: bool            # we created it -> we shut it down
    client: Any = None     # distributed.Client we created (closed at the end)

    def close(self) -> None:
        if self.owned and self.executor is not None:
            self.executor.shutdown(wait=True)
        if self.client is not None:
            self.client.close()


def resolve_executor(executor: Any = None) -> _ExecutorHandle:
    """Turn the ``executor`` argument of :func:`sweep` into an executor handle.

    * ``None``: a local :class:`ProcessPoolExecutor` with ``os.cpu_count()`` workers;
    * an ``int`` n: a local process pool with n workers (``1`` still uses a
      subprocess; ``"serial"`` runs in-process);
    * a ``str``: a Dask scheduler address (``"tcp://host:8786"``) — a
      ``distributed.Client`` is connected and its ``get_executor()`` used;
    * a ``distributed.Client``: its ``get_executor()``;
    * any object with ``submit`` (a concurrent.futures executor): used as is.
    """
    if executor is None or (isinstance(executor, int) and not isinstance(executor, bool)):
        n = (os.cpu_count() or 1) if executor is None else int(executor)
        if n < 1:
            raise PolicyError("number of workers must be >= 1")
        return _ExecutorHandle(cf.ProcessPoolExecutor(max_workers=n), n, owned=True)
    if isinstance(executor, str):
        if executor == SERIAL:
            return _ExecutorHandle(None, 1, owned=False)
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - dask is installed in CI
            raise PolicyError("a scheduler address needs the 'distributed' package") from exc
        client = Client(executor)
        n = max(1, sum(client.nthreads().values()))
        return _ExecutorHandle(client.get_executor(), n, owned=False, client=client)
    if hasattr(executor, "get_executor") and hasattr(executor, "nthreads"):  # distributed.Client
        n = max(1, sum(executor.nthreads().values()))
        return _ExecutorHandle(executor.get_executor(), n, owned=False)
    if hasattr(executor, "submit"):
        n = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
        return _ExecutorHandle(executor, int(n), owned=False)
    raise PolicyError(f"cannot use {executor!r} as an executor")


# ---------------------------------------------------------------------------
# the worker side (top level: must be picklable)
# ---------------------------------------------------------------------------
def _run_chunk(fn: Callable, points: list[dict]) -> list[tuple[dict | None, str | None]]:
    """Evaluate ``fn`` on each point of a chunk, catching per-point failures."""
    from ._core import single_threaded_blas
    out: list[tuple[dict | None, str | None]] = []
    with single_threaded_blas():
        _run_points(fn, points, out)
    return out


def _run_points(fn, points, out) -> None:
    for p in points:
        try:
            r = fn(p)
            if isinstance(r, Mapping):
                r = dict(r)
            elif isinstance(r, pd.Series):
                r = r.to_dict()
            else:
                r = {"value": r}
            out.append((r, None))
        except Exception as exc:  # noqa: BLE001 - captured per point, by design
            msg = f"{type(exc).__name__}: {exc}".strip()
            if not str(exc):
                msg += " | " + traceback.format_exc(limit=2).replace("\n", " ")
            out.append((None, msg))


def _chunks(points: list[dict], size: int) -> list[list[dict]]:
    return [points[i:i + size] for i in range(0, len(points), size)]


# ---------------------------------------------------------------------------
# the sweep
# ---------------------------------------------------------------------------
def sweep(fn: Callable[[dict], Any], grid: Any, executor: Any = None, *,
          chunksize: int | None = None, progress: bool = True, desc: str = "sweep") -> pd.DataFrame:
    """Evaluate ``fn(point)`` at every point of ``grid``, in parallel.

    Parameters
    ----------
    fn : callable
        Takes a dict ``{column: value}`` for one grid point and returns a dict of
        results (or a scalar, stored as ``value``). Must be picklable (a top-level
        function, a :func:`functools.partial` of one, or an instance of a
        top-level class) unless ``executor="serial"``.
    grid : DataFrame, mapping name -> values (Cartesian product), or list of dicts
        See :func:`make_grid`.
    executor : None, int, "serial", scheduler address, distributed.Client or Executor
        See :func:`resolve_executor`. Local processes by default.
    chunksize : int, optional
        Points per task; default splits the grid into about 4 chunks per worker.
    progress : bool
        Show a tqdm progress bar (updated per finished chunk).

    Returns
    -------
    DataFrame
        The grid columns, then the result columns, then ``error`` (``None`` where
        the point succeeded, ``"ExceptionType: message"`` where it failed). Rows
        keep the grid order whatever the completion order.
    """
    df = make_grid(grid)
    points = df.to_dict(orient="records")
    handle = resolve_executor(executor)
    try:
        n = len(points)
        if chunksize is None:
            chunksize = max(1, math.ceil(n / (4 * handle.n_workers)))
        chunks = _chunks(points, int(chunksize))
        results: list[list | None] = [None] * len(chunks)
        bar = _progress_bar(n, desc, progress)
        try:
            if handle.executor is None:
                for k, ch in enumerate(chunks):
                    results[k] = _run_chunk(fn, ch)
                    bar.update(len(ch))
            else:
                futs = {handle.executor.submit(_run_chunk, fn, ch): k for k, ch in enumerate(chunks)}
                for fut in cf.as_completed(futs):
                    k = futs[fut]
                    try:
                        results[k] = fut.result()
                    except Exception as exc:  # noqa: BLE001 - e.g. unpicklable result, dead worker
                        msg = f"{type(exc).__name__}: {exc}"
                        results[k] = [(None, msg)] * len(chunks[k])
                    bar.update(len(chunks[k]))
        finally:
            bar.close()
    finally:
        handle.close()
    flat = [r for ch in results for r in ch]  # type: ignore[union-attr]
    res_rows = [r if r is not None else {} for r, _ in flat]
    res = pd.DataFrame(res_rows, index=df.index)
    # result columns must not clobber grid columns
    res = res[[c for c in res.columns if c not in df.columns]]
    out = pd.concat([df, res], axis=1)
    out["error"] = pd.Series([e for _, e in flat], index=df.index, dtype=object)
    return out


class _NoBar:
    def update(self, n: int) -> None:  # noqa: D401 - trivial
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="pt", leave=False)

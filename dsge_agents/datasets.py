"""Public data loaders.

``azure_llm_2023(kind)`` — the Azure LLM inference trace of 2023-11-16 (Patel et al.,
"Splitwise: Efficient generative LLM inference using phase splitting", ISCA 2024;
github.com/Azure/AzurePublicDataset, ``data/``; CC-BY-4.0): about one hour of request
arrivals with context and generated token counts, ``kind="conv"`` (19,366 requests,
near-Poisson) or ``"code"`` (8,819 requests, very bursty).

Where the file comes from, in order: ``path=`` (a CSV file or a folder holding
``AzureLLMInferenceTrace_{kind}.csv``), the user cache (``$DSGE_AGENTS_CACHE`` or
``~/.cache/dsge_agents/azure_llm_2023/``), then a download from the public source when
``download=True`` and the network is reachable (saved into the cache). Offline without
a local copy, :class:`DatasetUnavailableError` says how to supply the file.

Checks: a download is complete (the bytes received equal ``Content-Length`` when the server
sends it; a broken HTTP exchange is a failed download) and is the trace (header line and the
known row count :data:`AZURE_2023_ROWS`) before it is moved into the cache, so nothing is
cached on failure. A cached file is checked the same way on every use (one pass over about
1 MB); a bad one is a :class:`DataError` naming the file to delete. A ``path=`` file is the
user's: only its name is checked against ``kind`` (a subset or an edited copy is allowed).
"""

from __future__ import annotations

import http.client
import os
import re
import tempfile
import urllib.request
from pathlib import Path

import pandas as pd

from dsge_agents.errors import DataError

AZURE_2023_URL = (
    "https://raw.githubusercontent.com/Azure/AzurePublicDataset/master/data/"
    "AzureLLMInferenceTrace_{kind}.csv"
)
AZURE_2023_FILE = "AzureLLMInferenceTrace_{kind}.csv"
#: data rows (after the header) of the published files, per kind
AZURE_2023_ROWS = {"conv": 19366, "code": 8819}
AZURE_2023_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens"


class DatasetUnavailableError(DataError):
    """A public data set is neither available locally nor downloadable."""


def cache_dir() -> Path:
    """The user cache folder: ``$DSGE_AGENTS_CACHE`` or ``~/.cache/dsge_agents``."""
    env = os.environ.get("DSGE_AGENTS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dsge_agents"


class IncompleteDownloadError(OSError):
    """Fewer bytes arrived than the server announced."""


def _download(url: str, dest: Path, timeout: float = 30.0, check=None) -> Path:
    """Fetch ``url`` into ``dest`` atomically (temporary file, then rename).

    The body must have ``Content-Length`` bytes when the server sends that header; ``check(tmp)``
    (raising :class:`DataError`) validates the file before the rename. On any failure the
    temporary file is removed and nothing is written at ``dest``. Network and HTTP failures
    raise ``OSError`` (``URLError`` is one) or ``http.client.HTTPException``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
            announced = resp.headers.get("Content-Length")
            got = 0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                got += len(chunk)
        if announced is not None and announced.strip().isdigit() and got != int(announced):
            raise IncompleteDownloadError(f"incomplete download: {got} of {int(announced)} bytes received")
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def _check_azure_file(p: Path, kind: str, name: str | None = None) -> None:
    """``p`` holds the published trace: its header line and :data:`AZURE_2023_ROWS` complete data rows
    (``name``: how messages call the file, default its path)."""
    name = name or str(p)
    try:
        lines = p.read_bytes().decode("utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DataError(f"{name}: cannot be read ({exc})") from None
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or lines[0].strip().lstrip("\ufeff") != AZURE_2023_HEADER:
        first = lines[0][:60] if lines else ""
        raise DataError(f"{name}: not the Azure trace: the first line is {first!r}, expected {AZURE_2023_HEADER!r}")
    rows, want = len(lines) - 1, AZURE_2023_ROWS[kind]
    if rows != want:
        raise DataError(f"{name}: {rows} data rows, the published {kind!r} trace has {want} (truncated or altered)")
    last = lines[-1].split(",")
    if len(last) != 3 or not all(f.strip() for f in last):
        raise DataError(f"{name}: the last row {lines[-1]!r} is cut short")


def azure_llm_2023_path(kind: str = "conv", path=None, *, download: bool = True) -> Path:
    """Local path of the Azure 2023 trace CSV (see the module docstring for the search order)."""
    if kind not in ("conv", "code"):
        raise ValueError(f"kind must be 'conv' or 'code', got {kind!r}")
    fname = AZURE_2023_FILE.format(kind=kind)
    if path is not None:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / fname
        if not p.exists():
            raise DatasetUnavailableError(f"{p}: no such file (expected the Azure trace {fname})")
        named = re.search(r"_(conv|code)\b", p.stem)
        if named and named.group(1) != kind:  # the file says it is the other trace
            raise DataError(f"{p}: the file name says the {named.group(1)!r} trace, but kind={kind!r} "
                            f"was asked for; pass kind={named.group(1)!r} or the {fname} file")
        return p
    cached = cache_dir() / "azure_llm_2023" / fname
    if cached.is_dir():
        raise DataError(f"the cache path {cached} of the Azure trace is a folder; delete it or pass path=...")
    if cached.exists():
        try:
            _check_azure_file(cached, kind)
        except DataError as exc:
            raise DataError(f"cached download of the Azure trace is damaged: {exc}; delete {cached} "
                            "(it is downloaded again) or pass path=...") from None
        return cached
    url = AZURE_2023_URL.format(kind=kind)
    hint = (
        f"download {url} (CC-BY-4.0, Azure/AzurePublicDataset) and pass path=... "
        f"(or --arrivals PATH on the command line), or copy it to {cached}"
    )
    if not download:
        raise DatasetUnavailableError(f"Azure LLM trace 2023 ({kind}) not found locally; {hint}")
    try:
        return _download(url, cached, check=lambda p: _check_azure_file(p, kind, "the downloaded file"))
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, IncompleteRead, ...
        raise DatasetUnavailableError(
            f"Azure LLM trace 2023 ({kind}) is not available offline and the download failed "
            f"({type(exc).__name__}: {exc}); nothing was cached; {hint}"
        ) from None
    except DataError as exc:
        raise DatasetUnavailableError(
            f"Azure LLM trace 2023 ({kind}): the download from {url} is not the expected file: {exc}; "
            f"nothing was cached; {hint}"
        ) from None


def azure_llm_2023(
    kind: str = "conv", path=None, *, download: bool = True, raw: bool = False
) -> pd.DataFrame:
    """The Azure LLM inference trace 2023 as canonical arrival spans (or the raw CSV with ``raw=True``).

    Canonical spans: one row per request, ``start_ts`` = TIMESTAMP (UTC), ``input_tokens`` =
    ContextTokens, ``output_tokens`` = GeneratedTokens, ``end_ts`` NA, ``agent_name`` = kind.
    """
    p = azure_llm_2023_path(kind, path, download=download)
    if raw:
        return pd.read_csv(p)
    from dsge_agents.traces.readers import read_azure

    df = read_azure(p, agent_name=kind)
    return df.drop(columns=[c for c in ("_source", "_row") if c in df.columns])

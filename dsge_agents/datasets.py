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
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from dsge_agents.errors import DataError

AZURE_2023_URL = (
    "https://raw.githubusercontent.com/Azure/AzurePublicDataset/master/data/"
    "AzureLLMInferenceTrace_{kind}.csv"
)
AZURE_2023_FILE = "AzureLLMInferenceTrace_{kind}.csv"
AZURE_2023_ROWS = {"conv": 19366, "code": 8819}


class DatasetUnavailableError(DataError):
    """A public data set is neither available locally nor downloadable."""


def cache_dir() -> Path:
    """The user cache folder: ``$DSGE_AGENTS_CACHE`` or ``~/.cache/dsge_agents``."""
    env = os.environ.get("DSGE_AGENTS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dsge_agents"


def _download(url: str, dest: Path, timeout: float = 30.0) -> Path:
    """Fetch ``url`` into ``dest`` atomically (temporary file, then rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(resp, out)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


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
    if cached.exists():
        return cached
    url = AZURE_2023_URL.format(kind=kind)
    hint = (
        f"download {url} (CC-BY-4.0, Azure/AzurePublicDataset) and pass path=... "
        f"(or --arrivals PATH on the command line), or copy it to {cached}"
    )
    if not download:
        raise DatasetUnavailableError(f"Azure LLM trace 2023 ({kind}) not found locally; {hint}")
    try:
        return _download(url, cached)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DatasetUnavailableError(
            f"Azure LLM trace 2023 ({kind}) is not available offline and the download failed ({exc}); {hint}"
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

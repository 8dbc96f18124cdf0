"""Public data loader for the Azure LLM trace 2023 (issue 4, item 6). Never touches the network."""

from __future__ import annotations

import http.client
import io
import shutil
import urllib.error

import pytest

from dsge_agents import datasets
from dsge_agents.errors import DataError, DSGEError

REAL_DOWNLOAD = datasets._download


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Isolated cache; any download attempt fails as if offline."""
    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(tmp_path / "cache"))

    def offline(url, dest, timeout=30.0, **kw):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(datasets, "_download", offline)


@pytest.mark.parametrize("kind", ["conv", "code"])
def test_local_path_file_or_folder(shared_data, kind):
    folder = shared_data / "azure_llm_2023"
    a = datasets.azure_llm_2023(kind, path=folder)
    b = datasets.azure_llm_2023(kind, path=folder / f"AzureLLMInferenceTrace_{kind}.csv")
    assert len(a) == datasets.AZURE_2023_ROWS[kind] == len(b)
    assert (a["agent_name"] == kind).all() and str(a["start_ts"].dtype) == "datetime64[ns, UTC]"
    raw = datasets.azure_llm_2023(kind, path=folder, raw=True)
    assert list(raw.columns) == ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
    assert a["input_tokens"].sum() == raw["ContextTokens"].sum()


def test_cache_is_used(shared_data, tmp_path):
    dest = tmp_path / "cache" / "azure_llm_2023"
    dest.mkdir(parents=True)
    shutil.copy(shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv", dest)
    df = datasets.azure_llm_2023("code")
    assert len(df) == 8819


def test_offline_error_says_how_to_supply_a_path():
    with pytest.raises(datasets.DatasetUnavailableError) as ei:
        datasets.azure_llm_2023("conv")
    msg = str(ei.value)
    assert isinstance(ei.value, DSGEError)
    assert "path=" in msg and "AzureLLMInferenceTrace_conv.csv" in msg and "offline" in msg
    assert "raw.githubusercontent.com/Azure/AzurePublicDataset" in msg
    with pytest.raises(datasets.DatasetUnavailableError, match="not found locally"):
        datasets.azure_llm_2023("conv", download=False)


def test_download_goes_to_cache(monkeypatch, shared_data, tmp_path):
    src = shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    calls = []

    def fake(url, dest, timeout=30.0, **kw):
        calls.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest)
        return dest

    monkeypatch.setattr(datasets, "_download", fake)
    df = datasets.azure_llm_2023("code")
    assert calls == [datasets.AZURE_2023_URL.format(kind="code")] and len(df) == 8819
    datasets.azure_llm_2023("code")  # second call: from the cache, no download
    assert len(calls) == 1


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        datasets.azure_llm_2023("chat")
    with pytest.raises(datasets.DatasetUnavailableError, match="no such file"):
        datasets.azure_llm_2023("conv", path=tmp_path / "missing.csv")


# ---------------------------------------------------------------- download and cache checks
class _Resp(io.BytesIO):
    """A fake HTTP response: ``body`` with the Content-Length header ``length`` (None: no header);
    ``broken``: the second read raises http.client.IncompleteRead, as a dropped connection does."""

    def __init__(self, body: bytes, length=None, broken=False):
        super().__init__(body)
        self.headers = {} if length is None else {"Content-Length": str(length)}
        self.broken, self.reads = broken, 0

    def read(self, n=-1):
        self.reads += 1
        if self.broken and self.reads > 1:
            raise http.client.IncompleteRead(b"", 1000)
        return super().read(n)


def _serve(monkeypatch, resp):
    monkeypatch.setattr(datasets, "_download", REAL_DOWNLOAD)
    monkeypatch.setattr(datasets.urllib.request, "urlopen", lambda url, timeout=30.0: resp)


def _code_bytes(shared_data) -> bytes:
    return (shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv").read_bytes()


def _cache_file(tmp_path, kind="code"):
    return tmp_path / "cache" / "azure_llm_2023" / f"AzureLLMInferenceTrace_{kind}.csv"


def test_real_download_checked_then_cached(monkeypatch, shared_data, tmp_path):
    body = _code_bytes(shared_data)
    _serve(monkeypatch, _Resp(body, length=len(body)))
    assert len(datasets.azure_llm_2023("code")) == 8819
    assert _cache_file(tmp_path).read_bytes() == body
    assert [p.name for p in _cache_file(tmp_path).parent.iterdir()] == [_cache_file(tmp_path).name]  # no .part


@pytest.mark.parametrize(
    "make, says",
    [
        # Content-Length 100000, two lines sent, then the connection closes
        (lambda b: _Resp(b[:80], length=100_000), "80 of 100000 bytes"),
        (lambda b: _Resp(b[:70_000], broken=True), "IncompleteRead"),
        # no Content-Length, cut mid-file: the row count catches it
        (lambda b: _Resp(b[: len(b) // 2]), "data rows"),
        # a complete response that is not the trace
        (lambda b: _Resp(b"404: Not Found", length=14), "not the Azure trace"),
    ],
)
def test_failed_download_caches_nothing(monkeypatch, shared_data, tmp_path, make, says):
    _serve(monkeypatch, make(_code_bytes(shared_data)))
    with pytest.raises(datasets.DatasetUnavailableError, match=says) as ei:
        datasets.azure_llm_2023("code")
    assert "nothing was cached" in str(ei.value) and "path=" in str(ei.value)
    folder = _cache_file(tmp_path).parent
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.parametrize(
    "content, says",
    [
        (lambda b: b[: len(b) // 2 + 7], "4411 data rows"),  # half the file, cut inside a line
        (lambda b: b"404: Not Found", "not the Azure trace"),
        (lambda b: b[:-4], "cut short"),  # the last row loses its last field
        (lambda b: b + b"\n2023-11-16 19:17:19.9280160,549,173\n", "8820 data rows"),
    ],
)
def test_damaged_cache_is_named(shared_data, tmp_path, content, says):
    f = _cache_file(tmp_path)
    f.parent.mkdir(parents=True)
    f.write_bytes(content(_code_bytes(shared_data)))
    with pytest.raises(DataError, match=says) as ei:
        datasets.azure_llm_2023("code")
    msg = str(ei.value)
    assert f"delete {f}" in msg and "path=" in msg and "cached" in msg


def test_cache_path_is_a_folder(tmp_path):
    f = _cache_file(tmp_path)
    f.mkdir(parents=True)
    with pytest.raises(DataError, match="is a folder") as ei:
        datasets.azure_llm_2023("code")
    assert str(f) in str(ei.value) and "delete" in str(ei.value)


def test_user_path_has_no_row_count(shared_data, tmp_path):
    """A path= file is the user's: a subset of the trace is read as it is (the name check stays)."""
    lines = _code_bytes(shared_data).decode().splitlines()
    sub = tmp_path / "subset.csv"
    sub.write_text("\n".join(lines[:101]) + "\n")
    assert len(datasets.azure_llm_2023("code", path=sub)) == 100
    other = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    other.write_text("\n".join(lines[:101]) + "\n")
    with pytest.raises(DataError, match="file name says the 'conv' trace"):
        datasets.azure_llm_2023("code", path=other)

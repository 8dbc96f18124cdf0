"""Public data loader for the Azure LLM trace 2023 (issue 4, item 6). Never touches the network."""

from __future__ import annotations

import shutil
import urllib.error

import pytest

from dsge_agents import datasets
from dsge_agents.errors import DSGEError


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Isolated cache; any download attempt fails as if offline."""
    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(tmp_path / "cache"))

    def offline(url, dest, timeout=30.0):
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

    def fake(url, dest, timeout=30.0):
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

"""Model cache directory: entries, least-recently-used pruning under a size limit, the CLI.

Expected outcomes are worked out by hand from the sizes and times the tests give the files.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dsge_agents.cli.main import main
from dsge_agents.model import cachedir

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400.0
# entry names as the writers form them (keys of 32 / 24 / 20 hex digits)
A, D, Z = "model_" + "a" * 32, "model_" + "d" * 32, "model_" + "0" * 32
B, E = "dsge_agents_gen_" + "b" * 24, "dsge_agents_gen_" + "e" * 24
C = "dsge_agents_resolve_" + "c" * 20


def _file(path: Path, size: int, age_s: float, now: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (now - age_s, now - age_s))
    return path


@pytest.fixture
def fake(tmp_path):
    """A cache folder: three entries of known size and last use, plus files that are not entries."""
    now = time.time()
    d = tmp_path / "cache"
    _file(d / f"{A}.pkl", 3000, 3 * DAY, now)                          # oldest: 3000 B
    _file(d / f"{B}.py", 1000, 2 * DAY, now)                  # code entry: 1000+500+700+800
    _file(d / f"{B}.npz", 500, 2 * DAY, now)
    _file(d / f"{B}.code", 700, 2 * DAY, now)
    _file(d / "__pycache__" / f"{B}.jacobian-12.py311.nbi", 800, 1 * DAY, now)  # newest file
    _file(d / f"{C}.py", 2000, 0.5 * DAY, now)           # 2000 B, half a day
    _file(d / f"{D}.pkl", 4000, 60, now)                               # used a minute ago
    # not entries: never counted, never removed (stale .tmp excepted)
    _file(d / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv", 50_000, 9 * DAY, now)
    _file(d / "notes.txt", 10_000, 9 * DAY, now)
    _file(d / "model_notes.txt", 10_000, 9 * DAY, now)
    _file(d / "model_cafe.pkl", 10_000, 9 * DAY, now)          # the user's, only named like an entry
    _file(d / "dsge_agents_gen_beef.py", 10_000, 9 * DAY, now)
    _file(d / "abc.tmp", 100, 2 * DAY, now)                    # the user's
    _file(d / f"{cachedir.TMP_PREFIX}abc.tmp", 100, 2 * DAY, now)   # an interrupted write, stale
    _file(d / f"{cachedir.TMP_PREFIX}new.tmp", 100, 60, now)        # one in progress
    return d, now


def test_entries_group_files_and_order_by_last_use(fake):
    d, now = fake
    es = cachedir.entries(d)
    assert [e.name for e in es] == [A, B, C, D]
    assert [e.size for e in es] == [3000, 3000, 2000, 4000]
    assert [e.kind for e in es] == ["model", "code", "resolver", "model"]
    assert es[1].last_used == pytest.approx(now - DAY, abs=1)        # newest file of the entry
    u = cachedir.usage(d)
    assert u["bytes"] == 12000 and u["entries"] == 4
    assert u["by_kind"] == {"code": (1, 3000), "model": (2, 7000), "resolver": (1, 2000)}


def test_prune_removes_least_recently_used_down_to_80_percent(fake):
    d, now = fake
    # limit 10,000 B: 12,000 held -> down to <= 8,000: remove model_aaa… (3000) -> 9000, then the
    # code entry (3000) -> 6000; the rest stays
    r = cachedir.prune(10_000, directory=d, now=now)
    assert r == {"removed": 2, "freed_bytes": 6000, "bytes": 6000}
    left = sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())
    assert left == sorted(["azure_llm_2023/AzureLLMInferenceTrace_conv.csv", f"{C}.py", f"{D}.pkl",
                           "model_notes.txt", "notes.txt", "model_cafe.pkl", "dsge_agents_gen_beef.py",
                           "abc.tmp", f"{cachedir.TMP_PREFIX}new.tmp"])   # the stale partial write gone


def test_prune_spares_recent_kept_and_under_limit(fake):
    d, now = fake
    assert cachedir.prune(12_000, directory=d, now=now)["removed"] == 0           # not over the limit
    # a tiny limit: everything older than min_age_s and not kept goes; model_ddd… (60 s) stays
    r = cachedir.prune(1, directory=d, now=now, keep={C})
    assert r["removed"] == 2 and r["bytes"] == 6000
    assert [e.name for e in cachedir.entries(d)] == [C, D]
    r = cachedir.prune(1, directory=d, now=now, min_age_s=0.0)
    assert r["removed"] == 2 and r["bytes"] == 0


def test_max_bytes_from_environment(monkeypatch):
    monkeypatch.delenv("DSGE_AGENTS_CACHE_MAX_MB", raising=False)
    assert cachedir.max_bytes() == 1024 * 2**20
    monkeypatch.setenv("DSGE_AGENTS_CACHE_MAX_MB", "2.5")
    assert cachedir.max_bytes() == int(2.5 * 2**20)
    monkeypatch.setenv("DSGE_AGENTS_CACHE_MAX_MB", "0")
    assert cachedir.max_bytes() is None
    monkeypatch.setenv("DSGE_AGENTS_CACHE_MAX_MB", "lots")
    with pytest.raises(ValueError, match="DSGE_AGENTS_CACHE_MAX_MB"):
        cachedir.max_bytes()


def test_writes_prune_old_entries_and_hits_touch(tmp_path, monkeypatch):
    """End to end: loading and compiling a model writes entries, which prunes an old entry once
    the directory is over the limit; a cache hit marks its entry as used."""
    from dsge_agents.model import cache, load
    from dsge_agents.model.compiled import compile_model

    d = tmp_path / "cache"
    now = time.time()
    old = _file(d / f"{Z}.pkl", 2 * 2**20, 2 * DAY, now)                     # 2 MB, unused for 2 days
    data = _file(d / "azure_llm_2023" / "trace.csv", 3 * 2**20, 9 * DAY, now)      # not an entry
    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(d))
    monkeypatch.setenv("DSGE_AGENTS_CACHE_MAX_MB", "1")
    src = tmp_path / "rbc.yaml"
    src.write_bytes((ROOT / "models" / "rbc.yaml").read_bytes())
    m = load(src, cache=True)                         # writes model_<key>.pkl -> over 1 MB -> prune
    assert not old.exists() and data.exists()
    compile_model(m, large=True)                      # writes generated code (NumPy path: no Numba)
    names = {e.name for e in cachedir.entries(d)}
    assert any(n.startswith("model_") for n in names) and any(n.startswith("dsge_agents_gen_") for n in names)
    pkl = cache.entry_path(cache.key_for_file(src))
    os.utime(pkl, (now - DAY, now - DAY))
    load(src, cache=True)                             # a hit
    assert pkl.stat().st_mtime > now - 60


def test_cli_cache_info_prune_clear(fake, monkeypatch, capsys):
    d, _ = fake
    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(d))
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert str(d) in out and "4 entries" in out and "resolver" in out
    assert main(["cache", "--max-mb", "1"]) == 1
    assert "--max-mb only goes with --prune" in capsys.readouterr().err
    assert main(["cache", "--prune", "--max-mb", str(10_000 / 2**20)]) == 0
    assert "removed 2 entries" in capsys.readouterr().out   # 12,000 B -> 6,000 <= 80 % of 10,000
    assert main(["cache", "--clear"]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert cachedir.entries(d) == []
    assert (d / "notes.txt").exists() and (d / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv").exists()


def test_numba_cache_dir_files_belong_to_their_entry(tmp_path, monkeypatch):
    """With $NUMBA_CACHE_DIR set, Numba writes a generated module's cache files there (not in
    __pycache__); they count towards the entry and go with it. A subprocess compiles a module of
    the cache's name pattern; the files Numba actually wrote (found by walking its folder) must
    be exactly the entry's extra files."""
    import subprocess
    import sys

    numba_config = pytest.importorskip("numba.core.config")
    d = tmp_path / "cache"
    nroot = tmp_path / "numba"
    d.mkdir()
    src = d / f"{E}.py"
    src.write_text("from numba import njit\n\n@njit(cache=True)\ndef f(x):\n    return 2.0 * x\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(nroot))
    code = f"import sys; sys.path.insert(0, {str(d)!r}); import {E} as m; assert m.f(2.0) == 4.0"
    subprocess.run([sys.executable, "-B", "-c", code], env=env, check=True, timeout=120)
    written = sorted(p for p in nroot.rglob("*") if p.is_file())
    assert written and all(p.name.startswith(f"{E}.") for p in written)
    assert not (d / "__pycache__").exists() or not any((d / "__pycache__").glob(f"{E}.*.nb*"))
    monkeypatch.setattr(numba_config, "CACHE_DIR", str(nroot))
    (e,) = cachedir.entries(d)
    assert e.name == E
    assert sorted(e.files) == sorted([src] + written)
    assert e.size == sum(p.stat().st_size for p in [src] + written)
    assert cachedir.usage(d)["numba_folder"] == str(written[0].parent)
    cachedir.clear(d)
    assert not any(p.is_file() for p in nroot.rglob("*")) and not src.exists()
    monkeypatch.setattr(numba_config, "CACHE_DIR", "")
    assert cachedir._numba_folder(d) is None


def test_numba_folder_rule_without_importing_numba(tmp_path):
    """The folder is found without importing Numba (one-shot CLI commands never load it) and is
    the one Numba's own locator names."""
    import subprocess
    import sys

    code = ("import sys, os; from pathlib import Path; from dsge_agents.model import cachedir; "
            f"f = cachedir._numba_folder(Path({str(tmp_path)!r})); assert 'numba' not in sys.modules; print(f)")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "nb"), PYTHONPATH=str(ROOT))
    ours = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    from numba.core.caching import _CacheLocator

    theirs = tmp_path / "nb" / _CacheLocator.get_suitable_cache_subpath(str(tmp_path.resolve() / "m.py"))
    assert ours.stdout.strip() == str(theirs)

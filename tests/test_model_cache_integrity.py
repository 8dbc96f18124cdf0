"""The compiled-model cache never serves an incomplete or outdated entry.

* A generated module cut short can still be valid Python (an empty file imports without error), so
  each generated source carries a SHA-256 seal line; an entry without a valid seal is regenerated.
* The parsed-model cache key and the parse read the same bytes: a model file edited while it is
  being loaded cannot store the new model under the old text's key.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from dsge_agents.model import cache as model_cache
from dsge_agents.model import load
from dsge_agents.model.compiled import _model_key, compile_model

AR1 = """name: ar1
variables: [y]
shocks: {e: 0.1}
parameters: {rho: 0.9}
equations:
  - y = rho*y(-1) + e
"""


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(d))
    return d


def _ar1_residual_ok(cm, rho):
    """Residual of y = rho*y(-1) + e at y_lag=1, y=2, e=0.5: 2 - rho - 0.5 (sign free)."""
    th = cm.theta({"rho": rho})
    r = cm.residual(np.array([1.0]), np.array([2.0]), np.array([0.0]), np.array([0.5]), th)
    return abs(abs(float(r[0])) - abs(2.0 - rho - 0.5)) < 1e-12


@pytest.mark.parametrize("damage", ["empty", "last_function_cut", "garbage_line"])
def test_damaged_generated_module_is_regenerated(tmp_path, cache_dir, damage):
    f = tmp_path / "ar1.yaml"
    f.write_text(AR1)
    m = load(f, cache=False)
    sys.modules.pop(f"dsge_agents_gen_{_model_key(m, True)}", None)   # imported by another test
    cm = compile_model(m, large=True)
    path = cache_dir / f"{cm.module.__name__}.py"
    src = path.read_text()
    if damage == "empty":
        new = ""
    elif damage == "last_function_cut":
        new = src[:src.rindex("\ndef ") + 1]          # still valid Python, one function short
    else:
        new = src + "residual = None\n"               # appended after the seal
    path.write_text(new)
    del sys.modules[cm.module.__name__]               # as in a new process
    cm2 = compile_model(m, large=True)
    assert _ar1_residual_ok(cm2, 0.9) and _ar1_residual_ok(cm2, 0.3)
    assert hasattr(cm2.module, "steady_state") == hasattr(cm.module, "steady_state")
    assert path.read_text() == src                    # rewritten whole


def test_file_edited_during_load_does_not_poison_the_cache(tmp_path, cache_dir, monkeypatch):
    """The key is computed from the bytes that are parsed: if the file changes between the two,
    the entry must still describe the text its key names (AR(1) coefficient, analytic)."""
    f = tmp_path / "ar1.yaml"
    f.write_text(AR1)
    old_text = f.read_bytes()
    real_get = model_cache.get

    def get_then_edit(key):             # another program saves the file right after the key
        out = real_get(key)
        f.write_text(AR1.replace("0.9", "0.5"))
        return out

    monkeypatch.setattr(model_cache, "get", get_then_edit)
    load(f)
    monkeypatch.setattr(model_cache, "get", real_get)
    f.write_bytes(old_text)             # the original text again: must give rho = 0.9
    assert load(f).parameters["rho"] == 0.9


def test_non_utf8_yaml_names_line_and_column(tmp_path):
    from dsge_agents.errors import ModelSyntaxError
    f = tmp_path / "latin.yaml"
    f.write_bytes(AR1.replace("rho: 0.9", "rho: 0.9  # r\xe9el").encode("latin-1"))
    with pytest.raises(ModelSyntaxError) as ei:
        load(f, cache=False)
    assert (ei.value.line, ei.value.column) == (4, 27) and "UTF-8" in ei.value.msg


def test_mod_with_latin1_comment_loads(tmp_path):
    """Dynare reads bytes: a Latin-1 accent in a comment of a .mod is no error."""
    f = tmp_path / "ar1.mod"
    f.write_bytes("// mod\xe8le AR(1)\nvar y; varexo e; parameters rho; rho = 0.9;\n"
                  "model; y = rho*y(-1) + e; end;\nshocks; var e; stderr 0.1; end;\n".encode("latin-1"))
    m = load(f, cache=False)
    assert m.parameters["rho"] == 0.9 and m.variables == ["y"]


def test_unwritable_cache_falls_back_to_a_private_folder(tmp_path, monkeypatch):
    """Cache modules are imported and pickles unpickled: when $DSGE_AGENTS_CACHE cannot be used,
    the fallback must not be a folder in the shared temporary directory that anyone can write
    (the old fallback was <tmp>/dsge_agents_cache, whoever had created it)."""
    import os
    import stat
    import tempfile

    from dsge_agents.model import compiled

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    for planted in ("dsge_agents_cache", f"dsge_agents_cache-{uid}"):   # made by "another user"
        (shared_tmp / planted).mkdir()
        os.chmod(shared_tmp / planted, 0o777)
    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    monkeypatch.setattr(compiled, "_FALLBACK", None, raising=False)
    with pytest.warns(RuntimeWarning, match="not writable"):
        d = compiled.cache_dir()
    st = d.stat()
    assert d.parent == shared_tmp and d.name not in ("dsge_agents_cache", f"dsge_agents_cache-{uid}")
    assert not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    assert compiled.cache_dir() == d            # the same folder for the rest of the process


def test_cache_limit_infinite_or_nan(tmp_path, monkeypatch, capsys):
    """$DSGE_AGENTS_CACHE_MAX_MB=inf crashed every command that wrote a cache entry (OverflowError
    from int(inf)); it means no limit, like 0. NaN is a clear error; so are --max-mb inf / nan."""
    import argparse

    from dsge_agents.cli import cache as cache_cli
    from dsge_agents.model import cachedir

    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("DSGE_AGENTS_CACHE_MAX_MB", "inf")
    assert cachedir.max_bytes() is None
    cachedir.after_write("model_0")                     # no exception
    f = tmp_path / "ar1.yaml"
    f.write_text(AR1)
    assert load(f).parameters["rho"] == 0.9            # writes an entry: prunes without crashing
    monkeypatch.setenv("DSGE_AGENTS_CACHE_MAX_MB", "nan")
    with pytest.raises(ValueError, match="DSGE_AGENTS_CACHE_MAX_MB"):
        cachedir.max_bytes()
    for bad in (float("inf"), float("nan")):
        args = argparse.Namespace(prune=True, clear=False, max_mb=bad)
        with pytest.raises(cache_cli.CacheCommandError, match="--max-mb"):
            cache_cli.run(args)

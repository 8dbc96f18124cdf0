"""Sweeps (issue 6 item 7): local processes vs a Dask LocalCluster, failures captured, bad grids."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import PolicyError
from dsge_agents.model import load
from dsge_agents.policy.determinacy import _DeterminacyPoint
from dsge_agents.policy.sweep import make_grid, parse_grid_spec, sweep


def flaky(point):
    """Top-level (picklable) test function: fails on a known set of points."""
    a, b = point["a"], point["b"]
    if a % 7 == 3:
        raise ValueError(f"bad point a={a}")
    return {"y": math.sin(a) * b, "z": a * b}


def test_sweep_serial_and_process_pool_agree_with_direct_evaluation():
    grid = {"a": np.arange(20), "b": np.linspace(0, 1, 5)}
    serial = sweep(flaky, grid, executor="serial", progress=False)
    local = sweep(flaky, grid, executor=2, progress=True, chunksize=7)
    pd.testing.assert_frame_equal(serial, local)
    assert len(local) == 100
    bad = local["a"] % 7 == 3
    assert local.loc[bad, "error"].str.startswith("ValueError: bad point").all()
    assert local.loc[~bad, "error"].isna().all()
    assert np.isnan(local.loc[bad, "y"]).all()
    ok = local[~bad]
    np.testing.assert_array_equal(ok["y"].to_numpy(), np.sin(ok["a"].to_numpy()) * ok["b"].to_numpy())
    # grid order kept, grid columns first
    assert list(local.columns) == ["a", "b", "y", "z", "error"]
    assert (local[["a", "b"]].to_numpy() == make_grid(grid).to_numpy()).all()


def test_same_500_point_sweep_locally_and_on_dask_localcluster(models_dir):
    distributed = pytest.importorskip("distributed")
    m = load(models_dir / "nk3.yaml")
    grid = {"phi_pi": np.linspace(0.0, 3.0, 25), "phi_x": np.linspace(0.0, 1.0, 20)}
    fn = _DeterminacyPoint(m)
    local = sweep(fn, grid, progress=False)                       # default: local process pool
    assert len(local) == 500 and local["error"].isna().all()
    assert set(local["status"]) == {"determinate", "indeterminate"}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            on_dask = sweep(fn, grid, executor=client, progress=False)
        by_address = sweep(fn, grid, executor=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(local, on_dask)
    pd.testing.assert_frame_equal(local, by_address)


def test_failures_on_dask_are_captured():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        out = sweep(flaky, {"a": [1, 3, 10], "b": [2.0]}, executor=client, progress=False)
    assert out["error"].notna().tolist() == [False, True, True]


def test_grid_parsing_and_bad_grids():
    name, vals = parse_grid_spec("phi_pi=0.5:2.5:5")
    assert name == "phi_pi" and np.allclose(vals, [0.5, 1.0, 1.5, 2.0, 2.5])
    assert parse_grid_spec("x=1,2,3")[1].tolist() == [1.0, 2.0, 3.0]
    for bad in ["phi_pi", "=1:2:3", "phi_pi=1:2", "phi_pi=1:2:0", "phi_pi=a:2:3", "phi_pi=", "phi_pi=1:2:x"]:
        with pytest.raises(PolicyError):
            parse_grid_spec(bad)
    for bad in [{}, [], {"a": []}, pd.DataFrame()]:
        with pytest.raises(PolicyError, match="empty"):
            sweep(flaky, bad, executor="serial")
    with pytest.raises(PolicyError):
        sweep(flaky, {"a": [1]}, executor=object())

"""Data files of the likelihood: malformed CSVs are DataErrors naming file and line (pandas
silently filled a short row with NaN, renamed a repeated column, or raised its own errors)."""
from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest

from dsge_agents.errors import DataError
from dsge_agents.model import read_datafile

GOOD = "y,pi,r\n1,2,3\n4,5,6\n7,8,9\n"


def test_short_row_is_an_error_not_a_missing_value(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("y,pi,r\n1,2,3\n4,5\n7,8,9\n")          # a field lost, not an empty cell
    with pytest.raises(DataError, match=r"d\.csv, line 3: 2 fields, the header has 3"):
        read_datafile(f)
    f.write_text("y,pi,r\n1,2,3\n4,5,\n7,8,9\n")         # an empty cell: missing value
    assert math.isnan(read_datafile(f)["r"].iloc[1])


def test_long_row_is_an_error(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("y,pi\n1,2\n3,4,5\n")                 # pandas would shift (first column = index)
    with pytest.raises(DataError, match=r"line 3: 3 fields, the header has 2"):
        read_datafile(f)


def test_repeated_column_name_is_an_error(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("y,pi,y\n1,2,3\n")                    # pandas renamed the second one 'y.1'
    with pytest.raises(DataError, match=r"line 1: column 'y' appears twice"):
        read_datafile(f)


def test_empty_and_header_only_files(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("")
    with pytest.raises(DataError, match="empty file"):
        read_datafile(f)
    f.write_text("y,pi\n")
    with pytest.raises(DataError, match=r"no data rows \(only the header y, pi\)"):
        read_datafile(f)


def test_blank_lines_bom_crlf_still_read(tmp_path):
    f = tmp_path / "d.csv"
    f.write_bytes(("\ufeff" + GOOD.replace("\n", "\r\n") + "\r\n").encode("utf-8"))
    df = read_datafile(f)
    assert list(df.columns) == ["y", "pi", "r"]
    np.testing.assert_array_equal(df.to_numpy(), [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def _loglik_cli(*args):
    return subprocess.run([sys.executable, "-m", "dsge_agents", "loglik", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("name,content,message", [
    ("empty.csv", "", "DataError: .*empty.csv: empty file"),
    ("missing.csv", None, "DataError: data file not found: .*missing.csv"),
    ("bad.parquet", "not parquet", "DataError: .*bad.parquet: cannot read Parquet"),
])
def test_cli_data_errors_name_the_file(repo, tmp_path, name, content, message):
    # the trace-panel sniffing of `loglik`/`estimate --data` let pandas/pyarrow errors through
    # (EmptyDataError, FileNotFoundError, ArrowInvalid)
    f = tmp_path / name
    if content is not None:
        f.write_text(content)
    r = _loglik_cli(repo / "tests/data/dynare/qa_nk.mod", "--data", f)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert re.search(message, r.stderr), r.stderr


@pytest.mark.parametrize("opts,message", [
    (dict(presample=130), "presample=130 must be ≥ 0 and leave observations"),   # was ℓ = 0.0
    (dict(presample=-3), "presample=-3 must be ≥ 0"),                            # was ignored
    (dict(first_obs=2.5), "first_obs must be a whole number"),                   # was truncated
    (dict(nobs=0), "nobs must be ≥ 1, got 0"),
    (dict(first_obs=131), "first_obs=131 but the data have 130 rows"),
])
def test_sample_options_are_checked(repo, opts, message):
    from dsge_agents.estimation import LogLikelihood
    from dsge_agents.model import load
    m = load(repo / "tests/data/dynare/qa_nk.mod")
    with pytest.raises(DataError, match=re.escape(message)):
        LogLikelihood(m, repo / "tests/data/dynare/qa_nk_data.csv", **opts)


@pytest.mark.parametrize("row,message", [
    ("notadate,_all,arrivals,2.0", r"panel\.csv, line 3: period 'notadate' is not a date/time"),
    ("2026-01-01T00:01:00Z,_all,arrivals,abc", r"panel value 'abc' of agent '_all', metric 'arrivals'"),
])
def test_bad_trace_panel_cells_name_the_place(tmp_path, row, message):
    # pandas' ValueError (date parsing, float conversion) came through before
    f = tmp_path / "panel.csv"
    f.write_text("period,agent,metric,value\n2026-01-01T00:00:00Z,_all,arrivals,1.0\n" + row + "\n")
    r = subprocess.run([sys.executable, "-m", "dsge_agents", "loglik", "--data", str(f)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert re.search("DataError: .*" + message, r.stderr), r.stderr


def test_missing_datafile_of_a_mod_names_the_model_and_the_places(repo, tmp_path):
    from dsge_agents.estimation import LogLikelihood
    from dsge_agents.model import load
    f = tmp_path / "m.mod"
    f.write_text((repo / "tests/data/dynare/qa_rbc_ll.mod").read_text().replace(
        "datafile=qa_rbc_data", "datafile=nothere"))
    with pytest.raises(DataError, match=r"m\.mod: datafile 'nothere' not found \(looked for "
                                        r"nothere\.csv / nothere\.m in .*"):
        LogLikelihood(load(f))


def test_an_observable_listed_twice_is_an_error(repo, tmp_path):
    # `varobs y pi r y;` was accepted and gave "innovation covariance not PD" at every point
    from dsge_agents.errors import ModelSyntaxError
    from dsge_agents.estimation import LogLikelihood
    from dsge_agents.model import load
    text = (repo / "tests/data/dynare/qa_nk.mod").read_text()
    f = tmp_path / "m.mod"
    f.write_text(text.replace("varobs y pi r;", "varobs y pi r y;"))
    with pytest.raises(ModelSyntaxError, match="observed twice") as ei:
        load(f)
    assert ei.value.token == "y" and ei.value.line is not None
    m = load(repo / "tests/data/dynare/qa_nk.mod")
    with pytest.raises(DataError, match=r"\['pi'\] are listed twice"):
        LogLikelihood(m, repo / "tests/data/dynare/qa_nk_data.csv", observables=["y", "pi", "pi"])


def test_a_quantity_estimated_twice_is_an_error(repo, tmp_path):
    # two entries for one parameter (or corr e_g, e_u and corr e_u, e_g) were both estimated: the
    # likelihood used only one of them, the prior counted both
    from dsge_agents.errors import PriorError
    from dsge_agents.estimation import LogLikelihood
    from dsge_agents.model import load
    text = (repo / "tests/data/dynare/qa_nk.mod").read_text()
    for extra, name in (("sig, gamma_pdf, 1.5, 0.4;", "sig"),
                        ("corr e_u, e_g, beta_pdf, 0, 0.3, -1, 1;", "corr e_u, e_g")):
        f = tmp_path / "m.mod"
        f.write_text(text.replace("rho_g, beta_pdf, 0.5, 0.2;", "rho_g, beta_pdf, 0.5, 0.2;\n" + extra))
        with pytest.raises(PriorError, match=re.escape(f"{name} is estimated twice")):
            LogLikelihood(load(f), repo / "tests/data/dynare/qa_nk_data.csv")

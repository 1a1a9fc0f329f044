"""CLV on the CDNOW sample against the published BG/NBD and Gamma-Gamma parameters."""

import datetime as dt
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from custlens.analysis import clv

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # the same data, Gamma-Gamma (JMR 2005)


@pytest.fixture(scope="module")
def cdnow(data_dir, tmp_path_factory):
    df = pd.read_csv(data_dir / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["orig", "cust", "date", "cds", "amount"])
    return df, tmp_path_factory.mktemp("cdnow")


def test_maths_reproduce_the_papers(cdnow):
    df, _ = cdnow
    df = df.assign(day=pd.to_datetime(df.date.astype(str)))
    end = pd.Timestamp("1997-09-30")  # the 39-week calibration period
    days = df[df.day <= end].groupby(["cust", "day"]).amount.sum().reset_index()
    g = days.groupby("cust")
    first, last = g.day.min(), g.day.max()
    x = (g.day.count() - 1).to_numpy()
    bg = clv.fit_bgnbd(x, ((last - first).dt.days / 7).to_numpy(), ((end - first).dt.days / 7).to_numpy())
    for name, want in PUBLISHED_BGNBD.items():
        assert getattr(bg, name) == pytest.approx(want, rel=0.01), name
    days = days.merge(first.rename("first"), left_on="cust", right_index=True)
    m_x = days[days.day > days["first"]].groupby("cust").amount.mean().reindex(first.index).fillna(0)
    gg = clv.fit_gamma_gamma(x, m_x.to_numpy())
    for name, want in PUBLISHED_GG.items():
        assert getattr(gg, name) == pytest.approx(want, rel=0.01), name


@pytest.mark.slow  # builds CDNOW through the CLI
def test_clv_through_the_warehouse_and_cli(cdnow, data_dir):
    """`custlens import cdnow` then `custlens clv`: the warehouse reproduces the papers.

    Every customer counts since a $0 order is an order (issue #14): before, the 8 whose
    only purchases before October were $0 fell out and the fit moved to r = 0.2439,
    alpha = 4.422, a = 0.7925, b = 2.423; now it gives r = 0.2426, alpha = 4.414,
    a = 0.7929, b = 2.426, p = 6.25, q = 3.744, gamma = 15.44 — the published figures."""
    _, root = cdnow
    env = {**os.environ, "CUSTLENS_QUIET": "1"}
    base = [sys.executable, "-m", "custlens.cli", "--lake", str(root / "lake")]
    subprocess.run([*base, "import", "cdnow", str(data_dir / "cdnow" / "CDNOW_sample.txt")],
                   check=True, env=env, capture_output=True)
    proc = subprocess.run([*base, "clv", "--as-of", "1997-10-01", "--format", "json"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 2357  # every customer of the cohort bought in its first quarter
    notes = " ".join(proc.stderr.split())  # the console folds long lines
    for name, want in {**PUBLISHED_BGNBD, **PUBLISHED_GG}.items():
        got = float(notes.split(f" {name} = ")[1].split(",")[0].split()[0])
        assert got == pytest.approx(want, rel=0.005), name
    assert all(0 < r["p_alive"] <= 1 and r["expected_purchases"] >= 0 for r in rows)
    one_timers = [r for r in rows if r["frequency"] == 0]
    assert one_timers and all(r["p_alive"] == 1 for r in one_timers)  # BG/NBD: never seen to drop
    top = max(rows, key=lambda r: r["expected_value"])
    assert top["frequency"] >= 10


def test_too_few_buyers_is_said_not_failed(ws, tmp_path):
    (tmp_path / "o.csv").write_text("order_id,user_id,order_ts,amount\n1,a,2025-01-01 10:00:00,5\n")
    ws.import_file("orders", tmp_path / "o.csv")
    table = ws.clv(as_of=dt.date(2025, 2, 1))
    assert table.num_rows == 1 and table.column("p_alive")[0].as_py() is None
    assert ws.clv_notes()["fitted"] is False and "too few" in ws.clv_notes()["reason"]


def test_weighted_distinct_summaries_give_the_per_customer_likelihood():
    """The fit sums each distinct summary once, weighted by its customers: that likelihood
    must equal the plain per-customer sum (computed here row by row, without weights)."""
    import numpy as np

    rng = np.random.default_rng(7)
    x = rng.integers(0, 5, 3000).astype(float)
    t_x = np.where(x > 0, rng.integers(1, 9, 3000), 0).astype(float)
    T = np.maximum(t_x, rng.integers(1, 9, 3000)).astype(float)
    params = np.array([0.4, 2.0, 0.7, 2.5])
    plain = sum(clv.bgnbd_log_likelihood(params, x[i:i + 1], t_x[i:i + 1], T[i:i + 1])
                for i in range(len(x)))
    (xd, t_xd, Td), weights = clv._distinct(x, t_x, T)
    assert len(xd) < len(x) / 10 and weights.sum() == len(x)
    assert clv.bgnbd_log_likelihood(params, xd, t_xd, Td, weights) == pytest.approx(plain, rel=1e-12)

"""Segments on real data (issue #14): the CDNOW sample through `custlens import cdnow`, the
default k and every cluster's name checked against its members' raw means recomputed with
pandas from the CLI's own export."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from custlens.analysis import segments

pytestmark = pytest.mark.slow  # imports and segments the CDNOW file through the CLI (make test-quick leaves it out)

AS_OF = "1998-07-01"  # the day after the data ends


@pytest.fixture(scope="module")
def cdnow_lake(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("cdnow-seg")
    env = {**os.environ, "CUSTLENS_QUIET": "1"}
    base = [sys.executable, "-m", "custlens.cli", "--lake", str(root / "lake")]

    def run(*args):
        proc = subprocess.run([*base, *args], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc

    run("import", "cdnow", str(data_dir / "cdnow" / "CDNOW_sample.txt"))
    run("export", "rfm", "--format", "csv", "--out", str(root / "rfm.csv"))
    return root, run


def test_default_gives_usable_segments_true_to_their_members(cdnow_lake, data_dir):
    root, _ = cdnow_lake
    rfm = pd.read_csv(root / "rfm.csv", encoding="utf-8-sig", dtype={"user_id": str})
    # independent: R, F, M from the raw file (one order per row, $0 rows included)
    raw = pd.read_csv(data_dir / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master", "sample", "date", "cds", "dollars"], dtype={"master": str})
    raw["day"] = pd.to_datetime(raw.date.astype(str))
    g = raw.groupby("master").agg(last=("day", "max"), f=("day", "size"), m=("dollars", "sum"))
    g["r"] = (pd.Timestamp(AS_OF) - g["last"]).dt.days
    assert len(rfm) == len(g) == 2357  # every customer is a buyer ($0 orders count)
    merged = rfm.set_index("user_id").join(g)
    assert (merged.recency_days == merged.r).all() and (merged.frequency == merged.f).all()
    assert merged.monetary.to_numpy() == pytest.approx(merged.m.clip(lower=0).to_numpy(), abs=1e-6)

    means = (g.r.mean(), g.f.mean(), g.m.clip(lower=0).mean())
    shares = merged.groupby("cluster").size() / len(merged)
    assert len(shares) >= 4 and shares.min() >= 0.01, shares
    assert merged.segment.nunique() >= 3, merged.segment.value_counts()
    for cluster, members in merged.groupby("cluster"):
        code = segments.code_for(members.r.mean(), members.f.mean(), members.m.clip(lower=0).mean(), *means)
        assert set(members.segment) == {segments.name_for(code)[0]}, cluster
        assert members.r_threshold.iloc[0] == pytest.approx(means[0])
    # tiers: within a name, tier 1 has the highest mean M
    for name, members in merged.groupby("segment"):
        by_tier = members.groupby("tier").monetary.mean().sort_index()
        assert by_tier.is_monotonic_decreasing, name
        labels = set(members.segment_label)
        assert labels == ({name} if len(by_tier) == 1 else {f"{name} · {t}" for t in by_tier.index})


def test_the_choice_is_shown(cdnow_lake):
    root, run = cdnow_lake
    table = run("segment").stdout
    assert "重要价值客户 · 1" in table and "K-means k=8" in table and "min(8" in table
    assert "规则分群" in table  # rule mode's eight-way counts beside cluster mode's
    proc = run("--lang", "en", "segment", "--view", "k", "--format", "json",
               "--chart", str(root / "k.svg"))
    rows = json.loads(proc.stdout)
    assert [r["k"] for r in rows] == list(range(2, 11))
    assert set(rows[0]) == {"k", "inertia", "silhouette", "calinski_harabasz", "min_share",
                            "stability", "chosen"}
    assert [r["k"] for r in rows if r["chosen"]] == [8]
    # why the indices are not the decision: silhouette alone would pick two segments here
    assert max(rows, key=lambda r: r["silhouette"])["k"] == 2
    assert "K-means k=8" in " ".join(proc.stderr.split())  # the caption, on stderr
    assert (root / "k.svg").read_text().startswith("<svg")
    cross = json.loads(run("segment", "--view", "crosstab", "--format", "json").stdout)
    assert sum(r["customers"] for r in cross) == 2357
    assert {r["rule_segment"] for r in cross} == set(segments.SEGMENT_ORDER)  # rules reach all 8
    auto = json.loads(run("segment", "--k", "auto", "--view", "k", "--format", "json").stdout)
    chosen = [r for r in auto if r["chosen"]][0]
    best = max((r for r in auto if 4 <= r["k"] <= 8 and r["min_share"] >= 0.01),
               key=lambda r: (r["silhouette"], -r["k"]))
    assert chosen["k"] == best["k"]
    fixed = json.loads(run("segment", "--k", "3", "--format", "json").stdout)
    assert sorted({r["clusters"] for r in fixed}) == ["0", "1", "2"]

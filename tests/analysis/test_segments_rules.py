"""The definitions DESIGN.md pins: segment names, R direction, tie-safe scores."""

import numpy as np

from custlens.analysis import rfm, segments


def test_eight_segments_exact_mapping():
    expected = {
        "高高高": "重要价值客户", "低高高": "重要保持客户", "高低高": "重要发展客户",
        "低低高": "重要挽留客户", "高高低": "一般价值客户", "低高低": "一般保持客户",
        "高低低": "一般发展客户", "低低低": "一般挽留客户",
    }
    for (r, f, m), (zh, _en) in segments.SEGMENTS.items():
        code = "".join("高" if x else "低" for x in (r, f, m))
        assert expected[code] == zh
    assert len(set(segments.SEGMENT_ORDER)) == 8


def test_recent_buyer_has_high_r():
    # 3 days since the last order against a mean of 30: R is 高 (more recent), not 低
    assert segments.code_for(3, 5, 500, 30, 2, 100) == (True, True, True)
    assert segments.name_for(segments.code_for(3, 5, 500, 30, 2, 100))[0] == "重要价值客户"
    assert segments.name_for(segments.code_for(90, 5, 500, 30, 2, 100))[0] == "重要保持客户"


def test_ties_with_the_mean_count_as_low():
    assert segments.code_for(30, 2, 100, 30, 2, 100) == (False, False, False)


def test_breakpoints_are_nearest_rank():
    values = np.arange(1, 11)  # 1..10: 20% → x[ceil(2)] = 2, 40% → 4, 60% → 6, 80% → 8
    assert rfm.breakpoints(values) == [2.0, 4.0, 6.0, 8.0]


def _score(value, cuts):
    return 1 + sum(value > c for c in cuts)


def test_scores_are_tie_safe_and_honest_with_heavy_ties():
    f = np.array([1] * 70 + [2] * 20 + [5] * 10)
    cuts = rfm.breakpoints(f)
    scores = {v: _score(v, cuts) for v in set(f.tolist())}
    assert scores == {1: 1, 2: 4, 5: 5}  # breakpoints 1,1,1,2: few scores appear


def test_score_sql_counts_breakpoints_strictly_below():
    import duckdb

    sql = rfm.score_sql("v", [2.0, 4.0, 6.0, 8.0])
    got = duckdb.sql(f"SELECT v, {sql} AS s FROM range(1, 11) t(v) ORDER BY v").fetchall()
    assert [s for _, s in got] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    neg = rfm.score_sql("r", [-40.0, -30.0, -20.0, -10.0], negate=True)
    got = duckdb.sql(f"SELECT {neg} FROM (SELECT 5 AS r UNION ALL SELECT 50)").fetchall()
    assert sorted(x for (x,) in got) == [1, 5]  # 5 days ago scores 5, 50 days ago scores 1

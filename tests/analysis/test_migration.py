"""Segment migration between two dates, on the generated shop."""

import datetime as dt

import pytest

pytestmark = pytest.mark.slow  # builds RFM at several dates (make test-quick leaves it out)


def test_migration_counts_sum_to_the_population(shop):
    start, end = dt.date(2025, 7, 1), dt.date(2026, 1, 1)
    matrix, fell = shop.migration(start, end)
    buyers_at_end = shop.rfm(as_of=end).num_rows
    assert sum(matrix.column("customers").to_pylist()) == buyers_at_end
    before = {r["user_id"]: r["segment"] for r in shop.rfm(as_of=start).to_pylist()}
    new = sum(r["customers"] for r in matrix.to_pylist() if r["from_segment"] == "(new)")
    assert new == buyers_at_end - len(before)  # every buyer then is a buyer now (R only grows)
    rows = fell.to_pylist()
    assert all(before[r["user_id"]] == "重要价值客户" and r["to_segment"] != "重要价值客户" for r in rows)
    fell_cells = sum(r["customers"] for r in matrix.to_pylist()
                     if r["from_segment"] == "重要价值客户" and r["to_segment"] != "重要价值客户")
    assert len(rows) == fell_cells
    shop.build()  # leave the shared shop as the other tests expect it

"""K-means segments (issue #14): the k rule, tiers and borderline flags, the $0 order rule and
the intent class, on hand-made data whose answers are worked out in the comments."""

import datetime as dt

import numpy as np
import pytest

from custlens.analysis import clustering, segments
from custlens.config import segment_k
from custlens.errors import CustlensError

AS_OF = dt.date(2025, 12, 1)


# ---- the k rule -------------------------------------------------------------------------
def test_default_k_is_eight_for_a_shop_that_can_fill_it():
    choice = clustering.choose_k(None, 2357, 2000, {k: 0.02 for k in range(2, 11)})
    assert (choice.k, choice.setting, choice.cap, choice.lowered_from) == (8, "default", 8, None)
    assert "min(8, 2,357 buyers ÷ 50) = 8" in choice.reason_en and "购买客户" in choice.reason_zh


@pytest.mark.parametrize(("buyers", "cap"), [(1, 2), (99, 2), (120, 2), (150, 3), (260, 5),
                                             (399, 7), (400, 8), (10**6, 8)])
def test_small_shops_get_fewer_clusters(buyers, cap):
    assert clustering.default_k(buyers) == cap
    assert clustering.choose_k(0, buyers, 10**6).k == cap


def test_lowered_while_the_smallest_cluster_is_under_one_percent():
    shares = {8: 0.004, 7: 0.0099, 6: 0.01, 5: 0.2}
    choice = clustering.choose_k(0, 5000, 5000, shares)
    assert (choice.k, choice.lowered_from) == (6, 8)  # 1 % exactly is enough
    assert "lowered to 6" in choice.reason_en
    # never below 2, even when every k leaves a tiny cluster
    assert clustering.choose_k(0, 5000, 5000, {k: 0.001 for k in range(2, 9)}).k == 2


def test_auto_takes_the_best_silhouette_over_four_to_eight():
    sils = {2: 0.9, 3: 0.8, 4: 0.30, 5: 0.35, 6: 0.35, 7: 0.2, 8: 0.1, 9: 0.99}
    ok = {k: 0.05 for k in range(2, 11)}
    assert clustering.choose_k("auto", 5000, 5000, ok, sils).k == 5  # ties: the smaller k
    assert clustering.choose_k("auto", 5000, 5000, {**ok, 5: 0.005}, sils).k == 6  # 1 % rule
    small = clustering.choose_k("auto", 150, 150, ok, sils)  # cap 3: nothing in 4..8
    assert (small.k, small.setting) == (3, "auto") and "small shop" in small.reason_en


def test_a_fixed_k_is_kept_but_never_above_the_distinct_points():
    assert clustering.choose_k(5, 100, 1000).k == 5
    assert clustering.choose_k(12, 10**5, 1000).k == 12
    assert clustering.choose_k(5, 100, 3).k == 3
    assert clustering.choose_k(None, 100, 1).k == 1


@pytest.mark.parametrize(("raw", "want"), [(None, 0), ("", 0), (0, 0), ("0", 0), (6, 6),
                                           ("6", 6), ("auto", "auto"), (" AUTO ", "auto")])
def test_the_setting_parses(raw, want):
    assert segment_k(raw) == want


@pytest.mark.parametrize("raw", ["-1", "x", 2.5, "4.0"])
def test_a_bad_setting_says_what_is_accepted(raw):
    with pytest.raises(CustlensError, match="whole number ≥ 0 or \"auto\""):
        segment_k(raw)


def test_fit_reports_diagnostics_and_a_stable_partition_of_well_separated_groups():
    rng = np.random.default_rng(3)
    centres = np.array([[-2.0, 2, 2], [2, -2, -2], [0, 0, 0], [2, 2, -2]])
    z = np.vstack([c + rng.normal(scale=0.05, size=(300, 3)) for c in centres])
    ids = [f"u{i}" for i in range(len(z))]
    fitted = clustering.fit(z, clustering.hash_order(ids), "auto", 42, 200_000, 5000)
    assert fitted.k == 4  # four groups: silhouette peaks at 4 among 4..8
    assert [d["k"] for d in fitted.diagnostics] == list(range(2, 11))
    four = fitted.diagnostics[2]
    assert four["min_share"] == pytest.approx(0.25) and four["silhouette"] > 0.9
    assert fitted.stability > 0.95  # refits on resamples find the same four groups
    again = clustering.fit(z, clustering.hash_order(ids), "auto", 42, 200_000, 5000)
    assert again.diagnostics == fitted.diagnostics and (again.centres == fitted.centres).all()


# ---- names, tiers and borderline ----------------------------------------------------------
def test_tiers_and_borderline_by_hand():
    means, sds = (30.0, 2.0, 100.0), (10.0, 1.0, 50.0)
    clusters = [
        {"cluster": 0, "r": 10, "f": 5, "m": 300},  # 高高高, M 300 F 5: tier 1
        {"cluster": 1, "r": 20, "f": 3, "m": 200},  # 高高高, M 200: tier 3
        {"cluster": 2, "r": 31, "f": 2.05, "m": 90},  # 低高低; R within 1 = 0.1 sd, F within 0.1
        {"cluster": 3, "r": 50, "f": 1, "m": 20},  # 低低低, M 20: tier 2 of that name
        {"cluster": 4, "r": 15, "f": 4, "m": 300},  # 高高高, M 300 like 0 but F 4: tier 2
        {"cluster": 5, "r": 30, "f": 2, "m": 100},  # on every mean (ties are 低): 低低低, tier 1
    ]
    named = {n.cluster: n for n in segments.name_clusters(clusters, means, sds)}
    assert [(named[c].segment, named[c].tier, named[c].label) for c in (0, 4, 1)] == [
        ("重要价值客户", 1, "重要价值客户 · 1"), ("重要价值客户", 2, "重要价值客户 · 2"),
        ("重要价值客户", 3, "重要价值客户 · 3")]
    assert named[0].label_en == "high-value · 1"
    assert (named[2].segment, named[2].label, named[2].borderline) == ("一般保持客户", "一般保持客户", "RF")
    assert (named[3].segment, named[3].tier, named[3].label, named[3].borderline) == (
        "一般挽留客户", 2, "一般挽留客户 · 2", "")
    assert (named[5].segment, named[5].tier, named[5].label, named[5].borderline) == (
        "一般挽留客户", 1, "一般挽留客户 · 1", "RFM")
    assert named[0].borderline == named[1].borderline == ""


def _orders(tmp_path, rows):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,user_id,order_ts,status,amount\n"
                    + "".join(f"{o},{u},{t} 10:00:00,{s},{a}\n" for o, u, t, s, a in rows),
                    encoding="utf-8")
    return path


def _day(days_before: int) -> str:
    return (AS_OF - dt.timedelta(days=days_before)).isoformat()


def _four_groups(tmp_path):
    """50 buyers each: G1 R 5 F 10 M 1000; G2 R 10 F 5 M 400; G3 R 300 F 1 M 20; G4 R 200 F 1
    M 50. Means R 128.75, F 4.25, M 367.5; std M 394.6: G2's M is 32.5 ≤ 39.5 from the mean."""
    rows = []
    for g, (r, f, m) in enumerate([(5, 10, 1000), (10, 5, 400), (300, 1, 20), (200, 1, 50)], 1):
        for b in range(50):
            for i in range(f):
                rows.append((f"g{g}b{b}o{i}", f"g{g}u{b:02d}", _day(r + 3 * i), "paid", m / f))
    return _orders(tmp_path, rows)


def test_clusters_tiers_and_borderline_through_the_warehouse(ws, tmp_path):
    ws.import_file("orders", _four_groups(tmp_path))
    rfm = {r["user_id"]: r for r in ws.rfm(as_of=AS_OF).to_pylist()}
    notes = ws.rfm_notes()
    assert notes["k"] == 4 and notes["k_setting"] == "default"  # 200 buyers: min(8, 200 ÷ 50)
    want = {"g1": ("重要价值客户", 1, "重要价值客户 · 1", ""), "g2": ("重要价值客户", 2, "重要价值客户 · 2", "M"),
            "g4": ("一般挽留客户", 1, "一般挽留客户 · 1", ""), "g3": ("一般挽留客户", 2, "一般挽留客户 · 2", "")}
    for user, row in rfm.items():
        assert (row["segment"], row["tier"], row["segment_label"], row["borderline"]) == want[user[:2]]
        assert (row["r_threshold"], row["f_threshold"], row["m_threshold"]) == pytest.approx(
            (128.75, 4.25, 367.5))
    g2 = rfm["g2u00"]
    assert (g2["cluster_recency_days"], g2["cluster_frequency"], g2["cluster_monetary"]) == \
        pytest.approx((10, 5, 400))
    assert notes["stability"] == pytest.approx(1.0)
    seg = ws.segments(as_of=AS_OF).to_pylist()
    assert [(r["segment_label"], r["customers"], r["borderline"]) for r in seg] == [
        ("重要价值客户 · 1", 50, ""), ("重要价值客户 · 2", 50, "M"),
        ("一般挽留客户 · 1", 50, ""), ("一般挽留客户 · 2", 50, "")]
    k = ws.segment_view("k", as_of=AS_OF).to_pylist()
    assert [r["k"] for r in k] == [2, 3, 4] and [r["chosen"] for r in k] == [False, False, True]
    names = {r["segment"]: r for r in ws.segment_view("names", as_of=AS_OF).to_pylist()}
    assert len(names) == 8 and names["重要价值客户"]["tiers"] == 2
    assert names["重要价值客户"]["customers"] == names["重要价值客户"]["rule_customers"] == 100
    cross = ws.segment_view("crosstab", as_of=AS_OF).to_pylist()
    assert sum(r["customers"] for r in cross) == 200 and len(cross) == 4  # every cluster pure


def test_rule_mode_borderline_is_each_customers_own(ws, tmp_path):
    # R 10 / 30 / 50 days, F 1, M 10 / 20 / 30: means 30, 1, 20; std R 16.33, M 8.16
    rows = [("o1", "a", _day(10), "paid", 10), ("o2", "b", _day(30), "paid", 20),
            ("o3", "c", _day(50), "paid", 30)]
    ws.import_file("orders", _orders(tmp_path, rows))
    ws.settings = ws.settings.with_overrides(**{"segment.mode": "rules"})
    rfm = {r["user_id"]: r for r in ws.rfm(as_of=AS_OF).to_pylist()}
    assert {u: (r["segment"], r["tier"], r["borderline"], r["cluster"]) for u, r in rfm.items()} == {
        "a": ("一般发展客户", 1, "F", None),  # R 高 F 低 (tie) M 低; F on the mean
        "b": ("一般挽留客户", 1, "RFM", None),  # R, F and M all on the mean: ties are 低
        "c": ("重要挽留客户", 1, "F", None)}
    assert all(r["rule_segment"] == r["segment"] for r in rfm.values())
    assert "rule mode" in ws.segment_caption("en")


# ---- a paid order is an order whatever its amount -----------------------------------------
def test_zero_amount_orders_count_and_unpaid_customers_show_intent(ws, tmp_path):
    rows = [("z1", "u1", _day(5), "paid", 0),  # u1: only a $0 order → a buyer, F 1, M 0
            ("a1", "u2", _day(20), "paid", 50), ("a2", "u2", _day(4), "paid", 0),  # F 2, R 4
            ("b1", "u3", _day(9), "paid", 30), ("b2", "u3", _day(3), "paid", -10),  # return
            ("c1", "u4", _day(7), "cancelled", 25),  # never paid → intent
            ("d1", "u5", _day(6), "refunded", 40)]  # paid, refunded in full → intent
    ws.import_file("orders", _orders(tmp_path, rows))
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,category_id,behavior,ts\n"
                      f"u6,i1,c1,pv,{_day(2)} 09:00:00\n", encoding="utf-8")
    ws.import_file("events", events)
    rfm = {r["user_id"]: (r["recency_days"], r["frequency"], r["monetary"])
           for r in ws.rfm(as_of=AS_OF).to_pylist()}
    assert rfm == {"u1": (5, 1, 0.0), "u2": (4, 2, 50.0), "u3": (9, 1, 20.0)}  # the -10 is no order
    classes = {r["user_id"]: r["class"] for r in ws.read("ads_customer_class", AS_OF).to_pylist()}
    # core: F ≥ 2 and M ≥ the median M (20)
    assert classes == {"u1": "low_repurchase", "u2": "core", "u3": "low_repurchase",
                       "u4": "intent", "u5": "intent", "u6": "browser"}
    orders = {r["order_id"]: r for r in ws.read("dwd_orders").to_pylist()}
    assert orders["z1"]["is_paid"] and orders["z1"]["in_gmv"] and orders["z1"]["is_first_order"]
    assert not orders["b2"]["is_paid"] and not orders["b2"]["in_gmv"]
    shop = ws.sql("SELECT sum(orders) AS n, sum(gmv) AS gmv FROM dws_shop_day").to_pylist()[0]
    assert (shop["n"], shop["gmv"]) == (5, 120.0)  # z1, a1, a2, b1 and the refunded d1


# ---- the diagnostics on distinct points equal sklearn's on every copy --------------------
@pytest.mark.parametrize("decimals", [0, 1])
def test_weighted_silhouette_and_ari_equal_sklearn_on_the_expanded_points(decimals):
    """RFM data is full of ties; the diagnostics run on distinct points with their copies as
    weights. The independent computation is sklearn on the copies themselves."""
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    rng = np.random.default_rng(decimals)
    x = np.round(rng.normal(size=(2500, 3)) * [1.0, 0.5, 2.0], decimals)
    unique, inverse, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    labels = (unique[:, 0] > 0).astype(int) + 2 * (unique[:, 2] > 1)
    labels[0] = 3  # a cluster of one distinct point (several copies, or one: score 0)
    other = np.where(rng.random(len(unique)) < 0.6, labels, rng.integers(0, 3, len(unique)))
    assert clustering.weighted_silhouette(unique, counts.astype(float), labels) == pytest.approx(
        silhouette_score(x, labels[inverse]), rel=1e-9)
    assert clustering.weighted_ari(labels, other, counts.astype(float)) == pytest.approx(
        adjusted_rand_score(labels[inverse], other[inverse]), rel=1e-12)

"""A synthetic shop shaped like a real one, so the analysis has something to find.

Deterministic for a seed; generated in chunks of users so 1M users / 100M events never
sit in memory at once. Planted effects: Taobao-like behaviour mix (≈89 % pv, 6 % cart,
3 % fav, 2 % buy), traffic and sales lifts on 双十一, 618, 双十二 and monthly promo days,
loyal repeat buyers, one-time buyers, intent-only users who cart/favourite and never
buy, daily-use categories bought again and again, channels and ad campaigns with spend,
birthdays (some lunar), refunds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from custlens.analysis.calendar import classify

CHANNELS = np.array(["organic", "search_ad", "feed_ad", "social", "sms"])
CHANNEL_P = np.array([0.42, 0.22, 0.18, 0.12, 0.06])
AD_CAMPAIGNS = {"search_ad": ["brand_kw", "generic_kw"], "feed_ad": ["feed_new", "feed_retarget"],
                "social": ["kol_live"], "sms": ["sms_promo"], "organic": []}
# user types: share, sessions per year, P(buy | session), P(fav), P(cart)
TYPES = {
    "loyal": (0.08, 46.0, 0.20, 0.22, 0.22),
    "one_time": (0.22, 9.0, 0.0, 0.15, 0.17),
    "intent": (0.17, 9.0, 0.0, 0.33, 0.36),
    "browser": (0.53, 4.5, 0.0, 0.0, 0.0),
}
N_CATEGORIES = 60
DAILY_USE = 8  # the first categories are daily-use (tissues, detergent, pet food …)
HOUR_P = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.4, 2, 2.4, 2.6, 2.6, 2.8, 2.6, 2.4,
                   2.4, 2.5, 2.7, 3, 3.6, 4.2, 4.6, 4, 2.2])
HOUR_P = HOUR_P / HOUR_P.sum()


@dataclass(frozen=True)
class ShopSpec:
    users: int = 20_000
    start: dt.date = dt.date(2025, 1, 1)
    days: int = 365
    seed: int = 7
    chunk_users: int = 50_000
    tz_offset_hours: int = 8  # Asia/Shanghai

    @property
    def n_items(self) -> int:
        return max(300, min(self.users // 4, 200_000))


def day_weights(spec: ShopSpec) -> tuple[np.ndarray, list[dict]]:
    """Traffic weight per day: campaigns peak ×6, warm-up ×1.6, promo days ×2.2, weekend ×1.15."""
    days = [spec.start + dt.timedelta(days=i) for i in range(spec.days)]
    info = [classify(d) for d in days]
    w = np.ones(spec.days)
    for i, row in enumerate(info):
        if row["kind"] == "campaign":
            w[i] = 6.0 if row["phase"] == "peak" else 1.6
        elif row["kind"] == "promo_day":
            w[i] = 2.2
        if row["is_weekend"]:
            w[i] *= 1.15
    return w / w.sum(), info


def items_table(spec: ShopSpec) -> pa.Table:
    rng = np.random.default_rng(spec.seed + 1)
    n = spec.n_items
    cat = rng.integers(0, N_CATEGORIES, n)
    base = np.where(cat < DAILY_USE, rng.lognormal(3.3, 0.4, n), rng.lognormal(4.6, 0.8, n))
    return pa.table({
        "item_id": [f"I{i:07d}" for i in range(n)],
        "category_id": [f"C{c:03d}" for c in cat],
        "title": [f"{'日用' if c < DAILY_USE else '商品'}-{c:03d}-{i}" for i, c in enumerate(cat)],
        "price": np.round(base, 2),
        "is_daily_use": cat < DAILY_USE,
    })


def _users(spec: ShopSpec, rng: np.random.Generator, first: int, n: int) -> dict[str, np.ndarray]:
    names = list(TYPES)
    share = np.array([TYPES[t][0] for t in names])
    kind = rng.choice(len(names), n, p=share / share.sum())
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_P)
    # half the customers are there from the start, the others arrive through the span
    join = np.where(rng.random(n) < 0.5, 0, rng.integers(0, spec.days, n))
    return {"uid": np.arange(first, first + n), "kind": kind, "channel": channel, "join": join}


def _events_chunk(spec: ShopSpec, rng, users, weights, items: pa.Table):
    """Sessions → events, vectorized over one chunk of users."""
    names = list(TYPES)
    per_year = np.array([TYPES[t][1] for t in names])[users["kind"]]
    join = users["join"]
    sessions = rng.poisson(per_year * (spec.days - join) / 365.0)
    sessions = np.maximum(sessions, 1)
    s_user = np.repeat(np.arange(len(sessions)), sessions)
    s_kind = users["kind"][s_user]
    # a session's day follows the day weights, from the customer's first day on
    cdf = np.cumsum(weights)
    lo = np.where(join > 0, cdf[np.maximum(join - 1, 0)], 0.0)[s_user]
    u = lo + rng.random(len(s_user)) * (cdf[-1] - lo)
    s_day = np.minimum(np.searchsorted(cdf, u, side="right"), spec.days - 1)
    s_sec = rng.choice(24, len(s_user), p=HOUR_P) * 3600 + rng.integers(0, 3600, len(s_user))
    # loyal customers come back for their own daily-use category (tissues, pet food …)
    loyal = s_kind == names.index("loyal")
    own_daily = users["uid"][s_user] % DAILY_USE
    s_cat = np.where(loyal & (rng.random(len(s_user)) < 0.55), own_daily,
                     rng.integers(0, N_CATEGORIES, len(s_user)))
    n_pv = rng.geometric(0.3, len(s_user))  # a third of sessions see one page
    p_fav = np.array([TYPES[t][3] for t in names])[s_kind]
    p_cart = np.array([TYPES[t][4] for t in names])[s_kind]
    p_buy = np.array([TYPES[t][2] for t in names])[s_kind]
    # one-time buyers buy in exactly one of their sessions (the first in time)
    one_time = s_kind == names.index("one_time")
    order = np.lexsort((s_day, s_user))
    first_of_user = np.zeros(len(s_user), bool)
    first_idx = order[np.r_[0, np.flatnonzero(np.diff(s_user[order])) + 1]] if len(order) else order
    first_of_user[first_idx] = True
    campaign_boost = weights[s_day] > 2.5 * weights.mean()
    buy = (rng.random(len(s_user)) < p_buy * np.where(campaign_boost, 1.6, 1.0)) | (one_time & first_of_user)
    fav = rng.random(len(s_user)) < p_fav
    cart = (rng.random(len(s_user)) < p_cart) | buy
    return s_user, s_day, s_sec, s_cat, n_pv, fav, cart, buy


def generate(spec: ShopSpec) -> Iterator[dict[str, pa.Table]]:
    """Yield the shop's tables chunk by chunk (items, customers, events, orders, …)."""
    weights, info = day_weights(spec)
    items = items_table(spec)
    item_cat = np.array([int(c[1:]) for c in items.column("category_id").to_pylist()])
    item_price = items.column("price").to_numpy()
    by_cat = [np.flatnonzero(item_cat == c) for c in range(N_CATEGORIES)]
    by_cat = [b if len(b) else np.arange(len(item_cat)) for b in by_cat]
    epoch0 = int(dt.datetime(spec.start.year, spec.start.month, spec.start.day,
                             tzinfo=dt.UTC).timestamp()) - spec.tz_offset_hours * 3600
    visitors_per_day = np.zeros((spec.days, len(CHANNELS)))
    yield {"items": items}
    for c0 in range(0, spec.users, spec.chunk_users):
        rng = np.random.default_rng([spec.seed, c0])
        n = min(spec.chunk_users, spec.users - c0)
        users = _users(spec, rng, c0, n)
        s_user, s_day, s_sec, s_cat, n_pv, fav, cart, buy = _events_chunk(spec, rng, users, weights, items)
        np.add.at(visitors_per_day, (s_day, users["channel"][s_user]), 1)
        # explode sessions into events: pv…, then fav, cart, buy on the last item seen
        n_ev = n_pv + fav + cart + buy
        e_sess = np.repeat(np.arange(len(s_user)), n_ev)
        pos = np.arange(len(e_sess)) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
        npv = n_pv[e_sess]
        k = pos - npv  # 0.. for the tail actions
        f, c = fav[e_sess], cart[e_sess]
        behavior = np.where(pos < npv, 0, np.where(f & (k == 0), 1,
                            np.where(c & (k == f.astype(int)), 2, 3)))
        pick = rng.random(len(e_sess))
        cats = s_cat[e_sess]
        item_idx = _pick_items(by_cat, cats, pick)
        # tail actions use the session's last viewed item
        last_pv = np.repeat(np.cumsum(n_ev) - n_ev, n_ev) + npv - 1
        item_idx = np.where(pos < npv, item_idx, item_idx[last_pv])
        ts = epoch0 + s_day[e_sess].astype(np.int64) * 86400 + s_sec[e_sess] + pos * 37
        uid = users["uid"][s_user[e_sess]]
        chan = users["channel"][s_user[e_sess]]
        user_ids = np.char.add("U", np.char.zfill(uid.astype(str), 7))
        session_ids = np.char.add(f"S{c0}-", e_sess.astype(str))
        campaigns = _ad_campaign(chan, uid)
        events = pa.table({
            "user_id": user_ids, "item_id": items.column("item_id").take(item_idx),
            "category_id": items.column("category_id").take(item_idx),
            "behavior": np.array(["pv", "fav", "cart", "buy"])[behavior],
            "ts": pa.array(ts * 1_000_000, pa.timestamp("us", tz="UTC")),
            "channel": CHANNELS[chan], "ad_campaign": campaigns, "session_id": session_ids,
        })
        buys = behavior == 3
        qty = rng.integers(1, 4, buys.sum())
        price = item_price[item_idx[buys]]
        discount = np.where(weights[s_day[e_sess[buys]]] > 2.5 * weights.mean(), 0.8, 1.0)
        amount = np.round(qty * price * discount, 2)
        status = np.where(rng.random(buys.sum()) < 0.04, "refunded", "paid")
        order_ids = np.char.add("O", np.char.add(np.char.zfill(uid[buys].astype(str), 7),
                                np.char.add("-", np.arange(buys.sum()).astype(str))))
        orders = pa.table({
            "order_id": order_ids, "user_id": user_ids[buys],
            "order_ts": pa.array((ts[buys] + 20) * 1_000_000, pa.timestamp("us", tz="UTC")),
            "status": status, "amount": amount, "channel": CHANNELS[chan[buys]],
        })
        order_items = pa.table({
            "order_id": order_ids, "item_id": items.column("item_id").take(item_idx[buys]),
            "qty": qty.astype(float), "price": np.round(price * discount, 2),
        })
        yield {"events": events, "orders": orders, "order_items": order_items,
               "customers": _customers(spec, rng, users, user_ids, s_user, s_day, e_sess)}
    yield {"ad_spend": _ad_spend(spec, visitors_per_day, info)}


def _pick_items(by_cat: list[np.ndarray], cats: np.ndarray, pick: np.ndarray) -> np.ndarray:
    out = np.empty(len(cats), np.int64)
    for c in np.unique(cats):
        idx = np.flatnonzero(cats == c)
        pool = by_cat[c]
        # a few popular items per category: a Zipf-like skew
        out[idx] = pool[(pick[idx] ** 2.2 * len(pool)).astype(np.int64)]
    return out


def _ad_campaign(chan: np.ndarray, uid: np.ndarray) -> np.ndarray:
    out = np.full(len(chan), "", dtype=object)
    for ci, name in enumerate(CHANNELS):
        options = AD_CAMPAIGNS[name]
        if options:
            mask = chan == ci
            out[mask] = np.array(options, dtype=object)[uid[mask] % len(options)]
    return out.astype(str)


def _customers(spec, rng, users, user_ids, s_user, s_day, e_sess) -> pa.Table:
    n = len(users["uid"])
    first_day = np.full(n, spec.days, np.int64)
    np.minimum.at(first_day, s_user, s_day)
    ids = np.char.add("U", np.char.zfill(users["uid"].astype(str), 7))
    reg = spec.start - dt.timedelta(days=400)
    reg_day = np.maximum(first_day - rng.integers(0, 400, n), -400)
    birth = np.datetime64("1965-01-01") + rng.integers(0, 365 * 40, n).astype("timedelta64[D]")
    phone = [f"1{p:010d}" for p in rng.integers(3_000_000_000, 9_999_999_999, n)]
    return pa.table({
        "user_id": ids,
        "register_ts": pa.array([dt.datetime.combine(spec.start + dt.timedelta(days=int(d)), dt.time(12),
                                                    tzinfo=dt.UTC) if d >= 0 else
                                 dt.datetime.combine(reg, dt.time(12), tzinfo=dt.UTC)
                                 for d in reg_day], pa.timestamp("us", tz="UTC")),
        "birthday": pa.array(birth.astype("datetime64[D]"), pa.date32()),
        "birthday_is_lunar": rng.random(n) < 0.1,
        "member_level": np.array(["普通", "银卡", "金卡", "钻石"])[rng.choice(4, n, p=[0.6, 0.25, 0.12, 0.03])],
        "phone": phone,
        "email": [f"user{u}@example.com" for u in users["uid"]],
        "address": [f"上海市浦东新区示例路{u % 999 + 1}号" for u in users["uid"]],
    })


def _ad_spend(spec: ShopSpec, visitors: np.ndarray, info: list[dict]) -> pa.Table:
    rows = []
    cpc = {"search_ad": 1.8, "feed_ad": 0.9, "social": 2.6, "sms": 0.05}
    for d in range(spec.days):
        for ci, name in enumerate(CHANNELS):
            for camp in AD_CAMPAIGNS[name]:
                share = 1 / max(1, len(AD_CAMPAIGNS[name]))
                clicks = int(visitors[d, ci] * share * 1.4)
                rows.append({"date": info[d]["date"], "channel": name, "ad_campaign": camp,
                             "impressions": clicks * 35, "clicks": clicks,
                             "cost": round(clicks * cpc[name], 2)})
    return pa.Table.from_pylist(rows)


def outreach_orders(user_ids: list[str], start: dt.date, days: int, rate: float,
                    mean_amount: float, seed: int = 7) -> pa.Table:
    """A planted effect of outreach: each contacted customer places an extra paid order
    within `days` of `start` with probability `rate` (amount ~ exponential, mean
    `mean_amount`), on top of whatever they would have bought anyway. So the true lift
    in orders per customer is `rate`, in revenue `rate × mean_amount`: what `actions
    measure` must recover within its interval."""
    rng = np.random.default_rng(seed)
    users = np.array(sorted(user_ids), dtype=object)
    hit = users[rng.random(len(users)) < rate]
    n = len(hit)
    offsets = rng.integers(0, days, n) * 86_400 + rng.integers(9 * 3600, 22 * 3600, n) - 8 * 3600
    base = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp())
    return pa.table({
        "order_id": [f"R{seed}-{i:07d}" for i in range(n)],
        "user_id": pa.array(hit.tolist(), pa.string()),
        "order_ts": pa.array((base + offsets) * 1_000_000, pa.timestamp("us", tz="UTC")),
        "status": ["paid"] * n,
        "amount": np.round(1 + rng.exponential(mean_amount - 1, n), 2),
        "channel": ["sms"] * n,
    })


def write_raw(spec: ShopSpec, out: Path) -> dict[str, list[Path]]:
    """Write the shop as Parquet files, one per table and chunk."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    for n, chunk in enumerate(generate(spec)):
        for table, data in chunk.items():
            path = out / f"{table}-{n:04d}.parquet"
            pq.write_table(data, path)
            written.setdefault(table, []).append(path)
    return written


def write_logs(spec: ShopSpec, out: Path, rotate_bytes: int = 8 << 20) -> dict[str, list[Path]]:
    """Behaviour as a web server would log it — JSON lines, rotated by size
    (events.log.N … events.log.1, events.log the newest) — and the other tables as
    Parquet, as a shop's database would hand them over."""
    logs, tables = out / "logs", out / "tables"
    logs.mkdir(parents=True, exist_ok=True)
    tables.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    written: dict[str, list[Path]] = {"logs": [], "tables": []}
    current, size = None, 0
    for n, chunk in enumerate(generate(spec)):
        for table, data in chunk.items():
            if table != "events":
                path = tables / f"{table}-{n:04d}.parquet"
                pq.write_table(data, path)
                written["tables"].append(path)
                continue
            data = data.sort_by("ts")
            ts = data.column("ts").cast(pa.int64()).to_numpy() // 1_000_000
            cols = {c: data.column(c).to_pylist() for c in data.column_names if c != "ts"}
            for i in range(data.num_rows):
                if current is None or size >= rotate_bytes:
                    if current is not None:
                        current.close()
                    part = logs / f"part-{len(parts):05d}"
                    parts.append(part)
                    current, size = open(part, "w", encoding="utf-8"), 0  # noqa: SIM115
                record = {c: v[i] for c, v in cols.items() if v[i] not in (None, "")}
                record["ts"] = dt.datetime.fromtimestamp(int(ts[i]), dt.UTC).isoformat()
                line = json.dumps(record, ensure_ascii=False) + "\n"
                current.write(line)
                size += len(line)
    if current is not None:
        current.close()
    # logrotate's names: the newest is events.log, older ones events.log.1, .2 …
    for age, part in enumerate(reversed(parts)):
        dest = logs / ("events.log" if age == 0 else f"events.log.{age}")
        part.rename(dest)
        written["logs"].append(dest)
    return written

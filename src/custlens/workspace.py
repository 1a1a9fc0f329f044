"""The Python API, for notebooks and scripts; the CLI is a thin shell over it.

    from custlens import Workspace
    ws = Workspace(lake="lake")
    ws.import_file("taobao", "UserBehavior.csv")
    ws.segments().to_pandas()
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from custlens import console, schema, views
from custlens.act import alerts, lists, plans, playbook, targets
from custlens.act.measure import Measured, measure
from custlens.analysis import segments
from custlens.analysis.monitor import KPIS
from custlens.collect import importers
from custlens.collect.generate import ShopSpec, write_raw
from custlens.collect.importers import ImportOptions, ImportResult
from custlens.config import Settings, apply_lake_presets, load_settings, record_shop_preset
from custlens.engine import open_engine
from custlens.engine.base import Engine
from custlens.errors import CustlensError
from custlens.i18n import pick
from custlens.lake import Batch, DuckDBLimits, Lake
from custlens.warehouse import registry
from custlens.warehouse.build import BuildReport, build
from custlens.warehouse.context import sql_text

if TYPE_CHECKING:
    from custlens.engine.hive import Registered

PRESETS = ("taobao", "online-retail", "cdnow")
KPI_ORDER = tuple(KPIS)
FUNNEL_BREAKDOWNS = views.VIEWS["funnel"].choices[0].values
# the eight names: buyers per name in cluster mode (tiers added up) beside rule mode's
SEGMENT_NAMES_SQL = """
            WITH names AS (SELECT * FROM (VALUES {names}) AS t(segment, segment_en, segment_rank)),
            cl AS (SELECT segment, count(*) AS customers, count(DISTINCT tier) AS tiers
                   FROM ads_rfm GROUP BY segment),
            ru AS (SELECT rule_segment AS segment, count(*) AS rule_customers
                   FROM ads_rfm GROUP BY rule_segment)
            SELECT n.segment, n.segment_en, coalesce(cl.customers, 0) AS customers,
                   coalesce(cl.tiers, 0) AS tiers, coalesce(ru.rule_customers, 0) AS rule_customers
            FROM names n LEFT JOIN cl USING (segment) LEFT JOIN ru USING (segment)
            ORDER BY n.segment_rank"""
# clusters × the names their members get one by one (rule mode): how mixed each cluster is
SEGMENT_CROSSTAB_SQL = """
            SELECT cluster, segment_label, segment_label_en, rule_segment,
                   CASE rule_segment {english} END AS rule_segment_en, customers FROM (
                SELECT cluster, segment_label, segment_label_en, rule_segment, count(*) AS customers,
                       min(CASE segment {rank} END) AS name_rank, min(CASE rule_segment {rank} END) AS rule_rank
                FROM ads_rfm GROUP BY cluster, segment_label, segment_label_en, rule_segment)
            ORDER BY cluster NULLS LAST, name_rank, segment_label, rule_rank"""
SEGMENT_VIEWS = ("segments", "k", "crosstab", "names")
GENERIC = ("events", "orders", "order-items", "customers", "items", "ad-spend", "identity",
           "action-receipts", "optouts")


class Workspace:
    def __init__(self, lake: str | Path | None = None, config: str | Path | None = None,
                 engine: str | None = None, lang: str | None = None,
                 settings: Settings | None = None) -> None:
        self.settings = settings or load_settings(
            Path(config) if config else None, Path(lake) if lake else None)
        if engine or lang:
            self.settings = self.settings.with_overrides(engine=engine, lang=lang)
        self.lake = Lake(self.settings.lake, DuckDBLimits(**self.settings.get("duckdb")))
        self.lake.check_format()  # a lake from a newer custlens: say so before misreading it
        self._engine: Engine | None = None
        self._reader: Engine | None = None
        self.last_build: BuildReport | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_engine(self.settings.data["engine"], self.lake, self.settings.get("spark"))
        return self._engine

    @property
    def reader(self) -> Engine:
        """An embedded DuckDB over the lake's published tables, for quick interactive reads
        (the web API) whichever engine builds them: a Spark job per request is too slow."""
        if self.settings.data["engine"] == "duckdb":
            return self.engine
        if self._reader is None:
            self._reader = open_engine("duckdb", self.lake)
        return self._reader

    def close(self) -> None:
        for engine in (self._engine, self._reader):
            if engine is not None:
                engine.close()
        self._engine = self._reader = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- loading -------------------------------------------------------------------
    def import_file(self, kind: str, path: str | Path, **opts: Any) -> list[ImportResult]:
        path = Path(path)
        if not path.is_file():
            raise CustlensError(f"file not found: {path}")
        if kind == "taobao":
            results = [importers.import_taobao(self.lake, path)]
        elif kind == "online-retail":
            results = importers.import_online_retail(self.lake, path)
        elif kind == "cdnow":
            results = [importers.import_cdnow(self.lake, path)]
        elif kind in GENERIC:
            options = ImportOptions(**{"tz": self.settings.tz, **opts})
            results = [importers.ingest(self.lake, kind.replace("-", "_"), path, options,
                                        self.settings.tz)]
        else:
            raise CustlensError(f"unknown import kind {kind!r}",
                                hint=f"one of: {', '.join(PRESETS + GENERIC)}")
        if kind in PRESETS:
            apply_lake_presets(self.settings)  # keeps --config, --engine, --lang as given
        self._refresh()
        return results

    def import_export(self, path: str | Path, preset: str | None = None, **opts: Any):
        """A seller back-end export (Taobao/Tmall, JD, 拼多多, 抖店, 有赞, Shopify), its layout
        detected (or the named preset's checked): (what was recognised, how it was read,
        the batches)."""
        from custlens.collect.exports import import_export

        path = Path(path)
        if not path.is_file():
            raise CustlensError(f"file not found: {path}")
        found, converted, results = import_export(self.lake, path, self.settings.tz, preset,
                                                  currency=self.settings.get("shop.currency"), **opts)
        self._refresh()
        return found, converted, results

    def generate(self, spec: ShopSpec, out: Path | None = None) -> list[ImportResult]:
        """Generate a shop; into the lake, or as raw Parquet files under `out`."""
        if out is not None:
            write_raw(spec, out)
            return []
        record_shop_preset(self.lake.root, {"timezone": "Asia/Shanghai", "currency": "CNY",
                                            "orders_from": "orders"})
        results = []
        tmp_root = self.lake.ops("tmp")
        tmp_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tmp_root) as tmp:
            files = write_raw(spec, Path(tmp))
            for table, paths in files.items():
                for path in paths:
                    opts = ImportOptions(tz="Asia/Shanghai")
                    results.append(importers.ingest(self.lake, table, path, opts,
                                                    "Asia/Shanghai", kind="generate"))
        self._refresh()
        return results

    def _refresh(self) -> None:
        if self._engine is not None:
            self._engine.refresh()

    # ---- building and reading ------------------------------------------------------
    def build(self, targets: list[str] | None = None, as_of: dt.date | None = None,
              since: dt.date | None = None, force: bool = False) -> BuildReport:
        self.last_build = build(self.lake, self.settings, self.engine, targets, as_of, since, force)
        if self._reader is not None:
            self._reader.refresh()
        if self.last_build.built and self.engine.name == "spark" and self.settings.get("spark.metastore") != "off":
            self._register_after_build()
        return self.last_build

    def register_tables(self) -> Registered:
        """Register the published tables in the Hive metastore (the Spark engine's)."""
        from custlens.engine.hive import refuse_if_served, register

        if self.settings.data["engine"] != "spark":
            raise CustlensError("the Hive metastore is the Spark engine's", hint="use --engine spark")
        metastore = self.settings.get("spark.metastore")
        if metastore == "off":
            raise CustlensError("spark.metastore is off", hint='set spark.metastore = "embedded" or "external"')
        if metastore == "embedded":
            refuse_if_served(self.lake)  # before a Spark session is started only to be refused
        return register(self.engine, registry.comments())  # type: ignore[arg-type]

    def _register_after_build(self) -> None:
        from custlens.engine.hive import MetastoreBusy

        try:
            done = self.register_tables()
        except MetastoreBusy:
            console.warn("the embedded Hive metastore is held by a running Thrift server; it "
                         "re-points the tables to this build itself within "
                         f"{self.settings.get('spark.thrift_poll_seconds')} s")
            return
        if done.created or done.dropped:
            console.info(f"metastore: {len(done.created)} tables (re)registered in {done.database}, "
                         f"{len(done.unchanged)} unchanged")

    def read(self, table: str, as_of: dt.date | None = None, since: dt.date | None = None,
             order_by: str | None = None, where: str | None = None) -> pa.Table:
        """A table by name, after bringing it up to date."""
        if table in registry.models():
            self.build([table], as_of, since)
        elif table not in registry.SOURCES:
            raise CustlensError(f"no table {table!r}",
                                hint=f"tables: {', '.join(registry.SOURCES + tuple(registry.models()))}")
        query = (f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")
                 + (f" ORDER BY {order_by}" if order_by else ""))
        return self.engine.query(query)

    def sql(self, query: str) -> pa.Table:
        """Any query over the warehouse tables by name; the tables it names are built first."""
        named = [m for m in registry.models() if re.search(rf"\b{m}\b", query, re.IGNORECASE)]
        if named:
            self.build(named)
        return self.engine.query(query)

    def segments(self, as_of: dt.date | None = None, since: dt.date | None = None) -> pa.Table:
        return self.read("ads_segments", as_of, since, order_by="segment_rank, tier")

    def segment_view(self, view: str = "segments", as_of: dt.date | None = None,
                     since: dt.date | None = None) -> pa.Table:
        """The segment table, or how it came about: `k` (the indices for k = 2..10 beside
        the choice), `crosstab` (clusters × their members' own rule names), `names` (the
        eight names: buyers in cluster mode beside rule mode)."""
        _check_choice("--view", view, SEGMENT_VIEWS)
        if view == "segments":
            return self.segments(as_of, since)
        self.build(["ads_rfm"], as_of, since)
        sql = segment_view_sql(view)
        return k_table(self.rfm_notes()) if sql is None else self.engine.query(sql)

    def segment_caption(self, lang: str | None = None) -> str:
        """Which k and why, in one line (the segment table's caption everywhere)."""
        notes, lang = self.rfm_notes(), lang or self.settings.lang
        if notes.get("mode") == "rules" or not notes.get("k"):
            return pick(lang, "规则分群：每位客户按自己的 R/F/M 与购买客户均值比较命名",
                        "rule mode: each customer named by its own R/F/M against the buyers' means")
        reason = notes["k_reason_zh"] if lang == "zh" else notes["k_reason"]
        stability = notes.get("stability")
        tail = "" if stability is None else pick(lang, f"；稳定性 ARI {stability:.2f}",
                                                  f"; stability ARI {stability:.2f}")
        return f"K-means k={notes['k']}：{reason}{tail}" if lang == "zh" else \
            f"K-means k={notes['k']}: {reason}{tail}"

    def rfm(self, as_of: dt.date | None = None, since: dt.date | None = None) -> pa.Table:
        return self.read("ads_rfm", as_of, since, order_by="user_id")

    def view(self, name: str, as_of: dt.date | None = None, since: dt.date | None = None,
             where: str = "", **choices: str | None) -> pa.Table:
        """An analysis by its one definition (custlens.views): its table brought up to date,
        filtered by the choices (defaults filled in), in the view's row order."""
        v = views.view(name)
        chosen = v.choose(choices)
        self.build([v.table], as_of, since)
        return self.engine.query(v.sql(chosen, where))

    def class_summary(self, as_of: dt.date | None = None, since: dt.date | None = None) -> pa.Table:
        return self.view("classes", as_of, since)

    # ---- analyses (each an ADS table; see its model for the definitions) ---------------
    def periods(self, as_of: dt.date | None = None) -> pa.Table:
        """Every period instance: campaign phases, promo days, holidays, months of daily days."""
        return self.view("periods", as_of)

    def period_kinds(self, as_of: dt.date | None = None) -> pa.Table:
        return self.view("period_kinds", as_of)

    def campaign_carts(self, as_of: dt.date | None = None) -> pa.Table:
        return self.read("ads_campaign_carts", as_of, order_by="peak_date")

    def campaign_only(self, as_of: dt.date | None = None, since: dt.date | None = None) -> pa.Table:
        """Buyers whose every order fell in a campaign: reach them before the next one."""
        self.build(["ads_rfm"], as_of, since)
        return self.engine.query(
            "SELECT user_id, recency_days, frequency, monetary, segment, segment_en, class "
            "FROM ads_rfm WHERE is_campaign_only ORDER BY monetary DESC, user_id")

    def funnel(self, by: str = "all", as_of: dt.date | None = None,
               since: dt.date | None = None) -> pa.Table:
        return self.view("funnel", as_of, since, by=by)

    def hourly(self, as_of: dt.date | None = None, since: dt.date | None = None) -> pa.Table:
        return self.read("ads_hourly", as_of, since, order_by="weekday, hour")

    def repurchase(self, level: str = "category", as_of: dt.date | None = None,
                   since: dt.date | None = None) -> pa.Table:
        return self.view("repurchase", as_of, since, level=level)

    def membership_invites(self, as_of: dt.date | None = None,
                           since: dt.date | None = None) -> pa.Table:
        return self.read("ads_membership_invites", as_of, since,
                         order_by="level, key, is_repeat_buyer DESC, orders DESC, user_id")

    def purchase_due(self, as_of: dt.date | None = None, since: dt.date | None = None) -> pa.Table:
        return self.read("ads_purchase_due", as_of, since, order_by="days_until_due, user_id")

    def channels(self, attribution: str | None = None, as_of: dt.date | None = None,
                 since: dt.date | None = None) -> pa.Table:
        attribution = attribution or self.settings.get("channels.attribution")
        return self.view("channels", as_of, since, attribution=attribution)

    def retention(self, by: str = "month", as_of: dt.date | None = None) -> pa.Table:
        return self.view("retention", as_of, by=by)

    def clv(self, as_of: dt.date | None = None, since: dt.date | None = None) -> pa.Table:
        """Per buyer: BG/NBD + Gamma-Gamma predictions; the parameters are in clv_notes()."""
        return self.view("clv", as_of, since)

    def migration(self, start: dt.date, end: dt.date) -> tuple[pa.Table, pa.Table]:
        """Segments at two dates: the from × to matrix, and who fell from 重要价值客户.

        Each date is its own RFM build (segments are named by their own R/F/M against that
        date's means), so names compare, not cluster numbers. A customer who had not bought
        yet at the first date is `(new)`; the last build stays the one at `end`.
        """
        if start >= end:
            raise CustlensError(f"--from {start} must be before --to {end}")
        before = self.rfm(as_of=start).select(["user_id", "segment", "segment_en"])
        after = self.rfm(as_of=end).select(["user_id", "segment", "segment_en", "recency_days",
                                            "frequency", "monetary"])
        self.engine.register_arrow("migration_before", before)
        self.engine.register_arrow("migration_after", after)
        matrix = self.engine.query("""
            SELECT coalesce(b.segment, '(new)') AS from_segment, a.segment AS to_segment,
                   count(*) AS customers
            FROM migration_after a LEFT JOIN migration_before b USING (user_id)
            GROUP BY ALL ORDER BY from_segment, customers DESC""")
        fell = self.engine.query("""
            SELECT a.user_id, b.segment AS from_segment, a.segment AS to_segment, a.segment_en,
                   a.recency_days, a.frequency, a.monetary
            FROM migration_after a JOIN migration_before b USING (user_id)
            WHERE b.segment = '重要价值客户' AND a.segment <> '重要价值客户'
            ORDER BY a.monetary DESC, a.user_id""")
        return matrix, fell

    # ---- acting on it (custlens actions …) ---------------------------------------------
    def plan_actions(self, as_of: dt.date | None = None, replace: bool = False) -> plans.Plan:
        """Plan the playbook's contacts for a date (default: the day after the data)."""
        report = self.build(list(targets.NEEDS), as_of)
        day = as_of or report.as_of
        if day is None:
            raise CustlensError("no analysis date: the lake holds no events or orders yet",
                                hint="import events or orders first, or give the plan date")
        plan = plans.make(self.lake, self.engine, self.settings, day, replace)
        self._refresh()
        return plan

    def action_plans(self) -> pa.Table:
        return plans.history(self.lake)

    def plan_summary(self, plan: str = "latest") -> tuple[Batch, pa.Table]:
        batch = plans.find(self.lake, plan)
        return batch, plans.summary_of(batch)

    def action_list(self, plan: str = "latest", action: str | None = None,
                    operator: str | None = None, holdout: bool = False,
                    lang: str | None = None, show_personal: bool = True) -> pa.Table:
        """A plan's contacts with why, message and contact fields (contact fields unmasked:
        mask to show; details derived from personal data masked unless `show_personal`)."""
        batch = plans.find(self.lake, plan)
        self.build(["ads_action_plan", "dwd_customers"])
        return lists.listing(self.engine, batch.options["plan_id"], self.playbook(),
                             lang or self.settings.lang, action, operator, holdout,
                             self.settings.get("shop.currency"), show_personal)

    def playbook(self) -> list[playbook.Action]:
        return playbook.load(dict(self.settings.get("actions")))

    def record_receipts(self, path: str | Path, **opts: Any) -> list[ImportResult]:
        """Send receipts, deliveries, redemptions, 退订 replies: one idempotent batch."""
        return self.import_file("action-receipts", path, **opts)

    def opt_out(self, user_ids: list[str], channel: str = "all", reason: str | None = None,
                withdraw: bool = False) -> Batch:
        """Record a do-not-contact (退订) for the customers on a channel or on all of them."""
        if channel not in (*schema.CONTACT_CHANNELS, "all"):
            raise CustlensError(f"--channel {channel!r} is not one of all, "
                                f"{', '.join(schema.CONTACT_CHANNELS)}")
        now = dt.datetime.now(dt.UTC)
        table = pa.Table.from_pylist(
            [{"user_id": u, "contact_channel": channel, "ts": now, "reason": reason,
              "withdrawn": withdraw} for u in user_ids], schema=schema.spec("optouts").schema)
        digest = hashlib.sha256(f"{user_ids}|{channel}|{withdraw}|{now.isoformat()}".encode()).hexdigest()
        batch, _ = self.lake.commit_arrow("optouts", table, "custlens actions optout", digest,
                                          {"kind": "optout"})
        self._refresh()
        return batch

    def measure(self, plan: str = "latest", days: int | None = None) -> Measured:
        """Planned against holdout in the follow-up window (intent to treat)."""
        batch = plans.find(self.lake, plan)
        self.build(["ads_action_plan", "ads_action_receipts", "dwd_orders"])
        days = int(days or self.settings.get("actions.follow_up_days"))
        return measure(self.engine, batch.options["plan_id"],
                       dt.date.fromisoformat(batch.options["as_of"]), days)

    def forget(self, user_id: str):
        """Remove a person from every layer, ODS included; recorded without the id."""
        from custlens.forget import forget
        from custlens.store import open_store

        store = open_store(self.lake, self.settings.get("serve.store"))
        result = forget(self.lake, self.engine, user_id, store)
        self._engine = None  # forget closed it: the files changed under it
        return result

    def publish_profiles(self) -> str:
        """Build ads_profile if stale and publish it to the profile store (serve.store)."""
        from custlens.store import open_store, publish_profiles

        self.build(["ads_profile"])
        return publish_profiles(self.lake, self.reader, open_store(self.lake, self.settings.get("serve.store")))

    # ---- monitoring ------------------------------------------------------------------
    def monitor(self, date: dt.date | None = None, since: dt.date | None = None,
                all_rows: bool = False, as_of: dt.date | None = None) -> pa.Table:
        """ads_monitor for one day (default: the last complete day of data) or every day
        from `since`; anomalies only unless `all_rows`."""
        if date and since:
            raise CustlensError("--date and --since: give one of them")
        self.build(["ads_monitor"], as_of)
        if since:
            where = f"date >= DATE '{since.isoformat()}'"
        else:
            day = date or self.last_complete_day()
            where = f"date = DATE '{day.isoformat()}'" if day else "false"
        if not all_rows:
            where += " AND is_anomaly"
        order = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(KPI_ORDER))
        return self.engine.query(
            f"SELECT * FROM ads_monitor WHERE {where} "
            f"ORDER BY date, scope <> 'all', scope, CASE kpi {order} END")

    def last_complete_day(self) -> dt.date | None:
        """The latest monitored date before today in the shop's time zone that is not a
        partial day (today is not over: its figures would read as a drop)."""
        from zoneinfo import ZoneInfo

        today = dt.datetime.now(ZoneInfo(self.settings.tz)).date()
        self.build(["ads_monitor"])
        row = self.engine.query(  # a partial day (a spill past midnight) is not complete
            f"SELECT max(date) AS d FROM ads_monitor WHERE date < DATE '{today.isoformat()}' "
            "AND date NOT IN (SELECT date FROM ads_monitor WHERE note = 'partial_day')")
        return row.column(0)[0].as_py()

    def send_alerts(self, anomalies: pa.Table, after_detect: Any = None) -> alerts.Outcome:
        """Send anomalies by the `[[monitor.alerts]]` rules, each at most once (act/alerts.py)."""
        rules = alerts.parse_rules(self.settings.get("monitor.alerts"))
        if not rules:
            raise CustlensError("no alert rules: nothing would be sent",
                                hint="add [[monitor.alerts]] to custlens.toml (README: Monitoring)")
        delivery = alerts.Delivery(self.settings.lang, str(self.settings.get("shop.currency")),
                                   dict(self.settings.get("monitor.smtp")))
        return alerts.deliver(self.alert_ledger(), anomalies.to_pylist(), rules, delivery,
                              after_detect=after_detect)

    def alert_ledger(self) -> alerts.Ledger:
        return alerts.Ledger(self.lake.ops("alerts") / "ledger.jsonl")

    def clv_notes(self) -> dict[str, Any]:
        meta = self.lake.current("ads_clv")
        return meta.get("notes", {}) if meta else {}

    def rfm_notes(self) -> dict[str, Any]:
        meta = self.lake.current("ads_rfm")
        return meta.get("notes", {}) if meta else {}


def segment_view_sql(view: str) -> str | None:
    """The query behind a segment view over ads_rfm (None for `k`: it is the fit's notes)."""
    if view == "k":
        return None
    if view == "crosstab":
        english = " ".join(f"WHEN {sql_text(zh)} THEN {sql_text(en)}" for zh, en in segments.EN.items())
        return SEGMENT_CROSSTAB_SQL.format(rank=segments.rank_cases(), english=english)
    names = ", ".join(f"({sql_text(zh)}, {sql_text(en)}, {i})"
                      for i, (zh, en) in enumerate(segments.SEGMENTS.values()))
    return SEGMENT_NAMES_SQL.format(names=names)


def k_table(notes: dict[str, Any]) -> pa.Table:
    """The K-means diagnostics of the last ads_rfm build, one row per k."""
    rows = [{"k": d["k"], "inertia": d["inertia"], "silhouette": d["silhouette"],
             "calinski_harabasz": d["calinski_harabasz"], "min_share": d["min_share"],
             "stability": d.get("stability"), "chosen": d["k"] == notes.get("k")}
            for d in notes.get("diagnostics", [])]
    schema_ = pa.schema([("k", pa.int64()), ("inertia", pa.float64()), ("silhouette", pa.float64()),
                         ("calinski_harabasz", pa.float64()), ("min_share", pa.float64()),
                         ("stability", pa.float64()), ("chosen", pa.bool_())])
    return pa.Table.from_pylist(rows, schema=schema_)


def _check_choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise CustlensError(f"{flag}: {value!r} is not one of {', '.join(choices)}")

"""Settings: defaults < lake presets < custlens.toml < CUSTLENS_* environment < flags.

Config lives in ./custlens.toml (or --config / CUSTLENS_CONFIG); every key can be set
by CUSTLENS_<SECTION>__<KEY> (top-level keys: CUSTLENS_<KEY>).
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custlens.errors import CustlensError

DEFAULTS: dict[str, Any] = {
    "lake": "lake",
    "engine": "duckdb",
    "lang": "zh",
    "shop": {
        "timezone": "Asia/Shanghai",
        "currency": "CNY",
        # ISO 3166 code; outside CN no Chinese holidays, 双十一/618/双十二 or 1-1 … 10-10
        # promo days unless [calendar] lists them
        "country": "CN",
        # "orders": real order rows; "events": each `buy` event is an order and
        # M counts items (Taobao UserBehavior has no prices).
        "orders_from": "orders",
    },
    "segment": {
        "mode": "kmeans",  # or "rules"
        # 0: min(8, buyers // 50), lowered until every cluster holds >= 1 % of buyers;
        # "auto": the best silhouette over 4..8 (same small-shop rule); N: exactly N
        "k": 0,
        "seed": 42,
        "sample_size": 200_000,
        "silhouette_size": 5_000,
    },
    "classes": {
        # core = F >= 2 and M >= spend_threshold; "median" means the buyers' median M.
        "spend_threshold": "median",
        "lapse_days": 90,
    },
    "calendar": {
        "promo_days": [],  # extra "MM-DD" days; 1-1 … 10-10 are always promo days
        "campaigns": [],  # [{name, peak: "MM-DD", warmup: ["MM-DD", "MM-DD"]}]
        # public holidays chinese-calendar does not know (2027 on, or outside China):
        # "YYYY-MM-DD" or {date | start + end, name, name_en}; a year listed here is
        # taken from config alone, with its 调休 working weekend days in makeup_workdays
        "holidays": [],
        "makeup_workdays": [],
    },
    "periods": {
        # a period's lift is against the daily days this many days either side of it
        "baseline_days": 28,
        # carts added this many days before a campaign's peak count as "carted before it"
        "cart_window_days": 30,
    },
    "repurchase": {
        # membership candidates: enough buyers, many of whom come back for it, soon
        "min_buyers": 20,
        "min_rate": 0.3,
        "max_median_gap_days": 90,
    },
    "clv": {
        "unit": "week",  # BG/NBD's time unit: week (the literature's) or day
        "horizon_days": 90,  # expected purchases and value within this many days
        "sample_size": 20000,  # buyers the fit sees (drawn by a hash of user_id)
    },
    "actions": {
        "playbook": [],  # [[actions.playbook]] entries; empty: the shipped defaults (docs)
        "holdout": 0.1,  # share of each list kept out as a control group (per action: holdout)
        "seed": 7,  # the holdout draw: hash of (seed, plan date, action, user)
        "period_days": 7,  # a plan covers this many days: one action per customer per period
        "cap_days": 30,  # frequency caps count treated contacts of this many days before
        "caps": {"sms": 2, "customer_service": 1, "coupon": 2, "gift": 1, "email": 4},
        "follow_up_days": 30,  # `actions measure` compares orders within this many days
        "operators": [],  # who works the lists, by default (per action: operators)
    },
    "serve": {
        "store": "",  # the profile store: empty = a DuckDB file in the lake; or postgresql://…
        "session_hours": 12,
        "secure_cookies": True,  # off only behind plain http on a trusted network
        "login_attempts": 5,  # failed logins per name (and per name and address) within
        "login_window_minutes": 15,  # the window before each further one waits 1, 2, 4 … 60 s
        "login_rate": 10,  # login attempts a second, overall
        # addresses of reverse proxies whose X-Forwarded-For is believed; none by default,
        # so a client cannot name its own address
        "trusted_proxies": [],
        "docs": False,  # the OpenAPI page at /docs (loads Swagger UI from a CDN); /openapi.json always
    },
    "duckdb": {
        # what one DuckDB process may take; beyond it, it spills to `spill` (empty: the
        # lake's _ops/tmp). DuckDB's own default, 80 % of the machine, suits no laptop.
        "memory_limit": "2GB",
        "threads": 0,  # 0: every core
        "spill": "",
    },
    "spark": {
        "master": "local[2]",  # local[*], spark://host:7077, yarn, k8s://https://host:443
        # where Spark reads and writes the lake when not at its local path (the driver keeps
        # manifests and pointers on the local or mounted path): hdfs://nn:8020/lake, s3a://b/lake
        "lake_uri": "",
        # embedded: Spark's own Derby metastore in the lake's _ops/metastore (one process at a
        # time); external: conf's spark.hadoop.hive.metastore.uris; off: no registration
        "metastore": "embedded",
        "database": "custlens",
        "thrift_poll_seconds": 10,  # the Thrift server re-points tables to new builds this often
        "conf": {},  # any other Spark setting, by its own name (executor memory, YARN queue …)
    },
    "kafka": {
        # a real cluster's security, passed to the client as they are
        "security_protocol": "",  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
        "sasl_mechanism": "",  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
        "sasl_username": "",
        "sasl_password": "",  # or CUSTLENS_KAFKA__SASL_PASSWORD
        "ssl_ca_location": "",
        "ssl_certificate_location": "",
        "ssl_key_location": "",
        # a consumer silent this long leaves the group; both also bound how long a group join
        # waits for members (measured on the test broker: defaults of 45 s / 300 s → ~23 s)
        "session_timeout_ms": 6000,
        "max_poll_interval_ms": 30000,
        "client": {},  # any other librdkafka setting, by its own name
    },
    "identity": {
        "by_phone": True,  # customer records with one phone number are one person
    },
    "sync": {
        "password": "",  # the database password for custlens sync (or CUSTLENS_DB_PASSWORD)
    },
    "channels": {
        "attribution": "last",  # last, first or linear (all three are built)
        "lookback_days": 7,  # touches this many days before an order can earn it
    },
    "monitor": {
        # what each day is compared with (analysis/monitor.py says why)
        "lookback_days": 56,  # ordinary days that set the weekday rhythm
        "level_days": 14,  # the most recent ordinary days that set the level
        "min_history": 21,  # ordinary days before a first verdict
        "z": 4.0,  # the interval's half-width in robust standard deviations
        "min_count": 20,  # expected count or volume below this: no verdict
        "min_base": 100,  # a rate's denominator below this: no verdict
        "uplift_floor": 0.15,  # a special day's uplift varies at least this much (log)
        "top_categories": 10,  # category scopes: the categories with most events
        "alerts": [],  # [[monitor.alerts]] rules (README "Monitoring and alerts")
        "smtp": {"host": "", "port": 25, "user": "", "sender": "custlens@localhost",
                 "starttls": False},  # password: CUSTLENS_SMTP_PASSWORD
    },
}

ENV_PREFIX = "CUSTLENS_"
PRESET_FILE = "_ops/shop.json"


@dataclass
class Settings:
    """Resolved settings plus where the lake is."""

    data: dict[str, Any]
    explicit: set[str] = field(default_factory=set)

    def get(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            node = node[part]
        return node

    @property
    def lake(self) -> Path:
        return Path(self.data["lake"])

    @property
    def tz(self) -> str:
        return str(self.get("shop.timezone"))

    @property
    def lang(self) -> str:
        return str(self.data["lang"])

    def with_overrides(self, **dotted: Any) -> Settings:
        data = copy.deepcopy(self.data)
        for key, value in dotted.items():
            if value is not None:
                _set(data, key.replace("__", "."), value)
        return Settings(data, self.explicit | {k.replace("__", ".") for k in dotted})


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


# settings passed on to another system by its own key names, which hold dots themselves
OPAQUE = frozenset({"kafka.client", "spark.conf"})


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in OPAQUE:
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _coerce(raw: str, like: Any) -> Any:
    if isinstance(like, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int) and not isinstance(like, bool):
        try:
            return int(raw)
        except ValueError:
            return raw
    if isinstance(like, float):
        return float(raw)
    if isinstance(like, list):
        return json.loads(raw) if raw.startswith("[") else [p for p in raw.split(",") if p]
    return raw


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    known = _flatten(DEFAULTS)
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "CUSTLENS_CONFIG":
            continue
        dotted = name[len(ENV_PREFIX):].lower().replace("__", ".")
        if dotted in known:
            out[dotted] = _coerce(raw, known[dotted])
    return out


def load_settings(
    config: Path | None = None,
    lake: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Resolve settings for one command run."""
    environ = dict(os.environ if environ is None else environ)
    data = copy.deepcopy(DEFAULTS)
    explicit: set[str] = set()
    path = config or (Path(environ["CUSTLENS_CONFIG"]) if environ.get("CUSTLENS_CONFIG") else None)
    if path is None and Path("custlens.toml").exists():
        path = Path("custlens.toml")
    if path is not None:
        if not path.exists():
            raise CustlensError(f"config file not found: {path}")
        try:
            parsed = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CustlensError(f"{path}: not valid TOML: {exc}") from exc
        for dotted, value in _flatten(parsed).items():
            _set(data, dotted, value)
            explicit.add(dotted)
    for dotted, value in _env_overrides(environ).items():
        _set(data, dotted, value)
        explicit.add(dotted)
    if lake is not None:
        data["lake"] = str(lake)
        explicit.add("lake")
    settings = Settings(data, explicit)
    apply_lake_presets(settings)
    _validate(settings)
    return settings


def apply_lake_presets(settings: Settings) -> None:
    """Fill shop settings not set explicitly from the lake's preset. A preset importer (Online Retail, Taobao) records its shop settings in the lake."""
    preset = settings.lake / PRESET_FILE
    if not preset.exists():
        return
    for dotted, value in _flatten({"shop": json.loads(preset.read_text())}).items():
        if dotted not in settings.explicit:
            _set(settings.data, dotted, value)


def _validate(settings: Settings) -> None:
    if settings.data["engine"] not in {"duckdb", "spark"}:
        raise CustlensError(f"engine must be duckdb or spark, not {settings.data['engine']!r}")
    if settings.get("spark.metastore") not in {"embedded", "external", "off"}:
        raise CustlensError(f"spark.metastore must be embedded, external or off, not {settings.get('spark.metastore')!r}")
    if settings.lang not in {"zh", "en"}:
        raise CustlensError(f"lang must be zh or en, not {settings.lang!r}")
    if settings.get("segment.mode") not in {"kmeans", "rules"}:
        raise CustlensError(f"segment.mode must be kmeans or rules, not {settings.get('segment.mode')!r}")
    settings.data["segment"]["k"] = segment_k(settings.get("segment.k"))
    if settings.get("shop.orders_from") not in {"orders", "events"}:
        raise CustlensError("shop.orders_from must be 'orders' or 'events'")
    if settings.get("channels.attribution") not in {"last", "first", "linear"}:
        raise CustlensError("channels.attribution must be last, first or linear, "
                            f"not {settings.get('channels.attribution')!r}")
    actions = settings.get("actions")
    if not 0 <= float(actions["holdout"]) < 1:
        raise CustlensError(f"actions.holdout must be a share in [0, 1), not {actions['holdout']!r}")
    for key in ("period_days", "cap_days", "follow_up_days"):
        if int(actions[key]) < 1:
            raise CustlensError(f"actions.{key} must be at least 1, not {actions[key]!r}")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.tz)
    except Exception as exc:
        raise CustlensError(f"shop.timezone: unknown time zone {settings.tz!r}") from exc


def segment_k(value: Any) -> int | str:
    """segment.k (or --k): a whole number ≥ 0 (0 = the default rule) or "auto"."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        k = int(str(value).strip())
    except ValueError:
        k = -1
    if k < 0 or isinstance(value, float | bool):
        raise CustlensError(f"segment.k must be a whole number ≥ 0 or \"auto\", not {value!r}",
                            hint="0 or absent: the default rule; auto: best silhouette over 4..8")
    return k


def record_shop_preset(lake: Path, shop: dict[str, Any]) -> None:
    """Remember a dataset preset's shop settings (time zone, currency, order source)."""
    path = lake / PRESET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(shop)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, ensure_ascii=False, indent=1))
    os.replace(tmp, path)

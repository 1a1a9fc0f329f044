"""The monitoring routes (dashboard page 监控): a KPI's daily series with its expected band,
the flagged days, and the alert history with acknowledgement.

Who may: admins and analysts (the figures are the shop's, not a person's). An
acknowledgement is written to the alert ledger (who, when) and to the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam

from custlens import i18n
from custlens.act import alerts
from custlens.analysis import monitor
from custlens.errors import CustlensError
from custlens.serve.deps import (
    Analysts,
    ApiError,
    EndQ,
    LangQ,
    StartQ,
    address,
    check_range,
    csrf,
    json_rows,
    lang_of,
    range_sql,
)
from custlens.sqltext import literal

KpiQ = Annotated[str, Query(pattern="^(" + "|".join(monitor.KPIS) + ")$")]
ScopeQ = Annotated[str, Query(max_length=128, pattern=r"^(all|(channel|class|category)=[\w.\-()]+)$")]
DEFAULT_DAYS = 56  # the page opens on the last eight weeks


def _labelled(rows: list[dict[str, Any]], lang: str, currency: str) -> list[dict[str, Any]]:
    for r in rows:
        r.update(i18n.monitor_labels(r, lang, currency))
    return rows


def monitor_routes(app: FastAPI, api: Any) -> None:
    @app.get("/api/monitor", tags=["monitoring"])
    async def series(_: Analysts, kpi: KpiQ = "gmv", scope: ScopeQ = "all",
                     start: StartQ = None, end: EndQ = None, lang: LangQ = None) -> dict[str, Any]:
        """One KPI × scope day by day with its expectation and interval (`series`), every
        anomaly of any KPI and scope in the range (`anomalies`), and the KPIs and scopes
        there are. Default range: the last eight weeks of data."""
        check_range(start, end)
        code = lang_of(api, lang)
        return api.cached(("monitor", kpi, scope, start, end, code),
                          lambda: _series(api, kpi, scope, start, end, code))

    @app.get("/api/monitor/alerts", tags=["monitoring"])
    def history(_: Analysts, lang: LangQ = None) -> list[dict[str, Any]]:
        """Every alert the rules matched, newest first: state (pending, sent, failed),
        attempts, the last error, and who acknowledged it when."""
        code = lang_of(api, lang)
        currency = str(api.ws.settings.get("shop.currency"))
        out = []
        for key, s in api.ws.alert_ledger().states().items():
            alert = dict(s.get("alert") or {})
            if alert:
                _labelled([alert], code, currency)
            out.append({"key": key, "state": s.get("state"), "at": s.get("at"),
                        "rule": s.get("rule"), "recipient": s.get("recipient"),
                        "attempts": s.get("attempts"), "error": s.get("error"),
                        "ack_by": s.get("ack_by"), "ack_at": s.get("ack_at"), "alert": alert})
        return sorted(out, key=lambda r: (str(r["alert"].get("date")), r["at"] or ""), reverse=True)

    @app.post("/api/monitor/alerts/{key}/ack", tags=["monitoring"], dependencies=[Depends(csrf)])
    def acknowledge(key: Annotated[str, PathParam(pattern="^[0-9a-f]{8,64}$")], user: Analysts,
                    request: Request) -> dict[str, Any]:
        """Mark an alert as seen and handled by the signed-in user (audit log: alert_acknowledged)."""
        try:
            done = alerts.acknowledge(api.ws.alert_ledger(), key, user.name)
        except CustlensError as exc:
            raise ApiError(404, str(exc)) from exc
        api.audit.event("alert_acknowledged", user.name, address(request), key)
        return {"key": key, "ack_by": done["ack_by"], "ack_at": done["ack_at"]}


def _series(api: Any, kpi: str, scope: str, start: dt.date | None, end: dt.date | None,
            lang: str) -> dict[str, Any]:
    last = api.query("SELECT max(date) FROM ads_monitor").column(0)[0].as_py()
    if last is None:
        return {"series": [], "anomalies": [], "kpis": [], "scopes": [], "last_day": None}
    end = end or last
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    days = range_sql("date", start, end)
    currency = str(api.ws.settings.get("shop.currency"))
    series = json_rows(api.query(
        f"SELECT date, kpi, scope, actual, expected, low, high, is_anomaly, direction, note, "
        f"day_kind, volume FROM ads_monitor WHERE kpi = {literal(kpi)} AND scope = {literal(scope)} "
        f"AND {days} ORDER BY date"))
    order = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(monitor.KPIS))
    anomalies = json_rows(api.query(
        f"SELECT date, kpi, scope, actual, expected, low, high, direction, driver, note "
        f"FROM ads_monitor WHERE is_anomaly AND {days} "
        f"ORDER BY date DESC, scope <> 'all', scope, CASE kpi {order} END"))
    scopes = api.query("SELECT DISTINCT scope FROM ads_monitor ORDER BY scope <> 'all', scope"
                       ).column(0).to_pylist()
    return {"series": _labelled(series, lang, currency),
            "anomalies": _labelled(anomalies, lang, currency),
            "kpis": [{"kpi": k, "name": i18n.kpi_name(k, lang), "unit": unit}
                     for k, (unit, _) in monitor.KPIS.items()],
            "scopes": [{"scope": s, "name": i18n.scope_name(s, lang)} for s in scopes],
            "start": start, "end": end, "last_day": last}

"""`custlens serve`: the JSON API and the dashboard, one FastAPI app.

Every page of the dashboard is drawn from an endpoint here (its JSON twin); OpenAPI docs
at /docs. Errors are JSON `{"error": …, "hint": …}` with their status (400 bad input, 401
not signed in, 403 not for this role, 404 not found, 422 malformed parameters, 429 too
many login attempts). Personal fields are masked on the server for anyone who may not
see them; every response that carries them unmasked goes to the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from custlens import console, i18n
from custlens.errors import CustlensError
from custlens.masking import mask_table, mask_value
from custlens.output import csv_bytes, write_xlsx
from custlens.schema import PERSONAL_FIELDS
from custlens.serve.api_monitor import monitor_routes
from custlens.serve.auth import Accounts, Audit, Sessions, Throttle, User
from custlens.serve.deps import (
    CSRF,
    MAX_SIZE,
    SESSION,
    Admins,
    Analysts,
    Anyone,
    ApiError,
    Download,
    EndQ,
    FormatQ,
    Lang,
    LangQ,
    PageQ,
    SizeQ,
    Staff,
    StartQ,
    address,
    check_range,
    csrf,
    json_rows,
    json_safe,
    lang_of,
    range_sql,
)
from custlens.store import SORTS, open_store, publish_profiles
from custlens.views import columns as view_columns
from custlens.views import view as analysis
from custlens.workspace import Workspace, k_table, segment_view_sql

WEB = Path(__file__).parent / "web"
class Login(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class NewUser(Login):
    role: str = Field(pattern="^(admin|analyst|operator)$")


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


class Api:
    """What the endpoints share: the workspace, the store, accounts and sessions."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        serve = ws.settings.get("serve")
        self.store = open_store(ws.lake, serve["store"])
        self.accounts = Accounts(ws.lake)
        self.sessions = Sessions(float(serve["session_hours"]), self.accounts)
        self.throttle = Throttle(int(serve["login_attempts"]), float(serve["login_window_minutes"]) * 60,
                                 float(serve["login_rate"]))
        self.audit = Audit(ws.lake)
        self.secure = bool(serve["secure_cookies"])
        self._lock = threading.Lock()
        self._local = threading.local()
        self._cache: dict[tuple, bytes] = {}
        self.generation = 0  # bumped by refresh: cached answers of older builds are dropped

    def refresh(self) -> None:
        """Bring the warehouse up to date, then publish the profiles if they changed."""
        with self._lock:
            self.ws.build()
            publish_profiles(self.ws.lake, self.ws.reader, self.store)
            self.generation += 1
            self._cache.clear()

    def query(self, sql: str) -> pa.Table:
        """A query on this thread's own cursor (DuckDB runs them in parallel)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None or self._local.generation != self.generation:
            cursor = self._local.cursor = self.ws.reader.con.cursor()  # type: ignore[attr-defined]
            self._local.generation = self.generation
        try:
            return cursor.sql(sql).to_arrow_table()
        except Exception as exc:  # a bad query is our bug, but say what it was
            raise CustlensError(f"query failed: {exc}") from exc

    def plans_of(self, user_id: str) -> list[dict[str, Any]]:
        """A customer's planned contacts, from an index of every plan row kept until a plan
        is added or withdrawn (plans are few; a query per profile look-up is not)."""
        folder = self.ws.lake.ops("batches")  # a new or withdrawn batch changes its mtime
        marker = (self.generation, folder.stat().st_mtime_ns if folder.exists() else 0)
        if getattr(self, "_plans_marker", None) != marker:
            with self._lock:
                self.ws.reader.refresh()  # a plan made since the server started
                self._local = threading.local()
            index: dict[str, list[dict[str, Any]]] = {}
            rows = self.query("SELECT user_id, plan_id, as_of, action, contact_channel, operator, "
                              "is_holdout, status FROM ads_action_plan ORDER BY as_of DESC, plan_id")
            for row in json_rows(rows):
                index.setdefault(row.pop("user_id"), []).append(row)
            self._plans, self._plans_marker = index, marker
        return self._plans.get(user_id, [])

    def paged(self, name: str, order: str, page: int, size: int) -> tuple[pa.Table, int]:
        """One page of a table, and how many rows it has."""
        total = self.query(f"SELECT count(*) FROM {name}").column(0)[0].as_py()
        rows = self.query(f"SELECT * FROM {name} ORDER BY {order} LIMIT {size} OFFSET {(page - 1) * size}")
        return rows, total

    def _forgets(self) -> tuple[int, int]:
        log = self.ws.lake.ops("forgotten.jsonl")
        st = log.stat() if log.exists() else None
        return (st.st_size, st.st_mtime_ns) if st else (0, 0)

    def cached(self, key: tuple, make: Any) -> Any:
        """An analysis answer as JSON bytes, kept until the next build is published: the
        analyses change only then, so repeating the query and the encoding is waste. A
        forget (from the CLI, while this server runs) drops every cached answer at once."""
        forgets = self._forgets()
        if forgets != getattr(self, "_forgets_seen", forgets):
            with self._lock:
                self._cache.clear()
                self.generation += 1
        self._forgets_seen = forgets
        hit = self._cache.get(key)
        if hit is None:
            answer = make()
            if not isinstance(answer, dict | list):
                return answer  # a download: made afresh each time
            hit = json.dumps(answer, ensure_ascii=False, default=_json_default).encode("utf-8")
            if len(self._cache) >= CACHE_ENTRIES:  # oldest first: dicts keep insertion order
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = hit
        return Response(hit, media_type="application/json")

    def table(self, table: pa.Table, lang: str, fmt: Download, name: str,
              page: int = 1, size: int = MAX_SIZE, total: int | None = None) -> Any:
        if fmt is Download.csv:
            return Response(b"\xef\xbb\xbf" + csv_bytes(table), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        if fmt is Download.xlsx:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"{name}.xlsx"
                write_xlsx(table, path)
                data = path.read_bytes()
            return Response(data, media_type="application/vnd.openxmlformats-officedocument."
                            "spreadsheetml.sheet",
                            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
        return {"columns": [view_columns.meta(c, lang) for c in table.column_names],
                "rows": json_rows(table), "total": table.num_rows if total is None else total,
                "page": page, "size": size}


# the page and its scripts come from this server only; no framing, no type sniffing, no
# referrer to other sites. The docs page (serve.docs) needs the CDN, so it is off by default.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
                               "'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CACHE_ENTRIES = 512  # cached answers kept (filters make the keys; each build clears them)


def create_app(ws: Workspace, refresh: bool = True) -> FastAPI:
    api = Api(ws)
    if refresh:
        api.refresh()
    docs = bool(ws.settings.get("serve.docs"))  # Swagger's page loads its assets from a CDN
    app = FastAPI(title="custlens", version="0.1.0",
                  description="E-commerce customer analysis: the JSON twin of every dashboard page.",
                  docs_url="/docs" if docs else None, redoc_url=None)
    app.state.api = api

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"  # answers may hold personal data
        return response
    _errors(app)
    _auth_routes(app, api)
    _analysis_routes(app, api)
    monitor_routes(app, api)
    _people_routes(app, api)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB / "index.html")

    return app


def _error(status: int, message: str, hint: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "hint": hint}, status_code=status)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.hint)

    @app.exception_handler(CustlensError)
    def user_error(request: Request, exc: CustlensError) -> JSONResponse:
        message = str(exc.args[0] if exc.args else exc)
        if message.startswith("query failed"):  # our bug, and its text names files: log it
            console.warn(f"{request.url.path}: {message}")
            return _error(500, "internal error: a query failed (the server log has the details)")
        root = str(request.app.state.api.ws.lake.root)
        return _error(400, message.replace(root, "<lake>"), getattr(exc, "hint", None))

    @app.exception_handler(RequestValidationError)
    def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _error(422, f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))


def _auth_routes(app: FastAPI, api: Api) -> None:
    @app.get("/api/csrf", tags=["session"])
    def csrf_token() -> JSONResponse:
        """A CSRF token for the login form (also set as a cookie)."""
        import secrets

        token = secrets.token_urlsafe(24)
        response = JSONResponse({"csrf": token})
        response.set_cookie(CSRF, token, httponly=False, samesite="strict", secure=api.secure)
        return response

    @app.post("/api/login", tags=["session"], dependencies=[Depends(csrf)])
    def login(body: Login, request: Request) -> JSONResponse:
        ip = address(request)
        wait = api.throttle.begin(body.name, ip)  # counted before the password is
        if wait:
            api.audit.event("login_throttled", body.name, ip)
            return JSONResponse({"error": "too many failed logins; try again later", "hint": None},
                                status_code=429, headers={"Retry-After": str(wait)})
        user = api.accounts.check(body.name, body.password)
        if user is None:
            api.audit.event("login_failed", body.name, ip)
            raise ApiError(401, "wrong name or password")
        api.throttle.succeeded(body.name, ip)
        api.audit.event("login_ok", user.name, ip)
        token, token_csrf = api.sessions.open(user)
        response = JSONResponse({"name": user.name, "role": user.role, "csrf": token_csrf})
        response.set_cookie(SESSION, token, httponly=True, samesite="strict", secure=api.secure,
                            max_age=int(api.sessions.seconds))
        return response

    @app.post("/api/logout", tags=["session"], dependencies=[Depends(csrf)])
    def logout(request: Request) -> JSONResponse:
        api.sessions.close(request.cookies.get(SESSION))
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION)
        return response

    @app.get("/api/me", tags=["session"])
    async def me(user: Anyone, request: Request) -> dict[str, Any]:
        found = api.sessions.get(request.cookies.get(SESSION))
        return {"name": user.name, "role": user.role, "csrf": found[1] if found else None,
                "lang": api.ws.settings.lang}

    @app.get("/api/i18n", tags=["session"])
    def words(lang: LangQ = None) -> dict[str, Any]:
        """Headings and class names in one language, for the page to label what it shows."""
        which = 0 if lang_of(api, lang) == "zh" else 1
        return {"currency": api.ws.settings.get("shop.currency"),
                "symbol": i18n.CURRENCY_SYMBOLS.get(api.ws.settings.get("shop.currency"), ""),
                "headings": {k: v[which] for k, v in i18n.HEADINGS.items()},
                "classes": {k: v[which] for k, v in i18n.CLASSES.items()},
                "kinds": {k: v[which] for k, v in i18n.KINDS.items()}}

    @app.get("/api/admin/users", tags=["admin"])
    def users(_: Admins) -> list[dict[str, Any]]:
        return api.accounts.list()

    @app.post("/api/admin/users", tags=["admin"], dependencies=[Depends(csrf)])
    def add_user(body: NewUser, admin: Admins, request: Request) -> dict[str, Any]:
        user = api.accounts.add(body.name, body.role, body.password)
        api.audit.event("user_added", admin.name, address(request), f"{user.name} ({user.role})")
        return {"name": user.name, "role": user.role}

    @app.get("/api/admin/audit", tags=["admin"])
    def audit(_: Admins) -> list[dict[str, Any]]:
        return api.audit.entries()[-1000:]

    @app.get("/api/quarantine", tags=["admin"])
    def quarantine(user: Admins, request: Request, lang: LangQ = None, fmt: FormatQ = Download.json,
                   page: PageQ = 1, size: SizeQ = 100) -> Any:
        """Rejected records with their reasons (raw text may hold personal data: admins only)."""
        table, total = api.paged("dwd_quarantine", "batch_id, line", page, size)
        if table.num_rows:
            api.audit.record(user, "quarantine", table.num_rows, None if fmt is Download.json else fmt.value,
                             address=address(request))
        return api.table(table, lang_of(api, lang), fmt, "quarantine", page, size, total)


def _analysis_routes(app: FastAPI, api: Api) -> None:
    def read(name: str, order: str, where: str = "") -> pa.Table:
        return api.query(f"SELECT * FROM {name}{(' WHERE ' + where) if where else ''} ORDER BY {order}")

    def answer(name: str, lang: Lang | None, fmt: Download, where: str = "", **given: str | None) -> Any:
        """An analysis by its one definition (custlens.views) as a cached answer (or a fresh
        download): its rows, its columns' headings, kinds and words, its title and chart."""
        code, v = lang_of(api, lang), analysis(name)
        chosen = v.choose(given)

        def make() -> Any:
            body = api.table(api.query(v.sql(chosen, where)), code, fmt, name)
            if isinstance(body, dict):
                body["title"] = v.heading(chosen, code)
                body["choices"] = {c.name: [{"value": x, "label": c.words(x, code)} for x in c.values]
                                   for c in v.choices}
                if v.chart:
                    body["chart"] = {"label": v.chart.label, "value": v.chart.value,
                                     "title": i18n.pick(code, *v.chart.title), "percent": v.chart.percent}
                if v.derived:
                    for column, label in v.derived.items():
                        body["rows"] = [{**r, column: label(r, code)} for r in body["rows"]]
            return body
        return api.cached((name, tuple(sorted(chosen.items())), where, code, fmt), make)

    @app.get("/api/overview", tags=["analyses"])
    async def overview(_: Analysts, lang: LangQ = None, start: StartQ = None,
                       end: EndQ = None) -> dict[str, Any]:
        """Customers, buyers, GMV, orders, conversion, repeat rate, and the daily trend
        (GMV, orders and the trend within start..end when given)."""
        check_range(start, end)
        return api.cached(("overview", start, end), lambda: make_overview(start, end))

    def make_overview(start: dt.date | None, end: dt.date | None) -> dict[str, Any]:
        days = range_sql("date", start, end)
        kpis = api.query(f"""
            SELECT (SELECT count(*) FROM ads_customer_class) AS customers,
                   (SELECT count(*) FROM ads_rfm) AS buyers,
                   (SELECT sum(gmv) FROM dws_shop_day WHERE {days}) AS gmv,
                   (SELECT sum(orders) FROM dws_shop_day WHERE {days}) AS orders,
                   (SELECT conversion FROM ads_funnel WHERE breakdown = 'all') AS conversion,
                   (SELECT avg(CASE WHEN frequency >= 2 THEN 1.0 ELSE 0 END) FROM ads_rfm) AS repeat_rate
        """).to_pylist()[0]
        trend = api.query("SELECT date, kind, visitors, buyers, orders, gmv FROM dws_shop_day "
                          f"WHERE in_span AND {days} ORDER BY date")
        return {"kpis": {k: json_safe(v) for k, v in kpis.items()}, "trend": json_rows(trend),
                "currency": api.ws.settings.get("shop.currency")}

    @app.get("/api/segments", tags=["analyses"])
    async def segments(_: Analysts, lang: LangQ = None, fmt: FormatQ = Download.json,
                       view: Annotated[str, Query(pattern="^(segments|k|crosstab|names)$")] = "segments",
                       ) -> Any:
        """The segment table (one row per segment and tier), or how it came about: `k` (the
        indices for k = 2..10), `crosstab` (clusters × their members' rule names), `names`
        (the eight names, clusters vs rules); `caption` says which k and why."""
        code = lang_of(api, lang)

        def make() -> Any:
            sql = segment_view_sql(view)
            if view == "segments":
                table = read("ads_segments", "segment_rank, tier")
            else:
                table = k_table(api.ws.rfm_notes()) if sql is None else api.query(sql)
            body = api.table(table, code, fmt, f"segments-{view}")
            if isinstance(body, dict):
                body["caption"] = api.ws.segment_caption(code)
            return body
        return api.cached(("segments", view, code, fmt), make)

    @app.get("/api/segments/points", tags=["analyses"])
    async def points(_: Analysts, n: Annotated[int, Query(ge=10, le=5000)] = 1500) -> dict[str, Any]:
        """A sample of buyers (drawn by a hash of their id) for the R/F/M scatter."""
        return api.cached(("points", n), lambda: {"rows": json_rows(api.query(
            f"SELECT recency_days, frequency, monetary, segment, segment_en FROM ads_rfm "
            f"ORDER BY hash(user_id) LIMIT {n}"))})

    @app.get("/api/classes", tags=["analyses"])
    async def classes(_: Analysts, lang: LangQ = None, fmt: FormatQ = Download.json) -> Any:
        return answer("classes", lang, fmt)

    @app.get("/api/periods", tags=["analyses"])
    async def periods(_: Analysts, view: Annotated[str, Query(pattern="^(kinds|instances)$")] = "kinds",
                      kind: Annotated[str | None, Query(pattern="^(campaign|promo_day|holiday|daily)$")] = None,
                      start: StartQ = None, end: EndQ = None,
                      lang: LangQ = None, fmt: FormatQ = Download.json) -> Any:
        """Period kinds (campaign vs daily), or period instances filtered by kind and by a
        date range (instances that overlap it)."""
        check_range(start, end)
        if view == "kinds":
            return answer("period_kinds", lang, fmt, f"kind = '{kind}'" if kind else "")
        where = " AND ".join(x for x in (f"kind = '{kind}'" if kind else "",
                                         f"end_date >= DATE '{start}'" if start else "",
                                         f"start_date <= DATE '{end}'" if end else "") if x)
        return answer("periods", lang, fmt, where)

    @app.get("/api/funnel", tags=["analyses"])
    async def funnel(_: Analysts, by: Annotated[str, Query(pattern="^(all|day|period|channel|category)$")] = "all",
                     start: StartQ = None, end: EndQ = None,
                     lang: LangQ = None, fmt: FormatQ = Download.json) -> Any:
        """The funnel overall or broken down; by day within start..end when given."""
        check_range(start, end)
        days = range_sql("CAST(value AS DATE)", start, end) if by == "day" and (start or end) else ""
        return answer("funnel", lang, fmt, days, by=by)

    @app.get("/api/retention", tags=["analyses"])
    async def retention(_: Analysts, by: Annotated[str, Query(pattern="^(month|week)$")] = "month",
                        lang: LangQ = None, fmt: FormatQ = Download.json) -> Any:
        return answer("retention", lang, fmt, by=by)

    @app.get("/api/repurchase", tags=["analyses"])
    async def repurchase(_: Analysts, level: Annotated[str, Query(pattern="^(category|item)$")] = "category",
                         lang: LangQ = None, fmt: FormatQ = Download.json) -> Any:
        return answer("repurchase", lang, fmt, level=level)

    @app.get("/api/channels", tags=["analyses"])
    async def channels(_: Analysts, attribution: Annotated[str, Query(pattern="^(last|first|linear)$")] = "last",
                       channel: Annotated[str | None, Query(max_length=64, pattern=r"^[\w.\-]+$")] = None,
                       lang: LangQ = None, fmt: FormatQ = Download.json) -> Any:
        return answer("channels", lang, fmt, f"channel = '{channel}'" if channel else "",
                      attribution=attribution)

    @app.get("/api/clv", tags=["analyses"])
    def clv(_: Analysts, lang: LangQ = None, fmt: FormatQ = Download.json,
            page: PageQ = 1, size: SizeQ = 100) -> Any:
        table, total = api.paged("ads_clv", analysis("clv").order, page, size)
        out = api.table(table, lang_of(api, lang), fmt, "clv", page, size, total)
        if isinstance(out, dict):
            out["notes"] = {k: json_safe(v) for k, v in api.ws.clv_notes().items()}
        return out


def _personal_ok(user: User, operator: str | None) -> bool:
    return user.role == "admin" or (user.role == "operator" and operator == user.name)


def _people_routes(app: FastAPI, api: Api) -> None:
    @app.get("/api/actions/plans", tags=["actions"])
    def plans(_: Staff) -> list[dict[str, Any]]:
        return json_rows(api.ws.action_plans())

    @app.get("/api/actions/{plan}", tags=["actions"])
    def action_list(plan: Annotated[str, PathParam(max_length=64)], user: Staff, request: Request,
                    action: Annotated[str | None, Query(max_length=64)] = None,
                    operator: Annotated[str | None, Query(max_length=64)] = None,
                    lang: LangQ = None, fmt: FormatQ = Download.json,
                    page: PageQ = 1, size: SizeQ = 100) -> Any:
        """A plan's list; an operator sees only the contacts assigned to them, with contact
        data; an analyst sees every list with contact data masked."""
        if user.role == "operator":
            if operator not in (None, user.name):
                raise ApiError(403, "an operator sees only their own lists")
            operator = user.name
        code = lang_of(api, lang)
        show = _personal_ok(user, operator)
        with api._lock:
            table = api.ws.action_list(plan, action, operator, lang=code, show_personal=show)
        total = table.num_rows
        if fmt is Download.json:
            table = table.slice((page - 1) * size, size)
        table = mask_table(table, show_personal=show)
        if show and table.num_rows:
            api.audit.record(user, f"actions {plan} {action or '*'} {operator or '*'}", table.num_rows,
                             None if fmt is Download.json else fmt.value,
                             subjects=table.column("user_id").to_pylist()
                             if "user_id" in table.column_names else None, address=address(request))
        return api.table(table, code, fmt, f"actions-{plan}", page, size, total)

    @app.get("/api/customers", tags=["customers"])
    async def customers(user: Analysts, q: Annotated[str | None, Query(max_length=64, description="id prefix")] = None,
                  cls: Annotated[str | None, Query(alias="class", pattern="^(core|low_repurchase|intent|browser)$")] = None,
                  segment: Annotated[str | None, Query(max_length=32)] = None,
                  sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "value",
                  lang: LangQ = None, fmt: FormatQ = Download.json,
                  page: PageQ = 1, size: SizeQ = 50) -> Any:
        """Profile search (no contact data here; a profile page adds it where allowed)."""
        if user.role == "operator":
            raise ApiError(403, "operators find their customers in their action lists")
        found = api.store.search({"class": cls, "segment": segment}, q, sort, page, size)
        table = pa.Table.from_pylist(found.items) if found.items else pa.table({"user_id": pa.array([], pa.string())})
        return api.table(table, lang_of(api, lang), fmt, "customers", page, size, found.total)

    @app.get("/api/customers/{user_id}", tags=["customers"])
    async def profile(user_id: Annotated[str, PathParam(max_length=128)], user: Staff,
                      request: Request) -> dict[str, Any]:
        """One customer's profile; contact fields for admins, and for the operator whose
        list holds the customer; masked for analysts."""
        row = api.store.get(user_id)
        if row is None:
            raise ApiError(404, f"no customer {user_id!r}")
        plans = api.plans_of(user_id)
        mine = user.role == "operator" and any(p["operator"] == user.name for p in plans)
        if user.role == "operator" and not mine:
            raise ApiError(403, "this customer is not on your lists")
        found = api.store.contact(user_id) or {}
        show = user.role == "admin" or mine
        personal = {f: found.get(f) if show else mask_value(f, found.get(f)) for f in sorted(PERSONAL_FIELDS)}
        if show and found:
            api.audit.record(user, "profile", 1, subjects=[user_id], address=address(request))
        plans = [{k: v for k, v in p.items() if k != "operator"} for p in plans]
        return {"profile": {k: json_safe(v) for k, v in row.items()}, "contact": personal,
                "contacts_planned": plans}

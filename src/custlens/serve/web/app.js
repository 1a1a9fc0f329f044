// custlens dashboard: every page is drawn from a JSON endpoint (see /docs).
"use strict";
const UI = {
  zh: {overview: "总览", segments: "客户分群", classes: "运营分类", periods: "大促与日常", funnel: "转化漏斗",
       retention: "留存", repurchase: "复购与会员", channels: "渠道与ROAS", actions: "行动名单", customers: "客户查询",
       login: "登录", name: "用户名", password: "密码", logout: "退出", lang: "English", download: "下载",
       customers_n: "客户", buyers: "购买客户", gmv: "GMV", orders: "订单", conversion: "转化率",
       repeat_rate: "复购率", trend: "每日趋势", search: "查询", all: "全部", plan: "计划", action: "动作",
       scatter: "R/F/M 分布（抽样）", profile: "客户画像", contact: "联系方式", planned: "触达记录",
       view: "视图", by: "维度", attribution: "归因", level: "层级", none: "暂无数据", next: "下一页", prev: "上一页",
       wrong: "用户名或密码错误", busy: "尝试过多，请稍后再试", users: "用户管理", quarantine: "隔离记录",
       role: "角色", add: "添加", audit: "审计日志", saved: "已保存",
       seg_segments: "分群", seg_names: "八类客户：聚类 vs 规则", seg_k: "k 的诊断指标", seg_crosstab: "聚类 × 规则分群",
       seg_clusters: "聚类", seg_rules: "规则分群", silhouette: "轮廓系数", stability: "稳定性 (ARI)",
       min_share10: "最小簇占比 ×10", monitor: "监控", kpi: "指标", scope: "范围", flagged: "异常日",
       alert_history: "告警记录", actual: "实际", expected: "预期", band: "预期区间", ack: "确认",
       acked: "已确认", state_pending: "待发送", state_sent: "已发送", state_failed: "发送失败",
       recipient: "接收方", attempts: "尝试次数", state: "状态", verdict: "判断", driver: "主因", date: "日期",
       period_kinds: "各类时期的平均一天", period_instances: "各时期", stage_pv: "浏览", stage_fav_or_cart: "收藏或加购",
       stage_buy: "购买"},
  en: {overview: "Overview", segments: "Segments", classes: "Classes", periods: "Periods", funnel: "Funnel",
       retention: "Retention", repurchase: "Repurchase", channels: "Channels & ROAS", actions: "Action lists",
       customers: "Customers", login: "Sign in", name: "Name", password: "Password", logout: "Sign out",
       lang: "中文", download: "Download", customers_n: "Customers", buyers: "Buyers", gmv: "GMV",
       orders: "Orders", conversion: "Conversion", repeat_rate: "Repeat rate", trend: "Daily trend",
       search: "Search", all: "All", plan: "Plan", action: "Action", scatter: "R/F/M (sample)",
       profile: "Customer profile", contact: "Contact", planned: "Contacts planned", view: "View", by: "By",
       attribution: "Attribution", level: "Level", none: "No data", next: "Next", prev: "Previous",
       wrong: "Wrong name or password", busy: "Too many attempts; try again later", users: "Users",
       quarantine: "Quarantine", role: "Role", add: "Add", audit: "Audit log", saved: "Saved",
       seg_segments: "Segments", seg_names: "The eight names: clusters vs rules", seg_k: "Diagnostics over k",
       seg_crosstab: "Clusters × rule names", seg_clusters: "clusters", seg_rules: "rules",
       silhouette: "silhouette", stability: "stability (ARI)", min_share10: "smallest cluster ×10",
       monitor: "Monitoring", kpi: "KPI", scope: "Scope", flagged: "Flagged days", alert_history: "Alert history",
       actual: "actual", expected: "expected", band: "expected band", ack: "Acknowledge", acked: "acknowledged",
       state_pending: "pending", state_sent: "sent", state_failed: "failed", recipient: "Recipient",
       attempts: "Attempts", state: "State", verdict: "Verdict", driver: "Driver", date: "Date",
       period_kinds: "The average day of each kind", period_instances: "Each period", stage_pv: "page view",
       stage_fav_or_cart: "fav or cart", stage_buy: "buy"},
};
const PAGES = ["overview", "monitor", "segments", "classes", "periods", "funnel", "retention", "repurchase",
               "channels", "actions", "customers", "quarantine", "users"];
const ADMIN_ONLY = ["quarantine", "users"];
const OPERATOR_PAGES = ["actions"];  // an operator works their lists (and those customers)
const state = {lang: localStorage.getItem("custlens.lang") || "zh", me: null, csrf: null, words: null};
const $ = (sel) => document.querySelector(sel);
const t = (key) => UI[state.lang][key] || key;
const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

async function api(path, options = {}) {
  const sep = path.includes("?") ? "&" : "?";
  const res = await fetch(path + sep + "lang=" + state.lang, {credentials: "same-origin", ...options});
  if (res.status === 401 && !path.startsWith("/api/login")) { showLogin(); throw new Error("signed out"); }
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error || res.statusText), {status: res.status});
  return body;
}

// the shop's currency (from /api/i18n, as i18n.money on the server): 万/亿 only for CNY in Chinese
function money(v) {
  if (v === null || v === undefined) return "—";
  const code = (state.words && state.words.currency) || "CNY";
  const symbol = (state.words && state.words.symbol) || code + " ";
  if (code === "CNY" && state.lang === "zh" && Math.abs(v) >= 1e8) return symbol + (v / 1e8).toFixed(2) + "亿";
  if (code === "CNY" && state.lang === "zh" && Math.abs(v) >= 1e4) return symbol + (v / 1e4).toFixed(1) + "万";
  return (v < 0 ? "-" : "") + symbol + Math.round(Math.abs(v)).toLocaleString();
}
// a column as the API describes it (custlens.views.columns): its kind (money, pct, times,
// code, num) and, for codes, the reader's word for each value
function cell(col, v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return state.lang === "zh" ? (v ? "是" : "否") : (v ? "yes" : "no");
  if (col.values && typeof v === "string" && v in col.values) return esc(col.values[v]);
  if (typeof v === "number") {
    if (col.kind === "pct") return (v * 100).toFixed(1) + "%";
    if (col.kind === "money") return money(v);
    if (col.kind === "times") return "× " + v.toFixed(2);
    return Number.isInteger(v) ? v.toLocaleString() :
      v.toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  return esc(v);
}
// the choices of an analysis with their words (the API's `choices`)
const choices = (d, name) => (d.choices[name] || []).map((c) => [c.value, c.label]);

function table(data, link) {
  if (!data.rows.length) return `<p class="muted">${t("none")}</p>`;
  const head = data.columns.map((c) => `<th>${esc(c.label)}</th>`).join("");
  const body = data.rows.map((r) => "<tr>" + data.columns.map((c) =>
    `<td${typeof r[c.name] === "number" ? ' class="n"' : ""}>${link && c.name === "user_id" ? `<a href="#/customer/${encodeURIComponent(r.user_id)}">${esc(r.user_id)}</a>` : cell(c, r[c.name])}</td>`).join("") + "</tr>").join("");
  return `<div class="scroll"><table><tr>${head}</tr>${body}</table></div>`;
}

function chart(el, option) {
  const c = echarts.init(el);
  c.setOption(Object.assign({animation: false, tooltip: {trigger: "axis"}, grid: {left: 110, right: 30, top: 40, bottom: 40},
    textStyle: {fontFamily: "Noto Sans CJK SC, Microsoft YaHei, sans-serif"}}, option));
  return c;
}
function bars(el, title, labels, values, percent) {
  return chart(el, {title: {text: title, textStyle: {fontSize: 14}}, xAxis: {type: "value"},
    yAxis: {type: "category", data: labels, inverse: true},
    series: [{type: "bar", data: values, label: {show: true, position: "right",
      formatter: (p) => percent ? (p.value * 100).toFixed(1) + "%" : p.value.toLocaleString()}}]});
}
function downloadLink(path) {
  const sep = path.includes("?") ? "&" : "?";
  return `<a class="download" href="${path}${sep}lang=${state.lang}&format=csv" download>${t("download")} CSV</a>
          <a class="download" href="${path}${sep}lang=${state.lang}&format=xlsx" download>XLSX</a>`;
}
function select(id, options, value) {
  return `<select id="${id}">` + options.map(([v, label]) =>
    `<option value="${esc(v)}"${v === value ? " selected" : ""}>${esc(label)}</option>`).join("") + "</select>";
}
const params = () => new URLSearchParams(location.hash.split("?")[1] || "");
function go(page, query) { location.hash = "#/" + page + (query ? "?" + new URLSearchParams(query) : ""); }

const render = {
  async overview(main) {
    const q = params();
    const range = Object.fromEntries(["start", "end"].filter((k) => q.get(k)).map((k) => [k, q.get(k)]));
    const d = await api("/api/overview" + (Object.keys(range).length ? "?" + new URLSearchParams(range) : ""));
    const k = d.kpis;
    const cards = [["customers_n", k.customers.toLocaleString()], ["buyers", k.buyers.toLocaleString()],
      ["gmv", money(k.gmv)], ["orders", k.orders.toLocaleString()],
      ["conversion", k.conversion === null ? "—" : (k.conversion * 100).toFixed(1) + "%"],
      ["repeat_rate", k.repeat_rate === null ? "—" : (k.repeat_rate * 100).toFixed(1) + "%"]];
    main.innerHTML = `<h1>${t("overview")}</h1><div class="bar">
      <input type="date" id="start" value="${esc(range.start || "")}"> – <input type="date" id="end" value="${esc(range.end || "")}">
      <button id="apply" type="button">${t("search")}</button></div><div class="kpis">${cards.map(([n, v]) =>
      `<div class="kpi">${t(n)}<b>${v}</b></div>`).join("")}</div><div class="chart" id="c1"></div>`;
    $("#apply").onclick = () => go("overview", Object.fromEntries([["start", $("#start").value],
      ["end", $("#end").value]].filter(([, v]) => v)));
    chart($("#c1"), {title: {text: t("trend"), textStyle: {fontSize: 14}}, legend: {top: 8, right: 20},
      xAxis: {type: "category", data: d.trend.map((r) => r.date)},
      yAxis: [{type: "value"}, {type: "value"}],
      series: [{name: "GMV", type: "line", data: d.trend.map((r) => r.gmv), showSymbol: false},
               {name: t("buyers"), type: "line", yAxisIndex: 1, data: d.trend.map((r) => r.buyers), showSymbol: false}]});
  },
  async monitor(main) {
    const q = params();
    const kpi = q.get("kpi") || "gmv", scope = q.get("scope") || "all";
    const d = await api("/api/monitor?" + new URLSearchParams({kpi, scope}));
    const history = await api("/api/monitor/alerts");
    const unit = (d.kpis.find((k) => k.kpi === kpi) || {}).unit;
    const fmt = (v) => v === null || v === undefined ? "—" : unit === "rate" ? (v * 100).toFixed(1) + "%" :
      unit === "money" || unit === "ratio" ? money(v) : Math.round(v).toLocaleString();
    const cols = (names) => names.map((n) => ({name: n, label: t(n)}));
    const flagged = {columns: cols(["date", "scope", "kpi", "actual", "expected", "verdict", "driver"]),
      rows: d.anomalies.map((r) => ({date: r.date, scope: r.scope_name, kpi: r.kpi_name, actual: r.actual_text,
        expected: r.expected_text, verdict: r.direction_name, driver: r.driver_name}))};
    const ack = (r) => r.ack_by ? `${t("acked")} · ${esc(r.ack_by)} · ${esc(r.ack_at.slice(0, 16).replace("T", " "))}`
      : `<button type="button" class="ack" data-key="${esc(r.key)}">${t("ack")}</button>`;
    const alertRows = history.map((r) => `<tr><td>${esc(r.alert.date || "")}</td><td>${esc(r.alert.scope_name || "")}</td>
      <td>${esc(r.alert.kpi_name || "")}</td><td>${esc(r.alert.direction_name || "")}</td>
      <td>${t("state_" + r.state)}</td><td>${esc(r.recipient || "")}</td><td class="n">${r.attempts ?? ""}</td>
      <td>${ack(r)}</td></tr>`).join("");
    const alertHead = ["date", "scope", "kpi", "verdict", "state", "recipient", "attempts", "ack"]
      .map((c) => `<th>${t(c)}</th>`).join("");
    main.innerHTML = `<h1>${t("monitor")}</h1><div class="bar">${t("kpi")} ${select("kpi", d.kpis.map((k) => [k.kpi, k.name]), kpi)}
      ${t("scope")} ${select("scope", d.scopes.map((x) => [x.scope, x.name]), scope)}</div>
      <div class="chart" id="c1"></div><h2>${t("flagged")}</h2>${table(flagged)}
      <h2>${t("alert_history")}</h2>${history.length ? `<div class="scroll"><table id="alerts"><tr>${alertHead}</tr>${alertRows}</table></div>`
        : `<p class="muted">${t("none")}</p>`}`;
    $("#kpi").onchange = (e) => go("monitor", {kpi: e.target.value, scope});
    $("#scope").onchange = (e) => go("monitor", {kpi, scope: e.target.value});
    document.querySelectorAll("button.ack").forEach((b) => { b.onclick = async () => {
      await api(`/api/monitor/alerts/${b.dataset.key}/ack`, {method: "POST", headers: {"X-CSRF-Token": state.csrf}});
      await render.monitor(main);
    }; });
    const s = d.series;
    const name = (d.kpis.find((k) => k.kpi === kpi) || {}).name || kpi;
    chart($("#c1"), {title: {text: `${name} · ${(d.scopes.find((x) => x.scope === scope) || {}).name || scope}`,
      textStyle: {fontSize: 14}}, legend: {top: 8, right: 20, data: [t("band"), t("expected"), t("actual"), t("flagged")]},
      tooltip: {trigger: "axis", valueFormatter: fmt},
      xAxis: {type: "category", data: s.map((r) => r.date)}, yAxis: {type: "value", axisLabel: {formatter: fmt}},
      series: [
        {name: "low", type: "line", stack: "band", data: s.map((r) => r.low), lineStyle: {opacity: 0},
         symbol: "none", tooltip: {show: false}},
        {name: t("band"), type: "line", stack: "band", symbol: "none", lineStyle: {opacity: 0}, color: "#9fb7db",
         areaStyle: {color: "rgba(59,111,182,0.15)"},
         data: s.map((r) => r.high === null || r.low === null ? null : r.high - r.low)},
        {name: t("expected"), type: "line", data: s.map((r) => r.expected), symbol: "none", color: "#66788a",
         lineStyle: {type: "dashed", color: "#66788a"}},
        {name: t("actual"), type: "line", data: s.map((r) => r.actual), showSymbol: false, color: "#3b6fb6"},
        {name: t("flagged"), type: "scatter", color: "#cc3333", symbolSize: 9,
         data: s.map((r) => r.is_anomaly ? r.actual : null)}]});
  },
  async segments(main) {
    const view = params().get("view") || "segments";
    const d = await api("/api/segments?view=" + view);
    const views = ["segments", "names", "k", "crosstab"].map((v) => [v, t("seg_" + v)]);
    main.innerHTML = `<h1>${t("segments")}</h1><div class="bar">${t("view")} ${select("view", views, view)}
      ${downloadLink("/api/segments?view=" + view)}</div><p class="caption">${esc(d.caption)}</p>
      <div class="chart" id="c1"></div>${view === "segments" ? '<div class="chart" id="c2"></div>' : ""}${table(d)}`;
    $("#view").onchange = (e) => go("segments", {view: e.target.value});
    const zh = state.lang === "zh";
    if (view === "segments") {
      const label = zh ? "segment_label" : "segment_label_en";
      bars($("#c1"), t("segments"), d.rows.map((r) => r[label]), d.rows.map((r) => r.customers));
      const p = await api("/api/segments/points");
      const name = zh ? "segment" : "segment_en";
      const groups = [...new Set(p.rows.map((r) => r[name]))];
      chart($("#c2"), {title: {text: t("scatter"), textStyle: {fontSize: 14}}, tooltip: {trigger: "item"},
        legend: {top: 8, right: 20}, xAxis: {type: "value", name: "R"}, yAxis: {type: "log", name: "M"},
        series: groups.map((g) => ({name: g, type: "scatter", symbolSize: (v) => 4 + Math.min(v[2], 20),
          data: p.rows.filter((r) => r[name] === g).map((r) => [r.recency_days, Math.max(r.monetary, 1), r.frequency])}))});
    } else if (view === "names") {
      const name = zh ? "segment" : "segment_en";
      chart($("#c1"), {title: {text: t("seg_names"), textStyle: {fontSize: 14}}, legend: {top: 8, right: 20},
        xAxis: {type: "value"}, yAxis: {type: "category", data: d.rows.map((r) => r[name]), inverse: true},
        series: [{name: t("seg_clusters"), type: "bar", data: d.rows.map((r) => r.customers)},
                 {name: t("seg_rules"), type: "bar", data: d.rows.map((r) => r.rule_customers)}]});
    } else if (view === "k") {
      const ks = d.rows.map((r) => r.k);
      const chosen = d.rows.filter((r) => r.chosen).map((r) => r.k)[0];
      chart($("#c1"), {title: {text: t("seg_k"), textStyle: {fontSize: 14}}, legend: {top: 8, right: 20},
        xAxis: {type: "category", data: ks, name: "k"}, yAxis: {type: "value", min: 0, max: 1},
        series: [{name: t("silhouette"), type: "line", data: d.rows.map((r) => r.silhouette),
                  markLine: chosen === undefined ? undefined : {symbol: "none", data: [{xAxis: String(chosen)}]}},
                 {name: t("stability"), type: "line", data: d.rows.map((r) => r.stability)},
                 {name: t("min_share10"), type: "line", data: d.rows.map((r) => Math.min(1, 10 * r.min_share))}]});
    } else {
      const label = zh ? "segment_label" : "segment_label_en";
      const rule = zh ? "rule_segment" : "rule_segment_en";
      const rows = [...new Set(d.rows.map((r) => r[label]))];
      const cols = [...new Set(d.rows.map((r) => r[rule]))];
      const totals = Object.fromEntries(rows.map((x) => [x, d.rows.filter((r) => r[label] === x)
        .reduce((a, r) => a + r.customers, 0)]));
      chart($("#c1"), {title: {text: t("seg_crosstab"), textStyle: {fontSize: 14}}, tooltip: {position: "top"},
        grid: {left: 160, right: 30, top: 40, bottom: 90},
        xAxis: {type: "category", data: cols, axisLabel: {rotate: 30}}, yAxis: {type: "category", data: rows, inverse: true},
        visualMap: {min: 0, max: 1, show: false, inRange: {color: ["#f4f6fb", "#3b6fb6"]}},
        series: [{type: "heatmap", label: {show: true, formatter: (p) => (p.value[2] * 100).toFixed(0) + "%"},
          data: d.rows.map((r) => [cols.indexOf(r[rule]), rows.indexOf(r[label]), r.customers / totals[r[label]]])}]});
    }
  },
  async classes(main) {
    const d = await api("/api/classes");
    const w = state.words.classes;
    main.innerHTML = `<h1>${t("classes")}</h1><div class="chart" id="c1"></div>
      <div class="bar">${downloadLink("/api/classes")}</div>${table(d)}`;
    bars($("#c1"), d.chart.title, d.rows.map((r) => w[r.class] || r.class), d.rows.map((r) => r.customers));
  },
  async periods(main) {
    const view = params().get("view") || "kinds";
    const d = await api("/api/periods?view=" + view);
    main.innerHTML = `<h1>${t("periods")}</h1><div class="bar">${t("view")} ${select("view",
      [["kinds", t("period_kinds")], ["instances", t("period_instances")]], view)} ${downloadLink("/api/periods?view=" + view)}</div>
      <p class="caption">${esc(d.title)}</p><div class="chart" id="c1"></div>${table(d)}`;
    $("#view").onchange = (e) => go("periods", {view: e.target.value});
    const rows = view === "kinds" ? d.rows : d.rows.slice(0, 30);
    bars($("#c1"), d.chart.title, rows.map((r) => r[d.chart.label]), rows.map((r) => Math.round(r.gmv_per_day || 0)));
  },
  async funnel(main) {
    const by = params().get("by") || "all";
    const d = await api("/api/funnel?by=" + by);
    main.innerHTML = `<h1>${t("funnel")}</h1><div class="bar">${t("by")} ${select("by",
      choices(d, "by"), by)} ${downloadLink("/api/funnel?by=" + by)}</div>
      <div class="chart" id="c1"></div>${table(d)}`;
    $("#by").onchange = (e) => go("funnel", {by: e.target.value});
    const r = d.rows[0] || {};
    chart($("#c1"), {tooltip: {trigger: "item"}, series: [{type: "funnel", left: "10%", width: "70%",
      label: {formatter: "{b}: {c}"}, data: [[t("stage_pv"), r.users_pv], [t("stage_fav_or_cart"), r.users_fav_or_cart], [t("stage_buy"), r.users_buy]]
        .map(([name, value]) => ({name, value}))}]});
  },
  async retention(main) {
    const by = params().get("by") || "month";
    const d = await api("/api/retention?by=" + by);
    main.innerHTML = `<h1>${t("retention")}</h1><div class="bar">${t("by")} ${select("by",
      choices(d, "by"), by)} ${downloadLink("/api/retention?by=" + by)}</div>
      <div class="chart" id="c1"></div>${table(d)}`;
    $("#by").onchange = (e) => go("retention", {by: e.target.value});
    const cohorts = [...new Set(d.rows.map((r) => String(r.cohort)))];
    const steps = [...new Set(d.rows.map((r) => r.periods_since))].sort((a, b) => a - b);
    chart($("#c1"), {tooltip: {position: "top"}, grid: {left: 110, right: 30, top: 30, bottom: 60},
      xAxis: {type: "category", data: steps}, yAxis: {type: "category", data: cohorts},
      visualMap: {min: 0, max: 1, calculable: true, orient: "horizontal", left: "center", bottom: 0},
      series: [{type: "heatmap", data: d.rows.map((r) => [steps.indexOf(r.periods_since),
        cohorts.indexOf(String(r.cohort)), r.retention ?? r.rate ?? null])}]});
  },
  async repurchase(main) {
    const level = params().get("level") || "category";
    const d = await api("/api/repurchase?level=" + level);
    main.innerHTML = `<h1>${t("repurchase")}</h1><div class="bar">${t("level")} ${select("level",
      choices(d, "level"), level)} ${downloadLink("/api/repurchase?level=" + level)}</div>
      <div class="chart" id="c1"></div>${table(d)}`;
    $("#level").onchange = (e) => go("repurchase", {level: e.target.value});
    const top = d.rows.slice(0, 15);
    bars($("#c1"), d.chart.title, top.map((r) => r.key), top.map((r) => r.repurchase_rate), true);
  },
  async channels(main) {
    const a = params().get("attribution") || "last";
    const d = await api("/api/channels?attribution=" + a);
    main.innerHTML = `<h1>${t("channels")}</h1><div class="bar">${t("attribution")} ${select("attribution",
      choices(d, "attribution"), a)} ${downloadLink("/api/channels?attribution=" + a)}</div>
      <div class="chart" id="c1"></div>${table(d)}`;
    $("#attribution").onchange = (e) => go("channels", {attribution: e.target.value});
    bars($("#c1"), d.chart.title, d.rows.map((r) => r[d.chart.label]), d.rows.map((r) => Math.round(r.revenue || 0)));
  },
  async actions(main) {
    const plans = await api("/api/actions/plans");
    if (!plans.length) { main.innerHTML = `<h1>${t("actions")}</h1><p class="muted">${t("none")}</p>`; return; }
    const q = params();
    const plan = q.get("plan") || plans[plans.length - 1].plan_id;
    const action = q.get("action") || "";
    const path = `/api/actions/${encodeURIComponent(plan)}` + (action ? "?action=" + encodeURIComponent(action) : "");
    const d = await api(path + (action ? "&" : "?") + "size=500");
    main.innerHTML = `<h1>${t("actions")}</h1><div class="bar">${t("plan")} ${select("plan",
      plans.map((p) => [p.plan_id, p.plan_id + " (" + p.as_of + ")"]), plan)} ${t("action")} ${select("action",
      [["", t("all")], ...[...new Set(d.rows.map((r) => r.action))].map((v) => [v, v])], action)}
      ${downloadLink(path)} <span class="muted">${d.total.toLocaleString()}</span></div>${table(d, true)}`;
    $("#plan").onchange = (e) => go("actions", {plan: e.target.value});
    $("#action").onchange = (e) => go("actions", {plan, action: e.target.value});
  },
  async customers(main) {
    const q = params();
    const query = {q: q.get("q") || "", class: q.get("class") || "", page: q.get("page") || "1"};
    const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v));
    const d = await api("/api/customers?" + search);
    const classes = state.words.classes;
    main.innerHTML = `<h1>${t("customers")}</h1><div class="bar">
      <input id="q" placeholder="user_id" value="${esc(query.q)}"> ${select("class",
      [["", t("all")], ...Object.entries(classes)], query.class)} <button id="go" type="button">${t("search")}</button>
      ${downloadLink("/api/customers?" + search)} <span class="muted">${d.total.toLocaleString()}</span>
      <button id="prev" type="button">${t("prev")}</button><button id="next" type="button">${t("next")}</button></div>${table(d, true)}`;
    const submit = (page) => go("customers", {...Object.fromEntries(Object.entries({q: $("#q").value,
      class: $("#class").value}).filter(([, v]) => v)), page});
    $("#go").onclick = () => submit(1);
    $("#class").onchange = () => submit(1);
    $("#prev").onclick = () => submit(Math.max(1, +query.page - 1));
    $("#next").onclick = () => submit(+query.page + 1);
  },
  async quarantine(main) {
    const d = await api("/api/quarantine?size=200");
    main.innerHTML = `<h1>${t("quarantine")}</h1><div class="bar">${downloadLink("/api/quarantine")}
      <span class="muted">${d.total.toLocaleString()}</span></div>${table(d)}`;
  },
  async users(main) {
    const users = await api("/api/admin/users");
    const audit = await api("/api/admin/audit");
    const rows = (list) => ({columns: Object.keys(list[0] || {name: 1}).map((k) => ({name: k, label: k})), rows: list});
    main.innerHTML = `<h1>${t("users")}</h1>${table(rows(users))}
      <form id="adduser" class="bar"><input name="name" placeholder="${t("name")}" required>
      <input name="password" type="password" placeholder="${t("password")}" minlength="8" required>
      ${select("role", [["analyst", "analyst"], ["operator", "operator"], ["admin", "admin"]], "analyst")}
      <button type="submit">${t("add")}</button><span id="msg" class="muted"></span></form>
      <h2>${t("audit")}</h2>${table(rows(audit.slice(-50).reverse()))}`;
    $("#adduser").onsubmit = async (e) => {
      e.preventDefault();
      const form = new FormData(e.target);
      try {
        await api("/api/admin/users", {method: "POST", headers: {"Content-Type": "application/json",
          "X-CSRF-Token": state.csrf}, body: JSON.stringify({name: form.get("name"),
          password: form.get("password"), role: $("#role").value})});
        await render.users(main);
        $("#msg").textContent = t("saved");
      } catch (err) { $("#msg").textContent = err.message; }
    };
  },
  async customer(main, id) {
    const d = await api("/api/customers/" + encodeURIComponent(id));
    const rows = (o) => ({columns: Object.keys(o).map((k) => ({name: k, label: state.words.headings[k] || k})), rows: [o]});
    main.innerHTML = `<h1>${t("profile")} ${esc(id)}</h1>${table(rows(d.profile))}<h2>${t("contact")}</h2>
      ${table(rows(d.contact))}<h2>${t("planned")}</h2>${d.contacts_planned.length ? table({columns:
      Object.keys(d.contacts_planned[0]).map((k) => ({name: k, label: state.words.headings[k] || k})), rows: d.contacts_planned}) : ""}`;
  },
};

function showLogin(message) {
  $("#nav").innerHTML = ""; $("#who").textContent = ""; $("#logout").hidden = true;
  $("#main").innerHTML = `<form class="login" id="login"><h1>custlens · ${t("login")}</h1>
    <label>${t("name")}<input name="name" autocomplete="username" required></label>
    <label>${t("password")}<input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">${t("login")}</button><p class="error">${message ? esc(message) : ""}</p></form>`;
  $("#login").onsubmit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const {csrf} = await (await fetch("/api/csrf", {credentials: "same-origin"})).json();
    const res = await fetch("/api/login", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({name: form.get("name"), password: form.get("password")})});
    if (res.ok) { await start(); } else { showLogin(res.status === 429 ? t("busy") : t("wrong")); }
  };
}

async function route() {
  const [page, arg] = location.hash.replace(/^#\//, "").split("?")[0].split("/");
  const home = state.me && state.me.role === "operator" ? "actions" : "overview";
  const name = page === "customer" ? "customer" : (PAGES.includes(page) ? page : home);
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("on", a.dataset.page === name));
  const main = $("#main");
  main.innerHTML = "…";
  try { await render[name](main, decodeURIComponent(arg || "")); }
  catch (err) { if (err.message !== "signed out") main.innerHTML = `<p class="error">${esc(err.message)}</p>`; }
}

async function start() {
  try { state.me = await api("/api/me"); } catch (err) { return; }
  state.csrf = state.me.csrf;
  state.words = await api("/api/i18n");
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  $("#nav").innerHTML = PAGES.filter((p) => (state.me.role !== "operator" || OPERATOR_PAGES.includes(p))
    && (state.me.role === "admin" || !ADMIN_ONLY.includes(p)))
    .map((p) => `<a href="#/${p}" data-page="${p}">${t(p)}</a>`).join("");
  $("#who").textContent = `${state.me.name} · ${state.me.role}`;
  $("#logout").hidden = false; $("#logout").textContent = t("logout");
  await route();
}

$("#lang").onclick = async () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("custlens.lang", state.lang);
  $("#lang").textContent = t("lang");
  await start();
};
$("#logout").onclick = async () => {
  await fetch("/api/logout", {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": state.csrf}});
  showLogin();
};
window.addEventListener("hashchange", () => { if (state.me) route(); });
$("#lang").textContent = t("lang");
start();

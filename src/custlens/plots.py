"""Charts as standalone SVG files: no plotting library, no fonts or scripts fetched.

The CLI writes them with `--chart FILE.svg`; a browser, an IM client or a slide deck
shows them as they are. Kept to the three shapes the analyses need: horizontal bars
(funnels, periods, channels), a heatmap (retention cohorts, segment crosstab), lines
(the K-means diagnostics over k) and a daily series in its expected band (monitoring).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

FONT = "font-family=\"'Noto Sans CJK SC','Microsoft YaHei',sans-serif\""
BAR = "#3b6fb6"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT} font-size="12">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="12" y="22" font-size="15" font-weight="bold">{escape(title)}</text>')
    return head + "".join(body) + "</svg>\n"


def _number(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.1%}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def bars(labels: list[str], values: list[float | None], title: str,
         percent: bool = False) -> str:
    """Horizontal bars, one per label, longest = largest value."""
    label_w, bar_w, row_h = 190, 420, 22
    top = 40
    peak = max((v for v in values if v is not None), default=0) or 1
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row_h
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">'
                    f'{escape(str(label))}</text>')
        if value is None:
            body.append(f'<text x="{label_w}" y="{y + 15}" fill="#888">—</text>')
            continue
        w = max(0.0, value) / peak * bar_w
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                    f'fill="{BAR}"/>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{_number(value, percent)}</text>')
    return _svg(label_w + bar_w + 110, top + len(labels) * row_h + 12, body, title)


def heatmap(rows: list[str], cols: list[str], cells: dict[tuple[str, str], float],
            title: str, row_title: str = "", col_title: str = "") -> str:
    """A rows × cols grid of shares (0–1), darker = higher, each cell labelled."""
    left, top, cw, ch = 110, 64, 52, 22
    body = [f'<text x="{left}" y="{top - 24}" fill="#555">{escape(col_title)}</text>',
            f'<text x="12" y="{top - 6}" fill="#555">{escape(row_title)}</text>']
    for j, col in enumerate(cols):
        body.append(f'<text x="{left + j * cw + cw / 2}" y="{top - 6}" text-anchor="middle">'
                    f'{escape(col)}</text>')
    for i, row in enumerate(rows):
        y = top + i * ch
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(row)}</text>')
        for j, col in enumerate(cols):
            value = cells.get((row, col))
            if value is None:
                continue
            shade = int(245 - 190 * min(1.0, max(0.0, value) ** 0.5))
            ink = "white" if shade < 150 else "black"
            x = left + j * cw
            body.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" '
                        f'fill="rgb({shade},{shade + 5 if shade < 250 else shade},250)"/>')
            body.append(f'<text x="{x + cw / 2 - 1}" y="{y + 15}" text-anchor="middle" '
                        f'font-size="11" fill="{ink}">{value:.0%}</text>')
    return _svg(left + len(cols) * cw + 20, top + len(rows) * ch + 16, body, title)


def save(svg: str, path: Path) -> None:
    path.write_text(svg, encoding="utf-8")


PALETTE = ("#3b6fb6", "#d9822b", "#3a9d5d", "#b63b6f", "#7a5cb6")


def lines(x: list[int], series: dict[str, list[float | None]], title: str,
          marked: int | None = None, x_title: str = "") -> str:
    """Lines over a small integer axis (the k diagnostics), values 0–1; `marked` draws a
    vertical rule at that x (the chosen k)."""
    left, top, w, h = 50, 44, 420, 200
    lo, hi = min(x, default=0), max(x, default=1)
    span = (hi - lo) or 1

    def px(v: int) -> float:
        return left + (v - lo) / span * w

    def py(v: float) -> float:
        return top + h - max(0.0, min(1.0, v)) * h

    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>']
    for tick in (0.0, 0.5, 1.0):
        body.append(f'<text x="{left - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">{tick:.1f}</text>')
    for v in x:
        body.append(f'<text x="{px(v):.1f}" y="{top + h + 16}" text-anchor="middle">{v}</text>')
    body.append(f'<text x="{left + w / 2}" y="{top + h + 32}" text-anchor="middle" fill="#555">'
                f'{escape(x_title)}</text>')
    if marked is not None and lo <= marked <= hi:
        body.append(f'<line x1="{px(marked):.1f}" y1="{top}" x2="{px(marked):.1f}" y2="{top + h}" '
                    'stroke="#c33" stroke-dasharray="4 3"/>')
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, values, strict=True)
                          if b is not None)
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        y = top + 14 + i * 18
        body.append(f'<rect x="{left + w + 14}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{left + w + 30}" y="{y}">{escape(name)}</text>')
    return _svg(left + w + 190, top + h + 44, body, title)


def band(days: list[str], actual: list[float | None], expected: list[float | None],
         low: list[float | None], high: list[float | None], title: str,
         flagged: list[bool] | None = None, names: tuple[str, str] = ("actual", "expected")) -> str:
    """A daily series against its expected value and interval (ads_monitor): the band
    shaded, the expectation dashed, flagged days as red dots."""
    left, top, w, h = 70, 44, 560, 200
    # the scale follows the figures, not the band: a low-volume day's interval can be
    # a hundred times the series and would flatten it
    values = [v for v in (*actual, *expected) if v is not None]
    lo, hi = min(values, default=0.0), max(values, default=1.0) * 1.25
    lo, span = min(lo, 0.0), (max(hi, 0.0) - min(lo, 0.0)) or 1.0
    low = [None if v is None else max(v, lo) for v in low]
    high = [None if v is None else min(v, lo + span) for v in high]
    n = max(len(days) - 1, 1)

    def px(i: int) -> float:
        return left + i / n * w

    def py(v: float) -> float:
        return top + h - (v - lo) / span * h

    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>']
    for tick in (lo, lo + span / 2, lo + span):
        body.append(f'<text x="{left - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">'
                    f'{_number(tick, False)}</text>')
    step = max(1, len(days) // 8)
    for i in range(0, len(days), step):
        body.append(f'<text x="{px(i):.1f}" y="{top + h + 16}" text-anchor="middle">'
                    f'{escape(days[i][5:])}</text>')
    upper = [(px(i), py(v)) for i, v in enumerate(high) if v is not None]
    lower = [(px(i), py(v)) for i, v in enumerate(low) if v is not None]
    if upper and lower:
        ring = " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower[::-1])
        body.append(f'<polygon points="{ring}" fill="#3b6fb6" fill-opacity="0.15" stroke="none"/>')
    for values_, dash, colour in ((expected, ' stroke-dasharray="5 4"', "#66788a"),
                                  (actual, "", PALETTE[0])):
        points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(values_) if v is not None)
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"{dash}/>')
    for i, hit in enumerate(flagged or []):
        if hit and actual[i] is not None:
            body.append(f'<circle cx="{px(i):.1f}" cy="{py(float(actual[i] or 0)):.1f}" r="4" fill="#c33"/>')
    for j, (name, colour) in enumerate(zip(names, (PALETTE[0], "#66788a"), strict=True)):
        y = top + 14 + j * 18
        body.append(f'<rect x="{left + w + 14}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{left + w + 30}" y="{y}">{escape(name)}</text>')
    return _svg(left + w + 140, top + h + 30, body, title)

"""Charts as standalone SVG files: no plotting library, no fonts or scripts fetched.

The CLI writes them with `--chart FILE.svg`; a browser, an IM client or a slide deck
shows them as they are. Kept to the two shapes the analyses need: horizontal bars
(funnels, periods, channels) and a heatmap (retention cohorts).
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

"""One money formatter for every output (issue #15): the shop's currency, 万/亿 only for CNY
read in Chinese."""

from custlens.i18n import money
from custlens.serve import report


def test_the_formatter():
    assert money(12345, "zh", "CNY") == "¥1.2万" and money(2.5e8, "zh", "CNY") == "¥2.50亿"
    assert money(12345, "en", "CNY") == "¥12,345"
    assert money(12345, "zh", "GBP") == "£12,345" and money(-30, "en", "USD") == "-$30"
    assert money(7, "en", "XYZ") == "XYZ 7" and money(None, "zh") == "—"


def test_report_and_lists_use_the_shops_currency(ws, tmp_path):
    (tmp_path / "o.csv").write_text("order_id,user_id,order_ts,amount\n1,a,2025-01-01 10:00:00,15000\n"
                                    "2,b,2025-01-03 10:00:00,50\n", encoding="utf-8")
    ws.import_file("orders", tmp_path / "o.csv")
    ws.settings = ws.settings.with_overrides(**{"shop.currency": "GBP"})
    html = report.render(ws, "zh")
    assert "£15,050" in html and "¥" not in html and "万" not in html
    ws.settings = ws.settings.with_overrides(**{"shop.currency": "CNY"})
    assert "¥1.5万" in report.render(ws, "zh")

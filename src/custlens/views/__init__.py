"""Each analysis defined once — its query, row order, columns, words and chart — for the
CLI, the API (and so the dashboard) and the reports to render alike."""

from custlens.views.catalog import VIEWS, Chart, Choice, View, chart_svg, view

__all__ = ["VIEWS", "Chart", "Choice", "View", "chart_svg", "view"]

"""The pieces every Tradewind HTML page is made of: one self-contained document with plotly.js
embedded from the installed package (no CDN), titled tables and figures."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from tradewind.reporting.numbers import format_metric

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;"
    "max-width:1280px;padding:0 16px;color:#1f2328;font-variant-numeric:tabular-nums}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}"
    ".sub{color:#59636e;margin:0 0 16px}"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0 24px}"
    "td,th{border:1px solid #d1d9e0;padding:4px 10px;text-align:right}"
    "th{background:#f6f8fa}td:first-child,th:first-child,td.txt{text-align:left}"
    ".headline{display:grid;grid-template-columns:repeat(5,minmax(150px,1fr));gap:10px;margin:8px 0}"
    ".card{border:1px solid #d1d9e0;border-radius:8px;padding:10px 12px;background:#fff}"
    ".card .label{font-size:12px;color:#59636e;text-transform:uppercase;letter-spacing:.03em}"
    ".card .value{font-size:24px;font-weight:600;margin:2px 0}"
    ".card .bench{font-size:12px;color:#59636e}"
    ".pos{color:#1a7f37}.neg{color:#cf222e}"
    ".settings td:first-child{color:#59636e;white-space:nowrap}"
    ".settings td{text-align:left;border:none;border-bottom:1px solid #eef1f4}"
    ".health{padding:8px 12px;border-radius:6px;margin:8px 0 12px;font-weight:600}"
    ".health.ok{background:#dafbe1;color:#116329}.health.bad{background:#ffebe9;color:#a40e26}"
)


def page_html(title: str, sections: Sequence[str], *, plotly_src: str | None = None) -> str:
    """A complete HTML document with ``sections`` (HTML fragments): plotly.js embedded, or
    loaded from ``plotly_src`` (a page served by the dashboard, which serves the script itself)."""
    script = (
        f"<script>{get_plotlyjs()}</script>"
        if plotly_src is None
        else f"<script src='{html.escape(plotly_src)}'></script>"
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>{script}<style>{_STYLE}</style>"
        "</head><body>" + "\n".join(sections) + "</body></html>"
    )


def write_page(path: Path, title: str, sections: Sequence[str]) -> Path:
    """Write a complete HTML document with ``sections`` (HTML fragments) to ``path``."""
    page = page_html(title, sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def figure_html(figure: go.Figure, post_script: str | None = None) -> str:
    """A plotly figure as a fragment that uses the page's embedded plotly.js; ``post_script``
    runs after the figure is drawn (``{plot_id}`` in it is the figure's element id)."""
    return str(figure.to_html(full_html=False, include_plotlyjs=False, post_script=post_script))


def table_html(title: str, values: Mapping[str, Any]) -> str:
    """A titled two-column table of ``values``."""
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(format_value(v, str(k)))}</td></tr>"
        for k, v in values.items()
    )
    return f"<h2>{html.escape(title)}</h2><table>{rows}</table>"


def format_value(value: Any, key: str = "") -> str:
    """``value`` as a trader reads it (see :func:`tradewind.reporting.numbers.format_metric`):
    percentages for fractions named by ``key``, thousands separators, ``n/a`` for a value that
    could not be computed, ``k=v`` pairs for a mapping; never a repr or an exponent."""
    return format_metric(key, value)

"""The pieces every Tradewind HTML page is made of: one self-contained document with plotly.js
embedded from the installed package (no CDN), titled tables and figures."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0 24px}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}"
    "th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
)


def write_page(path: Path, title: str, sections: Sequence[str]) -> Path:
    """Write a complete HTML document with ``sections`` (HTML fragments) to ``path``."""
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<script>{get_plotlyjs()}</script><style>{_STYLE}</style>"
        "</head><body>" + "\n".join(sections) + "</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def figure_html(figure: go.Figure) -> str:
    """A plotly figure as a fragment that uses the page's embedded plotly.js."""
    return str(figure.to_html(full_html=False, include_plotlyjs=False))


def table_html(title: str, values: Mapping[str, Any]) -> str:
    """A titled two-column table of ``values``."""
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(format_value(v))}</td></tr>"
        for k, v in values.items()
    )
    return f"<h2>{html.escape(title)}</h2><table>{rows}</table>"


def format_value(value: Any) -> str:
    """A number to 6 significant digits (n/a when not finite), a mapping as k=v pairs."""
    if isinstance(value, float):
        return "n/a" if not np.isfinite(value) else f"{value:,.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)

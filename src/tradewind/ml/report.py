"""The study as one self-contained HTML page (inline CSS and SVG; no script, no network).

For each study: what was asked (target, horizon, embargo, splits, samples, class balance), the
out-of-sample scores of every model next to the naive baselines with a plain verdict, calibration
before and after (judged on the later test windows), reliability curves (equal-count bins, each
with its count), the gate's share, and
the features ranked by permutation and impurity importance.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from tradewind.ml.calibration import MIN_BIN_COUNT, ReliabilityCurve
from tradewind.ml.regression import RegressionReport
from tradewind.ml.study import StudyReport
from tradewind.ml.validation import Scores

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.2em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.win{color:#17692c;font-weight:600}.lose{color:#a0261b;font-weight:600}
.curves{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{font-size:.85em}
"""


def _num(value: float, digits: int = 4) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


def _score_cells(s: Scores) -> str:
    return (
        "".join(f"<td>{_num(v)}</td>" for v in (s.accuracy, s.log_loss, s.auc, s.brier))
        + f"<td>{s.count}</td>"
    )


def _reliability_svg(raw: ReliabilityCurve, calibrated: ReliabilityCurve | None, title: str) -> str:
    size, pad = 240, 28
    span = size - 2 * pad

    def xy(p: float, o: float) -> str:
        return f"{pad + p * span:.1f},{size - pad - o * span:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" stroke="#999"/>',
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#bbb" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{size / 2}" y="{size - 6}" font-size="10" text-anchor="middle">predicted</text>',
        f'<text x="10" y="{size / 2}" font-size="10" transform="rotate(-90 10 {size / 2})" '
        'text-anchor="middle">observed</text>',
    ]
    for curve, colour in ((raw, "#c0392b"), (calibrated, "#2471a3")):
        if curve is None or curve.predicted.shape[0] == 0:
            continue
        points = " ".join(xy(p, o) for p, o in zip(curve.predicted, curve.observed, strict=True))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for p, o, n in zip(curve.predicted, curve.observed, curve.count, strict=True):
            x, y = xy(p, o).split(",")
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}" data-count="{n}">'
                f"<title>predicted {p:.3f}, observed {o:.3f}, n = {n}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _reliability_table(raw: ReliabilityCurve, calibrated: ReliabilityCurve | None) -> str:
    """Each plotted bin's mean prediction, observed frequency and count."""
    rows = ["<table><tr><th>curve</th><th>predicted</th><th>observed</th><th>n</th></tr>"]
    for label, curve in (("raw", raw), ("calibrated", calibrated)):
        if curve is None:
            continue
        for p, o, n in zip(curve.predicted, curve.observed, curve.count, strict=True):
            rows.append(f"<tr><td>{label}</td><td>{p:.3f}</td><td>{o:.3f}</td><td>{n}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _importance(report: StudyReport) -> str:
    rows = []
    for m in report.models:
        if m.permutation is None and m.impurity is None:
            continue
        order = np.argsort(-(m.permutation if m.permutation is not None else m.impurity))  # type: ignore[operator]
        cells = []
        for j in order[:12]:
            perm = _num(float(m.permutation[j])) if m.permutation is not None else "-"
            imp = _num(float(m.impurity[j])) if m.impurity is not None else "-"
            cells.append(
                f"<tr><td>{html.escape(report.features[j])}</td><td>{perm}</td><td>{imp}</td></tr>"
            )
        rows.append(
            f"<h4>{html.escape(m.name)}: top features</h4><table><tr><th>feature</th>"
            "<th>permutation (log-loss increase)</th><th>impurity share</th></tr>"
            + "".join(cells)
            + "</table>"
        )
    return "".join(rows)


def study_section(report: StudyReport) -> str:
    """One study as an HTML section."""
    counts = ", ".join(
        f"{html.escape(report.class_names.get(c, str(c)))}: {n}"
        for c, n in report.class_counts.items()
    )
    head = (
        f"<h2>{html.escape(report.title)}: {html.escape(report.target)}</h2>"
        f"<p>{report.bars} bars, {report.samples} samples ({counts}); horizon {report.horizon} "
        f"bars, embargo {report.embargo} bars; purged walk-forward over {report.splits} test "
        f"windows, {report.test_samples} out-of-sample predictions. {len(report.features)} "
        "features.</p>"
    )
    table = [
        "<table><tr><th>model</th><th>accuracy</th><th>log loss</th><th>AUC</th><th>Brier</th>"
        "<th>n</th><th>verdict</th><th>per-window accuracy</th><th>gate passes</th>"
        "<th>train s (last window)</th></tr>"
    ]
    for name, s in report.baselines.items():
        table.append(f"<tr><td>baseline: {html.escape(name)}</td>{_score_cells(s)}"
                     "<td></td><td></td><td></td><td></td></tr>")  # fmt: skip
    for m in report.models:
        verdict = report.verdict(m)
        css = "win" if verdict.startswith("beats") else "lose"
        folds = " / ".join(_num(a, 3) for a in m.fold_accuracy)
        table.append(
            f"<tr><td>{html.escape(m.name)}</td>{_score_cells(m.scores)}"
            f'<td class="{css}">{verdict}</td><td>{folds}</td><td>{m.gate_share:.1%}</td>'
            f"<td>{m.train_seconds:.2f}</td></tr>"
        )
    table.append("</table>")
    calib = [
        "<h3>Calibration (fitted on the earlier half of the test windows, judged on the later)</h3>"
        "<table><tr><th>model</th><th>log loss raw</th><th>log loss calibrated</th>"
        "<th>Brier raw</th><th>Brier calibrated</th><th>gated accuracy</th></tr>"
    ]
    curves = []
    for m in report.models:
        if m.calibrated is not None and m.uncalibrated_late is not None:
            gated = _num(m.gated_scores.accuracy) if m.gated_scores is not None else "n/a"
            calib.append(
                f"<tr><td>{html.escape(m.name)}</td><td>{_num(m.uncalibrated_late.log_loss)}</td>"
                f"<td>{_num(m.calibrated.log_loss)}</td><td>{_num(m.uncalibrated_late.brier)}</td>"
                f"<td>{_num(m.calibrated.brier)}</td><td>{gated}</td></tr>"
            )
        if m.reliability_raw is not None:
            title = f"{m.name}: reliability (red raw, blue calibrated)"
            raw, cal = m.reliability_raw, m.reliability_calibrated
            curves.append(
                f"<figure>{_reliability_svg(raw, cal, title)}"
                f"<figcaption>{html.escape(title)}; equal-count bins of at least "
                f"{MIN_BIN_COUNT} predictions{_reliability_table(raw, cal)}</figcaption></figure>"
            )
    calib.append("</table>")
    return (
        f"<section>{head}{''.join(table)}{''.join(calib)}"
        f'<div class="curves">{"".join(curves)}</div>{_importance(report)}</section>'
    )


def regression_section(report: RegressionReport) -> str:
    """One regression study as an HTML section."""
    rows = [
        f"<h2>{html.escape(report.title)}: {html.escape(report.target)} (regression)</h2>"
        f"<p>{report.samples} samples, horizon {report.horizon} bars, purged walk-forward over "
        f"{report.splits} test windows, {report.baseline.count} out-of-sample predictions.</p>"
        "<table><tr><th>model</th><th>MAE</th><th>RMSE</th><th>R²</th><th>correlation</th>"
        "<th>verdict</th></tr>"
    ]
    entries = [("baseline: training mean", report.baseline, "")]
    entries += [(name, s, report.verdict(name)) for name, s in report.models.items()]
    for name, s, verdict in entries:
        css = "win" if verdict.startswith("beats") else "lose"
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{s.mae:.6f}</td><td>{s.rmse:.6f}</td>"
            f"<td>{_num(s.r2)}</td><td>{_num(s.correlation)}</td>"
            f'<td class="{css}">{verdict}</td></tr>'
        )
    rows.append("</table>")
    return f"<section>{''.join(rows)}</section>"


def render_html(
    reports: Sequence[StudyReport | RegressionReport], *, title: str = "Tradewind ML study"
) -> str:
    """The whole page for one or more studies."""
    intro = (
        "<p>Every number is out of sample: each model is trained only on bars whose labels end "
        "at least horizon + embargo bars before its test window, its scaler and gate are fitted "
        "on that training window, and its settings were fixed before the run. A model that does "
        "not beat the naive baselines is reported as such. Each random-forest tree draws a "
        "bootstrap of its window's mean label uniqueness as a share of the rows (overlapping "
        "labels make a full-size bootstrap a set of near-copies).</p>"
    )
    body = "".join(
        regression_section(r) if isinstance(r, RegressionReport) else study_section(r)
        for r in reports
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{intro}{body}"
        "</body></html>"
    )

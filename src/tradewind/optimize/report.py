"""HTML reports for studies, walk-forward runs and Monte Carlo: one self-contained file each.

plotly.js is embedded from the installed plotly package (as in the backtest report), so a page
works offline. A study's page shows the optimisation history, parameter importance, the Pareto
front (several objectives), the top trials on both engines and the overfitting statistics; a
walk-forward page its windows and stitched out-of-sample equity; a Monte Carlo page its fan chart
and drawdown histogram.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tradewind.optimize.montecarlo import MonteCarloResult
from tradewind.optimize.search import StudyResult
from tradewind.optimize.walkforward import WalkForwardResult
from tradewind.reporting.page import figure_html, table_html, write_page

IMPORTANCE_BINS = 10


def parameter_importance(frame: pd.DataFrame, params: list[str], value: str) -> dict[str, float]:
    """Share of the objective's variance explained by each parameter on its own (eta squared of a
    one-way ANOVA; numeric parameters grouped into up to :data:`IMPORTANCE_BINS` quantile bins),
    normalised to sum to 1."""
    y = frame[value].to_numpy(dtype=np.float64)
    total = float(np.var(y)) * len(y)
    raw: dict[str, float] = {}
    for name in params:
        column = frame[name]
        groups = column
        if pd.api.types.is_numeric_dtype(column) and column.nunique() > IMPORTANCE_BINS:
            groups = pd.qcut(column.rank(method="first"), IMPORTANCE_BINS, labels=False)
        means = frame.groupby(groups.to_numpy())[value].agg(["mean", "size"])
        between = float((means["size"] * (means["mean"] - y.mean()) ** 2).sum())
        raw[name] = between / total if total > 0 else 0.0
    scale = sum(raw.values())
    return {k: (v / scale if scale > 0 else 0.0) for k, v in raw.items()}


def study_sections(study: StudyResult) -> list[str]:
    """The HTML sections of a study."""
    frame = study.trials.sort_values("number")
    first = f"value_{study.objectives[0]}"
    sections = [table_html("Study", {k: v for k, v in study.summary().items()
                                 if k in ("study_name", "storage", "strategy", "sampler",
                                          "objectives", "completed_trials", "failed_trials")})]  # fmt: skip
    if frame.empty:
        return [*sections, "<p>No completed trials.</p>"]
    history = go.Figure()
    history.add_trace(go.Scatter(x=frame["number"], y=frame[first], mode="markers", name="trial"))
    running = frame[first].cummax() if study.directions[0] == "maximize" else frame[first].cummin()
    history.add_trace(go.Scatter(x=frame["number"], y=running, mode="lines", name="best so far"))
    history.update_layout(title=f"Optimisation history ({study.objectives[0]})",
                          xaxis_title="trial", yaxis_title=study.objectives[0])  # fmt: skip
    sections.append(figure_html(history))
    importance = parameter_importance(frame, study.space, first)
    bars = go.Figure(go.Bar(x=list(importance.values()), y=list(importance), orientation="h"))
    bars.update_layout(title="Parameter importance (share of objective variance)")
    sections.append(figure_html(bars))
    if len(study.objectives) > 1:
        second = f"value_{study.objectives[1]}"
        front = [b["number"] for b in study.best]
        on_front = frame[frame["number"].isin(front)]
        pareto = go.Figure()
        pareto.add_trace(go.Scatter(x=frame[first], y=frame[second], mode="markers",
                                    name="trials", marker={"color": "#bbb"}))  # fmt: skip
        pareto.add_trace(go.Scatter(x=on_front[first], y=on_front[second], mode="markers",
                                    name="Pareto front", marker={"color": "#cf222e"}))  # fmt: skip
        pareto.update_layout(title="Pareto front", xaxis_title=study.objectives[0],
                             yaxis_title=study.objectives[1])  # fmt: skip
        sections.append(figure_html(pareto))
    best_rows = {f"#{b['number']}": f"{b['params']} {b['values']} trades={b['trade_count']}"
                 for b in study.best[:10]}  # fmt: skip
    sections.append(table_html("Best trials", best_rows))
    parity = {f"#{p.number} {p.params}": (
        f"{p.engine}: equity {p.kernel_final_equity:,.2f}, {p.kernel_trades} trades | event "
        f"engine: equity {p.event_final_equity:,.2f}, {p.event_trades} trades")
        for p in study.parity}  # fmt: skip
    if parity:
        sections.append(table_html("Top trials re-run on the event engine", parity))
    summary = study.summary()
    stats: dict[str, Any] = {}
    if "deflated_sharpe" in summary:
        stats.update({f"DSR {k}": v for k, v in summary["deflated_sharpe"].items()})
    if "pbo" in summary:
        stats.update({f"PBO {k}": v for k, v in summary["pbo"].items()})
    sections.append(table_html("Overfitting statistics", stats or {"n/a": "too few trials"}))
    if study.fallbacks:
        sections.append(table_html("Trials on the event engine", study.fallbacks))
    return sections


def walkforward_sections(result: WalkForwardResult) -> list[str]:
    """The HTML sections of a walk-forward run."""
    rows = {
        f"window {w.index}": (
            f"train from {w.times.get('train_start')}, test {w.times.get('test_start')} to "
            f"{w.times.get('test_end')}: {w.params}; {result.objective} IS {w.objective_in:.4g}, "
            + (
                f"OOS {w.objective_out:.4g}, efficiency {w.efficiency:.4g}"
                if w.status == "ok"
                else f"{w.status.upper()} ({w.reason}): not ranked"
            )
        )
        for w in result.windows
    }
    figure = go.Figure()
    figure.add_trace(go.Bar(x=[w.index for w in result.windows],
                            y=[w.objective_in for w in result.windows], name="in sample"))  # fmt: skip
    figure.add_trace(go.Bar(x=[w.index for w in result.windows],
                            y=[w.objective_out for w in result.windows], name="out of sample"))  # fmt: skip
    figure.update_layout(title=f"Walk-forward windows ({result.objective})", xaxis_title="window")
    equity = go.Figure(go.Scatter(x=result.oos_equity.index, y=result.oos_equity.to_numpy(),
                                  mode="lines", name="stitched OOS equity"))  # fmt: skip
    for w in result.windows:
        equity.add_vline(x=pd.Timestamp(w.times["test_start"]), line={"color": "#ddd"})
    equity.update_layout(title="Stitched out-of-sample equity")
    summary = result.summary()
    head = {k: v for k, v in summary.items() if k not in ("windows", "parameter_stability")}
    return [
        table_html("Walk-forward", head),
        table_html("Windows", rows),
        figure_html(figure),
        figure_html(equity),
        table_html("Parameter stability", summary["parameter_stability"]),
    ]


def montecarlo_sections(result: MonteCarloResult) -> list[str]:
    """The HTML sections of a Monte Carlo run."""
    fan = go.Figure()
    fan.add_trace(go.Scatter(x=result.fan.index, y=result.fan["p95"], line={"width": 0},
                             name="95th", showlegend=False))  # fmt: skip
    fan.add_trace(go.Scatter(x=result.fan.index, y=result.fan["p5"], fill="tonexty",
                             line={"width": 0}, name="5th-95th"))  # fmt: skip
    fan.add_trace(go.Scatter(x=result.fan.index, y=result.fan["p75"], line={"width": 0},
                             showlegend=False))  # fmt: skip
    fan.add_trace(go.Scatter(x=result.fan.index, y=result.fan["p25"], fill="tonexty",
                             line={"width": 0}, name="25th-75th"))  # fmt: skip
    fan.add_trace(go.Scatter(x=result.fan.index, y=result.fan["p50"], name="median"))
    unit = "bar" if result.method == "block" else "trade"
    fan.update_layout(title=f"Monte Carlo fan chart ({result.method}, {result.paths} paths)",
                      xaxis_title=unit, yaxis_title="equity")  # fmt: skip
    histogram = go.Figure(go.Histogram(x=result.max_drawdown.values, nbinsx=50))
    histogram.add_vline(x=result.ruin, line={"color": "#cf222e"})
    histogram.update_layout(title="Maximum drawdown across paths (ruin line in red)",
                            xaxis_title="max drawdown")  # fmt: skip
    return [table_html("Monte Carlo", result.summary()), figure_html(fan), figure_html(histogram)]


def write_report(
    path: Path,
    title: str,
    *,
    study: StudyResult | None = None,
    walkforward: WalkForwardResult | None = None,
    montecarlo: MonteCarloResult | None = None,
) -> Path:
    """Write one HTML page with the given parts to ``path`` and return the path."""
    sections: list[str] = [f"<h1>{html.escape(title)}</h1>"]
    if study is not None:
        sections += study_sections(study)
    if walkforward is not None:
        sections += walkforward_sections(walkforward)
    if montecarlo is not None:
        sections += montecarlo_sections(montecarlo)
    return write_page(path, title, sections)

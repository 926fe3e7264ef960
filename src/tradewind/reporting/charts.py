"""The report's figures: price with entries and exits, equity against buy-and-hold with the
drawdown, and the monthly returns.

The price chart stays readable with thousands of trades: it has a range slider, and the entry and
exit markers are drawn by a small script that shows each entry and exit when at most
:data:`MAX_MARKERS` markers fall in the visible range, and otherwise one circle per time bucket
for the trades closing in it (green for a net gain, red for a net loss, sized by how many trades
it holds, with the count and P&L in its hover text). Zooming or dragging the
slider redraws them for the new range, so the trades appear one by one as the range narrows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tradewind.performance.summary import monthly_returns

MAX_CANDLES = 5_000
"""Above this many bars the candles are resampled to fewer, wider ones (first open, max high, min
low, last close) so that the page, which draws them twice (chart and range slider), stays quick;
the markers keep their exact times and prices."""

MAX_DETAIL_BARS = 300_000
"""Up to this many bars the page also carries the original candles, shown once you zoom in to at
most :data:`MAX_CANDLES` of them (about 10 MB of page per 300,000 bars)."""

MAX_MARKERS = 500
"""At most this many entry and exit markers are visible at once (half of them entries)."""

MARKER_GROUPS = 120
"""Time buckets across the visible range when the trades are too many to show one by one: at most
this many circles (gains and losses together), so clusters stay legible."""

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_ENTRY_COLOUR = "#1a7f37"
_EXIT_COLOUR = "#cf222e"


def _naive_utc(index: pd.Index) -> pd.DatetimeIndex:
    """plotly.js has no time zones: give it UTC wall times."""
    times = pd.DatetimeIndex(index)
    return times.tz_convert("UTC").tz_localize(None) if times.tz is not None else times


def _resampled(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    if len(frame) <= MAX_CANDLES:
        return frame, 1
    factor = int(np.ceil(len(frame) / MAX_CANDLES))
    groups = np.arange(len(frame)) // factor
    shown = frame.groupby(groups).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last"}
    )
    shown.index = frame.index[::factor][: len(shown)]
    return shown, factor


def price_chart(symbol: str, frame: pd.DataFrame, trades: pd.DataFrame) -> tuple[go.Figure, str]:
    """Candles of ``symbol`` with a range slider, and empty entry/exit marker traces that
    :func:`marker_script` fills. Returns the figure and that script (for the page)."""
    shown, factor = _resampled(frame)
    times = _naive_utc(shown.index)
    title = f"{symbol}: price, entries and exits"
    if factor > 1 and len(frame) > 1:
        step = frame.index[1] - frame.index[0]
        title += f" ({_span(step * factor)} candles; zoom in for the {_span(step)} ones)"
    figure = go.Figure()
    figure.add_trace(
        go.Candlestick(
            x=times, open=shown["open"], high=shown["high"], low=shown["low"],
            close=shown["close"], name=symbol, showlegend=False,
            increasing_line_color="#26a69a", decreasing_line_color="#ef5350",
        )
    )  # fmt: skip
    for name, symbol_shape, colour in (
        ("entries", "triangle-up", _ENTRY_COLOUR),
        ("exits", "triangle-down", _EXIT_COLOUR),
    ):
        figure.add_trace(
            go.Scatter(
                x=[], y=[], mode="markers", name=name, hoverinfo="text", text=[],
                marker={"symbol": symbol_shape, "color": colour, "size": 9,
                        "line": {"width": 1, "color": "#ffffff"}},
            )
        )  # fmt: skip
    figure.update_layout(
        # The legend sits on its own line under the title, so a long title never runs into it.
        title={"text": title, "y": 0.98, "yanchor": "top"}, height=580,
        margin={"l": 60, "r": 20, "t": 80, "b": 30},
        legend={"orientation": "h", "y": 1.0, "x": 0, "xanchor": "left", "yanchor": "bottom"},
        xaxis={"rangeslider": {"visible": True, "thickness": 0.08, "yaxis": {"rangemode": "auto"}},
               "type": "date"},
        yaxis={"tickformat": ",", "fixedrange": False, "title": None},
        hovermode="closest",
    )  # fmt: skip
    mine = trades[trades["symbol"] == symbol] if len(trades) else trades
    return figure, marker_script(mine, shown, frame if factor > 1 else None)


def _span(step: pd.Timedelta) -> str:
    minutes = int(step.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}-day"
    if minutes % 60 == 0:
        return f"{minutes // 60}-hour"
    return f"{minutes}-minute"


def _ms(values: pd.Series) -> list[int]:
    return [int(v) for v in pd.DatetimeIndex(values).as_unit("ms").asi8]


def _ohlc(frame: pd.DataFrame) -> dict[str, list[float] | list[int]]:
    return {
        "t": _ms(pd.Series(frame.index)),
        **{column[0]: frame[column].astype(float).tolist()
           for column in ("open", "high", "low", "close")},
    }  # fmt: skip


def marker_script(
    trades: pd.DataFrame, candles: pd.DataFrame, bars: pd.DataFrame | None = None
) -> str:
    """JavaScript (a plotly ``post_script``) that draws the entry and exit markers of ``trades``
    for the visible range (each trade when at most :data:`MAX_MARKERS` markers fit, else grouped
    by time), shows the original ``bars`` instead of the resampled ``candles`` once at most
    :data:`MAX_CANDLES` of them are in view (resampled ones stay outside it, so the range slider
    keeps the whole history), and fits the price axis to what is in view; redrawn on every zoom,
    pan or range-slider move."""
    detail = bars is not None and len(bars) <= MAX_DETAIL_BARS
    data = {
        "coarse": _ohlc(candles),
        "fine": _ohlc(bars) if detail and bars is not None else None,
        "max_candles": MAX_CANDLES,
        "entry_t": _ms(trades["entry_time"]) if len(trades) else [],
        "entry_p": [float(v) for v in trades["entry_price"]] if len(trades) else [],
        "exit_t": _ms(trades["exit_time"]) if len(trades) else [],
        "exit_p": [float(v) for v in trades["exit_price"]] if len(trades) else [],
        "side": [str(v) for v in trades["side"]] if len(trades) else [],
        "pnl": [float(v) for v in trades["pnl"]] if len(trades) else [],
    }
    return (
        _MARKER_JS.replace("__DATA__", json.dumps(data))
        .replace("__HALF__", str(MAX_MARKERS // 2))
        .replace("__GROUPS__", str(MARKER_GROUPS))
    )


# {plot_id} is filled in by plotly. Times are UTC milliseconds; plotly.js reads and writes dates
# as UTC wall-clock strings, hence parse() and iso().
_MARKER_JS = """
(function () {
  var gd = document.getElementById('{plot_id}');
  var T = __DATA__, HALF = __HALF__, GROUPS = __GROUPS__;
  gd.dataset.trades = String(T.entry_t.length);
  function iso(ms) { return new Date(ms).toISOString().replace('T', ' ').slice(0, 19); }
  function parse(v) {
    var s = String(v); if (s.length === 10) { s += ' 00:00:00'; }
    return Date.parse(s.replace(' ', 'T') + 'Z');
  }
  function num(v) { return v.toLocaleString('en-US', {maximumFractionDigits: 2}); }
  function inside(t, lo, hi) {
    var idx = [], i;
    for (i = 0; i < t.length; i++) { if (t[i] >= lo && t[i] <= hi) { idx.push(i); } }
    return idx;
  }
  function each(t, p, idx, kind) {
    return {x: idx.map(function (k) { return iso(t[k]); }),
            y: idx.map(function (k) { return p[k]; }),
            text: idx.map(function (k) {
              var s = kind + ' ' + T.side[k] + ' ' + iso(t[k]).slice(0, 16) + ' at ' + num(p[k]);
              return kind === 'exit' ? s + ', P&L ' + num(T.pnl[k]) : s; })};
  }
  // Too many to show one by one: the trades closing in each of GROUPS time buckets become one
  // circle at their mean exit time and price, green when their P&L sums to a gain, red for a
  // loss, sized by how many trades it holds.
  function grouped(idx, lo, hi, gains) {
    var width = Math.max(1, (hi - lo) / GROUPS), n = {}, st = {}, sp = {}, pl = {}, keys = [];
    idx.forEach(function (k) {
      var b = Math.min(GROUPS - 1, Math.floor((T.exit_t[k] - lo) / width));
      if (!(b in n)) { n[b] = 0; st[b] = 0; sp[b] = 0; pl[b] = 0; keys.push(b); }
      n[b] += 1; st[b] += T.exit_t[k]; sp[b] += T.exit_p[k]; pl[b] += T.pnl[k];
    });
    var most = Math.max.apply(null, [1].concat(keys.map(function (b) { return n[b]; })));
    keys = keys.filter(function (b) { return gains ? pl[b] >= 0 : pl[b] < 0; });
    return {x: keys.map(function (b) { return iso(st[b] / n[b]); }),
            y: keys.map(function (b) { return sp[b] / n[b]; }),
            size: keys.map(function (b) { return 6 + 12 * Math.sqrt(n[b] / most); }),
            text: keys.map(function (b) {
              return n[b] + ' trade' + (n[b] > 1 ? 's' : '') + ' closed ' +
                iso(lo + b * width).slice(0, 16) + ' to ' + iso(lo + (b + 1) * width).slice(0, 16) +
                ', P&L ' + num(pl[b]) + ' (zoom in to see each)'; })};
  }
  var all = T.entry_t.concat(T.exit_t);
  var first = Math.min.apply(null, all.length ? all : [0]);
  var last = Math.max.apply(null, all.length ? all : [0]);
  function draw(lo, hi) {
    var ins = inside(T.entry_t, lo, hi), outs = inside(T.exit_t, lo, hi), a, b, style;
    if (ins.length <= HALF && outs.length <= HALF) {
      a = each(T.entry_t, T.entry_p, ins, 'entry'); b = each(T.exit_t, T.exit_p, outs, 'exit');
      style = {name: ['entries', 'exits'], 'marker.symbol': ['triangle-up', 'triangle-down'],
               'marker.size': [9, 9], 'marker.opacity': [1, 1]};
      gd.dataset.grouped = 'false';
    } else {
      a = grouped(outs, lo, hi, true); b = grouped(outs, lo, hi, false);
      style = {name: ['trades with a net gain (grouped)', 'trades with a net loss (grouped)'],
               'marker.symbol': ['circle', 'circle'], 'marker.size': [a.size, b.size],
               'marker.opacity': [0.75, 0.75]};
      gd.dataset.grouped = 'true';
    }
    gd.dataset.visibleMarkers = String(a.x.length + b.x.length);
    style.x = [a.x, b.x]; style.y = [a.y, b.y]; style.text = [a.text, b.text];
    Plotly.restyle(gd, style, [1, 2]);
  }
  // Candles: the resampled ones for a wide view; once few enough original bars are in view, the
  // originals there (and a view's width either side, for panning) with resampled ones outside,
  // so the range slider below still shows the whole history.
  var C = T.coarse, F = T.fine, shownFine = false;
  function count(t, lo, hi) {
    var n = 0, i; for (i = 0; i < t.length; i++) { if (t[i] >= lo && t[i] <= hi) { n++; } }
    return n;
  }
  function candles(lo, hi) {
    var useFine = F !== null && count(F.t, lo, hi) <= T.max_candles;
    var out = {x: [], o: [], h: [], l: [], c: []}, i, a, b, pad = hi - lo, cstep;
    function add(src, k) {
      out.x.push(iso(src.t[k])); out.o.push(src.o[k]); out.h.push(src.h[k]);
      out.l.push(src.l[k]); out.c.push(src.c[k]);
    }
    if (useFine) {
      a = lo - pad; b = hi + pad; cstep = C.t.length > 1 ? C.t[1] - C.t[0] : 0;
      for (i = 0; i < C.t.length && C.t[i] + cstep <= a; i++) { add(C, i); }
      for (i = 0; i < F.t.length; i++) { if (F.t[i] >= a && F.t[i] <= b) { add(F, i); } }
      for (i = 0; i < C.t.length; i++) { if (C.t[i] > b) { add(C, i); } }
    } else if (shownFine) {
      for (i = 0; i < C.t.length; i++) { add(C, i); }
    }
    if (useFine || shownFine) {
      Plotly.restyle(gd, {x: [out.x], open: [out.o], high: [out.h], low: [out.l],
                          close: [out.c]}, [0]);
    }
    shownFine = useFine;
    gd.dataset.detail = String(useFine);
    return useFine ? F : C;
  }
  // A zoom or a slider move changes only the time axis: fit the price axis to the candles in
  // view, as a trader expects (plotly keeps the whole history's price range otherwise).
  function fit(src, lo, hi) {
    var top = -Infinity, bottom = Infinity, i, n = src.t.length;
    for (i = 0; i < n; i++) {
      // Every candle that overlaps the view, the one that began before it included.
      if (src.t[i] <= hi && (i + 1 >= n || src.t[i + 1] > lo)) {
        top = Math.max(top, src.h[i]); bottom = Math.min(bottom, src.l[i]);
      }
    }
    if (top > bottom) {
      var pad = (top - bottom) * 0.05;
      Plotly.relayout(gd, {'yaxis.range': [bottom - pad, top + pad]});
    }
  }
  gd.on('plotly_relayout', function (ev) {
    if (ev['xaxis.autorange']) {
      candles(-Infinity, Infinity); draw(first, last);
      Plotly.relayout(gd, {'yaxis.autorange': true}); return;
    }
    var r = ev['xaxis.range'] || (ev['xaxis.range[0]'] !== undefined ?
      [ev['xaxis.range[0]'], ev['xaxis.range[1]']] : null);
    if (r) {
      var lo = parse(r[0]), hi = parse(r[1]);
      var src = candles(lo, hi); draw(lo, hi); fit(src, lo, hi);
    }
  });
  gd.dataset.detail = 'false';
  draw(first, last);
})();
"""


MAX_LINE_POINTS = 6_000
"""Above this many bars the equity lines are thinned for display (see :func:`thin_positions`)."""


def thin_positions(values: np.ndarray, max_points: int = MAX_LINE_POINTS) -> np.ndarray:
    """Positions of ``values`` to draw a line of at most about ``max_points`` points that keeps
    its shape: the first, lowest and highest value of each run of bars, and the last bar (so
    every peak and trough, and thus the deepest drawdown, stays on the chart)."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    size = int(np.ceil(n / (max_points // 3)))
    groups = np.arange(n) // size
    frame = pd.DataFrame({"v": values, "g": groups})
    keep = np.concatenate(
        [
            frame.groupby("g").head(1).index.to_numpy(),
            frame.groupby("g")["v"].idxmin().to_numpy(),
            frame.groupby("g")["v"].idxmax().to_numpy(),
            [n - 1],
        ]
    )
    return np.unique(keep)


def equity_chart(equity: pd.Series, benchmark: pd.Series | None = None) -> go.Figure:
    """Equity (and buy-and-hold of the traded asset from the same starting equity) over the
    drawdown from the running peak; long runs are thinned for display (:func:`thin_positions`)
    after the drawdown is computed on every bar."""
    peak = np.maximum.accumulate(equity.to_numpy())
    drawdown = pd.Series(equity.to_numpy() / peak - 1.0, index=equity.index)
    keep = np.unique(
        np.concatenate([thin_positions(equity.to_numpy()), thin_positions(drawdown.to_numpy())])
    )
    equity, drawdown = equity.iloc[keep], drawdown.iloc[keep]
    benchmark = benchmark.iloc[keep] if benchmark is not None else None
    times = _naive_utc(equity.index)
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05
    )
    figure.add_trace(
        go.Scattergl(x=times, y=equity.to_numpy(), name="strategy", line={"color": "#0969da"}),
        row=1,
        col=1,
    )
    if benchmark is not None:
        figure.add_trace(
            go.Scattergl(x=times, y=benchmark.to_numpy(), name="buy & hold",
                         line={"color": "#8c959f", "dash": "dot"}),
            row=1, col=1,
        )  # fmt: skip
    figure.add_trace(
        go.Scattergl(x=times, y=drawdown.to_numpy(), name="drawdown", fill="tozeroy",
                     line={"color": _EXIT_COLOUR}),
        row=2, col=1,
    )  # fmt: skip
    figure.update_layout(
        title="Equity against buy & hold, and drawdown", height=520,
        margin={"l": 70, "r": 20, "t": 50, "b": 30},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )  # fmt: skip
    figure.update_yaxes(tickformat=",", row=1, col=1)
    figure.update_yaxes(tickformat=".1%", row=2, col=1)
    return figure


def monthly_heatmap(equity: pd.Series) -> go.Figure:
    """The compounded return of each calendar month (UTC) as a year x month heatmap.

    The equity's index goes to :func:`monthly_returns` as it is: the performance module reads a
    DatetimeIndex in whatever unit pandas gave it (microseconds for a result's index today), where
    dividing its integers by 10^6 as if they were nanoseconds put every bar in January 1970.
    """
    table = monthly_returns(equity.to_numpy(), equity.index)
    figure = go.Figure(
        go.Heatmap(
            z=table.to_numpy(dtype=float), x=list(MONTH_NAMES), y=[str(i) for i in table.index],
            colorscale="RdYlGn", zmid=0.0, texttemplate="%{z:.1%}",
            hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>", colorbar={"tickformat": ".0%"},
        )
    )  # fmt: skip
    figure.update_layout(
        title="Monthly returns", height=220 + 40 * len(table),
        margin={"l": 60, "r": 20, "t": 50, "b": 30},
    )  # fmt: skip
    figure.update_yaxes(type="category", autorange="reversed")
    return figure

"use strict";
// The Tradewind dashboard: reads and acts through the operator API (/api/v1) with the session
// cookie; state-changing requests carry the session's CSRF token, kept in this closure only.
(() => {
  const API = "/api/v1";
  const POLL_MS = 5000;
  let csrf = null;
  let scopes = [];
  let latest = {};
  let refreshing = null;
  let again = false;
  let leaving = false;
  let refreshes = 0;

  // -- numbers and times as a trader reads them (exact values stay in data-value) ------------
  const fixed = (digits) => new Intl.NumberFormat("en-US", {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
  // Amounts in the account currency: cents for dollar-like currencies, micro-units for coins
  // (an ETH account's PnL of -0.0033 must not read 0.00).
  const CENTS = new Set(["USD", "USDT", "USDC", "BUSD", "TUSD", "FDUSD", "DAI", "EUR", "GBP"]);
  let cash = 2;
  let MONEY = fixed(cash);
  let accountCurrency = "";
  function setCurrency(currency) {
    accountCurrency = currency || "";
    const decimals = !currency || CENTS.has(currency.toUpperCase()) ? 2 : 6;
    if (decimals !== cash) {
      cash = decimals;
      MONEY = fixed(cash);
    }
  }
  const QTY = new Intl.NumberFormat("en-US", {maximumFractionDigits: 8});
  const missing = (v) => v === null || v === undefined || v === "" ||
    (typeof v === "number" && !Number.isFinite(v));
  const noNegativeZero = (text) => (/^-[0.,]+$/.test(text) ? text.slice(1) : text);
  const money = (v) => (missing(v) ? "n/a" : noNegativeZero(MONEY.format(Number(v))));
  const signedMoney = (v) => (missing(v) ? "n/a" : (Number(v) > 0 ? "+" : "") + money(v));
  const qty = (v) => (missing(v) ? "n/a" : QTY.format(Number(v)));
  // The quantities of one column share their decimals (those of the longest, at most 8), so the
  // column lines up (0.1051251 under 0.10415202 read as a different magnitude at a glance).
  const decimalsOf = (v) => {
    const text = String(v);
    if (/e/i.test(text)) return 8;
    const dot = text.indexOf(".");
    return dot < 0 ? 0 : text.length - dot - 1;
  };
  const qtyColumn = (values) => {
    const shown = values.filter((v) => !missing(v));
    const format = fixed(Math.min(8, Math.max(0, ...shown.map(decimalsOf))));
    return (v) => (missing(v) ? "n/a" : format.format(Number(v)));
  };
  const price = (v) => {
    if (missing(v)) return "n/a";
    const n = Math.abs(Number(v));
    return fixed(n >= 1000 ? 2 : n >= 1 ? 4 : 6).format(Number(v));
  };
  // An amount of any asset: cents from 1 up, up to 8 decimals below (a fee in BTC).
  const amount = (v) => {
    if (missing(v)) return "n/a";
    return Math.abs(Number(v)) >= 1 ? money(v) : QTY.format(Number(v));
  };
  const pct = (v) => (missing(v) ? "n/a" : noNegativeZero(fixed(2).format(Number(v) * 100)) + "%");
  const bps = (v) => (missing(v) ? "n/a" : noNegativeZero(fixed(2).format(Number(v))) + " bps");
  const pad = (n) => String(n).padStart(2, "0");
  const when = (v) => {
    if (missing(v) || v === 0) return "n/a";
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) return String(v);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  };
  const sign = (v) => (missing(v) || Number(v) === 0 ? "" : Number(v) > 0 ? "pos" : "neg");

  // -- DOM helpers (text only: nothing from the API is parsed as HTML) ------------------------
  const $ = (id) => document.getElementById(id);
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "dataset") Object.assign(node.dataset, v);
      else if (k === "onclick") node.addEventListener("click", v);
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }
  // A number cell: the formatted text, the API's exact value in data-value.
  const num = (raw, text, extra = "") =>
    el("td", {class: `num ${extra}`.trim(), "data-value": missing(raw) ? "" : String(raw)}, text);
  const txt = (value) => el("td", {}, missing(value) ? "n/a" : String(value));
  function fill(table, head, rows, empty) {
    table.replaceChildren(
      el("thead", {}, el("tr", {}, head.map(([label, isNum]) =>
        el("th", {class: isNum ? "num" : null}, label)))),
      el("tbody", {}, rows.length ? rows
        : [el("tr", {}, el("td", {class: "empty", colspan: String(head.length)}, empty))]),
    );
  }
  function setValue(id, raw, text, klass) {
    const node = $(id);
    node.textContent = text;
    node.dataset.value = missing(raw) ? "" : String(raw);
    node.className = `value ${klass || ""}`.trim();
  }

  // -- the API ----------------------------------------------------------------------------
  // Once: a poll, the event stream and a logout may all find the session gone at the same time.
  function toLogin() {
    if (leaving) return;
    leaving = true;
    window.location.replace("/dashboard/login");
  }

  async function call(path, options = {}) {
    const init = {credentials: "same-origin", headers: {}, ...options};
    if (init.method && init.method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRF-Token"] = csrf;
    }
    const answer = await fetch(path, init);
    if (answer.status === 401) {
      toLogin();
      throw new Error("logged out");
    }
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      throw new Error(`${answer.status}: ${detail}`);
    }
    return body;
  }
  const get = (path) => call(API + path);
  const post = (path, body) => call(API + path, {method: "POST", body: JSON.stringify(body)});

  // -- rendering --------------------------------------------------------------------------
  function renderHeader(status, risk) {
    $("bot-name").textContent = status.bot;
    $("mode").textContent = status.mode;
    const state = $("state");
    // A breaker in force says so at the top: the bot runs but takes no new risk.
    const tripped = risk.state !== "ACTIVE" && risk.state !== "PAUSED";
    const name = status.halted ? "HALTED" : status.paused ? "PAUSED"
      : tripped ? `BREAKER: ${risk.state}` : "RUNNING";
    state.textContent = name;
    state.className = `state ${status.halted ? "halted" : status.paused ? "paused"
      : tripped ? "tripped" : "running"}`;
    state.title = status.paused || (tripped ? "a circuit breaker refuses new entries" : "");
    $("engine-time").textContent = when(status.engine_time) + " UTC";
  }

  function renderCards(status, profit, positions, risk, equity) {
    setValue("equity-value", status.equity, money(status.equity));
    $("equity-currency").textContent = equity.currency || "";
    const open = positions.reduce((sum, p) => sum + Number(p.unrealized_pnl || 0), 0);
    const openRaw = positions.length ? String(open) : "0";
    setValue("open-pnl", openRaw, signedMoney(open), sign(open));
    $("open-positions-count").textContent = `${positions.length} open position(s)`;
    setValue("pnl-day", profit.day.pnl, signedMoney(profit.day.pnl), sign(profit.day.pnl));
    $("trades-day").textContent = `${profit.day.trades} closed trade(s)`;
    setValue("pnl-all", profit.all.pnl, signedMoney(profit.all.pnl), sign(profit.all.pnl));
    $("trades-all").textContent = `${profit.all.trades} closed trade(s)`;
    const rate = profit.all.trades ? profit.all.wins / profit.all.trades : null;
    setValue("win-rate", rate, pct(rate));
    $("fees-all").textContent = `fees ${money(profit.all.fees)}`;
    setValue("open-orders-count", status.open_orders, String(status.open_orders));
    $("denials").textContent = `${risk.denials} intent(s) denied by risk`;
  }

  function renderEquity(equity) {
    if (!window.Plotly) return;
    const points = equity.points || [];
    const x = points.map((p) => when(p[0]));
    const y = points.map((p) => p[1]);
    const trace = {x, y, type: "scatter", mode: "lines", line: {width: 1.6, color: "#0969da"},
      hovertemplate: `%{x} UTC<br>%{y:,.${cash}f} ${equity.currency || ""}<extra></extra>`};
    const layout = {
      margin: {l: 70, r: 20, t: 10, b: 40}, height: 340,
      xaxis: {type: "date", title: {text: "time (UTC)"}, automargin: true},
      yaxis: {tickformat: `,.${cash}f`, title: {text: `equity (${equity.currency || ""})`, standoff: 12},
        automargin: true},
      annotations: points.length ? [] : [{text: "No complete bar yet", showarrow: false,
        xref: "paper", yref: "paper", x: 0.5, y: 0.5}],
    };
    window.Plotly.react("equity-chart", [trace], layout, {displaylogo: false, responsive: true});
    $("equity-chart").dataset.points = String(points.length);
  }

  function renderPositions(positions) {
    const size = qtyColumn(positions.map((p) => p.quantity));
    const rows = positions.map((p) => el("tr", {dataset: {key: `${p.strategy}|${p.symbol}`}},
      txt(p.strategy), txt(p.symbol), txt(p.side),
      num(p.quantity, size(p.quantity)), num(p.average_price, price(p.average_price)),
      num(p.mark_price, price(p.mark_price)),
      num(p.unrealized_pnl, signedMoney(p.unrealized_pnl), sign(p.unrealized_pnl)),
      txt(when(p.entry_time)),
      el("td", {}, el("button", {class: "small warn", type: "button", "data-action": "force-exit",
        onclick: () => forceExit(p)}, "Force exit"))));
    fill($("positions"), [["Strategy"], ["Symbol"], ["Side"], ["Quantity", 1], ["Avg price", 1],
      ["Mark", 1], ["Unrealised PnL", 1], ["Since (UTC)"], [""]], rows, "No open positions");
  }

  function renderOrders(orders) {
    const size = qtyColumn(orders.flatMap((o) => [o.quantity, o.filled]));
    const rows = orders.map((o) => el("tr", {dataset: {key: o.client_id}},
      txt(when(o.created_time)), txt(o.symbol), txt(o.side), txt(o.type + (o.reduce_only ? " (reduce-only)" : "")),
      num(o.quantity, size(o.quantity)), num(o.filled, size(o.filled)),
      num(o.price, price(o.price)), num(o.trigger_price, price(o.trigger_price)), txt(o.status)));
    fill($("orders"), [["Created (UTC)"], ["Symbol"], ["Side"], ["Type"], ["Quantity", 1],
      ["Filled", 1], ["Price", 1], ["Trigger", 1], ["Status"]], rows, "No working orders");
  }

  function renderTrades(trades) {
    const size = qtyColumn(trades.map((t) => t.quantity));
    const rows = trades.map((t) => el("tr", {dataset: {key: t.trade_id || ""}},
      txt(when(t.time)), txt(t.strategy), txt(t.symbol), txt(t.side),
      num(t.quantity, size(t.quantity)), num(t.price, price(t.price)),
      num(t.fee, amount(t.fee)), txt(t.fee_currency), txt(t.liquidity)));
    fill($("trades"), [["Time (UTC)"], ["Strategy"], ["Symbol"], ["Side"], ["Quantity", 1],
      ["Price", 1], ["Fee", 1], ["Fee currency"], ["Liquidity"]], rows, "No fills yet");
  }

  function renderPerformance(profit, performance) {
    const names = {day: "Last day", week: "Last week", month: "Last month", all: "Session"};
    const rows = Object.entries(profit).map(([period, p]) => el("tr", {dataset: {key: period}},
      txt(names[period] || period), num(p.trades, String(p.trades)),
      num(p.trades ? p.wins / p.trades : null, pct(p.trades ? p.wins / p.trades : null)),
      num(p.pnl, signedMoney(p.pnl), sign(p.pnl)), num(p.fees, money(p.fees))));
    fill($("profit"), [["Closed trades"], ["Count", 1], ["Win rate", 1], ["PnL (net)", 1],
      ["Fees", 1]], rows, "No closed trades");
    const byStrategy = performance.map((s) => el("tr", {dataset: {key: s.strategy}},
      txt(s.strategy), num(s.trades, String(s.trades)), num(s.win_rate, pct(s.win_rate)),
      num(s.pnl, signedMoney(s.pnl), sign(s.pnl))));
    fill($("performance"), [["Strategy"], ["Trades", 1], ["Win rate", 1], ["PnL (net)", 1]],
      byStrategy, "No closed trades by any strategy yet");
  }

  function renderRisk(risk) {
    const box = $("risk");
    const bad = risk.state !== "ACTIVE";
    const stopped = Object.entries(risk.stopped_entries || {});
    box.replaceChildren(
      el("dl", {class: "kv"},
        el("dt", {}, "State"), el("dd", {}, el("span", {id: "risk-state",
          class: `badge ${bad ? "bad" : ""}`}, risk.state)),
        el("dt", {}, "Paused"), el("dd", {}, risk.paused || "no"),
        el("dt", {}, "Entries stopped in"),
        el("dd", {}, stopped.length ? stopped.map(([s, why]) => `${s} (${why})`).join(", ") : "none"),
        el("dt", {}, "Denied intents"), el("dd", {}, String(risk.denials)),
        el("dt", {}, "Limits"), el("dd", {id: "limits-in-force"}, limitsText(risk.limits))),
      el("h3", {}, "Breakers in force"), el("table", {id: "restrictions"}),
      el("h3", {}, "Recent breaker events"), el("table", {id: "breaker-events"}));
    fill($("restrictions"), [["Breaker"], ["State"], ["Until (UTC)"]],
      risk.restrictions.map((r) => el("tr", {}, txt(r.breaker), txt(r.state), txt(when(r.until)))),
      "None: every breaker is clear");
    fill($("breaker-events"), [["Time (UTC)"], ["Breaker"], ["State"], ["Reason"]],
      risk.breaker_events.slice(-10).reverse().map((e) => el("tr", {},
        txt(when(e.time)), txt(e.breaker), txt(e.state), el("td", {class: "wrap"}, e.reason))),
      "No breaker has tripped");
  }

  function limitsText(limits) {
    if (!limits) return "no risk rules";
    const set = Object.entries(limits)
      .filter(([k, v]) => v !== null && (k.startsWith("max_") || k.startsWith("min_")));
    return set.length ? set.map(([k, v]) => `${k} ${v}`).join(", ") : "none";
  }

  function renderLimitsForm(risk) {
    // Only a bot under risk rules has limits to change; with two-factor on it takes a code.
    $("limits-form").hidden = !risk.limits;
    $("limit-set").disabled = !scopes.includes("admin");
    for (const id of ["limit-code-label", "limit-code"]) $(id).hidden = !risk.limits_need_code;
  }

  function renderStrategies(strategies) {
    const rows = strategies.map((s) => {
      const status = s.faulted ? ["faulted", "bad"] : s.entries_stopped ? ["entries stopped", "warn"]
        : ["running", ""];
      const params = s.params.map((p) => {
        const range = missing(p.low) && missing(p.high) ? "" : ` (${p.low ?? ""}..${p.high ?? ""})`;
        return `${p.name} = ${p.value}${range}`;
      }).join(", ");
      return el("tr", {dataset: {key: s.id}}, txt(s.id), txt(s.symbol), txt(s.timeframe),
        el("td", {}, el("span", {class: `badge ${status[1]}`}, status[0])),
        el("td", {class: "wrap"}, params || "no parameters"));
    });
    fill($("strategies"), [["Strategy"], ["Symbol"], ["Timeframe"], ["Status"], ["Parameters"]],
      rows, "No strategy is running");
  }

  function renderCosts(costs) {
    const box = $("costs");
    const fees = Object.entries(costs.fees_paid || {});
    box.replaceChildren(
      el("p", {class: "help"}, `${costs.orders_measured} filled order(s) measured` +
        (costs.orders_pending ? ` (${costs.orders_pending} more on the next refresh)` : "") +
        "; costs in basis points of the mid when each order was made (positive: a cost)."),
      el("table", {id: "costs-by-strategy"}),
      el("dl", {class: "kv"}, el("dt", {}, "Fees as charged"),
        el("dd", {id: "fees-paid"}, fees.length ? fees.map(([c, v]) => `${amount(v)} ${c}`).join(", ") : "none")));
    // The per-strategy fees are valued in the account currency (every market settles in it);
    // the line under the table gives them in the currencies they were charged in (0.672 XRP
    // next to an unlabelled 0.001000 read as two different fees).
    const valued = accountCurrency ? `Fees paid (${accountCurrency})` : "Fees paid";
    fill($("costs-by-strategy"), [["Strategy"], ["Orders", 1], ["Shortfall", 1], ["Fees", 1],
      ["Slippage vs mid", 1], ["Total cost", 1], [valued, 1]],
      costs.by_strategy.map((r) => el("tr", {dataset: {key: r.strategy_id}}, txt(r.strategy_id),
        num(r.count, String(r.count)), num(r.shortfall_bps, bps(r.shortfall_bps)),
        num(r.fee_bps, bps(r.fee_bps)), num(r.slippage_mid_bps, bps(r.slippage_mid_bps)),
        num(r.total_cost_bps, bps(r.total_cost_bps)), num(r.fees_quote, money(r.fees_quote)))),
      "No filled order yet");
  }

  // The parents as written ahead (every working one, then the latest ended ones, newest first)
  // and the stored costs by algorithm: what /parents and /costs/stored answer.
  const ENDED_PARENTS = 20;
  function renderParents(parents, stored) {
    const newest = (a, b) => b.created - a.created;
    const working = parents.filter((p) => p.status === "working").sort(newest);
    const ended = parents.filter((p) => p.status !== "working").sort(newest);
    const shown = [...working, ...ended.slice(0, ENDED_PARENTS)];
    $("parents-count").textContent = `${working.length} working; ${ended.length} ended` +
      (ended.length > ENDED_PARENTS ? `, the latest ${ENDED_PARENTS} shown` : "");
    const size = qtyColumn(shown.flatMap((p) => [p.quantity, p.filled]));
    const badge = {working: "warn", done: "", canceled: "bad"};
    const share = (v) => (missing(v) ? "n/a" : fixed(1).format(Number(v)) + "%");
    fill($("parents"), [["Created (UTC)"], ["Parent"], ["Strategy"], ["Symbol"], ["Side"],
      ["Algorithm"], ["Status"], ["Quantity", 1], ["Filled", 1], ["Fill", 1], ["Children", 1],
      ["Shortfall", 1], ["Total cost", 1], ["Reason"]],
      shown.map((p) => el("tr", {dataset: {key: p.parent_id}}, txt(when(p.created)),
        txt(p.parent_id), txt(p.strategy), txt(p.symbol), txt(p.side), txt(p.algo),
        el("td", {}, el("span", {class: `badge ${badge[p.status] || ""}`}, p.status)),
        num(p.quantity, size(p.quantity)), num(p.filled, size(p.filled)),
        num(p.fill_pct, share(p.fill_pct)), num(p.children, String(p.children)),
        num(p.shortfall_bps, p.status === "working" ? "working" : bps(p.shortfall_bps),
          sign(p.shortfall_bps) === "pos" ? "neg" : sign(p.shortfall_bps) === "neg" ? "pos" : ""),
        num(p.total_cost_bps, p.status === "working" ? "" : bps(p.total_cost_bps)),
        el("td", {class: "wrap"}, p.reason))),
      "No parent order (an intent or the run's execution setting names an algorithm)");
    fill($("stored-costs"), [["Algorithm"], ["Executions", 1], ["Shortfall", 1], ["Fees", 1],
      ["Opportunity", 1], ["Total cost", 1], ["Fill rate", 1]],
      (stored.by_algo || []).map((r) => el("tr", {dataset: {key: r.algo}}, txt(r.algo),
        num(r.count, String(r.count)), num(r.shortfall_bps, bps(r.shortfall_bps)),
        num(r.fee_bps, bps(r.fee_bps)), num(r.opportunity_bps, bps(r.opportunity_bps)),
        num(r.total_cost_bps, bps(r.total_cost_bps)), num(r.fill_rate, pct(r.fill_rate)))),
      "No stored execution cost yet");
  }

  function renderRuns(runs) {
    const rows = runs.map((r) => el("tr", {dataset: {key: String(r.run)}},
      num(r.run, String(r.run)), txt(r.kind), txt(r.strategy), txt((r.symbols || "").replaceAll(",", ", ")),
      txt(r.timeframe), txt(`${when(r.data_start).slice(0, 10)} to ${when(r.data_end).slice(0, 10)}`),
      num(r.total_return, pct(r.total_return), sign(r.total_return)),
      num(r.sharpe_ratio, missing(r.sharpe_ratio) ? "n/a" : fixed(2).format(r.sharpe_ratio)),
      num(r.max_drawdown, pct(r.max_drawdown)),
      num(r.trade_count, missing(r.trade_count) ? "n/a" : QTY.format(r.trade_count)),
      el("td", {}, el("button", {class: "small", type: "button", "data-action": "report",
        onclick: () => showReport(r.run)}, "Report"))));
    fill($("runs"), [["Run", 1], ["Kind"], ["Strategy"], ["Symbols"], ["Timeframe"], ["Data"],
      ["Return", 1], ["Sharpe", 1], ["Max drawdown", 1], ["Trades", 1], [""]], rows,
      "No stored runs (record one with: tradewind backtest ... --bot NAME)");
  }

  function showReport(run) {
    const frame = $("run-report");
    frame.hidden = false;
    frame.src = `/dashboard/runs/${encodeURIComponent(run)}/report`;
    frame.dataset.run = String(run);
  }

  function jobOutcome(job) {
    if (job.error) return job.error;
    const r = job.result;
    if (!r) return "";
    if (r.metrics) {
      const m = r.metrics;
      return `return ${pct(m.total_return)}, Sharpe ${missing(m.sharpe_ratio) ? "n/a"
        : fixed(2).format(m.sharpe_ratio)}, ${m.trade_count ?? "n/a"} trades`;
    }
    if (r.best) {
      const best = r.best[0];
      const params = best && best.params ? Object.entries(best.params).map(([k, v]) => `${k}=${v}`)
        .join(", ") : "none ranked";
      return `${r.trials} trials; best: ${params}`;
    }
    return "";
  }

  function renderJobs(jobs) {
    const badge = {queued: "warn", running: "warn", done: "", failed: "bad"};
    fill($("jobs"), [["Job", 1], ["Kind"], ["Strategy"], ["Requested by"], ["State"],
      ["Queued (UTC)"], ["Finished (UTC)"], ["Outcome"]],
      jobs.map((j) => el("tr", {dataset: {key: String(j.id)}}, num(j.id, String(j.id)),
        txt(j.kind), txt(j.spec.strategy || j.spec.model), txt(j.requested_by),
        el("td", {}, el("span", {class: `badge ${badge[j.state] || ""}`}, j.state)),
        txt(when(j.created_at)), txt(j.finished_at ? when(j.finished_at) : ""),
        el("td", {class: "wrap"}, jobOutcome(j)))),
      "No job yet");
  }

  function share(value) {
    return value === null || value === undefined ? "n/a" : fixed(3).format(value);
  }

  function renderModels(models) {
    const badge = {production: "", candidate: "warn", archived: "", rolled_back: "bad"};
    fill($("models"), [["Model"], ["Version", 1], ["Stage"], ["Type"], ["Validation accuracy", 1],
      ["Baseline", 1], ["Live accuracy", 1], ["Mean confidence", 1], ["Resolved", 1],
      ["Drifted"]],
      models.map((m) => el("tr", {dataset: {key: `${m.name}:${m.version}`}}, txt(m.name),
        num(m.version, String(m.version)),
        el("td", {}, el("span", {class: `badge ${badge[m.stage] || ""}`}, m.stage)),
        txt(m.model_type), num(m.validation_accuracy, share(m.validation_accuracy)),
        num(m.baseline_accuracy, share(m.baseline_accuracy)),
        num(m.accuracy, m.traded ? share(m.accuracy) : "not traded"),
        num(m.confidence, m.traded ? share(m.confidence) : ""),
        num(m.resolved, m.traded ? `${m.resolved} of ${m.predictions}` : ""),
        el("td", {class: "wrap"}, m.drifted.join(", ")))),
      "No model registered");
  }

  function renderActions(actions) {
    fill($("actions"), [["Time (UTC)"], ["Who"], ["Channel"], ["Action"], ["Reason"], ["Outcome"]],
      actions.map((a) => {
        let reason = "";
        try { reason = (typeof a.detail === "string" ? JSON.parse(a.detail) : a.detail).reason || ""; }
        catch (exc) { reason = ""; }
        return el("tr", {}, txt(when(a.at)), txt(a.actor), txt(a.channel), txt(a.action),
          el("td", {class: "wrap"}, reason), el("td", {class: "wrap"}, a.outcome));
      }), "No operator action yet");
  }

  // One refresh at a time; a call during one runs another after it (an action's answer is
  // then shown from data read after the action, not before).
  async function refresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        await load();
      } while (again);
    })().finally(() => { refreshing = null; });
    return refreshing;
  }

  async function load() {
    try {
      const names = ["status", "positions", "orders", "trades?limit=50", "profit", "performance",
        "risk", "strategies", "costs", "equity", "runs?limit=50", "actions?limit=20",
        "jobs?limit=20", "models", "parents", "costs/stored"];
      const answers = await Promise.all(names.map((n) => get("/" + n)));
      const [status, positions, orders, trades, profit, performance, risk, strategies, costs,
        equity, runs, actions, jobs, models, parents, storedCosts] = answers;
      latest = {status, positions, orders, trades, profit, performance, risk, strategies, costs,
        equity, runs, actions, jobs, models, parents, storedCosts};
      setCurrency(equity.currency);
      renderHeader(status, risk);
      renderCards(status, profit, positions, risk, equity);
      renderEquity(equity);
      renderPositions(positions);
      renderOrders(orders);
      renderTrades(trades);
      renderPerformance(profit, performance);
      renderRisk(risk);
      renderLimitsForm(risk);
      renderStrategies(strategies);
      renderCosts(costs);
      renderParents(parents, storedCosts);
      renderRuns(runs);
      renderActions(actions);
      renderJobs(jobs);
      renderModels(models);
      renderControls(status);
      $("updated").textContent = when(Date.now()).slice(11);
      refreshes += 1;
      document.body.dataset.refreshes = String(refreshes);
      document.body.dataset.engineTime = String(status.engine_time);
    } catch (exc) {
      say(`Could not refresh: ${exc.message}`, true);
    }
  }

  // -- controls ---------------------------------------------------------------------------
  function say(text, error) {
    const box = $("control-message");
    box.textContent = text;
    box.className = error ? "error" : "";
  }
  const reason = () => $("reason").value.trim() || "from the dashboard";

  function renderControls(status) {
    const canTrade = scopes.includes("trade") || scopes.includes("admin");
    $("pause").disabled = !canTrade || Boolean(status.paused);
    $("resume").disabled = !canTrade || (!status.paused && !status.halted);
    // After an emergency stop with two-factor on, resuming takes the authenticator's code.
    for (const id of ["two-factor-label", "two-factor-code", "two-factor-help"]) {
      $(id).hidden = !status.resume_needs_code;
    }
    $("force-exit-all").disabled = !canTrade || status.open_positions === 0;
    $("emergency").disabled = !canTrade;
    $("job-queue").disabled = !canTrade;
    for (const b of document.querySelectorAll("[data-action=force-exit]")) b.disabled = !canTrade;
  }

  function confirmAction(title, text, okLabel) {
    const dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), {once: true});
    });
  }

  async function act(label, path, body) {
    say(`${label}...`);
    try {
      const answer = await post(path, {reason: reason(), ...body});
      say(`${label}: ${answer.outcome}`);
    } catch (exc) {
      say(`${label} refused: ${exc.message}`, true);
    }
    await refresh();
  }

  async function forceExit(position) {
    const ok = await confirmAction("Force exit",
      `Close ${position.strategy}'s ${position.side} ${qty(position.quantity)} ${position.symbol} ` +
      "at market now (its working orders there are canceled)?", "Force exit");
    if (ok) await act("Force exit", "/force-exit", {symbol: position.symbol, strategy: position.strategy});
  }

  function wire() {
    $("pause").addEventListener("click", () => act("Pause", "/pause", {}));
    $("resume").addEventListener("click", async () => {
      const code = $("two-factor-code").value.trim();
      $("two-factor-code").value = "";  // each code works once
      await act("Resume", "/resume", code ? {code} : {});
    });
    $("limits-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = $("limit-value").value.trim();
      const value = text === "" || text.toLowerCase() === "off" ? null : Number(text);
      if (value !== null && Number.isNaN(value)) {
        say(`Risk limit refused: ${text} is not a number (or off)`, true);
        return;
      }
      const code = $("limit-code").value.trim();
      $("limit-code").value = "";  // each code works once
      await act("Risk limit", "/risk/limits",
        {limits: {[$("limit-name").value]: value}, ...(code ? {code} : {})});
    });
    $("force-exit-all").addEventListener("click", async () => {
      const n = (latest.positions || []).length;
      const ok = await confirmAction("Force exit all",
        `Close all ${n} open position(s) at market now and cancel their working orders? ` +
        "The bot keeps trading afterwards.", "Force exit all");
      if (ok) await act("Force exit all", "/force-exit", {});
    });
    $("emergency").addEventListener("click", async () => {
      const s = latest.status || {};
      const ok = await confirmAction("Emergency stop",
        `Cancel every working order (${s.open_orders ?? "?"}), flatten every position the bot ` +
        `owns (${s.open_positions ?? "?"}) and halt all new entries until someone resumes?`,
        "Emergency stop now");
      if (ok) await act("Emergency stop", "/emergency-stop", {});
      else say("Emergency stop not sent.");
    });
    $("job-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const kind = $("job-kind").value;
      const label = kind === "backtest" ? "Backtest job" : "Optimisation job";
      await act(label, "/jobs", {kind, spec: {strategy: $("job-strategy").value.trim()}});
    });
    $("logout").addEventListener("click", async () => {
      leaving = true;  // no poll answering 401 meanwhile navigates first
      try { await call("/dashboard/logout", {method: "POST"}); } catch (exc) { /* gone already */ }
      window.location.replace("/dashboard/login");
    });
  }

  // -- live updates: the event stream triggers a refresh; polling covers bars and prices ----
  function listen() {
    const stream = new EventSource(API + "/events");
    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    stream.onopen = () => $("live").classList.add("on");
    stream.onerror = () => $("live").classList.remove("on");
    for (const topic of ["order.filled", "account.liquidated", "risk.breaker", "alert", "equity",
      "operator.pause", "operator.resume", "operator.force_exit", "operator.emergency_stop",
      "operator.stop_entries", "operator.allow_entries", "operator.set_params",
      "operator.start_job"]) {
      stream.addEventListener(topic, soon);
    }
    window.addEventListener("beforeunload", () => stream.close());
  }

  async function start() {
    const session = await call("/dashboard/session");
    csrf = session.csrf;
    scopes = session.scopes;
    $("who").textContent = `${session.name} (${scopes.join(", ")})`;
    wire();
    await refresh();
    listen();
    setInterval(refresh, POLL_MS);
  }

  start().catch((exc) => say(`Could not start: ${exc.message}`, true));
})();

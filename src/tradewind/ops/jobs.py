"""Backtest, optimisation and model-retraining jobs: queued through the jobs table, run by a worker process.

The control facade only queues (:func:`validate_spec` first, so a bad request is refused at once,
by name); a separate process (:class:`JobWorker`, or ``python -m tradewind.ops.jobs URL``) claims
jobs one at a time and runs them at a lower CPU priority, so the trading loop's lag does not move
while a job computes. Jobs run on the bundled month (the data every install has) unless the spec
says otherwise.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from tradewind.core.errors import UserError
from tradewind.persistence.engine import open_database
from tradewind.persistence.jobs import claim_job, finish_job

__all__ = ["JOB_KINDS", "JobWorker", "run_job", "validate_spec", "work"]

JOB_KINDS = ("backtest", "optimize", "ml_retrain")
_SPEC_KEYS = {
    "backtest": {"strategy", "params", "bars", "stake"},
    "optimize": {"strategy", "trials", "bars", "sampler"},
    "ml_retrain": {"model", "data"},
}
_log = logging.getLogger(__name__)


def validate_spec(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Check a job request; returns it with defaults filled in.

    Raises
    ------
    UserError
        Naming the unknown kind, key or strategy, or the out-of-range value.
    """
    from tradewind.strategies.registry import get_strategy

    if kind not in JOB_KINDS:
        raise UserError(f"job kind must be one of {', '.join(JOB_KINDS)}, got {kind!r}")
    unknown = sorted(set(spec) - _SPEC_KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(_SPEC_KEYS[kind]))
        raise UserError(f"unknown {kind} job key(s) {', '.join(unknown)}; allowed: {allowed}")
    if kind == "ml_retrain":
        return _retrain_spec(spec)
    name = spec.get("strategy")
    if not isinstance(name, str):
        raise UserError(f"a {kind} job needs 'strategy' (a registered strategy name)")
    strategy = get_strategy(name)
    out: dict[str, Any] = {"strategy": name, "bars": spec.get("bars")}
    bars = out["bars"]
    if bars is not None and (not isinstance(bars, int) or isinstance(bars, bool) or bars < 500):
        raise UserError(f"'bars' must be a whole number of at least 500, got {bars!r}")
    if kind == "backtest":
        params = spec.get("params") or {}
        if not isinstance(params, dict):
            raise UserError("'params' must be an object of parameter names to values")
        strategy(**params)  # a misspelt or out-of-range parameter is refused here, by name
        out.update(params=params, stake=str(spec.get("stake", "all")))
    else:
        trials = spec.get("trials", 20)
        if not isinstance(trials, int) or isinstance(trials, bool) or not 1 <= trials <= 10_000:
            raise UserError(f"'trials' must be in 1..10000, got {trials!r}")
        out.update(trials=trials, sampler=str(spec.get("sampler", "tpe")))
    return out


def _retrain_spec(spec: dict[str, Any]) -> dict[str, Any]:
    from tradewind.persistence.model_registry import check_model_name

    model, data = spec.get("model"), spec.get("data")
    if not isinstance(model, str):
        raise UserError("an ml_retrain job needs 'model' (a registered model's name)")
    check_model_name(model)
    if not isinstance(data, str) or not Path(data).is_file():
        raise UserError(f"an ml_retrain job needs 'data', a candle file that exists; got {data!r}")
    return {"model": model, "data": data}


def _retrain(spec: dict[str, Any], url: str | None) -> dict[str, Any]:
    """Retrain behind the promotion gate, in the registry of the database the job came from."""
    from tradewind.core.timeframe import Timeframe
    from tradewind.data.ingest import load_candles_file
    from tradewind.data.kinds import DataKind
    from tradewind.data.schema import conform
    from tradewind.ops.model_retrain import retrain
    from tradewind.persistence.engine import sqlite_file
    from tradewind.series.bars import BarSeries

    path = None if url is None else sqlite_file(url)
    if path is None:
        raise UserError("ml_retrain jobs run against a SQLite bot database (models beside it)")
    prepared = load_candles_file(Path(spec["data"]), exchange="binance", symbol=None,
                                 timeframe=None)  # fmt: skip
    frame = conform(prepared.frame, DataKind.CANDLES, what=spec["data"])
    key = prepared.key
    bars = BarSeries.from_frame(frame, key.symbol, Timeframe.parse(str(key.timeframe)))
    engine = open_database(url, create=False)  # type: ignore[arg-type]
    try:
        outcome = retrain(engine, path.parent / "models", spec["model"], bars)
    finally:
        engine.dispose()
    return {"model": spec["model"], "version": outcome.candidate.version,
            "promoted": outcome.promoted, "summary": outcome.describe()}  # fmt: skip


def run_job(kind: str, spec: dict[str, Any], url: str | None = None) -> dict[str, Any]:
    """Run one job in this process (``url``: the database it came from); returns its
    JSON-ready result."""
    if kind == "ml_retrain":
        return _retrain(spec, url)
    from tradewind.backtest import backtest
    from tradewind.data.bundled import load_bundled
    from tradewind.optimize.market import prepare_market
    from tradewind.optimize.search import optimize
    from tradewind.strategies.registry import get_strategy

    frame, meta = load_bundled()
    if spec.get("bars"):
        frame = frame.iloc[: spec["bars"]]
    symbol = meta.instrument.symbol
    if kind == "backtest":
        strategy = get_strategy(spec["strategy"])(**spec["params"])
        result = backtest(
            strategy, {symbol: frame}, instruments={symbol: meta.instrument}, cash=100_000,
            stake=spec["stake"],
        )  # fmt: skip
        keep = (
            "total_return",
            "max_drawdown",
            "sharpe_ratio",
            "trade_count",
            "final_equity",
            "total_pnl",
        )
        return {"symbol": symbol, "metrics": {k: result.metrics.get(k) for k in keep}}
    market = prepare_market(frame, symbol=symbol, instruments={symbol: meta.instrument})
    study = optimize(
        spec["strategy"], market, trials=spec["trials"], sampler=spec["sampler"],
        storage="memory", top_n=0,
    )  # fmt: skip
    # Say why the best list may be short or empty: failed trials with their reasons, and
    # completed ones left unranked for too few trades.
    return {
        "symbol": symbol,
        "best": study.best[:3],
        "trials": len(study.trials),
        "failed_trials": study.failed,
        "failure_reasons": study.failure_reasons,
        "insufficient_trials": study.insufficient,
        "min_trades": study.min_trades,
    }


def work(url: str, *, once: bool = False, poll_s: float = 0.5, nice: int = 10) -> int:
    """Claim and run jobs from the database at ``url`` until stopped (``once``: until the queue
    is empty); returns how many ran."""
    if nice:
        os.nice(nice)  # the trading loop keeps the CPU when both want it
    engine = open_database(url, create=False)
    name = f"{socket.gethostname()}:{os.getpid()}"
    ran = 0
    while True:
        claimed = claim_job(engine, name)
        if claimed is None:
            if once:
                return ran
            time.sleep(poll_s)
            continue
        try:
            result = run_job(claimed["kind"], claimed["spec"], url)
        except Exception as exc:
            _log.exception("job %s failed", claimed["id"])
            finish_job(engine, claimed["id"], error=f"{type(exc).__name__}: {exc}")
        else:
            finish_job(engine, claimed["id"], result=result)
        ran += 1


class JobWorker:
    """A worker in a separate (spawned) process: ``start()``, ``stop()``."""

    def __init__(self, url: str, *, poll_s: float = 0.2) -> None:
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(
            target=work, args=(url,), kwargs={"poll_s": poll_s}, name="tradewind-jobs", daemon=True
        )

    def start(self) -> JobWorker:
        """Start the worker process."""
        self.process.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (a running job is abandoned; it stays ``running`` in the table)."""
        self.process.terminate()
        self.process.join(timeout)


if __name__ == "__main__":  # pragma: no cover - the worker's command line
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tradewind.ops.jobs DATABASE_URL")
    work(sys.argv[1])

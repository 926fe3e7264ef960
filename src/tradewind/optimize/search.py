"""Hyperparameter search with Optuna, scored in batches on the screening kernel.

Optuna's ask/tell interface lets one kernel call score a whole batch: ask for ``batch`` trials,
build their signals (or their crossing lines), run them in one compiled sweep, tell the scores.
Grids skip the sampler altogether on local storage: the points are known, so they are scored in
large batches and written to the study in bulk. Trials the kernel cannot express run on the event
engine, with a warning saying why. The best trials are then re-run on the event engine and a
mismatch raises :class:`~tradewind.optimize.evaluate.EngineMismatchError`.

Samplers: ``tpe`` (Bayesian), ``cmaes``, ``nsga2`` (genetic, several objectives, Pareto front),
``grid`` and ``random``.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from tradewind.core.errors import UserError
from tradewind.core.strict_json import json_ready, write_json
from tradewind.engine.health import reason_key
from tradewind.optimize.evaluate import (
    Evaluation,
    Evaluator,
    ParityRow,
    verify_on_event_engine,
)
from tradewind.optimize.market import Market
from tradewind.optimize.objectives import Objective, resolve_objective
from tradewind.optimize.overfitting import (
    DeflatedSharpe,
    Overfitting,
    deflated_sharpe_from_returns,
    probability_of_backtest_overfitting,
)
from tradewind.optimize.space import Dimension, SearchSpace, build_space
from tradewind.optimize.storage import StudyStorage, decode_returns, encode_returns, resolve_storage
from tradewind.sim.layout import METRICS
from tradewind.strategies.base import Strategy
from tradewind.strategies.registry import load_strategy

FloatArray = npt.NDArray[np.float64]
SAMPLERS = ("tpe", "cmaes", "nsga2", "grid", "random")
DEFAULT_BATCH = {"tpe": 32, "cmaes": 16, "nsga2": 50, "grid": 4096, "random": 256}
"""Trials per kernel call. Model-based samplers learn from told trials, so their batches stay
small; a grid or random search has nothing to learn and takes large batches."""

Progress = Callable[[int, int, float | None], None]
MIN_TRADES = 30
"""Closed trades a trial needs before its score is ranked: fewer is too little evidence (a
Sharpe from a handful of trades, or from a position that never closed, is luck)."""
optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class StudyResult:
    """What a search found.

    Attributes
    ----------
    study_name, storage
        Where the study lives (a URL without password, or ``memory``).
    objectives, directions
        The objective names and whether each is maximised or minimised.
    trials
        One row per completed trial: ``number``, the parameters, ``value_<objective>``, the
        kernel metrics, the ``engine`` that scored it, its ``health`` headline and whether it is
        ``ranked`` (enough closed trades).
    returns
        ``(len(trials), periods)`` per-period returns, row for row with ``trials``.
    best
        The best trials (single objective: by value; several: the Pareto front), best first.
    parity
        The top trials re-run on the event engine, side by side with their search scores.
    deflated_sharpe, overfitting
        Deflated Sharpe Ratio of the best trial and PBO over all trials (None when undefined).
    fallbacks
        Why trials ran on the event engine, with counts.
    failed
        Trials that could not run (invalid parameters, undefined objective), with the reason.
    """

    study_name: str
    storage: str
    strategy: str
    sampler: str
    objectives: list[str]
    directions: list[str]
    trials: pd.DataFrame
    returns: FloatArray
    best: list[dict[str, Any]]
    parity: list[ParityRow] = field(default_factory=list)
    deflated_sharpe: DeflatedSharpe | None = None
    overfitting: Overfitting | None = None
    fallbacks: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    space: list[str] = field(default_factory=list)
    run_dir: Path | None = None
    min_trades: int = 0
    """Closed trades a trial needs to be ranked; below it the trial is ``insufficient``."""
    insufficient: int = 0
    """Completed trials left unranked for having fewer than ``min_trades`` closed trades."""
    fixed_notes: dict[str, str] = field(default_factory=dict)
    """Parameters fixed because they cannot act on the instrument, with the reason."""
    faulted: list[dict[str, Any]] = field(default_factory=list)
    """Top trials whose event-engine re-run had problems (rejections, denials): never ranked."""
    failure_reasons: dict[str, int] = field(default_factory=dict)
    """Why trials failed (invalid parameters, an undefined objective, a run with problems),
    counted by reason, commonest first."""
    failures: list[dict[str, Any]] = field(default_factory=list)
    """Every failed trial: ``number``, ``params`` and the ``reason`` it failed."""
    resumed: int = 0
    """Trials the study already held when this run opened it (0: a new study)."""
    interrupted: bool = False
    """The run was stopped (Ctrl-C): the results cover the trials that finished."""

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (no per-trial arrays)."""
        out: dict[str, Any] = {
            "study_name": self.study_name,
            "storage": self.storage,
            "strategy": self.strategy,
            "sampler": self.sampler,
            "objectives": self.objectives,
            "directions": self.directions,
            "completed_trials": len(self.trials),
            "failed_trials": self.failed,
            "failures": self.failures,
            "resumed_from_trials": self.resumed,
            "interrupted": self.interrupted,
            "space": self.space,
            "best": self.best,
            "parity": [asdict(row) for row in self.parity],
            "fallbacks": self.fallbacks,
            "min_trades": self.min_trades,
            "insufficient_trials": self.insufficient,
            "fixed_parameters": self.fixed_notes,
            "faulted_trials": self.faulted,
            "failure_reasons": self.failure_reasons,
        }
        if self.deflated_sharpe is not None:
            out["deflated_sharpe"] = asdict(self.deflated_sharpe)
        if self.overfitting is not None:
            o = self.overfitting
            out["pbo"] = {
                "pbo": o.pbo,
                "probability_of_loss": o.probability_of_loss,
                "partitions": o.partitions,
                "combinations": o.combinations,
            }
        ready: dict[str, Any] = json_ready(out)
        return ready


def optimize(
    strategy: str | type[Strategy],
    market: Market,
    *,
    sampler: str = "tpe",
    trials: int | None = 100,
    objectives: Sequence[str | Objective] = ("sharpe",),
    space: Mapping[str, str] | None = None,
    risk: Mapping[str, Any] | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    run_dir: Path | None = None,
    seed: int | None = 0,
    batch: int | None = None,
    top_n: int = 3,
    period: str = "1h",
    drawdown_penalty: float = 1.0,
    progress: Progress | None = None,
    min_trades: int = MIN_TRADES,
    announce: Callable[[str], None] | None = None,
) -> StudyResult:
    """Search ``strategy``'s parameters on ``market``.

    Parameters
    ----------
    strategy
        Registered name, ``path/file.py:Class`` or a class.
    market
        Candles and account settings (:func:`tradewind.optimize.market.prepare_market`).
    sampler
        ``tpe``, ``cmaes``, ``nsga2``, ``grid`` or ``random``.
    trials
        Trials this call runs (a grid: at most this many of its points, ``None`` for all).
    objectives
        One objective (``sharpe``, ``sortino``, ``calmar``, ``profit``, ``profit_dd``,
        ``drawdown``, ``path/file.py:function``), or several for ``nsga2``.
    space
        Overrides of the declared search space, see :func:`tradewind.optimize.space.build_space`.
    risk
        Base risk settings for every trial (the trials then run on the event engine).
    storage
        ``None`` (SQLite ``study.db`` in ``run_dir``; memory without a run directory),
        ``"memory"`` or a database URL; workers sharing one URL and ``study_name`` share a study.
    study_name
        Name of the study; an existing study of that name is resumed.
    run_dir
        Folder for the study database and the result files.
    seed
        Sampler seed (workers on shared storage add their process id, so they explore apart).
    batch
        Trials per kernel call (default per sampler, :data:`DEFAULT_BATCH`).
    top_n
        Best trials re-run on the event engine (0: none).
    period
        Length of the periods whose returns each trial keeps for the overfitting statistics.
    drawdown_penalty
        Weight of the drawdown in the ``profit_dd`` objective.
    progress
        ``progress(done, total, best_value)`` after each batch.
    min_trades
        Closed trades a trial needs to be ranked (default :data:`MIN_TRADES`); a trial with
        fewer is kept in the trial table as ``insufficient`` but never ranked, and so never
        chosen. A top trial whose event-engine re-run has problems (see
        :class:`tradewind.engine.health.RunHealth`) is dropped from the ranking too.
    announce
        Called with one line when the run resumes a study that already holds trials.

    A KeyboardInterrupt (Ctrl-C) stops the search: trials still running are marked failed
    (reason ``interrupted``), what finished is collected and written to ``run_dir``, and the
    result comes back with ``interrupted`` set (no event-engine re-runs).

    Raises
    ------
    UserError
        For an unknown sampler or objective, a bad space, or a study made for something else.
    EngineMismatchError
        When a top trial scores differently on the event engine.
    """
    if sampler not in SAMPLERS:
        raise UserError(f"unknown sampler {sampler!r}; use one of {', '.join(SAMPLERS)}")
    if trials is not None and trials < 1:
        raise UserError(f"--trials must be >= 1, got {trials}")
    if min_trades < 0:
        raise UserError(f"--min-trades must be >= 0, got {min_trades}")
    cls = load_strategy(strategy) if isinstance(strategy, str) else strategy
    goals = [resolve_objective(o, drawdown_penalty=drawdown_penalty) for o in objectives]
    if not goals:
        raise UserError("give at least one objective")
    if len(goals) > 1 and sampler not in ("nsga2", "random", "grid", "tpe"):
        raise UserError(f"sampler {sampler!r} optimises one objective; use nsga2 for several")
    search_space = build_space(
        cls, space, can_short=not market.instrument.is_spot, market=market.symbol
    )
    store = resolve_storage(storage, run_dir)
    name = study_name or f"{cls.name or cls.__name__}-{market.symbol}-{sampler}"
    evaluator = Evaluator(cls, market, fixed=search_space.fixed, risk=risk, period=period)
    distributions = _distributions(search_space.dimensions)
    study = _open_study(
        store,
        name,
        _sampler(sampler, seed, store, search_space, batch),
        [g.direction for g in goals],
    )
    _check_study(study, cls, market, goals, evaluator.periods)
    before = study.get_trials(deepcopy=False)
    if before and announce is not None:
        done = sum(t.state is TrialState.COMPLETE for t in before)
        announce(
            f"resuming study {name!r} in {store.url}: {len(before)} trials already there "
            f"({done} complete, {len(before) - done} failed or unfinished)"
        )
    runner = _Runner(study, evaluator, goals, distributions, progress, min_trades)
    interrupted = False
    try:
        if sampler == "grid" and not store.shared:
            runner.run_grid(search_space, trials, batch or DEFAULT_BATCH["grid"])
        else:
            if sampler == "grid":
                trials = min(trials or search_space.grid_size(), search_space.grid_size())
            if trials is None:
                raise UserError(f"sampler {sampler!r} needs --trials")
            runner.run_ask_tell(trials, batch or DEFAULT_BATCH[sampler])
    except KeyboardInterrupt:
        interrupted = True
        runner.fail_running("interrupted (Ctrl-C) before the trial finished")
    result = collect(study, goals, search_space, cls, sampler, store, min_trades=min_trades)
    result.resumed = len(before)
    result.interrupted = interrupted
    result.fallbacks = dict(evaluator.fallbacks)
    result.run_dir = run_dir
    result.fixed_notes = dict(search_space.notes)
    if top_n > 0 and result.best and not interrupted:
        top = result.best[:top_n]
        rows = result.trials.set_index("number").loc[[b["number"] for b in top]]
        result.parity = verify_on_event_engine(
            evaluator,
            [b["number"] for b in top],
            [b["params"] for b in top],
            rows[list(METRICS)].to_numpy(dtype=np.float64),
            rows["engine"].tolist(),
        )
        # A faulted run is never ranked: its score is not a result it earned.
        faulted = {row.number: row.problems for row in result.parity if row.problems}
        if faulted:
            result.faulted = [
                {"number": b["number"], "params": b["params"], "problems": faulted[b["number"]]}
                for b in result.best
                if b["number"] in faulted
            ]
            result.best = [b for b in result.best if b["number"] not in faulted]
    if run_dir is not None:
        write_results(result, run_dir)
    return result


class _Runner:
    """Drives one study: asks, scores in batches, tells, reports progress."""

    def __init__(
        self,
        study: optuna.Study,
        evaluator: Evaluator,
        goals: list[Objective],
        distributions: dict[str, BaseDistribution],
        progress: Progress | None,
        min_trades: int = 0,
    ) -> None:
        self.min_trades = min_trades
        self.study = study
        self.evaluator = evaluator
        self.goals = goals
        self.distributions = distributions
        self.progress = progress
        self.best: float | None = None
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.running: list[optuna.Trial] = []

    def fail_running(self, reason: str) -> None:
        """Tell the study that every trial asked for and not yet told has failed, and why."""
        for trial in self.running:
            trial.set_user_attr("reason", reason)
            self.study.tell(trial, state=TrialState.FAIL)
        self.running = []

    def _score(self, evaluation: Evaluation) -> FloatArray:
        return np.column_stack([g(evaluation.metrics) for g in self.goals])

    def _attrs(self, evaluation: Evaluation, j: int) -> dict[str, Any]:
        return {
            "metrics": evaluation.metrics[j].tolist(),
            "engine": evaluation.engines[j],
            "health": evaluation.health[j] if evaluation.health else "",
            "returns": encode_returns(evaluation.returns[j]),
            "worker": self.worker,
        }

    def _note_best(self, scores: FloatArray, evaluation: Evaluation) -> None:
        if len(self.goals) != 1:
            return
        # Only a trial that could be ranked shows as the best so far: not a failed one (a run with
        # problems, invalid parameters) nor one with too few closed trades.
        trades = evaluation.metrics[:, METRICS.index("trade_count")]
        rankable = np.array([e is None for e in evaluation.errors]) & (trades >= self.min_trades)
        column = scores[rankable, 0]
        column = column[np.isfinite(column)]
        if column.size == 0:
            return
        better = max if self.goals[0].direction == "maximize" else min
        candidate = float(better(column))
        self.best = candidate if self.best is None else better(self.best, candidate)

    def run_ask_tell(self, trials: int, batch: int) -> None:
        done = 0
        while done < trials:
            asked = [self.study.ask(self.distributions) for _ in range(min(batch, trials - done))]
            self.running = list(asked)
            evaluation = self.evaluator.evaluate([t.params for t in asked])
            scores = self._score(evaluation)
            for j, trial in enumerate(asked):
                if evaluation.errors[j] is not None or not np.all(np.isfinite(scores[j])):
                    reason = evaluation.errors[j] or "objective undefined (e.g. no trades)"
                    trial.set_user_attr("reason", reason)
                    self.study.tell(trial, state=TrialState.FAIL)
                    self.running.remove(trial)
                    continue
                for key, value in self._attrs(evaluation, j).items():
                    trial.set_user_attr(key, value)
                values = scores[j].tolist()
                self.study.tell(trial, values[0] if len(values) == 1 else values)
                self.running.remove(trial)
            done += len(asked)
            self._note_best(scores, evaluation)
            if self.progress is not None:
                self.progress(done, trials, self.best)

    def run_grid(self, space: SearchSpace, trials: int | None, batch: int) -> None:
        names = space.names
        seen = {
            tuple(t.params.get(n) for n in names)
            for t in self.study.get_trials(deepcopy=False)
            if t.state in (TrialState.COMPLETE, TrialState.FAIL)
        }
        pending = [p for p in space.grid() if tuple(p[n] for n in names) not in seen]
        if trials is not None:
            pending = pending[:trials]
        total = len(pending)
        for begin in range(0, total, batch):
            points = pending[begin : begin + batch]
            evaluation = self.evaluator.evaluate(points)
            scores = self._score(evaluation)
            frozen: list[FrozenTrial] = []
            for j, point in enumerate(points):
                ok = evaluation.errors[j] is None and bool(np.all(np.isfinite(scores[j])))
                if ok:
                    frozen.append(
                        optuna.trial.create_trial(
                            params=point, distributions=self.distributions,
                            values=scores[j].tolist(), user_attrs=self._attrs(evaluation, j),
                        )
                    )  # fmt: skip
                else:
                    reason = evaluation.errors[j] or "objective undefined (e.g. no trades)"
                    frozen.append(
                        optuna.trial.create_trial(
                            params=point, distributions=self.distributions,
                            state=TrialState.FAIL, user_attrs={"reason": reason},
                        )
                    )  # fmt: skip
            self.study.add_trials(frozen)
            self._note_best(scores, evaluation)
            if self.progress is not None:
                self.progress(min(begin + batch, total), total, self.best)


def _distributions(dimensions: Sequence[Dimension]) -> dict[str, BaseDistribution]:
    out: dict[str, BaseDistribution] = {}
    for d in dimensions:
        if d.choices is not None:
            out[d.name] = CategoricalDistribution(list(d.choices))
        elif d.kind is int:
            assert d.low is not None
            assert d.high is not None
            step = int(d.step or 1)
            high = int(d.low) + (int(d.high) - int(d.low)) // step * step
            out[d.name] = IntDistribution(int(d.low), high, step=step)
        else:
            assert d.low is not None
            assert d.high is not None
            high = d.high
            if d.step is not None:
                high = d.low + np.floor((d.high - d.low) / d.step + 1e-9) * d.step
            out[d.name] = FloatDistribution(d.low, float(high), step=d.step)
    return out


def _sampler(
    name: str, seed: int | None, store: StudyStorage, space: SearchSpace, batch: int | None
) -> optuna.samplers.BaseSampler:
    if seed is not None and store.shared:
        # Workers sharing a study must not draw the same random points.
        seed = seed + os.getpid()
    if name == "tpe":
        size = batch or DEFAULT_BATCH["tpe"]
        # While a batch is out, the liar stands in for its unknown results so the batch spreads.
        return optuna.samplers.TPESampler(seed=seed, constant_liar=size > 1, multivariate=True)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed, warn_independent_sampling=False, popsize=batch
        )
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(
            seed=seed, population_size=batch or DEFAULT_BATCH["nsga2"]
        )
    if name == "grid":
        grid = {d.name: d.grid() for d in space.dimensions}
        return optuna.samplers.GridSampler(grid, seed=seed)  # type: ignore[arg-type]
    return optuna.samplers.RandomSampler(seed=seed)


def _open_study(
    store: StudyStorage, name: str, sampler: optuna.samplers.BaseSampler, directions: list[str]
) -> optuna.Study:
    """Create or join the study; two workers starting together may both try to create it."""
    for attempt in range(2):
        try:
            return optuna.create_study(
                storage=store.storage, sampler=sampler, study_name=name, directions=directions,
                load_if_exists=True,
            )  # fmt: skip
        except optuna.exceptions.DuplicatedStudyError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _check_study(
    study: optuna.Study, cls: type[Strategy], market: Market, goals: list[Objective], periods: int
) -> None:
    """Refuse to resume a study that was made for another strategy, market or objective."""
    identity = {
        "strategy": cls.name or cls.__name__,
        "symbol": market.symbol,
        "bars": f"{int(market.series.ts[0])}-{int(market.series.ts[-1])}",
        "objectives": ",".join(g.name for g in goals),
        "periods": periods,
    }
    stored = study.user_attrs
    if not stored:
        for key, value in identity.items():
            study.set_user_attr(key, value)
        return
    for key, value in identity.items():
        if stored.get(key) != value:
            raise UserError(
                f"study {study.study_name!r} was made with {key}={stored.get(key)!r}, not "
                f"{value!r}; choose another --study-name or run directory"
            )


def collect(
    study: optuna.Study,
    goals: list[Objective],
    space: SearchSpace,
    cls: type[Strategy],
    sampler: str,
    store: StudyStorage,
    *,
    min_trades: int = 0,
) -> StudyResult:
    """Read every trial of ``study`` (any worker's) back into a :class:`StudyResult`.

    Trials with fewer than ``min_trades`` closed trades are in the table (``ranked`` False) but
    not in ``best``.
    """
    everything = study.get_trials(deepcopy=False)
    complete = [
        t for t in everything if t.state is TrialState.COMPLETE and "returns" in t.user_attrs
    ]
    names = space.names
    value_columns = [f"value_{g.name}" for g in goals]
    rows = {
        "number": [t.number for t in complete],
        **{n: [t.params.get(n) for t in complete] for n in names},
        **{c: [t.values[i] for t in complete] for i, c in enumerate(value_columns)},
    }
    metrics = np.array([t.user_attrs["metrics"] for t in complete], dtype=np.float64).reshape(
        len(complete), len(METRICS)
    )
    for i, key in enumerate(METRICS):
        rows[key] = metrics[:, i].tolist()
    rows["engine"] = [t.user_attrs.get("engine", "") for t in complete]
    rows["worker"] = [t.user_attrs.get("worker", "") for t in complete]
    rows["health"] = [t.user_attrs.get("health", "") for t in complete]
    frame = pd.DataFrame(rows)
    frame["ranked"] = frame["trade_count"] >= min_trades if len(frame) else []
    frame["status"] = np.where(frame["ranked"], "ranked", "insufficient") if len(frame) else []
    returns = (
        np.stack([decode_returns(t.user_attrs["returns"]) for t in complete])
        if complete
        else np.empty((0, 0))
    )
    best = _best(frame[frame["ranked"]] if len(frame) else frame, goals, names, space.fixed)
    result = StudyResult(
        study_name=study.study_name,
        storage=store.url,
        strategy=cls.name or cls.__name__,
        sampler=sampler,
        objectives=[g.name for g in goals],
        directions=[g.direction for g in goals],
        trials=frame,
        returns=returns,
        best=best,
        failed=sum(t.state is TrialState.FAIL for t in everything),
        failures=[
            {
                "number": t.number,
                "params": dict(t.params),
                "reason": str(t.user_attrs.get("reason", "unknown")),
            }
            for t in everything
            if t.state is TrialState.FAIL
        ],
        space=names,
        min_trades=min_trades,
        insufficient=int((~frame["ranked"]).sum()) if len(frame) else 0,
        failure_reasons=dict(
            Counter(
                reason_key(str(t.user_attrs.get("reason", "unknown")))
                for t in everything
                if t.state is TrialState.FAIL
            ).most_common()
        ),
    )
    if best and len(frame) >= 2 and returns.shape[1] >= 4:
        chosen = int(np.flatnonzero(frame["number"].to_numpy() == best[0]["number"])[0])
        try:
            result.deflated_sharpe = deflated_sharpe_from_returns(returns, chosen)
            result.overfitting = probability_of_backtest_overfitting(returns)
        except UserError:
            pass  # undefined (e.g. the best trial never traded): reported as n/a
    return result


def _best(
    frame: pd.DataFrame, goals: list[Objective], names: list[str], fixed: Mapping[str, Any]
) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    values = frame[[f"value_{g.name}" for g in goals]].to_numpy(dtype=np.float64)
    signs = np.array([1.0 if g.direction == "maximize" else -1.0 for g in goals])
    scaled = values * signs
    if len(goals) == 1:
        order = np.argsort(-scaled[:, 0], kind="stable")
    else:
        front = pareto_front(scaled)
        order = front[np.argsort(-scaled[front, 0], kind="stable")]
    out = []
    for i in order:
        row = frame.iloc[int(i)]
        params = {n: _plain(row[n]) for n in names}
        out.append(
            {
                "number": int(row["number"]),
                "params": params,
                "all_params": {**dict(fixed), **params},
                "values": {g.name: float(row[f"value_{g.name}"]) for g in goals},
                "trade_count": int(row["trade_count"]),
                "engine": str(row["engine"]),
            }
        )
    return out


def pareto_front(scores: FloatArray) -> npt.NDArray[np.int64]:
    """Indices of the rows of ``scores`` (all maximised) that no other row dominates."""
    n = scores.shape[0]
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(scores >= scores[i], axis=1) & np.any(scores > scores[i], axis=1)
        if dominated.any():
            keep[i] = False
    return np.flatnonzero(keep)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_results(result: StudyResult, run_dir: Path) -> None:
    """Write ``trials.csv``, ``returns.npy`` and ``study.json`` into ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    result.trials.to_csv(run_dir / "trials.csv", index=False)
    np.save(run_dir / "returns.npy", result.returns)
    write_json(run_dir / "study.json", result.summary())

"""The options every run command shares, declared once: data, costs, risk and outputs.

``backtest``, ``optimize``, ``walkforward`` and ``montecarlo`` take the same ``--data``,
``--data-dir``, ``--symbol``, ``-t``, ``--exchange``, ``--from``/``--to``, ``--cash``, ``--stake``,
``--fee``, ``--fill``, ``--leverage``, ``--slippage-bps``, ``--volatility-slippage``, ``--stop``,
``--take-profit``, ``--trailing``, ``--risk-config``, ``--risk-preset``, ``--json`` and
``--report``: :func:`run_options` adds them to a command's signature and hands the command one
:class:`RunOptions`. A command that cannot apply one of them (``optimize`` and
``walkforward`` take no ``--execution``: their trials fill plain market orders) refuses it by name with
:meth:`RunOptions.refuse`, never ignores it.
"""

from __future__ import annotations

import functools
import inspect
import tomllib
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from tradewind.cli.context import STATE
from tradewind.cli.inputs import catalog_folder, read_text
from tradewind.cli.outputs import writable_file
from tradewind.core.algo_spec import AlgoSpec, parse_algo
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.timeframe import Timeframe
from tradewind.data.bundled import BUNDLED_SYMBOL, load_bundled
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.ingest import load_candles_file
from tradewind.data.kinds import DataKind
from tradewind.data.schema import conform
from tradewind.risk.config import RISK_PRESETS, RiskConfig, parse_risk, rules_in_force
from tradewind.strategies.base import Strategy
from tradewind.strategies.registry import load_strategy

DATA, COSTS, RISK, OUTPUT = "Data", "Costs and fills", "Risk rules", "Outputs"

Strategies = Annotated[
    list[str],
    typer.Option(
        "--strategy",
        "-s",
        help="Registered name or path/file.py:Class; repeat to run several in one account.",
    ),
]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Strategy parameter k=v (repeatable); with several -s, name the strategy: "
        "sma_cross.fast=10.",
    ),
]


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """The shared flags of one run command, as given (see the module docstring)."""

    symbol: Annotated[
        str | None,
        typer.Option(
            "--symbol",
            help="Symbol in the catalog (default BTC-PERP, bundled) or of --data.",
            rich_help_panel=DATA,
        ),
    ] = None
    timeframe: Annotated[
        str | None,
        typer.Option(
            "--timeframe",
            "-t",
            help="Candle timeframe, e.g. 1m, 1h (default: from the file name or timestamps).",
            rich_help_panel=DATA,
        ),
    ] = None
    exchange: Annotated[
        str | None,
        typer.Option(
            "--exchange",
            "-e",
            help="Exchange folder in the catalog (default: data.default_exchange).",
            rich_help_panel=DATA,
        ),
    ] = None
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Read candles from this file (read as `data import` reads it).",
            rich_help_panel=DATA,
        ),
    ] = None
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Catalog folder (default: data.dir from config).",
            rich_help_panel=DATA,
        ),
    ] = None
    date_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="First bar to trade (UTC, ISO-8601 such as 2022-01-15); earlier bars warm up.",
            rich_help_panel=DATA,
        ),
    ] = None
    date_to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Last bar (UTC, exclusive; ISO-8601).",
            rich_help_panel=DATA,
        ),
    ] = None
    cash: Annotated[
        str,
        typer.Option("--cash", help="Starting cash in the quote currency.", rich_help_panel=COSTS),
    ] = "100000"
    stake: Annotated[
        str,
        typer.Option(
            "--stake", help="'all', a percent like 25%, or a quote amount.", rich_help_panel=COSTS
        ),
    ] = "all"
    fee: Annotated[
        str | None,
        typer.Option(
            "--fee", help="Fee per side as a fraction (0.001 = 0.1%).", rich_help_panel=COSTS
        ),
    ] = None
    fill: Annotated[
        str, typer.Option("--fill", help="next_open or close.", rich_help_panel=COSTS)
    ] = "next_open"
    leverage: Annotated[
        float | None,
        typer.Option(
            "--leverage", help="Leverage of a perpetual (default 1).", rich_help_panel=COSTS
        ),
    ] = None
    slippage_bps: Annotated[
        float,
        typer.Option(
            "--slippage-bps", help="Slippage per market fill, bps.", rich_help_panel=COSTS
        ),
    ] = 0.0
    volatility_slippage: Annotated[
        float,
        typer.Option(
            "--volatility-slippage",
            help="Extra slippage as a fraction of the fill bar's range.",
            rich_help_panel=COSTS,
        ),
    ] = 0.0
    execution: Annotated[
        str | None,
        typer.Option(
            "--execution",
            help="Execution algorithm of every market order, e.g. twap:horizon=30m,slices=6 "
            "(market, twap, vwap, pov, iceberg, smart_limit, auto).",
            rich_help_panel=COSTS,
        ),
    ] = None
    stop: Annotated[
        float | None,
        typer.Option("--stop", help="Protective stop, fraction (0.02 = 2%).", rich_help_panel=RISK),
    ] = None
    take_profit: Annotated[
        float | None,
        typer.Option(
            "--take-profit", help="Take-profit, fraction from entry.", rich_help_panel=RISK
        ),
    ] = None
    trailing: Annotated[
        float | None,
        typer.Option(
            "--trailing", help="Trailing stop, fraction behind the best.", rich_help_panel=RISK
        ),
    ] = None
    risk_config: Annotated[
        Path | None,
        typer.Option(
            "--risk-config",
            help="TOML file with a [risk] table (sizing, exits, limits, breakers).",
            rich_help_panel=RISK,
        ),
    ] = None
    risk_preset: Annotated[
        str | None,
        typer.Option(
            "--risk-preset",
            help=f"A named set of risk rules: {', '.join(sorted(RISK_PRESETS))}.",
            rich_help_panel=RISK,
        ),
    ] = None
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the results as JSON here.", rich_help_panel=OUTPUT),
    ] = None
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write the HTML report here.", rich_help_panel=OUTPUT),
    ] = None

    def __post_init__(self) -> None:
        _iso_date(self.date_from, "--from")
        _iso_date(self.date_to, "--to")

    def check_outputs(self) -> None:
        """Refuse an unwritable --json or --report before any work is done."""
        writable_file(self.json_path, "--json")
        writable_file(self.report, "--report")

    def candles(self) -> Candles:
        """The candles these flags name (see :func:`load_candles`)."""
        return load_candles(self.symbol, self.timeframe, self.exchange, self.data, self.data_dir)

    def algo(self) -> AlgoSpec | None:
        """The execution algorithm ``--execution`` names (None: plain orders)."""
        return None if self.execution is None else parse_algo(self.execution)

    def risk(self) -> RiskConfig | None:
        """The risk rules these flags (and the config's [risk] table) switch on."""
        settings = self.risk_settings()
        return None if settings is None else parse_risk(settings)

    def risk_settings(self) -> dict[str, Any] | None:
        """The same rules as the settings dict :func:`~tradewind.risk.config.parse_risk` takes
        (what the optimiser merges each trial's ``risk.*`` values into); None when none is set."""
        return _risk_settings(
            self.stop, self.take_profit, self.trailing, self.risk_config, self.risk_preset
        )

    def refuse(self, command: str, why: str, *names: str) -> None:
        """Refuse each of ``names`` (field names) the user set: ``command`` cannot apply it."""
        defaults = RunOptions()
        for field in fields(self):
            if field.name in names and getattr(self, field.name) != getattr(defaults, field.name):
                flag = _flag_of(field.name)
                raise UserError(f"{command} cannot apply {flag}: {why}")

    def window(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` from --from to --to (for commands that search inside a window)."""
        if self.date_from is None and self.date_to is None:
            return frame
        dates = pd.DatetimeIndex(frame["date"])
        keep = pd.Series(True, index=frame.index)
        if self.date_from is not None:
            keep &= dates >= _utc(self.date_from, "--from")
        if self.date_to is not None:
            keep &= dates < _utc(self.date_to, "--to")
        if (
            self.date_from is not None
            and self.date_to is not None
            and _utc(self.date_from, "--from") >= _utc(self.date_to, "--to")
        ):
            raise UserError(f"--from {self.date_from} is not before --to {self.date_to}")
        chosen = frame[keep.to_numpy()].reset_index(drop=True)
        if chosen.empty:
            first, last = dates.min(), dates.max()
            raise UserError(
                f"no bars from {self.date_from or 'the start'} to {self.date_to or 'the end'} "
                f"(--from/--to); the data covers {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"
            )
        return chosen


def _iso_date(text: str | None, flag: str) -> str | None:
    """Refuse a date that is not ISO-8601: pandas would read ``1.2.3`` as 2003-01-02."""
    if text is not None:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise UserError(
                f"{flag}: invalid date {text!r}; use ISO-8601 such as 2022-01-15 or "
                "2022-01-15T08:00"
            ) from None
    return text


def _utc(text: str, flag: str) -> pd.Timestamp:
    try:
        moment = pd.Timestamp(text)
    except ValueError:
        raise UserError(f"{flag}: invalid date {text!r}; use ISO-8601 such as 2022-01-15") from None
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def _flag_of(name: str) -> str:
    info = typing.get_type_hints(RunOptions, include_extras=True)[name].__metadata__[0]
    # In Annotated form typer keeps the first flag name in ``default``, the others in param_decls.
    names = [info.default, *info.param_decls]
    return next(str(n) for n in names if isinstance(n, str) and n.startswith("--"))


_SHARED = [field.name for field in fields(RunOptions)]


def run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add every :class:`RunOptions` flag to a typer command that takes ``opts: RunOptions``."""
    hints = typing.get_type_hints(func, include_extras=True)
    shared_hints = typing.get_type_hints(RunOptions, include_extras=True)
    own = [
        p.replace(annotation=hints[p.name], kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(func).parameters.values()
        if p.name != "opts"
    ]
    clash = {p.name for p in own} & set(_SHARED)
    if clash:
        raise TypeError(f"{func.__name__} declares shared options itself: {sorted(clash)}")
    defaults = asdict(RunOptions())
    shared = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=defaults[name],
            annotation=shared_hints[name],
        )
        for name in _SHARED
    ]

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        opts = RunOptions(**{name: kwargs.pop(name) for name in _SHARED})
        return func(opts=opts, **kwargs)

    parameters = own + shared
    del command.__wrapped__  # typer must read the signature below, not the wrapped function's
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def strategy_choice(names: list[str], pairs: list[str] | None) -> tuple[Any, dict[str, str] | None]:
    """What to hand :func:`tradewind.backtest.api.backtest` for the -s and -p flags.

    One strategy: its name and the parameters. Several: instances that share one account, each
    with the parameters named ``STRATEGY.key=value`` for it.
    """
    params = parse_params(pairs or [])
    if len(names) == 1:
        return names[0], params
    classes = [load_strategy(name) for name in names]
    labels = [cls.name or cls.__name__ for cls in classes]
    per: dict[str, dict[str, str]] = {label: {} for label in labels}
    for key, value in params.items():
        label, dot, name = key.partition(".")
        if not dot or label not in per:
            raise UserError(
                f"with several --strategy, name the strategy in each --param: "
                f"-p {labels[0]}.{key}={value} (strategies: {', '.join(labels)})"
            )
        per[label][name] = value
    instances: list[Strategy] = [
        cls(**per[label]) for cls, label in zip(classes, labels, strict=True)
    ]
    return instances, None


def one_strategy(names: list[str], command: str) -> str:
    """The single -s of a command that studies one strategy; several are refused, not dropped."""
    if len(names) != 1:
        raise UserError(
            f"{command} studies one strategy at a time; got {len(names)} --strategy: "
            f"{', '.join(names)}"
        )
    return names[0]


@dataclass(frozen=True, slots=True)
class Candles:
    """Candles to trade, found as every run command finds them, with what was resolved."""

    frame: pd.DataFrame
    symbol: str
    timeframe: str
    instruments: dict[str, Instrument] | None


def load_candles(
    symbol: str | None,
    timeframe: str | None,
    exchange: str | None,
    data: Path | None,
    data_dir: Path | None = None,
) -> Candles:
    """The candles of ``--data FILE`` (read as ``data import`` reads it), else of the catalog, else
    the bundled BTC-PERP month.

    A file's symbol comes from ``--symbol`` or its Freqtrade name and its timeframe from ``-t``,
    its name or its timestamps; a stored series' timeframe from ``-t`` or, when one timeframe of
    the symbol is stored, that one. The same data and flags give the same candles and instrument
    either way.
    """
    config = STATE.config()
    venue = (exchange or config.data.default_exchange).lower()
    if data is not None:
        prepared = load_candles_file(data, exchange=venue, symbol=symbol, timeframe=timeframe)
        key = prepared.key
        frame = conform(prepared.frame, DataKind.CANDLES, what=str(data))
        return Candles(
            frame, key.symbol, str(key.timeframe), {key.symbol: prepared.meta.instrument}
        )
    catalog = Catalog(config.data.dir if data_dir is None else catalog_folder(data_dir))
    stored = [k for k in catalog.keys() if k.kind is DataKind.CANDLES]  # noqa: SIM118
    name = symbol or BUNDLED_SYMBOL
    if timeframe is None:
        timeframes = sorted(
            {str(k.timeframe) for k in stored if k.symbol == name and k.exchange == venue}
        )
        if len(timeframes) > 1:
            raise UserError(
                f"{name} is stored in several timeframes ({', '.join(timeframes)}) in "
                f"{catalog.root}: give -t/--timeframe"
            )
        timeframe = timeframes[0] if timeframes else "1m"
    wanted = SeriesKey(venue, name, timeframe, DataKind.CANDLES)
    if catalog.exists(wanted):
        return Candles(
            catalog.read(wanted), name, timeframe, {name: catalog.meta(wanted).instrument}
        )
    if name == BUNDLED_SYMBOL and Timeframe.parse(timeframe) == Timeframe.parse("1m"):
        frame, meta = load_bundled()
        return Candles(frame, name, "1m", {name: meta.instrument})
    raise UserError(
        f"no {timeframe} candles for {name} in {catalog.root} (exchange {venue}); stored: "
        f"{', '.join(str(k) for k in stored) or 'none'}. Import or download them first, or "
        "pass --data FILE"
    )


def announce_risk(risk: RiskConfig | None) -> None:
    """Say which risk rules the run enforces, before it starts (on stderr, beside the progress)."""
    rules = rules_in_force(risk)
    STATE.err_console.print(
        f"risk rules in force: {', '.join(rules) if rules else 'none'}",
        highlight=False,
        soft_wrap=True,
    )


def _risk_settings(
    stop: float | None,
    take_profit: float | None,
    trailing: float | None,
    path: Path | None,
    preset: str | None = None,
) -> dict[str, Any] | None:
    """The risk settings: the --risk-config file, else the app config's [risk] table when one was
    given, then the preset named by --risk-preset, with the flags on top; None when nothing asks
    for the risk engine. They are checked here, so a mistake is named before any work."""
    base: dict[str, Any] | None = None
    if path is not None:
        text = read_text(path, "--risk-config")
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{path} is not valid TOML: {exc}") from None
        base = dict(document.get("risk", document))
    else:
        config = STATE.config()
        if "risk" in config.model_fields_set:
            base = config.risk.model_dump(exclude_unset=True)
    flags = {"stop_pct": stop, "take_profit_pct": take_profit, "trailing_pct": trailing}
    given = {k: v for k, v in flags.items() if v is not None}
    if base is None and not given and preset is None:
        return None
    merged: dict[str, Any] = dict(base or {})
    if preset is not None:
        merged["preset"] = preset
    if given:
        merged["exits"] = {**dict(merged.get("exits", {})), **given}
    parse_risk(merged)
    return merged


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param takes key=value, got {pair!r}")
        params[key.strip()] = value.strip()
    return params

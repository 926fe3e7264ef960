"""``tradewind ml list | promote | rollback | pin | retrain`` and ``ml train --register``: the
model registry.

The registry is a database (a bot's own, ``--bot NAME``, or ``--db-url URL``); model folders live
beside it in ``models/NAME/vVERSION`` (the bot's state folder, or the SQLite file's folder), or
under ``--models-dir`` (needed for PostgreSQL). Promotion loads the version first, so a model
whose files changed since registration is refused before it can reach production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tradewind.cli.context import STATE
from tradewind.core.errors import UserError
from tradewind.persistence.bots import bot_folder, open_bot
from tradewind.persistence.engine import Engine, open_database, sqlite_file
from tradewind.persistence.model_registry import (
    RegisteredModel,
    check_model_name,
    next_version,
    promote_model,
    registered_model,
    registered_models,
    rollback_model,
    rollback_target,
)
from tradewind.series.bars import BarSeries

if TYPE_CHECKING:
    from tradewind.ml.dataset import Dataset
    from tradewind.ml.study import StudySettings

BotOption = Annotated[
    str | None, typer.Option("--bot", help="The registry in this bot's database.")
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--db-url", help="The registry in this database (sqlite:///file or postgresql://...)."
    ),
]
ModelsDir = Annotated[
    Path | None,
    typer.Option("--models-dir", help="Folder of model files (default: beside the database)."),
]


@dataclass
class Registry:
    """An open registry database and the folder its model files live in."""

    engine: Engine
    models_dir: Path | None

    def folder_for(self, name: str, version: int) -> Path:
        """Where version ``version`` of ``name`` is saved."""
        if self.models_dir is None:
            raise UserError(
                "this database is not a SQLite file: name the folder for model files with "
                "--models-dir"
            )
        return self.models_dir / name / f"v{version}"


def open_registry(
    bot: str | None, db_url: str | None, models_dir: Path | None, *, create: bool
) -> Registry:
    """Open the registry named by ``--bot`` / ``--db-url`` (UserError when neither is given)."""
    config = STATE.config().database
    url = db_url or config.url
    if bot is not None:
        opened = open_bot(bot, bots_dir=config.bots_dir, url=url, durability=config.durability,
                          create=create)  # fmt: skip
        default = bot_folder(bot, config.bots_dir) / "models" if url is None else None
        engine = opened.engine
    elif url is None:
        raise UserError("name the model registry: --bot NAME or --db-url URL")
    else:
        engine = open_database(url, durability=config.durability)
        path = sqlite_file(url)
        default = None if path is None else path.parent / "models"
    chosen = models_dir or default
    return Registry(engine, None if chosen is None else chosen.resolve())


def register_trained(
    registry: Registry, name: str, bars: BarSeries, ds: Dataset, model: str,
    settings: StudySettings, *, target: str, horizon: int, class_names: dict[int, str],
    parameters: dict[str, object], holdout: float,
) -> RegisteredModel:  # fmt: skip
    """Fit, calibrate and score a model on ``ds``, save it beside the registry, and register it."""
    from tradewind.ops.model_retrain import train_and_register

    check_model_name(name)
    folder = registry.folder_for(name, next_version(registry.engine, name)).parent.parent
    return train_and_register(
        registry.engine, folder, name, bars, ds, model, settings, target=target,
        horizon=horizon, class_names=class_names, parameters=parameters, holdout=holdout,
    )  # fmt: skip


def retrain_cmd(
    name: Annotated[str, typer.Argument(help="Model name (its production version is the bar).")],
    symbol: Annotated[str | None, typer.Option("--symbol", help="Symbol in the catalog.")] = None,
    timeframe: Annotated[
        str | None, typer.Option("--timeframe", "-t", help="Candle timeframe.")
    ] = None,
    exchange: Annotated[
        str | None, typer.Option("--exchange", "-e", help="Exchange folder in the catalog.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Read candles from this file.")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Catalog folder.")] = None,
    bot: BotOption = None,
    db_url: UrlOption = None,
    models_dir: ModelsDir = None,
) -> None:
    """Train a new version on newer candles with the production version's recipe; promote it
    only if it beats the production version on samples neither trained on."""
    from tradewind.cli.run_options import load_candles
    from tradewind.core.timeframe import Timeframe
    from tradewind.ops.model_retrain import retrain

    candles = load_candles(symbol, timeframe, exchange, data, data_dir)
    bars = BarSeries.from_frame(candles.frame, candles.symbol, Timeframe.parse(candles.timeframe))
    registry = open_registry(bot, db_url, models_dir, create=False)
    try:
        folder = registry.folder_for(name, 1).parent.parent
        outcome = retrain(registry.engine, folder, name, bars)
    finally:
        registry.engine.dispose()
    STATE.console.print(outcome.describe(), highlight=False)


def _metric(entry: RegisteredModel, key: str) -> str:
    value = entry.card.metrics.get(key)
    return "" if value is None else f"{value:.4f}"


def list_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this model's versions.")] = None,
    bot: BotOption = None,
    db_url: UrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List registered models: versions, stages, training data and out-of-sample scores."""
    registry = open_registry(bot, db_url, None, create=False)
    try:
        entries = registered_models(registry.engine, name)
    finally:
        registry.engine.dispose()
    if as_json:
        rows = [
            {"name": e.name, "version": e.version, "stage": e.stage, "model_type":
             e.card.model_type, "target": e.card.target, "horizon": e.card.horizon,
             "symbol": e.card.symbol, "timeframe": e.card.timeframe,
             "data_start_ts": e.card.data_start_ts, "data_end_ts": e.card.data_end_ts,
             "data_hash": e.card.data_hash, "code_version": e.card.code_version,
             "metrics": e.card.metrics, "pin": e.pin}
            for e in entries
        ]  # fmt: skip
        STATE.console.print_json(json.dumps(rows))
        return
    if not entries:
        STATE.console.print("no models registered")
        return
    table = Table(title="registered models")
    for column in ("name", "version", "stage", "model", "target", "data", "code", "accuracy",
                   "baseline", "log loss", "sha256"):  # fmt: skip
        table.add_column(column)
    from tradewind.backtest.results import iso_utc

    for e in entries:
        span = f"{e.card.symbol} {e.card.timeframe} {iso_utc(e.card.data_start_ts)[:16]} .. " \
               f"{iso_utc(e.card.data_end_ts)[:16]}"  # fmt: skip
        table.add_row(
            e.name, str(e.version), e.stage, e.card.model_type,
            f"{e.card.target} h={e.card.horizon}", span, e.card.code_version,
            _metric(e, "accuracy"), _metric(e, "baseline_accuracy"), _metric(e, "log_loss"),
            e.sha256[:12],
        )  # fmt: skip
    STATE.console.print(table)


def _load_checked(entry: RegisteredModel) -> None:
    from tradewind.ml.calibrated import CalibratedModel

    CalibratedModel.load_verified(entry.path, entry.sha256, entry.files)


def promote_cmd(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="The version to put in production.", min=1)],
    bot: BotOption = None,
    db_url: UrlOption = None,
) -> None:
    """Make a version the production model of its name (its files are checked first)."""
    registry = open_registry(bot, db_url, None, create=False)
    try:
        _load_checked(registered_model(registry.engine, name, version))
        entry = promote_model(registry.engine, name, version)
    finally:
        registry.engine.dispose()
    STATE.console.print(f"{name} version {entry.version} is in production ({entry.sha256[:12]})")


def rollback_cmd(
    name: Annotated[str, typer.Argument(help="Model name.")],
    bot: BotOption = None,
    db_url: UrlOption = None,
) -> None:
    """Take the production version out and restore the one it replaced (files checked first)."""
    registry = open_registry(bot, db_url, None, create=False)
    try:
        _load_checked(rollback_target(registry.engine, name))
        removed, restored = rollback_model(registry.engine, name)
    finally:
        registry.engine.dispose()
    STATE.console.print(
        f"{name}: version {removed.version} rolled back; version "
        f"{restored.version} is in production ({restored.sha256[:12]})"
    )


def pin_cmd(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[
        int | None, typer.Option("--version", help="This version (default: production).", min=1)
    ] = None,
    bot: BotOption = None,
    db_url: UrlOption = None,
) -> None:
    """Print a version's pin (PATH#SHA256), the ``model`` parameter of the ML strategies."""
    registry = open_registry(bot, db_url, None, create=False)
    try:
        entry = registered_model(registry.engine, name, version)
    finally:
        registry.engine.dispose()
    entry.verify()
    STATE.console.print(entry.pin, highlight=False, soft_wrap=True)

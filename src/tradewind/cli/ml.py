"""``tradewind ml evaluate | train | report``: the honest study and the final model, on any candles.

``evaluate`` runs every chosen model through purged, embargoed walk-forward validation and prints
their out-of-sample scores next to the naive baselines (``--report FILE`` writes the HTML page).
``train`` fits one model on every sample and saves it with its features and scaler. Candles come
from ``--data FILE``, the catalog, or the bundled BTC-PERP month, as for every run command. The
ML libraries come with the ``ml`` extra; without it the command says so (exit 2). The registry's
commands (``train --register``, ``list``, ``promote``, ``rollback``, ``pin``, ``retrain``) are in
:mod:`tradewind.cli.ml_registry`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tradewind.cli import ml_registry
from tradewind.cli.context import STATE
from tradewind.cli.outputs import writable_dir, writable_file, write_output
from tradewind.cli.run_options import load_candles
from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.series.bars import BarSeries

if TYPE_CHECKING:
    from tradewind.ml.dataset import Dataset
    from tradewind.ml.study import StudySettings

app = typer.Typer(help="Machine learning: validate models honestly, train and save one.")

Symbol = Annotated[
    str | None,
    typer.Option("--symbol", help="Symbol in the catalog (default BTC-PERP) or of --data."),
]
TimeframeOpt = Annotated[str | None, typer.Option("--timeframe", "-t", help="Candle timeframe.")]
Exchange = Annotated[
    str | None, typer.Option("--exchange", "-e", help="Exchange folder in the catalog.")
]
DataFile = Annotated[Path | None, typer.Option("--data", help="Read candles from this file.")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Catalog folder.")]
Target = Annotated[
    str,
    typer.Option(
        "--target",
        help="direction (triple barrier), regime, strategy; or a regression target: return, "
        "mfe, mae (evaluate only).",
    ),
]
Horizon = Annotated[int, typer.Option("--horizon", help="Label horizon in bars.", min=1)]
Labels = Annotated[
    str, typer.Option("--labels", help="direction labels: triple_barrier or fixed_horizon.")
]
Barrier = Annotated[
    float, typer.Option("--barrier", help="Triple-barrier distance in horizon volatilities.")
]
DeadZone = Annotated[
    float | None,
    typer.Option("--dead-zone", help="fixed_horizon: NEUTRAL when |log return| <= this."),
]
Step = Annotated[int, typer.Option("--sample-step", help="Keep every k-th bar as a sample.", min=1)]
Splits = Annotated[int, typer.Option("--splits", help="Walk-forward test windows.", min=2)]
Hidden = Annotated[int, typer.Option("--lstm-hidden", help="LSTM hidden size.", min=1)]
Epochs = Annotated[int, typer.Option("--lstm-epochs", help="LSTM training epochs.", min=1)]
Sequence = Annotated[int, typer.Option("--sequence-length", help="LSTM window in bars.", min=2)]


def _require_ml() -> None:
    missing = [
        m
        for m in ("sklearn", "lightgbm", "skops", "torch", "skl2onnx", "onnxruntime")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise UserError(
            f"the ml extra is not installed (missing {', '.join(missing)}): "
            "pip install 'tradewind[ml]'"
        )


def _bars(
    symbol: str | None, timeframe: str | None, exchange: str | None, data: Path | None,
    data_dir: Path | None,
) -> BarSeries:  # fmt: skip
    candles = load_candles(symbol, timeframe, exchange, data, data_dir)
    return BarSeries.from_frame(candles.frame, candles.symbol, Timeframe.parse(candles.timeframe))


def _dataset(
    bars: BarSeries, target: str, horizon: int, labels: str, barrier: float,
    dead_zone: float | None, step: int, sequence: int,
    computed: tuple[Any, tuple[str, ...]] | None = None,
) -> tuple[Dataset, dict[int, str]]:  # fmt: skip
    from tradewind.ml.dataset import build_dataset
    from tradewind.ml.features import FeatureInputs
    from tradewind.ml.targets import target_labels

    options = {"method": labels, "barrier": barrier, "dead_zone": dead_zone}
    made, names = target_labels(bars, target, horizon, **(options if target == "direction" else {}))
    ds = build_dataset(FeatureInputs(bars), made, min_history=sequence - 1, sample_step=step,
                       computed=computed)  # fmt: skip
    return ds, names


def _models(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def evaluate(
    symbol: Symbol = None,
    timeframe: TimeframeOpt = None,
    exchange: Exchange = None,
    data: DataFile = None,
    data_dir: DataDir = None,
    target: Target = "direction",
    horizon: Horizon = 30,
    labels: Labels = "triple_barrier",
    barrier: Barrier = 1.0,
    dead_zone: DeadZone = None,
    models: Annotated[
        str, typer.Option("--models", help="Comma-separated: random_forest,lightgbm,lstm.")
    ] = "random_forest,lightgbm,lstm",
    splits: Splits = 5,
    sample_step: Step = 5,
    lstm_hidden: Hidden = 32,
    lstm_epochs: Epochs = 2,
    sequence_length: Sequence = 32,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the study as a self-contained HTML page.")
    ] = None,
) -> None:
    """Validate models out of sample (purged walk-forward) against naive baselines."""
    _require_ml()
    writable_file(report, "--report")  # refused before the study, not after it
    from tradewind.ml.regression import REGRESSION_TARGETS
    from tradewind.ml.report import render_html
    from tradewind.ml.study import StudySettings, run_study

    settings = StudySettings(
        models=_models(models), n_splits=splits, lstm_hidden=lstm_hidden,
        lstm_epochs=lstm_epochs, sequence_length=sequence_length,
    )  # fmt: skip
    bars = _bars(symbol, timeframe, exchange, data, data_dir)
    title = f"{bars.symbol} {bars.timeframe}"
    if target in REGRESSION_TARGETS:
        _evaluate_regression(bars, settings, target, horizon, sample_step, sequence_length, report)
        return
    ds, names = _dataset(
        bars, target, horizon, labels, barrier, dead_zone, sample_step, sequence_length
    )
    result = run_study(
        ds, settings, title=title, target=target, horizon=horizon, class_names=names,
        progress=lambda text: STATE.err_console.print(text, highlight=False),
    )  # fmt: skip
    table = Table(title=f"{title} {target}: out of sample, {result.test_samples} predictions")
    for column in ("model", "accuracy", "log loss", "AUC", "Brier", "verdict"):
        table.add_column(column)
    for name, s in result.baselines.items():
        table.add_row(f"baseline: {name}", f"{s.accuracy:.4f}", f"{s.log_loss:.4f}",
                      f"{s.auc:.4f}", f"{s.brier:.4f}", "")  # fmt: skip
    for m in result.models:
        s = m.scores
        table.add_row(m.name, f"{s.accuracy:.4f}", f"{s.log_loss:.4f}", f"{s.auc:.4f}",
                      f"{s.brier:.4f}", result.verdict(m))  # fmt: skip
    STATE.console.print(table)
    if report is not None:
        page = render_html([result], title=f"Tradewind ML study: {title}")
        write_output(report, "--report", lambda p: p.write_text(page, encoding="utf-8"))
        STATE.console.print(f"report: {report}")


def _evaluate_regression(
    bars: BarSeries, settings: StudySettings, target: str, horizon: int, step: int,
    sequence: int, report: Path | None,
) -> None:  # fmt: skip
    from tradewind.ml.dataset import build_dataset
    from tradewind.ml.features import FeatureInputs
    from tradewind.ml.regression import regression_labels, run_regression_study
    from tradewind.ml.report import render_html

    made = regression_labels(bars, target, horizon)
    ds = build_dataset(FeatureInputs(bars), made, min_history=sequence - 1, sample_step=step)
    title = f"{bars.symbol} {bars.timeframe}"
    result = run_regression_study(
        ds, made.value[ds.bars], settings, title=title, target=target, horizon=horizon
    )
    table = Table(
        title=f"{title} {target} (regression): out of sample, {result.baseline.count} predictions"
    )
    for column in ("model", "MAE", "RMSE", "R²", "correlation", "verdict"):
        table.add_column(column)
    table.add_row("baseline: training mean", f"{result.baseline.mae:.6f}",
                  f"{result.baseline.rmse:.6f}", f"{result.baseline.r2:.4f}", "", "")  # fmt: skip
    for name, s in result.models.items():
        table.add_row(name, f"{s.mae:.6f}", f"{s.rmse:.6f}", f"{s.r2:.4f}",
                      f"{s.correlation:.4f}", result.verdict(name))  # fmt: skip
    STATE.console.print(table)
    if report is not None:
        page = render_html([result], title=f"Tradewind ML study: {title}")
        write_output(report, "--report", lambda p: p.write_text(page, encoding="utf-8"))
        STATE.console.print(f"report: {report}")


def train(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to save the model into.")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="random_forest, lightgbm or lstm.")
    ] = "lightgbm",
    symbol: Symbol = None,
    timeframe: TimeframeOpt = None,
    exchange: Exchange = None,
    data: DataFile = None,
    data_dir: DataDir = None,
    target: Target = "direction",
    horizon: Horizon = 30,
    labels: Labels = "triple_barrier",
    barrier: Barrier = 1.0,
    dead_zone: DeadZone = None,
    sample_step: Step = 5,
    lstm_hidden: Hidden = 32,
    lstm_epochs: Epochs = 2,
    sequence_length: Sequence = 32,
    register: Annotated[
        str | None,
        typer.Option(
            "--register",
            help="Register the model under this name (with --bot or "
            "--db-url): trained, calibrated and scored on held-out samples.",
        ),
    ] = None,
    holdout: Annotated[
        float,
        typer.Option(
            "--holdout",
            help="--register: share of the latest samples held out "
            "(half to calibrate, half to score).",
            min=0.05,
            max=0.9,
        ),
    ] = 0.3,
    bot: ml_registry.BotOption = None,
    db_url: ml_registry.UrlOption = None,
    models_dir: ml_registry.ModelsDir = None,
) -> None:
    """Fit one model on every sample and save it with its features and scaler, or (with
    ``--register``) train, calibrate, score and register it."""
    _require_ml()
    from tradewind.ml.study import StudySettings
    from tradewind.ml.training import train_pipeline

    settings = StudySettings(
        models=(model,), lstm_hidden=lstm_hidden, lstm_epochs=lstm_epochs,
        sequence_length=sequence_length,
    )  # fmt: skip
    if register is not None and out is not None:
        raise UserError("--register saves the model beside its registry: drop --out")
    if register is None and (bot is not None or db_url is not None):
        raise UserError("--bot/--db-url name the registry of --register NAME: add it or drop them")
    if models_dir is not None:
        writable_dir(models_dir, "--models-dir")  # refused before training, not after it
    bars = _bars(symbol, timeframe, exchange, data, data_dir)
    ds, names = _dataset(
        bars, target, horizon, labels, barrier, dead_zone, sample_step, sequence_length
    )
    if register is not None:
        ml_registry.check_model_name(register)
        registry = ml_registry.open_registry(bot, db_url, models_dir, create=True)
        try:
            options = {"labels": labels, "barrier": barrier, "dead_zone": dead_zone,
                       "sample_step": sample_step}  # fmt: skip
            entry = ml_registry.register_trained(
                registry, register, bars, ds, model, settings, target=target, horizon=horizon,
                class_names=names, parameters=options, holdout=holdout,
            )  # fmt: skip
        finally:
            registry.engine.dispose()
        m = entry.card.metrics
        STATE.console.print(
            f"{register} version {entry.version} registered ({entry.stage}): {model} on "
            f"{bars.symbol} {bars.timeframe}, out of sample accuracy {m['accuracy']:.4f} "
            f"(baseline {m['baseline_accuracy']:.4f}), log loss {m['log_loss']:.4f} "
            f"(baseline {m['baseline_log_loss']:.4f}); files in {entry.path}",
            highlight=False,
        )
        return
    if out is None:
        raise UserError("give --out FOLDER (save a model) or --register NAME (register it)")
    folder = writable_dir(out, "--out")
    pipeline = train_pipeline(
        ds, model, settings, target=target, horizon=horizon, class_names=names
    )
    pipeline.save(folder)
    STATE.console.print(
        f"{model} trained on {ds.count} samples of {bars.symbol} {bars.timeframe} "
        f"({target}, horizon {horizon}); saved to {folder}"
    )


# The full study: the bundled month and every recorded 5m spot file of at least a few thousand bars.
_STUDY_FILES = ("ETH_BTC-5m.feather", "LTC_BTC-5m.feather")
_STUDY_TARGETS = (("direction", 30, 12), ("regime", 30, 12), ("strategy", 30, 12))


def report(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "ml-report.html"
    ),
    splits: Splits = 5,
    month_step: Annotated[
        int, typer.Option("--month-step", help="Sample step on the 1m month.", min=1)
    ] = 5,
    lstm_epochs: Epochs = 2,
) -> None:
    """Run the full study (every target, every model) on the bundled month and the 5m files."""
    _require_ml()
    writable_file(out, "--out")  # refused before the study, not after it
    from tradewind.data.bundled import BUNDLED_SYMBOL, load_bundled
    from tradewind.data.recorded import recorded_data_dir
    from tradewind.ml.dataset import build_dataset
    from tradewind.ml.features import FeatureInputs, feature_matrix
    from tradewind.ml.regression import REGRESSION_TARGETS, regression_labels, run_regression_study
    from tradewind.ml.report import render_html
    from tradewind.ml.study import StudySettings, run_study

    settings = StudySettings(n_splits=splits, lstm_epochs=lstm_epochs)
    frame, _ = load_bundled()
    series = [(BarSeries.from_frame(frame, BUNDLED_SYMBOL, Timeframe.parse("1m")), month_step, 0)]
    for name in _STUDY_FILES:
        path = recorded_data_dir() / "candles" / name
        series.append((_bars(None, "5m", None, path, None), 1, 1))
    results: list[Any] = []
    for bars, step, which in series:
        # The features of a file are computed once and shared by its six studies.
        computed = feature_matrix(FeatureInputs(bars))
        for target, month_horizon, five_horizon in _STUDY_TARGETS:
            horizon = five_horizon if which else month_horizon
            ds, names = _dataset(bars, target, horizon, "triple_barrier", 1.0, None, step, 32,
                                 computed)  # fmt: skip
            title = f"{bars.symbol} {bars.timeframe}"
            STATE.err_console.print(f"{title} {target}: {ds.count} samples", highlight=False)
            result = run_study(ds, settings, title=title, target=target, horizon=horizon,
                               class_names=names)  # fmt: skip
            results.append(result)
            for m in result.models:
                base_name, base = result.best_baseline()
                STATE.console.print(
                    f"{title} {target} {m.name}: accuracy {m.scores.accuracy:.4f} log loss "
                    f"{m.scores.log_loss:.4f} AUC {m.scores.auc:.4f} vs {base_name} accuracy "
                    f"{base.accuracy:.4f} log loss {base.log_loss:.4f}: {result.verdict(m)}",
                    highlight=False,
                )
        horizon = 12 if which else 30
        for target in REGRESSION_TARGETS:
            made = regression_labels(bars, target, horizon)
            ds = build_dataset(FeatureInputs(bars), made, min_history=31, sample_step=step,
                               computed=computed)  # fmt: skip
            title = f"{bars.symbol} {bars.timeframe}"
            regression = run_regression_study(ds, made.value[ds.bars], settings, title=title,
                                              target=target, horizon=horizon)  # fmt: skip
            results.append(regression)
            for name in regression.models:
                STATE.console.print(f"{title} {target} {name}: {regression.verdict(name)}",
                                    highlight=False)  # fmt: skip
    page = render_html(results, title="Tradewind ML study")
    write_output(out, "--out", lambda p: p.write_text(page, encoding="utf-8"))
    STATE.console.print(f"report: {out}")


app.command("evaluate")(evaluate)
app.command("train")(train)
app.command("report")(report)
app.command("list")(ml_registry.list_cmd)
app.command("promote")(ml_registry.promote_cmd)
app.command("rollback")(ml_registry.rollback_cmd)
app.command("pin")(ml_registry.pin_cmd)
app.command("retrain")(ml_registry.retrain_cmd)

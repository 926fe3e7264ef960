"""``tradewind tax``: a bot's disposals as IRS Form 8949 lines, its income, and a summary.

Reads every fill and funding payment of the bot, matches disposals to lots by the chosen method
(:mod:`tradewind.performance.tax_lots`), and values assets other than the reporting currency's
stand-ins (USD, USDT) from the catalog's ``ASSET/USDT`` candles: the close of the candle that
contains the trade's time. An asset without such candles, or a time outside them, is refused by
name; nothing is guessed.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from tradewind.cli.context import STATE
from tradewind.cli.db import BotOption, UrlOption, database_url
from tradewind.core.errors import UserError
from tradewind.core.money import to_decimal
from tradewind.core.orders import Fill
from tradewind.data.catalog import Catalog
from tradewind.data.kinds import DataKind
from tradewind.performance.tax_lots import FundingPayment, LotMethod, TaxReport, tax_lots
from tradewind.persistence.engine import open_database
from tradewind.persistence.queries import bot_id
from tradewind.persistence.repository import SqlTradingRepository
from tradewind.persistence.types import utc_ms

FORM_8949 = (
    "(a) Description of property", "(b) Date acquired", "(c) Date sold or disposed of",
    "(d) Proceeds", "(e) Cost or other basis", "(f) Code(s)", "(g) Amount of adjustment",
    "(h) Gain or (loss)", "Term",
)  # fmt: skip


class CatalogPricer:
    """``value(asset, ts)`` from the catalog's ``ASSET/USDT`` candles (finest timeframe stored)."""

    def __init__(self, catalog: Catalog, exchange: str) -> None:
        self.catalog = catalog
        self.exchange = exchange
        self._series: dict[str, tuple[np.ndarray, np.ndarray, list[float], int]] = {}

    def _load(self, asset: str) -> tuple[np.ndarray, np.ndarray, list[float], int]:
        symbol = f"{asset}/USDT"
        keys = [
            k
            for k in self.catalog.keys()  # noqa: SIM118
            if k.kind is DataKind.CANDLES and k.symbol == symbol and k.tf is not None
        ]
        keys.sort(key=lambda k: (k.exchange != self.exchange, k.tf.seconds if k.tf else 0))
        if not keys:
            raise UserError(
                f"no {symbol} candles in the catalog ({self.catalog.root}) to value {asset} in "
                f"USD; import or download them first (tradewind data ...)"
            )
        key = keys[0]
        frame = self.catalog.read(key)
        opens = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
        step = key.tf.seconds * 1000 if key.tf is not None else 0
        return opens, opens + step, frame["close"].tolist(), step

    def __call__(self, asset: str, ts: int) -> Decimal:
        series = self._series.get(asset)
        if series is None:
            series = self._series[asset] = self._load(asset)
        opens, closes, prices, _ = series
        index = int(np.searchsorted(opens, ts, side="right")) - 1
        if index < 0 or ts >= closes[index]:
            raise UserError(
                f"no {asset}/USDT candle covers {utc_ms(ts).isoformat()}; the stored candles run "
                f"from {utc_ms(int(opens[0])).isoformat()} to {utc_ms(int(closes[-1])).isoformat()}"
            )
        return to_decimal(prices[index])


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _write(report: TaxReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FORM_8949)
        for d in report.disposals:
            writer.writerow([
                f"{_text(d.quantity)} {d.asset}", utc_ms(d.acquired_ts).strftime("%m/%d/%Y"),
                utc_ms(d.disposed_ts).strftime("%m/%d/%Y"), _text(d.proceeds), _text(d.cost), "",
                "0", _text(d.gain), "long" if d.long_term else "short",
            ])  # fmt: skip


def _write_income(report: TaxReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["date", "symbol", "kind", "amount", "currency", f"value ({report.currency})"]
        )
        for i in report.income:
            writer.writerow([utc_ms(i.ts).isoformat(), i.symbol, i.kind, _text(i.amount),
                             i.currency, _text(i.value)])  # fmt: skip


def tax(
    year: Annotated[int, typer.Option("--year", help="Calendar year (UTC) to report.")],
    method: Annotated[str, typer.Option("--method", help="fifo, lifo or hifo.")] = "fifo",
    bot: BotOption = None,
    db_url: UrlOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV file (default: tax-YEAR-METHOD.csv).")
    ] = None,
    exchange: Annotated[
        str | None, typer.Option("--exchange", help="Catalog exchange of the USDT candles.")
    ] = None,
) -> None:
    """Write a bot's disposals of one year as IRS Form 8949 lines (CSV) and print a summary."""
    try:
        lot_method = LotMethod(method.lower())
    except ValueError:
        raise UserError(f"--method must be fifo, lifo or hifo, got {method!r}") from None
    if bot is None:
        raise UserError("tax lots belong to one account: name it with --bot NAME")
    engine = open_database(database_url(bot, db_url))
    try:
        with SqlTradingRepository(engine, bot_id(engine, bot)) as repository:
            fills: list[Fill] = [f for f, _ in repository.load_fills()]
            funding = [FundingPayment(*row) for row in repository.load_funding()]
    finally:
        engine.dispose()
    config = STATE.config()
    pricer = CatalogPricer(Catalog(Path(config.data.dir)), exchange or config.data.default_exchange)
    report = tax_lots(fills, pricer, method=lot_method, funding=funding).in_year(year)
    path = out or Path(f"tax-{year}-{lot_method.value}.csv")
    _write(report, path)
    income_path = path.with_name(path.stem + "-income.csv")
    _write_income(report, income_path)
    short = sum((d.gain for d in report.disposals if not d.long_term), Decimal(0))
    long = sum((d.gain for d in report.disposals if d.long_term), Decimal(0))
    income = sum((i.value for i in report.income), Decimal(0))
    summary = [
        ("disposals", Decimal(len(report.disposals))),
        ("proceeds", sum((d.proceeds for d in report.disposals), Decimal(0))),
        ("cost basis", sum((d.cost for d in report.disposals), Decimal(0))),
        ("short-term gain or loss", short),
        ("long-term gain or loss", long),
        ("income (perpetual PnL, funding)", income),
    ]
    summary_path = path.with_name(path.stem + "-summary.csv")
    with summary_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", f"amount ({report.currency})"])
        writer.writerows((label, _text(value)) for label, value in summary)
    table = Table(title=f"Tax {year} ({lot_method.value.upper()}, {report.currency})")
    table.add_column("")
    table.add_column("amount", justify="right")
    for label, value in summary:
        shown = str(int(value)) if label == "disposals" else f"{value.quantize(Decimal('0.01')):,f}"
        table.add_row(label, shown)
    STATE.console.print(table)
    STATE.console.print(
        f"Form 8949 lines written to {path}; income to {income_path}; summary to {summary_path}"
    )

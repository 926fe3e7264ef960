"""Instrument metadata of a stored market, saved as JSON beside its parquet file.

A :class:`MarketMeta` says how to trade and account for the series: the :class:`Instrument`
(tick and lot steps, fees and the currency they are charged in, contract size, spot or swap),
which unit the ``volume`` column counts (base or quote currency), and where all this came from.

Downloaded markets take everything from the exchange. Imported files carry no such facts, so an
import uses the documented defaults below, each of which the user can override on the command line
(``--price-step``, ``--amount-step``, ``--maker-fee``, ``--taker-fee``, ``--fee-side``,
``--volume-unit``, ``--market-type``); the names of the fields that were defaulted are recorded in
``defaulted`` so nobody mistakes a default for a fact.

Import defaults
---------------
- ``price_step``: the largest decimal tick every price in the file is a whole multiple of
  (:func:`tradewind.data.grid.infer_price_step`, the inference every path uses). The true tick
  divides it, so it may be coarser than the true tick, never finer: override it with
  ``--price-step`` when you know the tick.
- ``amount_step``: ``0.00000001`` (one satoshi; Binance's finest lot step).
- ``maker_fee`` / ``taker_fee``: ``0.001`` / ``0.001`` for spot (Binance spot's base rate) and
  ``0.0002`` / ``0.0005`` for swaps (Binance USDT-M's base rates).
- ``fee_side``: ``get`` for spot (Binance charges the currency received), ``quote`` for swaps.
- ``volume_unit``: ``base`` (Binance and Freqtrade candles count the base currency).
- ``market_type``: ``swap`` for Freqtrade ``-futures``, ``-mark`` and ``-funding_rate`` files and
  for symbols with a settle currency (``BASE/QUOTE:SETTLE``), otherwise ``spot``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from tradewind.core.brackets import MarginBracket, MarginBrackets
from tradewind.core.errors import DataError, UserError
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.data.grid import DEFAULT_PRICE_STEP


class VolumeUnit(StrEnum):
    """Which currency the ``volume`` column of a candle series counts."""

    BASE = "base"
    QUOTE = "quote"


SPOT_FEES = (Decimal("0.001"), Decimal("0.001"))
SWAP_FEES = (Decimal("0.0002"), Decimal("0.0005"))
DEFAULT_AMOUNT_STEP = Decimal("0.00000001")

_DECIMAL_FIELDS = {
    "contract_size",
    "price_step",
    "amount_step",
    "min_amount",
    "max_amount",
    "min_price",
    "max_price",
    "min_notional",
    "maker_fee",
    "taker_fee",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketMeta:
    """The instrument of a stored market plus what its volume counts and where it came from.

    Attributes
    ----------
    instrument
        Tick and lot steps, fees, fee currency, contract size and market type.
    volume_unit
        ``base`` or ``quote``: the currency the ``volume`` column counts.
    source
        A sentence: ``downloaded from binance`` or ``imported from /path/file.feather``.
    defaulted
        Names of the fields that came from the documented import defaults, not from the source.
    notes
        Anything else a reader should know (how a default was derived, a repair that was applied).
    """

    instrument: Instrument
    volume_unit: VolumeUnit = VolumeUnit.BASE
    source: str = ""
    defaulted: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def downloaded(
        cls, instrument: Instrument, *, exchange: str, volume_unit: VolumeUnit = VolumeUnit.BASE
    ) -> MarketMeta:
        """Metadata of a market whose instrument came from the exchange itself."""
        return cls(
            instrument=instrument, volume_unit=volume_unit, source=f"downloaded from {exchange}"
        )

    def with_note(self, note: str) -> MarketMeta:
        """Return a copy with one more note."""
        return replace(self, notes=(*self.notes, note))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: Decimals as strings (exact), enums as their values."""
        inst: dict[str, Any] = {}
        for f in fields(Instrument):
            value = getattr(self.instrument, f.name)
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, StrEnum):
                value = value.value
            elif isinstance(value, MarginBrackets):
                value = [
                    [None if b.cap is None else str(b.cap), str(b.rate), str(b.amount)]
                    for b in value.brackets
                ]
            inst[f.name] = value
        return {
            "instrument": inst,
            "volume_unit": self.volume_unit.value,
            "source": self.source,
            "defaulted": list(self.defaulted),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarketMeta:
        """Rebuild metadata written by :meth:`to_dict`.

        Raises
        ------
        DataError
            If a field is missing or of the wrong type.
        """
        try:
            raw = dict(data["instrument"])
            known = {f.name for f in fields(Instrument)}
            unknown = sorted(set(raw) - known)
            if unknown:
                raise DataError(f"unknown instrument fields in metadata: {', '.join(unknown)}")
            for name in _DECIMAL_FIELDS & set(raw):
                if raw[name] is not None:
                    raw[name] = Decimal(str(raw[name]))
            raw["market_type"] = MarketType(raw.get("market_type", "spot"))
            raw["fee_side"] = FeeSide(raw.get("fee_side", "quote"))
            if "margin_brackets" in raw:
                raw["margin_brackets"] = MarginBrackets(
                    tuple(
                        MarginBracket(
                            None if cap is None else Decimal(str(cap)),
                            Decimal(str(rate)),
                            Decimal(str(amount)),
                        )
                        for cap, rate, amount in raw["margin_brackets"]
                    )
                )
            return cls(
                instrument=Instrument(**raw),
                volume_unit=VolumeUnit(data.get("volume_unit", "base")),
                source=str(data.get("source", "")),
                defaulted=tuple(data.get("defaulted", ())),
                notes=tuple(data.get("notes", ())),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise DataError(f"market metadata is malformed: {exc}") from None

    def save(self, path: Path) -> None:
        """Write the metadata as pretty JSON (atomically: a reader never sees half a file)."""
        # A per-process name, so two writers never share (and clobber) one temporary file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> MarketMeta:
        """Read metadata written by :meth:`save`.

        Raises
        ------
        DataError
            If the file is unreadable or malformed, naming the file.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read market metadata {path}: {exc}") from None
        try:
            return cls.from_dict(data)
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaOverrides:
    """Instrument facts the user gives on import; ``None`` means "use the documented default"."""

    price_step: Decimal | None = None
    amount_step: Decimal | None = None
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    fee_side: FeeSide | None = None
    volume_unit: VolumeUnit | None = None
    market_type: MarketType | None = None


def split_symbol(symbol: str) -> tuple[str, str, str | None]:
    """Split a ccxt symbol ``BASE/QUOTE`` or ``BASE/QUOTE:SETTLE`` into its currencies.

    Raises
    ------
    UserError
        If the symbol is not in that form.
    """
    pair, _, settle = symbol.partition(":")
    base, slash, quote = pair.partition("/")
    if not slash or not base or not quote or "/" in quote or (":" in symbol and not settle):
        raise UserError(
            f"symbol {symbol!r} is not in ccxt form BASE/QUOTE or BASE/QUOTE:SETTLE "
            "(for example BTC/USDT or XRP/USDT:USDT)"
        )
    return base, quote, settle or None


def imported_meta(
    *,
    symbol: str,
    exchange: str,
    source: str,
    overrides: MetaOverrides,
    market_type: MarketType,
    inferred_price_step: Decimal | None,
) -> MarketMeta:
    """Build the metadata of an imported file from the user's overrides and the documented defaults.

    Parameters
    ----------
    symbol
        ccxt-style symbol (``BASE/QUOTE`` or ``BASE/QUOTE:SETTLE``).
    exchange
        Exchange name stored with the instrument.
    source
        Where the data came from (a file path).
    overrides
        Values the user gave; each ``None`` falls back to the module's documented default.
    market_type
        The market type guessed from the file (used when the user gives none).
    inferred_price_step
        The data's tick (see :func:`tradewind.data.grid.infer_price_step`).
    """
    base, quote, settle = split_symbol(symbol)
    kind = overrides.market_type or market_type
    defaulted: list[str] = []
    notes: list[str] = []

    def pick(name: str, given: Any, default: Any) -> Any:
        if given is not None:
            return given
        defaulted.append(name)
        return default

    if overrides.price_step is None:
        if inferred_price_step is None:
            inferred_price_step = DEFAULT_PRICE_STEP
            notes.append(
                f"price_step defaulted to {DEFAULT_PRICE_STEP}: the prices do not show a decimal grid"
            )
        else:
            notes.append(
                f"price_step {inferred_price_step} is the largest tick every price in the file is "
                "a multiple of (the true tick divides it)"
            )
    spot = kind is MarketType.SPOT
    maker_default, taker_default = SPOT_FEES if spot else SWAP_FEES
    instrument = Instrument(
        symbol=symbol,
        base=base,
        quote=quote,
        settle=settle if not spot else None,
        exchange=exchange,
        exchange_id=symbol,
        market_type=kind,
        price_step=pick("price_step", overrides.price_step, inferred_price_step),
        amount_step=pick("amount_step", overrides.amount_step, DEFAULT_AMOUNT_STEP),
        maker_fee=pick("maker_fee", overrides.maker_fee, maker_default),
        taker_fee=pick("taker_fee", overrides.taker_fee, taker_default),
        fee_side=pick("fee_side", overrides.fee_side, FeeSide.GET if spot else FeeSide.QUOTE),
    )
    if overrides.market_type is None:
        defaulted.append("market_type")
    volume_unit = pick("volume_unit", overrides.volume_unit, VolumeUnit.BASE)
    return MarketMeta(
        instrument=instrument,
        volume_unit=volume_unit,
        source=source,
        defaulted=tuple(defaulted),
        notes=tuple(notes),
    )

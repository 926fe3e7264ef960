"""Model files that cannot change unnoticed: a folder per model, its SHA-256, and its card.

A saved model is a folder: the model itself in its safe format (see :mod:`tradewind.ml.models`),
``pipeline.json`` (features, scaler, target), ``calibration.json`` (the calibrator's maps) and
``card.json`` (:class:`ModelCard`: what it was trained on, with which code, and how it scored out of
sample). :func:`folder_digest` hashes every file of the folder; the registry stores that digest,
and :func:`load_verified` recomputes it before anything in the folder is read, so a file edited,
replaced, added or removed after registration is refused with :class:`ModelIntegrityError`.

A *pin* (``PATH#SHA256``) names one model folder and the digest it must have. Strategies take
pins as parameters: a backtest's recorded parameters then say exactly which model bytes it ran.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tradewind.core.errors import DataError, UserError
from tradewind.series.bars import BarSeries

CARD_FILE = "card.json"
DIGEST_LENGTH = 64


class ModelIntegrityError(DataError):
    """A model folder's files differ from the digest it was registered with: never loaded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCard:
    """What a model is: type, target, features, settings, training data, code, scores.

    Times are UTC ms of bar opens; ``data_end_ts`` is the last bar any label of the training
    reads, so a prediction at a later bar is out of sample. ``metrics`` are scores on samples the
    model (and its calibrator) never saw.
    """

    model_type: str
    target: str
    horizon: int
    features: tuple[str, ...]
    parameters: dict[str, Any]
    symbol: str
    timeframe: str
    data_start_ts: int
    data_end_ts: int
    data_hash: str
    code_version: str
    metrics: dict[str, float] = field(default_factory=dict)
    monitored: tuple[str, ...] | None = None
    """The features its drift check watches, chosen at training by
    :func:`~tradewind.ml.drift.choose_monitored` (None: a card from before the choice existed)."""

    def to_json(self) -> str:
        """The card as JSON (keys sorted, so equal cards give equal bytes)."""
        data = asdict(self)
        data["features"] = list(self.features)
        if self.monitored is not None:
            data["monitored"] = list(self.monitored)
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = CARD_FILE) -> ModelCard:
        """Read a card written by :meth:`to_json` (DataError naming ``where`` otherwise)."""
        try:
            data = json.loads(text)
            data["features"] = tuple(data["features"])
            if data.get("monitored") is not None:
                data["monitored"] = tuple(data["monitored"])
            return cls(**data)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"{where}: not a model card ({exc})") from None


def bars_digest(bars: BarSeries) -> str:
    """SHA-256 of a bar series: symbol, timeframe, times and every price and volume column."""
    digest = hashlib.sha256(f"{bars.symbol}|{bars.timeframe}".encode())
    for column in (bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume):
        digest.update(np.ascontiguousarray(column).tobytes())
    return digest.hexdigest()


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of each file in ``folder`` by name (a sub-folder or link is refused)."""
    if not folder.is_dir():
        raise UserError(f"model folder {folder} does not exist")
    out: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_file():
            raise ModelIntegrityError(f"{path}: a model folder holds plain files only")
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def folder_digest(folder: Path) -> str:
    """One SHA-256 over every file's name and SHA-256 in ``folder`` (sorted by name)."""
    return manifest_digest(file_digests(folder))


def manifest_digest(files: dict[str, str]) -> str:
    """The folder digest of a manifest of file digests (see :func:`folder_digest`)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\n".encode())
    return digest.hexdigest()


def verify_folder(folder: Path, expected: str, manifest: dict[str, str] | None = None) -> None:
    """Refuse a folder whose digest is not ``expected``, naming the changed files if it can.

    Raises
    ------
    ModelIntegrityError
        When any file was changed, added or removed since the digest was taken.
    """
    files = file_digests(folder)
    actual = manifest_digest(files)
    if actual == expected.lower():
        return
    detail = ""
    if manifest is not None:
        changed = sorted(n for n in files.keys() & manifest.keys() if files[n] != manifest[n])
        added = sorted(files.keys() - manifest.keys())
        removed = sorted(manifest.keys() - files.keys())
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (("changed", changed), ("added", added), ("removed", removed))
            if names
        ]
        detail = f" ({'; '.join(parts)})" if parts else ""
    raise ModelIntegrityError(
        f"{folder}: the model files differ from the registered SHA-256{detail}; refusing to load "
        f"it (registered {expected[:16]}..., on disk {actual[:16]}...). Retrain and register it "
        "again, or restore the original files"
    )


def make_pin(folder: Path, digest: str) -> str:
    """``PATH#SHA256``: a model folder and the digest it must have."""
    return f"{folder}#{digest}"


def parse_pin(pin: str) -> tuple[Path, str]:
    """Split a pin into folder and digest (UserError naming what is wrong)."""
    path, sep, digest = pin.strip().rpartition("#")
    digest = digest.lower()
    if (
        not sep
        or not path
        or len(digest) != DIGEST_LENGTH
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise UserError(
            f"model pin {pin!r} is not PATH#SHA256 (a folder, '#', and its 64-hex-digit SHA-256; "
            "`tradewind ml pin NAME` prints it)"
        )
    return Path(path), digest

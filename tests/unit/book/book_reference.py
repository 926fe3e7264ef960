"""A plain dict order book: the obviously-correct reference the tests compare with."""

from __future__ import annotations

from tradewind.book.stream import DecodedBookStream


class DictBook:
    """The obviously-correct reference: two dicts from price to size."""

    def __init__(self) -> None:
        self.sides: tuple[dict[float, float], dict[float, float]] = ({}, {})

    def apply(self, stream: DecodedBookStream, i: int) -> None:
        """Apply message ``i`` (a snapshot clears both sides first)."""
        if stream.msg_snapshot[i]:
            self.sides = ({}, {})
        for k in range(int(stream.msg_start[i]), int(stream.msg_end[i])):
            side = self.sides[int(stream.level_side[k])]
            price, size = float(stream.level_price[k]), float(stream.level_size[k])
            if size == 0:
                side.pop(price, None)
            else:
                side[price] = size

    def as_dict(self) -> dict[str, dict[float, float]]:
        """Same shape as ``OrderBook.to_dict``."""
        return {"bids": dict(self.sides[0]), "asks": dict(self.sides[1])}

    def levels(self, side: int) -> list[tuple[float, float]]:
        """Levels best first."""
        return sorted(self.sides[side].items(), reverse=side == 0)

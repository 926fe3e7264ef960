"""Candlestick, chart and harmonic patterns.

Candlesticks (``cdl*``) follow TA-Lib's names, arguments and outputs (+-100, +-80, 0) and agree
with it bar for bar; ``cdltweezer*`` is ours, as TA-Lib has no tweezer. Chart and harmonic
patterns are found on causal swing points and reported at the bar they became known.
"""

from tradewind.indicators.patterns.candles_multi import (
    cdl3blackcrows,
    cdl3inside,
    cdl3outside,
    cdl3whitesoldiers,
    cdldarkcloudcover,
    cdlengulfing,
    cdleveningstar,
    cdlharami,
    cdlharamicross,
    cdlmorningstar,
    cdlpiercing,
    cdltweezer,
    cdltweezerbottom,
    cdltweezertop,
)
from tradewind.indicators.patterns.candles_single import (
    cdldoji,
    cdldragonflydoji,
    cdlgravestonedoji,
    cdlhammer,
    cdlhangingman,
    cdlinvertedhammer,
    cdlmarubozu,
    cdlshootingstar,
    cdlspinningtop,
)
from tradewind.indicators.patterns.chart import (
    ChartParams,
    chart_patterns,
    double_tops_bottoms,
    flags,
    harmonic_patterns,
    head_and_shoulders,
    triangles,
)
from tradewind.indicators.patterns.chart_types import (
    ChartPattern,
    Direction,
    Pivot,
    PivotKind,
    SwingParams,
)
from tradewind.indicators.patterns.continuations import FlagParams, TriangleParams
from tradewind.indicators.patterns.harmonic import (
    BAT,
    BUTTERFLY,
    CRAB,
    GARTLEY,
    HarmonicParams,
    HarmonicSpec,
)
from tradewind.indicators.patterns.reversals import DoubleParams, HeadShouldersParams
from tradewind.indicators.patterns.swings import alternating_swings, swing_points

#: Our candlestick functions that have a TA-Lib twin, by TA-Lib name (used by tests and benchmarks).
TALIB_TWINS = {
    "CDLDOJI": cdldoji,
    "CDLDRAGONFLYDOJI": cdldragonflydoji,
    "CDLGRAVESTONEDOJI": cdlgravestonedoji,
    "CDLHAMMER": cdlhammer,
    "CDLHANGINGMAN": cdlhangingman,
    "CDLINVERTEDHAMMER": cdlinvertedhammer,
    "CDLSHOOTINGSTAR": cdlshootingstar,
    "CDLMARUBOZU": cdlmarubozu,
    "CDLSPINNINGTOP": cdlspinningtop,
    "CDLENGULFING": cdlengulfing,
    "CDLHARAMI": cdlharami,
    "CDLHARAMICROSS": cdlharamicross,
    "CDLPIERCING": cdlpiercing,
    "CDLDARKCLOUDCOVER": cdldarkcloudcover,
    "CDLMORNINGSTAR": cdlmorningstar,
    "CDLEVENINGSTAR": cdleveningstar,
    "CDL3WHITESOLDIERS": cdl3whitesoldiers,
    "CDL3BLACKCROWS": cdl3blackcrows,
    "CDL3INSIDE": cdl3inside,
    "CDL3OUTSIDE": cdl3outside,
}

__all__ = [
    "BAT",
    "BUTTERFLY",
    "CRAB",
    "GARTLEY",
    "TALIB_TWINS",
    "ChartParams",
    "ChartPattern",
    "Direction",
    "DoubleParams",
    "FlagParams",
    "HarmonicParams",
    "HarmonicSpec",
    "HeadShouldersParams",
    "Pivot",
    "PivotKind",
    "SwingParams",
    "TriangleParams",
    "alternating_swings",
    "cdl3blackcrows",
    "cdl3inside",
    "cdl3outside",
    "cdl3whitesoldiers",
    "cdldarkcloudcover",
    "cdldoji",
    "cdldragonflydoji",
    "cdlengulfing",
    "cdleveningstar",
    "cdlgravestonedoji",
    "cdlhammer",
    "cdlhangingman",
    "cdlharami",
    "cdlharamicross",
    "cdlinvertedhammer",
    "cdlmarubozu",
    "cdlmorningstar",
    "cdlpiercing",
    "cdlshootingstar",
    "cdlspinningtop",
    "cdltweezer",
    "cdltweezerbottom",
    "cdltweezertop",
    "chart_patterns",
    "double_tops_bottoms",
    "flags",
    "harmonic_patterns",
    "head_and_shoulders",
    "swing_points",
    "triangles",
]

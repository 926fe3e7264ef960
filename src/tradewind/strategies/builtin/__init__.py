"""Built-in strategies; importing this package registers them."""

from tradewind.strategies.builtin.bb_rsi_meanrev import BbRsiMeanRev
from tradewind.strategies.builtin.donchian_breakout import DonchianBreakout
from tradewind.strategies.builtin.ma_cross import EmaCross, SmaCross
from tradewind.strategies.builtin.macd_adx_trend import MacdAdxTrend
from tradewind.strategies.builtin.ml_ensemble import MlEnsemble
from tradewind.strategies.builtin.ml_signal import MlSignal
from tradewind.strategies.builtin.regime_switch import RegimeSwitch
from tradewind.strategies.builtin.supertrend_follow import SupertrendFollow

__all__ = [
    "BbRsiMeanRev",
    "DonchianBreakout",
    "EmaCross",
    "MacdAdxTrend",
    "MlEnsemble",
    "MlSignal",
    "RegimeSwitch",
    "SmaCross",
    "SupertrendFollow",
]

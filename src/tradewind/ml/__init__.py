"""Machine learning that does not fool itself.

- :mod:`~tradewind.ml.features`: features declared once, causal, with a truncation test.
- :mod:`~tradewind.ml.labels` and :mod:`~tradewind.ml.targets`: triple-barrier and fixed-horizon
  labels, regression targets, regime and strategy-selection targets, uniqueness weights.
- :mod:`~tradewind.ml.models` and :mod:`~tradewind.ml.lstm`: random forest, LightGBM and an LSTM
  behind one interface, saved in formats that cannot run code (skops, LightGBM text, state dicts).
- :mod:`~tradewind.ml.validation`: purged and embargoed walk-forward and combinatorial CV, scores
  and naive baselines; :mod:`~tradewind.ml.study` runs them all out of sample.
- :mod:`~tradewind.ml.calibration`, :mod:`~tradewind.ml.gate`, :mod:`~tradewind.ml.importance`.

scikit-learn, LightGBM, skops and PyTorch come with the ``ml`` extra and are imported only by the
modules that need them.
"""

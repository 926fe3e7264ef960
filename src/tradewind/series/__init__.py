"""Market series as arrays: bars (:mod:`.bars`) and funding events (:mod:`.funding`).

The analytics ring's containers: every engine, the risk engine, the kernel and the venues read
them; they import only core.
"""

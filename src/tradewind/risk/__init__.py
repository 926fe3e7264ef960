"""Risk: the gate every intent passes, with its sizing rules."""

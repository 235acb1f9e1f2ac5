"""The synthetic cohort and its reproduction scorecard: generator, calibration, interval fitting,
published targets, audit of the paper, scorecard and reasons for misses.

May use every other layer; nothing outside it imports it (except the scorecard notebook and
``make calibrate``).
"""

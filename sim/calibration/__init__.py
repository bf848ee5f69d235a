"""Calibration to observations: observations and their model values, Gaussian-process emulators, history
matching in waves, and the `resilience calibrate` command that runs them through the runner."""

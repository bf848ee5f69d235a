"""Uncertainty about the assumptions: uncertain parameters (parameters.py), designed experiments over them
(design.py, study.py), global sensitivity indices (sensitivity.py), their charts (charts.py) and the
report section "What drives the answer" (report_section.py). See docs/uncertainty.md."""

"""Metric sources: one class per kind (:mod:`metrics.kinds`), and the puller."""

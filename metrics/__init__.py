"""Metric sources: plain classes in a registry keyed by kind."""

from metrics.registry import SOURCES, get_source, register

__all__ = ["SOURCES", "get_source", "register"]

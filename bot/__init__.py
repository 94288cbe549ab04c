"""Outcomes: agreed success criteria and their numbers, brought to every iteration review."""

__version__ = "0.1.0"

"""Pure renderers of a review: Block Kit dicts, Markdown, HTML, terminal text, PNG charts.

Each takes the review model from :mod:`bot.core.review` and returns data; none sends anything.
"""

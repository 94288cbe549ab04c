"""User text made safe for Markdown: shown as typed, never read as markup.

A backslash before ASCII punctuation makes Markdown show the character itself, so a name
cannot open emphasis, code, a link, an image, raw HTML or an entity in a rendered file.
"""

from __future__ import annotations

import re

# Characters that start Markdown markup anywhere in a line: emphasis, code, links and
# images, autolinks and raw HTML, strikethrough, backslash escapes; `&` only where it would
# start an entity.
_INLINE = re.compile(r"[\\`*_\[\]<>~]|&(?=#?[A-Za-z0-9]+;)")


def escape_inline(text: str) -> str:
    """``text`` with every character that would start inline markup backslash-escaped."""
    return _INLINE.sub(lambda match: "\\" + match[0], text)

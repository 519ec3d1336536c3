"""Escaping user strings that become MongoDB field names.

Why: annotation keys, metadata keys and item names are user text, but a
MongoDB field name may not contain NUL, treats ``.`` as a path separator and
a leading ``$`` as an operator. Escaping every such character (and the
escape character itself) as ``%XX`` keeps the stored names queryable and
gives back exactly what the user wrote. The empty name becomes a lone ``%``,
which no escaped name can otherwise be.
"""

from __future__ import annotations

import re

__all__ = ["escape_key", "unescape_key"]

_NEEDS_ESCAPE = re.compile(r"[%.$\x00]")
_ESCAPES = {"%": "%25", ".": "%2E", "$": "%24", "\x00": "%00"}
_ESCAPED = re.compile(r"%(25|2E|24|00)")
_UNESCAPES = {code[1:]: char for char, code in _ESCAPES.items()}
_EMPTY = "%"


def escape_key(key: str) -> str:
    """A field name MongoDB stores and queries literally."""
    if not key:
        return _EMPTY
    if _NEEDS_ESCAPE.search(key) is None:
        return key
    return _NEEDS_ESCAPE.sub(lambda match: _ESCAPES[match.group(0)], key)


def unescape_key(name: str) -> str:
    """Inverse of :func:`escape_key`."""
    if name == _EMPTY:
        return ""
    if "%" not in name:
        return name
    return _ESCAPED.sub(lambda match: _UNESCAPES[match.group(1)], name)

"""Mask VRRP passwords in any text keepalived can produce.

keepalived writes the VRRP password in clear in its config (`auth_pass X`), in the JSON dump
(`"auth_data":"X"`), in the text dump (`Password = X`) and, on 1.x with -d, in its syslog
lines. Every parser in this package calls redact() on text before keeping it.
"""

from __future__ import annotations

import re

MASK = "********"

_SECRET = re.compile(
    r"""
    (?P<k1>auth_pass\b[ \t]*[=:]?[ \t]*)       # config: auth_pass X (no \b before: seed 003 glues lines)
        (?P<v1>"(?:[^"\\\r\n]|\\.)*"?|'[^'\r\n]*'?|[^\s{}"']+)
  | (?P<k2>["']auth_data["'][ \t]*:[ \t]*)                       # JSON dump / repr
        (?P<v2>"(?:[^"\\\r\n]|\\.)*"?|'[^'\r\n]*'?|[^\s,}\]]+)
  | (?P<k3>\b(?:password|passwd|auth[ _]?data|auth[ _]?pass(?:word)?)[ \t]*[=:][ \t]*)
        (?P<v3>[^\r\n]*)                                          # text dump: Password = X
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _mask(m: re.Match) -> str:
    for k, v in (("k1", "v1"), ("k2", "v2"), ("k3", "v3")):
        key = m.group(k)
        if key is not None:
            val = m.group(v)
            if not val:
                return key
            q = val[0] if val[0] in "\"'" else ""
            return f"{key}{q}{MASK}{q}"
    return m.group(0)  # pragma: no cover - one branch always matched


def redact(text: str) -> str:
    """The text with every VRRP password replaced by ******** (the key is kept)."""
    # cheap pre-check: almost every log line has none of these
    if "ass" not in text and "uth" not in text and "ASS" not in text and "UTH" not in text:
        return text
    return _SECRET.sub(_mask, text)

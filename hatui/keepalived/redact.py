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
    (?P<k1>auth_pass(?!word)(?![ \t]+to[ \t]+\d+[ \t]+char)[ \t]*[=:]?[ \t]*)
        # config: auth_pass X; no \b before or after: seed 003 glues statements together
        # (`PASSauth_pass 1111`, `auth_pass1111}`); keepalived's own "Truncating auth_pass to 8
        # characters" names no password
        (?P<v1>"(?:[^"\\\r\n]|\\.)*"?|'[^'\r\n]*'?|\$\{[^}\s]*\}|[^\s{}"']+)
  | (?P<k2>["']auth_data["'][ \t]*:[ \t]*)                       # JSON dump / repr
        (?P<v2>"(?:[^"\\\r\n]|\\.)*"?|'[^'\r\n]*'?|[^\s,}\]]+)
  | (?P<k3>\b(?:password|passwd|auth[ _]?data|auth[ _]?pass(?:word)?)[ \t]*[=:][ \t]*)
        (?P<v3>[^\r\n]*)                                          # text dump: Password = X
  | (?P<k4>^[ \t]*\$\{?\w*(?:pass|pw|pwd|secret|auth|key|token)\w*\}?[ \t]*=)
        (?P<v4>[^\r\n]*)                       # a config parameter that names a secret: $VRRP_PW=X
    """,
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)

# `auth_pass $NAME` / `auth_pass ${NAME}`: that parameter's definition holds the password,
# whatever its name
_AUTH_PARAM = re.compile(r"auth_pass[ \t]+\$\{?(\w+)\}?")
_DEFINITION = r"^([ \t]*\$\{{?{name}\}}?[ \t]*=)[^\r\n]*"


def _mask(m: re.Match[str]) -> str:
    for k, v in (("k1", "v1"), ("k2", "v2"), ("k3", "v3"), ("k4", "v4")):
        key: str | None = m.group(k)
        if key is not None:
            val: str | None = m.group(v)
            if not val:
                return key
            q = val[0] if val[0] in "\"'" else ""
            return f"{key}{q}{MASK}{q}"
    return str(m.group(0))  # pragma: no cover - one branch always matched


def redact(text: str) -> str:
    """The text with every VRRP password replaced by ******** (the key is kept)."""
    # cheap pre-check: almost every log line has none of these
    if "ass" not in text and "uth" not in text and "ASS" not in text and "UTH" not in text and "$" not in text:
        return text
    return _SECRET.sub(_mask, text)


def redact_config(text: str) -> str:
    """A keepalived config with its passwords masked: what redact() masks, and the definition
    of every parameter an `auth_pass $NAME` uses (`$PW=secret` with any name)."""
    for name in set(_AUTH_PARAM.findall(text)):
        text = re.sub(_DEFINITION.format(name=re.escape(name)), lambda m: m.group(1) + MASK, text, flags=re.MULTILINE)
    return redact(text)

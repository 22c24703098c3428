"""Turn an account's password source into the password, only when a connection needs it.

Messages name the account (e.g. nodes.db1.mysql.admin) and the variable or file, never the
secret; exceptions are raised `from None` so no chained error carries file contents either.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

from hatui.cluster.model import Account
from hatui.errors import InputError

__all__ = ["InsecureSecretFileWarning", "SecretError", "parse_option_file", "resolve_password"]


class SecretError(InputError):
    """A password could not be obtained. The message names where it was looked for."""


class InsecureSecretFileWarning(UserWarning):
    """A password file or option file is readable by group or others."""


def resolve_password(account: Account, *, env: Mapping[str, str] = os.environ) -> str:
    label = account.label
    source = account.source
    if source == "password":
        assert account.password is not None
        return account.password.get_secret_value()
    if source == "password_env":
        name = account.password_env
        value = env.get(name) if name else None
        if value is None:
            raise SecretError(f"{label}: environment variable {name} (password_env) is not set")
        if value == "":
            raise SecretError(f"{label}: environment variable {name} (password_env) is empty")
        return value
    if source == "password_file":
        assert account.password_file is not None
        text = _read_secret_file(account.password_file, label, "password_file")
        first = text.split("\n", 1)[0].removesuffix("\r")
        if not first:
            raise SecretError(f"{label}: password_file {account.password_file} has an empty first line")
        return first
    assert account.option_file is not None
    path, group = account.option_file, account.option_group
    groups = parse_option_file(_read_secret_file(path, label, "option_file"))
    if group.lower() not in groups:
        raise SecretError(f"{label}: option_file {path} has no [{group}] group")
    password = groups[group.lower()].get("password")
    if password is None:
        raise SecretError(f"{label}: option_file {path} has no password= in [{group}]")
    return password


def _read_secret_file(path: Path, label: str, key: str) -> str:
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SecretError(f"{label}: cannot read {key} {path}: no such file") from None
    except PermissionError:
        raise SecretError(f"{label}: cannot read {key} {path}: permission denied") from None
    except OSError as e:
        raise SecretError(f"{label}: cannot read {key} {path}: {e.strerror or type(e).__name__}") from None
    if mode & 0o044:
        msg = f"{label}: {key} {path} is readable by group or others (mode {mode & 0o777:04o}); chmod 600 it"
        warnings.warn(InsecureSecretFileWarning(msg), stacklevel=3)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SecretError(f"{label}: {key} {path} is not UTF-8 text") from None


# MySQL option-file escapes (mysys/my_default.cc); an unknown escape keeps its backslash
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "r": "\r", "\\": "\\", "s": " "}


def _option_value(raw: str) -> str:
    v = raw.strip()
    quote = v[0] if v[:1] in ("'", '"') else None
    out: list[str] = []
    i = 1 if quote else 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            nxt = v[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if c == quote or (quote is None and c == "#"):  # quotes protect '#'; unquoted it starts a comment
            break
        out.append(c)
        i += 1
    value = "".join(out)
    return value if quote else value.rstrip()


def parse_option_file(text: str) -> dict[str, dict[str, str]]:
    """Parse a MySQL option file (my.cnf style): {group: {option: value}}, group names and
    option names lower-cased, '-' in option names read as '_'. `!include` lines are ignored."""
    groups: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;!":
            continue
        if line.startswith("["):
            end = line.find("]")
            current = groups.setdefault(line[1:end].strip().lower(), {}) if end > 0 else None
            continue
        if current is None:
            continue
        name, eq, value = line.partition("=")
        current[name.strip().lower().replace("-", "_")] = _option_value(value) if eq else ""
    return groups

"""keepalived's parameter substitution (2.0+), applied to config lines before they are read.

What keepalived 2.2's lib/parser.c does, as far as a linter needs it:
- `$NAME=value` (NAME `[A-Za-z_][A-Za-z0-9_]*`, no space before `=`) defines a parameter; a
  value ending in `\\` continues on the next lines (each `\\` becomes a line break) up to the first
  line without one, or an empty line. Definitions are sequential and global (included files see
  them); a use before the definition stays as written.
- `${NAME}` is replaced anywhere, `$NAME` only when followed by a space, tab, `,`, `)` or the end
  of the line; recursively (a value may use other parameters); an unknown name stays as written.
  A multi-line value used at the end of a line becomes several lines.
- `~SEQ(var, [start,] [step,] end)` and `~LST(var, v1, v2, ...)` at the start of a line repeat
  the rest of it once per value, with `$var` defined (several nest, the rightmost fastest).
- Comments (`#`, `!` outside double quotes, anywhere in a line since 2.0.9) are removed before
  definitions are read and before substitution; a `#`/`!` a substitution produces (`${_HASH}`,
  `${_BANG}`) starts a comment.
Built-ins: `_PWD` (the file's folder), `_INSTANCE` (the config id), `_HASH`, `_BANG`, `_RANDOM`
(its lower bound here: the lint needs a number, not chance)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_DEF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)((?:[ \t][^}]*)?)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[ \t,)]|$)")
_LOOP = re.compile(r"~(SEQx?|LST)\(")
MAX_LINE = 1024  # keepalived's MAXBUF: a self-referencing parameter stops growing there
MAX_LINES = 4096  # lines one source line may expand to (~SEQ of ~SEQ...)


def split_comment(line: str) -> tuple[str, str | None]:
    """(the code, the comment from its `#`/`!` on, or None): outside double quotes, `\\#` and
    `\\!` are the characters themselves."""
    quote = False
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == '"':
            quote = not quote
        elif not quote:
            if c == "\\" and i + 1 < n and line[i + 1] in "#!":
                i += 2
                continue
            if c in "#!":
                return line[:i], line[i:]
        i += 1
    return line, None


@dataclass
class Params:
    """The parameters defined so far (global across included files, in reading order)."""

    config_id: str | None = None
    defs: dict[str, str] = field(default_factory=dict)
    undefined: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, name)
    _pending: tuple[str, list[str]] | None = None  # a multi-line definition being read

    def builtin(self, name: str, args: str, path: str) -> str | None:
        if name == "_PWD":
            return posixpath.dirname(path) or "."
        if name == "_INSTANCE":
            return self.config_id or ""
        if name == "_HASH":
            return "#"
        if name == "_BANG":
            return "!"
        if name == "_RANDOM":
            first = args.split()[:1]
            return first[0] if first and first[0].lstrip("-").isdigit() else "0"
        return None

    def plain(self, raw: str) -> bool:
        """The line is read as it is: no definition under way, nothing to substitute or repeat."""
        return self._pending is None and "$" not in raw and "~" not in raw

    def lines(self, raw: str, path: str, no: int, depth: int = 0) -> Iterator[str]:
        """What keepalived reads for one source line: nothing (a definition, or a line of one),
        the line itself, or the lines it expands to. Lines without `$` or `~` come back as they
        are (comments and all, for the lexer's own checks)."""
        if self._pending is not None:
            name, parts = self._pending
            if not raw:  # an empty line ends a multi-line definition
                self.defs[name] = "\n".join(parts)
                self._pending = None
                return
            code, _ = split_comment(raw)
            body = code.strip()
            if not body:
                return  # blank or comment-only lines inside a definition are skipped
            if body.endswith("\\"):
                parts.append(body[:-1].rstrip())
                return
            parts.append(body)
            self.defs[name] = "\n".join(parts)
            self._pending = None
            return
        if "$" not in raw and "~" not in raw:
            yield raw
            return
        code, comment = split_comment(raw)
        body = code.strip()
        m = _DEF.fullmatch(body)
        if m:
            name, value = m[1], m[2].lstrip(" \t")
            if value.endswith("\\"):
                self._pending = (name, [value[:-1].rstrip()])
            else:
                self.defs[name] = value
            return
        loop = _LOOP.match(body)
        if loop and depth < 8:
            yield from self._loop(body, path, no, depth)
            return
        out = self.substitute(code, path, no)
        first, *rest = out.split("\n")
        yield first + (comment or "")
        for more in rest:
            yield from self.lines(more, path, no, depth + 1)

    def substitute(self, code: str, path: str, no: int) -> str:
        done = 0
        pos = 0
        while done < 64 and len(code) <= MAX_LINE:
            m = _REF.search(code, pos)
            if m is None:
                break
            name = m[1] or m[3]
            value = self.defs.get(name)
            if value is None:
                value = self.builtin(name, (m[2] or "").strip(), path)
            if value is None:
                # inside a quoted script a `$NAME` is most likely the shell's: not worth a warning
                if code.count('"', 0, m.start()) % 2 == 0 and (path, no, name) not in self.undefined:
                    self.undefined.append((path, no, name))
                pos = m.end()
                continue
            if "\n" in value and code[m.end() :].strip():
                value = value.split("\n", 1)[0]  # a multi-line value expands only at the end of a line
            code = code[: m.start()] + value + code[m.end() :]
            pos = m.start()  # the value itself may use parameters
            done += 1
        return split_comment(code)[0] if ("#" in code or "!" in code) else code

    def _loop(self, body: str, path: str, no: int, depth: int) -> Iterator[str]:
        loops: list[tuple[str, list[str]]] = []
        rest = body
        while (m := _LOOP.match(rest)) is not None:
            close = rest.find(")", m.end())
            if close < 0:
                yield rest  # keepalived reports it; the lint sees an odd keyword
                return
            args = [a.strip() for a in self.substitute(rest[m.end() : close], path, no).split(",")]
            values = _loop_values(m[1], args)
            if not args or values is None:
                yield rest
                return
            loops.append((args[0], values))
            rest = rest[close + 1 :].lstrip()
        count = 0
        for combo in _product([v for _, v in loops]):
            for (var, _), val in zip(loops, combo, strict=True):
                self.defs[var] = val
            for line in self.lines(rest, path, no, depth + 1):
                count += 1
                if count > MAX_LINES:
                    return
                yield line


def _loop_values(kind: str, args: list[str]) -> list[str] | None:
    if kind == "LST":
        return args[1:] if len(args) > 1 else None
    try:
        nums = [int(a, 0) for a in args[1:]]
    except ValueError:
        return None
    if len(nums) == 1:
        end = nums[0]
        start, step = (-1 if end < 0 else 1), (-1 if end < 1 else 1)
    elif len(nums) == 2:
        start, end = nums
        step = 1 if end >= start else -1
    elif len(nums) == 3:
        start, step, end = nums
    else:
        return None
    if step == 0 or (end - start) * step < 0:
        return None
    out: list[str] = []
    v = start
    while (v <= end if step > 0 else v >= end) and len(out) < MAX_LINES:
        out.append(f"{v:x}" if kind == "SEQx" else str(v))
        v += step
    return out


def _product(lists: list[list[str]]) -> Iterator[tuple[str, ...]]:
    if not lists:
        yield ()
        return
    for head in lists[0]:
        for tail in _product(lists[1:]):
            yield (head, *tail)

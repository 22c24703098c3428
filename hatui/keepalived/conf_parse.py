"""keepalived.conf text -> a tree of statements, each with its file and line.

The grammar is keepalived 2.x's: `!`/`#` start a comment at the start of a word,
`{`/`}` are tokens of their own even inside a word, double-quoted strings are one word, `include`
splices in the files its glob matches (relative to the including file), and a line starting with
`@ID` (or `@^ID`) is kept only when keepalived's config id is (or is not) ID.

keepalived itself ends a statement only at a newline or a brace, so `state MASTER interface eth0`
on one line is one statement with three arguments, and everything after `state` is lost. Configs
copied from web pages (seed 003) arrive that way, often with the words glued together as well
(`state MASTERinterface eth0virtual_router_id 51`). We read such lines the way their author
meant, so the rest of the lint can work, and report each one (`flattened-line`): keepalived would
not read it so.
"""

from __future__ import annotations

import fnmatch
import glob as globmod
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, overload

from hatui.keepalived import conf_keywords as kw
from hatui.keepalived.conf_params import Params
from hatui.keepalived.redact import redact

MAX_INCLUDE_DEPTH = 8  # keepalived's own limit is similar; a loop must not hang us


@dataclass(frozen=True)
class Problem:
    """Something wrong with the text itself, found while reading it."""

    code: str
    severity: str  # "error" | "warning" | "info"
    file: str
    line: int
    message: str


@dataclass(frozen=True)
class Stmt:
    keyword: str
    args: tuple[str, ...]
    file: str
    line: int
    children: tuple[Stmt, ...] | None = None  # None: not a block

    @overload
    def arg(self, i: int = 0) -> str | None: ...
    @overload
    def arg(self, i: int, default: str) -> str: ...
    def arg(self, i: int = 0, default: str | None = None) -> str | None:
        return self.args[i] if len(self.args) > i else default

    def find(self, keyword: str) -> list[Stmt]:
        return [c for c in self.children or () if c.keyword == keyword]

    def first(self, keyword: str) -> Stmt | None:
        for c in self.children or ():
            if c.keyword == keyword:
                return c
        return None


@dataclass
class Parsed:
    top: list[Stmt]
    files: list[str]  # every file read, main first
    problems: list[Problem] = field(default_factory=list)


class Source(Protocol):
    """Where config files come from: the local disk or texts fetched from a node."""

    def read(self, path: str) -> str: ...

    def glob(self, pattern: str) -> list[str]: ...


class LocalSource:
    """Files on this machine; with root, absolute paths are taken under root (a copied /etc)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else None

    def _real(self, path: str) -> str:
        if self.root is not None and path.startswith("/"):
            return str(self.root) + path
        return path

    def read(self, path: str) -> str:
        return Path(self._real(path)).read_text(encoding="utf-8", errors="replace")

    def glob(self, pattern: str) -> list[str]:
        real = self._real(pattern)
        hits = sorted(h for h in globmod.glob(real) if Path(h).is_file())
        if self.root is not None and pattern.startswith("/"):
            cut = len(str(self.root))
            hits = [h[cut:] for h in hits]
        return hits


class TextSource:
    """Files already fetched (from a node over SSH): path -> text. glob matches like glob(3):
    `*` does not cross a `/`."""

    def __init__(self, files: dict[str, str]):
        self.files = files

    def read(self, path: str) -> str:
        try:
            return self.files[path]
        except KeyError:
            raise FileNotFoundError(path) from None

    def glob(self, pattern: str) -> list[str]:
        return sorted(p for p in self.files if glob_match(pattern, p))


def glob_match(pattern: str, path: str) -> bool:
    pp, sp = pattern.split("/"), path.split("/")
    return len(pp) == len(sp) and all(fnmatch.fnmatchcase(s, p) for p, s in zip(pp, sp))


# ---------------------------------------------------------------------------- lexing


@dataclass(frozen=True)
class Tok:
    kind: str  # "word" | "{" | "}" | "eol"
    text: str
    file: str
    line: int
    quoted: bool = False
    flat: bool = False  # from a line whose statements were run together


_GLUE_RE = re.compile("|".join(re.escape(k) for k in sorted(kw.GLUE, key=len, reverse=True)))


def split_glued(word: str) -> list[str]:
    """`MASTERinterface` -> [`MASTER`, `interface`]; `100nopreemptadvert_int` -> [`100`,
    `nopreempt`, `advert_int`]. A word that is a keyword stays whole."""
    parts: list[str] = []
    rest = word
    while rest:
        lead = _GLUE_RE.match(rest)
        start = lead.end() if lead else 1
        m = _GLUE_RE.search(rest, start)
        if m is None:
            parts.append(rest)
            break
        parts.append(rest[: m.start()])
        rest = rest[m.start() :]
    return parts


def _glued_keyword(comment: str, end: int) -> int | None:
    """Where a keyword glued to the text before it starts in a comment (`#备interface eth0`:
    the line break after the comment was lost), or None. `#   unicast_peer{` is a plain
    commented-out line: its keyword follows a space."""
    for m in _GLUE_RE.finditer(comment, 0, end):
        before = comment[m.start() - 1] if m.start() else " "
        after = comment[m.end()] if m.end() < len(comment) else " "
        # glued: right after a letter, digit or CJK character, and a whole word itself.
        # `# see no-script-security` or `# equal-priority@2` are prose, not lost line breaks.
        if before.isalnum() and (after.isspace() or after in '{}"' or _GLUE_RE.match(comment, m.end())):
            return m.start()
    return None


# a word ends at a space, a brace, a quote or a comment start; `\#` and `\!` do not end it
_WORD = re.compile(r'(?:\\[#!]|[^\s{}"#!])+')
_ESCAPED = re.compile(r"\\([#!])")


def _scan(text: str, *, flat: bool) -> tuple[list[tuple[str, str, bool]], bool, bool]:
    """One line -> [(kind, text, quoted)], whether a comment has a keyword glued into it, whether
    a word followed a brace. flat: end comments at a brace or a glued keyword, split glued words."""
    out: list[tuple[str, str, bool]] = []
    comment_glued = word_after_brace = False
    seen_brace = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "{}":
            out.append((c, c, False))
            seen_brace = True
            i += 1
            continue
        if c in "#!":
            rest = text[i + 1 :]
            if not flat:
                comment_glued = comment_glued or _glued_keyword(rest, len(rest)) is not None
                break
            end = next((j for j, ch in enumerate(rest) if ch in "{}"), len(rest))
            glued = _glued_keyword(rest, end)
            i += 1 + (end if glued is None else glued)
            continue
        word_after_brace = word_after_brace or seen_brace
        if c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                out.append(("word", text[i + 1 :], True))
                out.append(("unterminated", "", False))
                break
            out.append(("word", text[i + 1 : j], True))
            i = j + 1
            continue
        # keepalived >= 2.0.9: `#`/`!` start a comment anywhere outside quotes, even inside a word
        # (`auth_pass abc#1` is `abc`); `\#` and `\!` are the characters themselves
        m = _WORD.match(text, i)
        j = m.end() if m else i + 1
        word = text[i:j]
        if "\\" in word:
            word = _ESCAPED.sub(r"\1", word)
        if flat:
            out.extend(("word", p, False) for p in split_glued(word) if p)
        else:
            out.append(("word", word, False))
        i = j
    return out, comment_glued, word_after_brace


def _condition(text: str, config_id: str | None) -> tuple[str, bool]:
    """Strip an `@ID` / `@^ID` prefix; returns (rest, keep)."""
    s = text.lstrip()
    if not s.startswith("@"):
        return text, True
    head, _, rest = s.partition(" ")
    neg = head.startswith("@^")
    ident = head[2:] if neg else head[1:]
    match = config_id is not None and ident == config_id
    return rest, (not match) if neg else match


def lex_file(
    path: str,
    source: Source,
    config_id: str | None,
    problems: list[Problem],
    files: list[str],
    depth: int = 0,
    raw_lines: dict[tuple[str, int], str] | None = None,
    params: Params | None = None,
) -> Iterator[Tok]:
    try:
        text = source.read(path)
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        problems.append(
            Problem(
                "include-unreadable" if files else "config-unreadable", "error", path, 0, f"cannot read {path}: {why}"
            )
        )
        return
    files.append(path)
    params = params if params is not None else Params(config_id)
    for no, raw in enumerate(text.splitlines(), 1):
        cond, keep = _condition(raw, config_id)
        if not keep:
            continue
        if params.plain(cond):  # most lines: no parameter in sight
            yield from _lex_line(path, no, raw, cond, source, config_id, problems, files, depth, raw_lines, params)
            continue
        for line in params.lines(cond, path, no):
            yield from _lex_line(path, no, raw, line, source, config_id, problems, files, depth, raw_lines, params)


def _lex_line(
    path: str,
    no: int,
    raw: str,
    line: str,
    source: Source,
    config_id: str | None,
    problems: list[Problem],
    files: list[str],
    depth: int,
    raw_lines: dict[tuple[str, int], str] | None,
    params: Params,
) -> Iterator[Tok]:
    """One line as keepalived reads it (parameters substituted) -> tokens."""
    toks, comment_glued, word_after_brace = _scan(line, flat=False)
    flat = comment_glued or word_after_brace
    if flat:
        toks, _, _ = _scan(line, flat=True)
        if raw_lines is not None:
            raw_lines[(path, no)] = raw.strip()
    words = [t for t in toks if t[0] == "word"]
    if not flat and words and words[0][1] == "include" and not words[0][2]:
        yield from _include(
            path, no, [w[1] for w in words[1:]], source, config_id, problems, files, depth, raw_lines, params
        )
        return
    for kind, t, quoted in toks:
        if kind == "unterminated":
            problems.append(
                Problem("unterminated-quote", "error", path, no, "a double quote is never closed on this line")
            )
            continue
        yield Tok(kind, t, path, no, quoted, flat)
    yield Tok("eol", "", path, no)


def _include(
    path: str,
    no: int,
    args: list[str],
    source: Source,
    config_id: str | None,
    problems: list[Problem],
    files: list[str],
    depth: int,
    raw_lines: dict[tuple[str, int], str] | None,
    params: Params,
) -> Iterator[Tok]:
    if not args:
        problems.append(Problem("include-no-match", "error", path, no, "`include` names no file"))
        return
    if depth >= MAX_INCLUDE_DEPTH:
        if not any(p.code == "include-loop" and (p.file, p.line) == (path, no) for p in problems):
            problems.append(
                Problem(
                    "include-loop",
                    "error",
                    path,
                    no,
                    f"includes nested deeper than {MAX_INCLUDE_DEPTH}: a file includes itself?",
                )
            )
        return
    for pattern in args:
        full = (
            pattern if pattern.startswith("/") else posixpath.normpath(posixpath.join(posixpath.dirname(path), pattern))
        )
        hits = source.glob(full)
        if not hits:
            problems.append(
                Problem(
                    "include-no-match",
                    "warning",
                    path,
                    no,
                    f"`include {pattern}` matches no file, so nothing is included",
                )
            )
        for hit in hits:
            if len(files) >= MAX_FILES:
                # files including each other by glob multiply at every level: cap what is read
                if not any(p.code == "include-limit" for p in problems):
                    problems.append(
                        Problem(
                            "include-limit",
                            "error",
                            path,
                            no,
                            f"includes reach more than {MAX_FILES} files; the rest are not read",
                        )
                    )
                return
            yield from lex_file(hit, source, config_id, problems, files, depth + 1, raw_lines, params)


def include_patterns(path: str, text: str, config_id: str | None) -> list[str]:
    """The absolute glob patterns a file's `include` lines name (to fetch them from a node)."""
    out = []
    for raw in text.splitlines():
        line, keep = _condition(raw, config_id)
        if not keep:
            continue
        words = [t for t in _scan(line, flat=False)[0] if t[0] == "word"]
        if words and words[0][1] == "include" and not words[0][2]:
            for pattern in (w[1] for w in words[1:]):
                out.append(
                    pattern
                    if pattern.startswith("/")
                    else posixpath.normpath(posixpath.join(posixpath.dirname(path), pattern))
                )
    return out


# ---------------------------------------------------------------------------- parsing

MAX_FILES = 256  # files read for one config, includes counted each time they are read
MAX_DEPTH = 32  # keepalived's deepest real blocks are 3-4 levels (virtual_server/real_server/TCP_CHECK)


@dataclass
class _Block:
    keyword: str  # "" for the top level
    parent: str
    file: str
    line: int
    args: tuple[str, ...]
    children: list[Stmt | _Block] = field(default_factory=list)

    def freeze(self) -> Stmt:
        return Stmt(
            self.keyword,
            self.args,
            self.file,
            self.line,
            tuple(c.freeze() if isinstance(c, _Block) else c for c in self.children),
        )


def parse(path: str, source: Source | None = None, *, config_id: str | None = None) -> Parsed:
    """Read `path` (and what it includes) into a statement tree. Never raises on bad text:
    every problem is in the result, with its file and line."""
    source = source or LocalSource()
    problems: list[Problem] = []
    files: list[str] = []
    top = _Block("", "", path, 0, ())
    stack = [top]
    segment: list[Tok] = []
    flagged: set[tuple[str, int]] = set()
    raw_lines: dict[tuple[str, int], str] = {}
    too_deep: set[tuple[str, int]] = set()

    def flush() -> list[Stmt | _Block]:
        nonlocal segment
        words, segment = segment, []
        if not words:
            return []
        block = stack[-1]
        allowed = kw.block_keywords(block.parent, block.keyword) if block.keyword else kw.TOP
        groups = [words]
        # keepalived's reading (one statement per segment) unless the words are plainly several
        # statements: the segment starts with a keyword and holds others, or came from a
        # flattened line. `** state MASTER**` (markdown debris) stays one unknown statement.
        if (
            allowed is not None
            and not kw.is_list_block(block.parent, block.keyword)
            and (words[0].flat or words[0].text in allowed)
        ):
            groups = []
            for t in words:
                if not groups or (t.text in allowed and not t.quoted):
                    groups.append([t])
                else:
                    groups[-1].append(t)
        # one statement from a flattened line is fine (`virtual_ipaddress {1.2.3.4}`); more
        # than one in a segment is what keepalived misreads
        if len(groups) > 1 and (words[0].file, words[0].line) not in flagged:
            flagged.add((words[0].file, words[0].line))
            raw = redact(raw_lines.get((words[0].file, words[0].line)) or " ".join(t.text for t in words))
            shown = raw if len(raw) <= 60 else raw[:57] + "..."
            if raw.startswith(("#", "!")):
                text = (
                    f"a comment runs into statements on one line (`{shown}`): keepalived "
                    "reads the whole line as a comment, so the statements in it are lost"
                )
            else:
                text = (
                    f"several statements run together on one line (`{shown}`): keepalived "
                    "ends a statement only at a newline or a brace, so it reads them as one "
                    "statement and loses the rest"
                )
            problems.append(Problem("flattened-line", "error", words[0].file, words[0].line, text))
        made: list[Stmt | _Block] = []
        for g in groups:
            stmt = Stmt(g[0].text, tuple(t.text for t in g[1:]), g[0].file, g[0].line)
            block.children.append(stmt)
            made.append(stmt)
        return made

    params = Params(config_id)
    for tok in lex_file(path, source, config_id, problems, files, raw_lines=raw_lines, params=params):
        if tok.kind == "word":
            segment.append(tok)
        elif tok.kind == "eol":
            flush()
        elif tok.kind == "{":
            made = flush()
            block = stack[-1]
            if len(stack) > MAX_DEPTH:
                # no keepalived config nests more than a few levels: stop building the tree (its
                # walks recurse) but keep counting braces so the rest still parses
                if not too_deep:
                    problems.append(
                        Problem(
                            "nesting-too-deep",
                            "error",
                            tok.file,
                            tok.line,
                            f"blocks nest more than {MAX_DEPTH} deep here; the rest of this block is not read",
                        )
                    )
                too_deep.add((tok.file, tok.line))
                stack.append(_Block("?", block.keyword, tok.file, tok.line, ()))
                continue
            target = made[-1] if made else (block.children[-1] if block.children else None)
            if not isinstance(target, Stmt):
                problems.append(
                    Problem(
                        "unexpected-brace",
                        "error",
                        tok.file,
                        tok.line,
                        "`{` with no keyword before it: keepalived ignores it",
                    )
                )
                stack.append(_Block("?", block.keyword, tok.file, tok.line, ()))
                continue
            child = _Block(target.keyword, block.keyword, target.file, target.line, target.args)
            # by identity, from the end (it is the last statement or nearly): list.index compares
            # every earlier statement field by field, quadratic in a block's size
            at = next(i for i in range(len(block.children) - 1, -1, -1) if block.children[i] is target)
            block.children[at] = child
            stack.append(child)
        elif tok.kind == "}":
            flush()
            if len(stack) == 1:
                problems.append(
                    Problem(
                        "unexpected-brace",
                        "error",
                        tok.file,
                        tok.line,
                        "`}` closes no block: a brace too many, or one missing above",
                    )
                )
            else:
                stack.pop()
    flush()
    for file, line, name in params.undefined:
        problems.append(
            Problem(
                "undefined-parameter",
                "warning",
                file,
                line,
                f"`${name}` is not defined before this line: keepalived leaves it as written",
            )
        )
    for open_block in stack[1:]:
        problems.append(
            Problem(
                "unclosed-block",
                "error",
                open_block.file,
                open_block.line,
                f"`{' '.join((open_block.keyword,) + open_block.args)} {{` is never closed: keepalived "
                "reads everything after it as part of this block",
            )
        )
    return Parsed(list(top.freeze().children or ()), files, problems)

"""Load a cluster file: YAML with positions -> defaults merged into nodes -> validation -> Cluster.

Every problem is collected and reported at once, each pointing at the line and column where the
operator has to type the fix: a bad value at the value, an unknown key at the key, a missing key
at the mapping that lacks it, and anything inherited from `defaults:` at the defaults entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from hatui.cluster.errors import ClusterFileError, Problem, Severity
from hatui.cluster.model import (
    MISSING_ERROR,
    PASSWORD_SOURCES,
    VALUE_ERROR,
    Cluster,
    Node,
    cluster_rules,
    did_you_mean,
    where,
)

__all__ = ["load_cluster", "load_cluster_text"]

YPath = tuple[Any, ...]
Pos = tuple[int, int]
Origins = dict[YPath, YPath]  # path inside a merged node -> path in the file it came from

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_VALUES = 200_000  # aliases can expand a small file exponentially ("billion laughs")
MAX_FILE_BYTES = 4 * 1024 * 1024
_TOP_EXPECTED = "a mapping with name, topology and nodes"


class _Bad:
    """Stands in for a value the YAML stage already reported, so validation stays quiet about it."""

    def __repr__(self) -> str:
        return "<invalid>"


BAD = _Bad()


class _Found(NamedTuple):
    path: YPath  # where in the file to point
    kind: str  # "key": at the key holding path; "value": at the value itself
    message: str
    severity: Severity = "error"
    pos: Pos | None = None  # an exact position, for things that have no path (a bad key)


# ----------------------------------------------------------------------------- YAML with positions


@dataclass
class Marks:
    """1-based (line, col) of each key and value, by path from the document root."""

    key: dict[YPath, Pos] = field(default_factory=dict)
    value: dict[YPath, Pos] = field(default_factory=dict)

    def forget(self, prefix: YPath) -> None:
        for table in (self.key, self.value):
            for p in [p for p in table if p[: len(prefix)] == prefix]:
                del table[p]

    def locate(self, path: YPath, kind: str) -> Pos:
        exact = self.key if kind == "key" else self.value
        if path in exact:
            return exact[path]
        for n in range(len(path), -1, -1):  # not in the file (a default): nearest ancestor's key
            p = path[:n]
            if p in self.key:
                return self.key[p]
            if p in self.value:
                return self.value[p]
        return (1, 1)


def _pos(mark: yaml.Mark) -> Pos:
    return (mark.line + 1, mark.column + 1)


class _TooLarge(Exception):
    pass


class _Builder:
    """Builds Python values from yaml.compose's node tree, recording marks and reporting
    duplicate keys, unknown tags and bad scalars (all of them, not just the first)."""

    def __init__(self) -> None:
        self.marks = Marks()
        self.found: list[_Found] = []
        self._scalars = yaml.constructor.SafeConstructor()
        self._budget = _MAX_VALUES

    def problem(self, path: YPath, message: str, node: yaml.Node | None = None) -> None:
        self.found.append(_Found(path, "value", message, pos=_pos(node.start_mark) if node else None))

    def build(self, node: yaml.Node, path: YPath, ancestors: frozenset[int] = frozenset()) -> Any:
        self._budget -= 1
        if self._budget < 0:
            raise _TooLarge
        self.marks.value[path] = _pos(node.start_mark)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in ancestors:
            self.problem(path, f"{where(path)}: found an alias that contains itself; expected a tree of values")
            return BAD
        ancestors = ancestors | {id(node)}
        wanted = _SEQ_TAG if isinstance(node, SequenceNode) else _MAP_TAG
        if node.tag != wanted:
            self.problem(path, f"{where(path)}: found YAML tag '{node.tag}'; expected plain YAML (no tags)")
            return BAD
        if isinstance(node, SequenceNode):
            return [self.build(child, path + (i,), ancestors) for i, child in enumerate(node.value)]
        assert isinstance(node, MappingNode)  # yaml's node kinds: scalar, sequence, mapping
        return self._mapping(node, path, ancestors)

    def _scalar(self, node: ScalarNode, path: YPath) -> Any:
        if node.tag not in self._scalars.yaml_constructors or node.tag is None:
            self.problem(path, f"{where(path)}: found YAML tag '{node.tag}'; expected plain YAML (no tags)", node)
            return BAD
        try:
            return self._scalars.construct_object(node)
        except Exception:  # e.g. `!!int abc`, `!!binary` garbage: report, keep going
            tag = node.tag.rsplit(":", 1)[-1]
            self.problem(path, f"{where(path)}: found {node.value!r} tagged !!{tag}; expected a valid {tag}", node)
            return BAD

    def _mapping(self, node: MappingNode, path: YPath, ancestors: frozenset[int]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merges: list[yaml.Node] = []
        for knode, vnode in node.value:
            if knode.tag == _MERGE_TAG:
                merges.append(vnode)
                continue
            key = self._scalar(knode, path) if isinstance(knode, ScalarNode) else BAD
            if key is BAD or not _hashable(key):
                if key is not BAD or not isinstance(knode, ScalarNode):  # a bad scalar is reported already
                    msg = f"{where(path)}: found a list or mapping as a key; expected a plain key"
                    self.problem(path, msg, knode)
                continue
            line = knode.start_mark.line + 1
            if key in first_line:
                self.found.append(
                    _Found(
                        path + (key,),
                        "key",
                        f"{where(path)}: duplicate key '{key}' (first on line {first_line[key]}, again on line {line});"
                        " expected each key once",
                    )
                )
                self.marks.forget(path + (key,))  # the last definition wins, as in the data
            else:
                first_line[key] = line
            self.marks.key[path + (key,)] = _pos(knode.start_mark)
            out[key] = self.build(vnode, path + (key,), ancestors)
        for merged in merges:  # YAML merge keys (<<: *anchor): explicit keys win, earlier merges win
            self._merge(out, merged, path, ancestors)
        return out

    def _merge(self, out: dict[Any, Any], node: yaml.Node, path: YPath, ancestors: frozenset[int]) -> None:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for src in sources:
            if not isinstance(src, MappingNode):
                msg = f"{where(path)}: found a merge (<<) of a non-mapping; expected mappings to merge"
                self.problem(path, msg, src)
                continue
            outer, self.marks = self.marks, Marks()
            try:
                value = self.build(src, path, ancestors)
            finally:
                inner, self.marks = self.marks, outer
            if not isinstance(value, dict):
                continue
            for k, v in value.items():
                if k in out:
                    continue
                out[k] = v
                sub = path + (k,)
                for table, into in ((inner.key, self.marks.key), (inner.value, self.marks.value)):
                    for p, pos in table.items():
                        if p[: len(sub)] == sub:
                            into.setdefault(p, pos)


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _line_col(text: str, index: int) -> Pos:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _syntax_problem(e: yaml.YAMLError, text: str, file: str) -> Problem:
    if isinstance(e, yaml.reader.ReaderError):
        line, col = _line_col(text, e.position)
        msg = f"YAML syntax: found character U+{e.character:04X}; expected printable text (no control characters)"
        return Problem(file, line, col, "error", msg)
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        msg = e.problem or e.context or "invalid YAML"
        if e.problem and e.context and e.context_mark is not None:
            line, col = _pos(e.context_mark)
            if e.problem.startswith("but "):  # "expected a single document ..., but found another"
                msg = f"{e.context} (line {line}, column {col}), {e.problem}"
            else:
                msg += f" ({e.context} at line {line}, column {col})"
        if "'\\t'" in msg:
            msg += "; indent with spaces, YAML does not allow tabs"
        where: tuple[int | None, int | None] = _pos(mark) if mark is not None else (None, None)
        return Problem(file, where[0], where[1], "error", f"YAML syntax: {msg}")
    return Problem(file, None, None, "error", f"YAML syntax: {e}")


def parse_yaml(text: str, file: str) -> tuple[Any, Marks, list[_Found]]:
    """Parse one YAML document. Raises ClusterFileError for what makes the file unreadable."""
    try:
        loader = yaml.SafeLoader(text)  # the reader already rejects control characters here
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise ClusterFileError([_syntax_problem(e, text, file)]) from None
    if root is None or (isinstance(root, ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
        msg = f"the file is empty; expected {_TOP_EXPECTED}"
        raise ClusterFileError([Problem(file, None, None, "error", msg)])
    builder = _Builder()
    try:
        data = builder.build(root, ())
    except _TooLarge:
        msg = f"aliases expand to more than {_MAX_VALUES} values; expected a cluster description"
        raise ClusterFileError([Problem(file, None, None, "error", msg)]) from None
    if not isinstance(data, dict):
        line, col = _pos(root.start_mark)
        msg = f"top level: found {render(data)}; expected {_TOP_EXPECTED}"
        raise ClusterFileError([Problem(file, line, col, "error", msg)])
    return data, builder.marks, builder.found


# ----------------------------------------------------------------------------- rendering


def render(v: Any, *, secret: bool = False) -> str:
    """A value as quoted in messages: short, and never the content of a secret."""
    if v is None or v is BAD:
        return "an empty value"
    if isinstance(v, bool):
        return "a boolean" if secret else str(v).lower()
    if isinstance(v, int | float):
        return "a number" if secret else f"{v:g}" if isinstance(v, float) else str(v)
    if isinstance(v, Mapping):
        return "a mapping" if v else "an empty mapping"
    if isinstance(v, list | tuple | set | frozenset):
        return "a list" if v else "an empty list"
    if secret:
        return "a value"
    if isinstance(v, str):
        return repr(v if len(v) <= 60 else v[:57] + "...")
    return str(v)


# what pydantic's own error types expect, for the few we do not raise ourselves
_EXPECTED = {
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "recursion_loop": "values without circular references",
    "set_item_not_hashable": "plain values (not lists or mappings) in the list",
}


def _expected_text(err: Mapping[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    if err["type"] in _EXPECTED:
        return _EXPECTED[err["type"]]
    msg = str(err.get("msg", "a valid value"))
    for prefix in ("Input should be ", "Value error, "):
        msg = msg.removeprefix(prefix)
    return msg[:1].lower() + msg[1:]


def _strip_optional(tp: Any) -> Any:
    """Annotated[X, ...] -> X and X | None -> X."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp


def model_at(model: type[BaseModel], loc: YPath) -> type[BaseModel] | None:
    """The model class validating the mapping at `loc` (to list its keys for did-you-mean)."""
    tp: Any = model
    for part in loc:
        tp = _strip_optional(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            f = tp.model_fields.get(part) if isinstance(part, str) else None
            if f is None:
                return None
            tp = f.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) in (list, tuple, set, frozenset):
            tp = get_args(tp)[0]
        else:
            return None
    tp = _strip_optional(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


# keys the loader fills in (never read from the file) and keys the file has but the model lacks
_NOT_IN_FILE: dict[type[BaseModel], tuple[str, ...]] = {Cluster: ("source", "warnings"), Node: ("name",)}
_FILE_ONLY: dict[type[BaseModel], tuple[str, ...]] = {Cluster: ("defaults",)}
_DEFAULTS_KEYS = [k for k in Node.model_fields if k not in ("name", "host")]


def allowed_keys(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    keys = [k for k in model.model_fields if k not in _NOT_IN_FILE.get(model, ())]
    return keys + list(_FILE_ONLY.get(model, ()))


def _unknown_key(path: YPath, allowed: list[str]) -> _Found:
    key = path[-1]
    shown = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)  # as YAML spells it
    return _Found(path, "key", f"{where(path[:-1])}: unknown key '{shown}'{did_you_mean(shown, allowed)}")


def _is_secret(loc: YPath) -> bool:
    return bool(loc) and loc[-1] == "password"


def translate(
    err: Mapping[str, Any], source: Callable[[YPath], YPath], keys_at: Callable[[YPath], list[str]]
) -> _Found | None:
    """One pydantic error -> one located message; None if the YAML stage already reported it."""
    if err.get("input") is BAD:
        return None
    loc = tuple(err["loc"])
    kind = "value"
    if "[key]" in loc:  # a bad mapping key, e.g. a node name
        loc, kind = loc[: loc.index("[key]")], "key"
    typ, ctx = err["type"], err.get("ctx") or {}
    if typ == "missing":
        parent = source(loc[:-1])
        return _Found(parent, "key", f"{where(parent)}: missing required key '{loc[-1]}'")
    if typ in ("extra_forbidden", "invalid_key"):  # invalid_key: a number or null as a key
        return _unknown_key(source(loc), keys_at(loc[:-1]))
    src = source(loc)
    if isinstance(err.get("input"), Mapping) and typ in (VALUE_ERROR, MISSING_ERROR):
        kind = "key"  # a rule about a whole mapping: point at the key that opens it
    if ctx.get("at"):  # a rule naming the key to blame, e.g. the second password source
        src_mark, kind = src + (ctx["at"],), "key"
    else:
        src_mark = src
    found = ctx.get("found") or render(err.get("input"), secret=_is_secret(loc))
    return _Found(src_mark, kind, f"{where(src)}: found {found}; expected {_expected_text(err)}")


# ----------------------------------------------------------------------------- defaults merge

# mappings that hold a choice: a node's own choice replaces the default instead of merging with it
_REPLACE = {("keepalived", "log")}
_ACCOUNTS = {("mysql", "monitor"), ("mysql", "admin"), ("mysql", "replication")}
_SOURCE_KEYS = {*PASSWORD_SOURCES, "option_group"}


def _record(origins: Origins, rel: YPath, src: YPath, value: Any) -> None:
    origins[rel] = src
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        _record(origins, rel + (k,), src + (k,), v)


def _forget(origins: Origins, rel: YPath) -> None:
    for p in [p for p in origins if p[: len(rel)] == rel]:
        del origins[p]


def _merge(
    base: dict[Any, Any], over: dict[Any, Any], rel: YPath, bsrc: YPath, osrc: YPath, origins: Origins
) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    # a node naming its own password source drops the default's (else: "two sources")
    drop = _SOURCE_KEYS if rel in _ACCOUNTS and any(k in over for k in PASSWORD_SOURCES) else set()
    for k, v in base.items():
        if k not in drop:
            out[k] = v
            _record(origins, rel + (k,), bsrc + (k,), v)
    for k, v in over.items():
        p = rel + (k,)
        if v is None and isinstance(out.get(k), dict):
            continue  # `ssh:` with nothing after it keeps the defaults
        _forget(origins, p)
        if isinstance(v, dict) and isinstance(out.get(k), dict) and p not in _REPLACE:
            origins[p] = osrc + (k,)
            out[k] = _merge(out[k], v, p, bsrc + (k,), osrc + (k,), origins)
        else:
            out[k] = v
            _record(origins, p, osrc + (k,), v)
    return out


def merge_node(defaults: dict[Any, Any], node: dict[Any, Any], node_path: YPath) -> tuple[dict[Any, Any], Origins]:
    """Deep-merge defaults under a node (node wins). Also returns, for each path inside the
    merged node, the path in the file the value came from."""
    origins: Origins = {(): node_path}
    return _merge(defaults, node, (), ("defaults",), node_path, origins), origins


def _source_via(origins: Origins, rel: YPath) -> YPath:
    for n in range(len(rel), -1, -1):
        if rel[:n] in origins:
            return origins[rel[:n]] + rel[n:]
    return rel


# ----------------------------------------------------------------------------- the pipeline


def _prepare(data: dict[Any, Any]) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Origins], list[_Found]]:
    """Split the document into the validation input (defaults merged into each node), the
    defaults on their own, and per-node origin tables."""
    found: list[_Found] = []
    top = dict(data)
    for key in _NOT_IN_FILE[Cluster]:
        if key in top:
            found.append(_unknown_key((key,), allowed_keys(Cluster)))
            del top[key]
    defaults = top.pop("defaults", None)
    if defaults is None or defaults is BAD:
        defaults = {}
    elif not isinstance(defaults, dict):
        found.append(_Found(("defaults",), "value", f"defaults: found {render(defaults)}; expected a mapping"))
        defaults = {}
    for key in ("name", "host"):
        if key in defaults:
            found.append(_unknown_key(("defaults", key), _DEFAULTS_KEYS))
            defaults = {k: v for k, v in defaults.items() if k != key}

    origins: dict[Any, Origins] = {}
    nodes = top.get("nodes")
    if isinstance(nodes, dict):
        merged_nodes: dict[Any, Any] = {}
        for name, node in nodes.items():
            node = {} if node is None else node
            if isinstance(node, dict):
                if "name" in node:
                    found.append(_unknown_key(("nodes", name, "name"), allowed_keys(Node)))
                    node = {k: v for k, v in node.items() if k != "name"}
                node, origins[name] = merge_node(defaults, node, ("nodes", name))
                node["name"] = str(name)
            merged_nodes[name] = node
        top["nodes"] = merged_nodes
    return top, defaults, origins, found


def _inline_passwords(data: dict[Any, Any]) -> list[_Found]:
    scopes: list[tuple[YPath, Any]] = [(("defaults",), data.get("defaults"))]
    if isinstance(data.get("nodes"), dict):
        scopes += [(("nodes", n), node) for n, node in data["nodes"].items()]
    out = []
    for prefix, scope in scopes:
        mysql = scope.get("mysql") if isinstance(scope, dict) else None
        for kind in ("monitor", "admin", "replication"):
            account = mysql.get(kind) if isinstance(mysql, dict) else None
            if isinstance(account, dict) and account.get("password") is not None:
                path = prefix + ("mysql", kind)
                text = f"{where(path)}: found an inline password; expected password_env or password_file"
                text += " (keeps the secret out of this file)"
                out.append(_Found(path + ("password",), "key", text, "warning"))
    return out


def _validate(
    top: dict[Any, Any], defaults: dict[Any, Any], origins: dict[Any, Origins], context: dict[str, Any]
) -> tuple[Cluster | None, list[_Found]]:
    found: list[_Found] = []

    def source(loc: YPath) -> YPath:
        if len(loc) >= 2 and loc[0] == "nodes" and loc[1] in origins:
            return _source_via(origins[loc[1]], loc[2:])
        return loc

    def cluster_keys(loc: YPath) -> list[str]:
        return allowed_keys(model_at(Cluster, loc))

    def defaults_keys(loc: YPath) -> list[str]:
        return _DEFAULTS_KEYS if not loc else allowed_keys(model_at(Node, loc))

    cluster = None
    try:
        cluster = Cluster.model_validate(top, context=context)
    except ValidationError as e:
        found += [f for err in e.errors() if (f := translate(err, source, cluster_keys))]

    # defaults on their own, so their mistakes show even with no (valid) node; what a node
    # may still supply (missing keys, password source) only counts after the merge
    try:
        Node.model_validate({**defaults, "name": "defaults"}, context=context)
    except ValidationError as e:
        for err in e.errors():
            if err["type"] not in ("missing", MISSING_ERROR):
                f = translate(err, lambda loc: ("defaults", *loc), defaults_keys)
                found += [f] if f else []

    for v in cluster_rules(top):
        src = source(v.path)
        found.append(_Found(src, v.kind, f"{where(src)}: {v.text}"))
    return (cluster if not any(f.severity == "error" for f in found) else None), found


def _one_line(text: str) -> str:
    # keys may be quoted YAML strings holding newlines; one problem must stay one line
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _to_problems(found: list[_Found], marks: Marks, file: str) -> list[Problem]:
    out: dict[tuple[Any, ...], Problem] = {}
    for f in found:
        line, col = f.pos or marks.locate(f.path, f.kind)
        message = _one_line(f.message)
        out.setdefault((line, col, f.severity, message), Problem(file, line, col, f.severity, message))
    return sorted(out.values(), key=lambda p: p.sort_key)


def _load(text: str, file: str, base_dir: Path, source: Path) -> Cluster:
    try:
        data, marks, found = parse_yaml(text, file)
        top, defaults, origins, more = _prepare(data)
        found += more + _inline_passwords(data)
        top["source"] = source
        cluster, more = _validate(top, defaults, origins, {"base_dir": base_dir, "hatui_loader": True})
        found += more
    except RecursionError:
        msg = "the file nests too deeply; expected a cluster description"
        raise ClusterFileError([Problem(file, None, None, "error", msg)]) from None
    problems = _to_problems(found, marks, file)
    if cluster is None or any(p.severity == "error" for p in problems):
        raise ClusterFileError(problems)
    return cluster.model_copy(update={"warnings": problems})


def load_cluster_text(text: str, filename: str = "<cluster>", *, base_dir: str | Path | None = None) -> Cluster:
    """Load a cluster from text. `filename` names it in messages; relative paths in the file
    resolve against `base_dir` (default: the folder of `filename`)."""
    source = Path(filename).absolute()
    return _load(text, filename, Path(base_dir).absolute() if base_dir is not None else source.parent, source)


def load_cluster(path: str | Path) -> Cluster:
    """Load and validate a cluster file. Raises ClusterFileError listing every problem."""
    file = str(path)
    p = Path(path)

    def fail(message: str, line: int | None = None, col: int | None = None) -> ClusterFileError:
        return ClusterFileError([Problem(file, line, col, "error", message)])

    try:
        with open(p, "rb") as f:
            # a cluster file is a few KB: never read a device or a huge file into memory
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise fail(
                f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; expected a cluster "
                "description (a few KB of YAML)"
            )
    except FileNotFoundError:
        raise fail("cannot read the cluster file: no such file") from None
    except IsADirectoryError:
        raise fail("cannot read the cluster file: it is a directory; expected a YAML file") from None
    except PermissionError:
        raise fail("cannot read the cluster file: permission denied") from None
    except OSError as e:
        raise fail(f"cannot read the cluster file: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        msg = f"found byte 0x{raw[e.start]:02x}, which is not UTF-8; expected a UTF-8 text file"
        raise fail(msg, line, col) from None
    source = p.absolute()
    return _load(text, file, source.parent, source)

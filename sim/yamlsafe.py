"""Reading a YAML config that may be hostile or broken, with limits checked before anything is built.

`yaml.safe_load` alone already refuses Python object tags, but it lets through inputs that hang or crash
later: an alias bomb ("billion laughs": a few lines that expand to billions of nodes when validated or
copied), nesting thousands of levels deep (RecursionError), a 5,000-digit integer (ValueError from int())
and impossible dates such as 2020-13-30 (ValueError from datetime). Here every such input becomes a
`ConfigError` with one line naming the file, where in it, and what is allowed. A key given twice in one
mapping (which YAML resolves silently, the last one winning) is refused too.

The limits below are far above any real config (the national scenario is 12 kB and nests a few levels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.errors import ConfigError

MAX_FILE_BYTES = 2_000_000
"""Largest config file read (bytes)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""
MAX_NODES = 200_000
"""Most values once every alias is expanded (what validation and copying will actually walk)."""
MAX_INT_DIGITS = 30
"""Longest integer literal (digits): more than any count or seed the schema allows."""


class _Refused(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where, self.message = where, message


def _at(node: Node | None) -> str:
    mark = getattr(node, "start_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"


_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


class LimitedLoader(_SafeBase):
    """SafeLoader with bounded integers and dates that are real calendar dates."""

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _Refused(_at(node), f"an integer of {digits} digits: at most {MAX_INT_DIGITS} digits are allowed")
        return super().construct_yaml_int(node)

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            raise _Refused(_at(node), f"{node.value!r} is not a calendar date (YYYY-MM-DD)") from None

    def construct_mapping(self, node: Node, deep: bool = False) -> Any:
        """A key given twice in one mapping is refused (YAML would silently keep the last one); keys brought in
        by a merge (`<<: *defaults`) may be overridden, as YAML intends."""
        if isinstance(node, MappingNode):
            seen: dict[Any, str] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the constructor refuses it below
                    continue
                if first is not None:
                    raise _Refused(_at(key_node), f"the key {key!r} is given twice in one mapping (first at {first}): "
                                   "YAML would silently keep the last; give each key once")
                seen[key] = _at(key_node)
        return super().construct_mapping(node, deep=deep)

    def construct_undefined(self, node: Node) -> Any:
        raise _Refused(_at(node), f"the tag {node.tag!r} is not allowed: plain YAML values only (no object tags)")


LimitedLoader.add_constructor("tag:yaml.org,2002:int", LimitedLoader.construct_yaml_int)
LimitedLoader.add_constructor("tag:yaml.org,2002:timestamp", LimitedLoader.construct_yaml_timestamp)
LimitedLoader.add_constructor(None, LimitedLoader.construct_undefined)


def _check_events(text: str) -> None:
    """Depth from the event stream (iterative, so deep input cannot exhaust the stack). libyaml scans ahead and,
    from PyYAML 6.0.4, refuses deep flow nesting in words of its own before the first event arrives; the pure-Python
    parser then reads the same text so that the refusal is always this module's, whatever the library version."""
    try:
        _check_depth(text, _SafeBase)
    except yaml.YAMLError:
        if _SafeBase is yaml.SafeLoader:
            raise
        _check_depth(text, yaml.SafeLoader)
        raise


def _check_depth(text: str, loader: Any) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise _Refused(f"line {mark.line + 1}, column {mark.column + 1}",
                               f"nested more than {MAX_DEPTH} levels deep: a config is a few levels deep")
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _expanded_size(root: Node) -> int:
    """Values in the document once aliases are expanded, counted on the shared node graph (memoised,
    iterative), so an alias bomb is measured without being expanded."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes and not children_done:
            continue
        if isinstance(node, ScalarNode):
            sizes[key] = 1
            continue
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        if not children_done:
            sizes[key] = -1  # in progress: a node reached again through itself is a recursive alias
            stack.append((node, True))
            for child in children:
                if sizes.get(id(child)) == -1:
                    raise _Refused(_at(child), "a recursive alias (an anchor used inside itself)")
                if id(child) not in sizes:
                    stack.append((child, False))
            continue
        total = 1 + sum(sizes[id(c)] for c in children)
        sizes[key] = total
        if total > MAX_NODES:
            raise _Refused(_at(node), f"expands to more than {MAX_NODES:,} values (aliases of aliases?): "
                           "a config is far smaller")
    return sizes[id(root)]


def read_text(path: Path) -> str:
    """The file's text, or a ConfigError saying why it cannot be a config file."""
    file = str(path)
    try:
        if path.is_dir():
            raise ConfigError.at(file, "", file, "is a directory: give a YAML file")
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError.at(file, "", file, "no such file") from None
    except OSError as exc:
        raise ConfigError.at(file, "", file, f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if size > MAX_FILE_BYTES:
        raise ConfigError.at(file, "", f"{size:,} bytes", f"too large: a config file is at most {MAX_FILE_BYTES:,} "
                             "bytes")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError.at(file, "", file, f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if b"\0" in raw:
        offset = raw.index(b"\0")
        raise ConfigError.at(file, "", f"byte 0x00 at offset {offset}",
                             "a binary file: a config is UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start: exc.start + 1].hex()
        raise ConfigError.at(file, f"line {line}", f"byte 0x{bad}", "not UTF-8 text: save the file as UTF-8") from None


def load_yaml_text(text: str, file: str) -> Any:
    """Parse YAML text within the limits above; any problem is a one-line ConfigError naming the file."""
    try:
        _check_events(text)
        loader = LimitedLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            _expanded_size(root)
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except _Refused as exc:
        raise ConfigError([f"{file}: {exc.where}: {exc.message}"]) from None
    except ConstructorError as exc:
        raise ConfigError([f"{file}: {_where(exc)}: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{file}: broken YAML at {_where(exc)}: {problem}"]) from None
    except RecursionError:  # a backstop: the depth check above should have caught it
        raise ConfigError([f"{file}: nested too deep to read: a config is a few levels deep"]) from None


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"



__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_INT_DIGITS", "MAX_NODES", "load_yaml_text", "read_text"]

"""YAML loading that remembers where each value came from, so errors can name the line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InvalidInput, QmsError
from .input_limits import MAX_DEPTH, MAX_NUMBER_DIGITS, read_text, control_char_error, key_name
import copy
import hashlib
import difflib


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings: we parse them ourselves so an
    impossible date (2026-02-30) is a clear message, not a crash inside PyYAML.

    Bounded: aliases (*name) are refused (nine levels of them grow a 490-byte file past
    gigabytes when walked), nesting stops at MAX_DEPTH, integers at MAX_NUMBER_DIGITS."""

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted in qms files; write the value out",
                self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node):
        digits = sum(ch.isdigit() for ch in node.value)
        if digits > MAX_NUMBER_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {digits} digits is too long; quote it if it is text", node.start_mark)
        return super().construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


# YAML 1.2 core scalars only: PyYAML's 1.1 rules would silently turn a time typed as
# 10:15 into 615 (base 60), 0417 into 271 (octal) and 是/no-like words into booleans.
_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:bool"}
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                              re.compile(r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                                         r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
                              list("-+0123456789."))


@dataclass
class YamlSource:
    path: Path
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)

    def line(self, *path) -> int | None:
        """Line of the value at `path` (keys and list indexes), or of its nearest parent."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def error(self, message: str, *path, field_name: str | None = None) -> QmsError:
        return InvalidInput(message, file=self.path, field=field_name or dotted(path), line=self.line(*path))


def dotted(path) -> str | None:
    if not path:
        return None
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node, path, lines):
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _walk(item, path + (i,), lines)


def _check_flow_depth(text: str, path: Path) -> None:
    """PyYAML's scanner is quadratic in the nesting of flow collections ([[[[…): a megabyte of
    brackets would never finish, long before the composer's depth limit is reached. One linear
    pass counts open brackets outside quotes and comments first."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth, quote, line = 0, "", 1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            if quote == "#":
                quote = ""
        elif quote:
            if ch == quote and quote != "#":
                quote = ""
        elif ch in "'\"" and (i == 0 or text[i - 1] in " \t\n[{,:"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n"):
            quote = "#"
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidInput(f"malformed YAML: nested more than {MAX_DEPTH} levels deep", file=path, line=line)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1


# One process reads the same config.yaml and form schemas many times (every command of a web
# server or of an in-process test run re-reads them). Keyed by path and the text's digest, a
# repeat costs a hash and a copy instead of the line-tracking parse (~12 ms for config.yaml).
_PARSED: dict[tuple, YamlSource] = {}
_PARSED_MAX, _PARSED_MAX_TEXT = 128, 256 * 1024


def parse_yaml_text(text: str, path: Path) -> YamlSource:
    key = (str(path), hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    seen = _PARSED.get(key)
    if seen is None:
        seen = _parse_yaml_text(text, path)
        if len(text) <= _PARSED_MAX_TEXT:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[key] = seen
    # callers may change what they get: each gets its own copy
    return YamlSource(path=path, data=copy.deepcopy(seen.data), lines=seen.lines)


def _parse_yaml_text(text: str, path: Path) -> YamlSource:
    err = control_char_error(text, file=path)
    if err is not None:
        raise err
    _check_flow_depth(text, path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"malformed YAML: {problem}", file=path,
                       line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return YamlSource(path=path, data=data, lines=lines)


def load_yaml(path: Path | str) -> YamlSource:
    path = Path(path)
    return parse_yaml_text(read_text(path, what="YAML file"), path)


# libyaml's emitter writes the same text as PyYAML's for what qms stores (checked over 3,000
# generated rows) at ~10× the speed: filing dumps one data.yaml per record.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump_yaml(data) -> str:
    return yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1000)


def load_archived(path: Path | str):
    """The data of a YAML file qms itself wrote into the archive (data.yaml): libyaml reads it
    ~20× faster than the line-tracking parser, and for what qms's dumper writes both give the
    same data. A file that is not what qms writes (an anchor or alias, a scalar libyaml or
    Python refuses — an edited archive) goes to the careful parser, which refuses it in one line."""
    path = Path(path)
    text = read_text(path, what="YAML file")
    if "*" not in text and "&" not in text:       # qms never writes anchors or aliases
        try:
            return yaml.load(text, Loader=_LOADER)
        except (yaml.YAMLError, ValueError):
            pass
    return parse_yaml_text(text, path).data


def top_mapping(src: YamlSource, known, expected: str) -> dict:
    """The file's top level as a mapping of known keys (a source, a form): one refusal for each."""
    if not isinstance(src.data, dict):
        raise InvalidInput(f"expected {expected}", file=src.path)
    check_keys(src, src.data, known)
    return src.data


def listed(src: YamlSource, value, key: str, what: str) -> list[tuple[int, Any]]:
    """The numbered items of an optional list field (none when it is absent)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise src.error(f"expected a list of {what}", key)
    return list(enumerate(value))


def check_keys(src: YamlSource, mapping: dict, known, *path) -> None:
    """Refuse a key the reader does not know, naming it and the nearest known one: a
    misspelled `bdy:` must not pass with its content silently dropped."""
    known = list(known)
    for key in mapping:
        if str(key) in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else "expected one of: " + ", ".join(known)
        name = key_name(key)
        raise src.error(f"`{name}`: unknown key; {hint}", *path, key)

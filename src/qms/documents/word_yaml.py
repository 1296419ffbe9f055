"""A procedure source imported from Word, written as YAML: the unplaced paragraphs listed on top,
one-line cells as short flow lists, multi-line text as blocks."""

from __future__ import annotations

import yaml

class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper, value: list):
    """A short list of one-line cells reads best on one line: [序号, 单位, 职责]."""
    flow = bool(value) and all(isinstance(v, str) and "\n" not in v for v in value) \
        and sum(len(v) + 2 for v in value) <= 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


def source_yaml(source: dict, unplaced: list[str]) -> str:
    head = ["# Imported from Word by qms doc import: check it (qms doc check) before submitting."]
    if unplaced:
        head.append("# Not placed (read the Word file for these):")
        head += [f"#   {u}" for u in unplaced]
    body = yaml.dump(source, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=4096,
                     default_flow_style=False)
    return "\n".join(head) + "\n" + body

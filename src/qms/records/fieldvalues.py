"""A record's field values as the catalog keeps them (table record_fields), for the KPIs:
one text per scalar field, carried by the record.file / record.amend events as `fields`."""

from __future__ import annotations

from pathlib import Path

# table fields hold rows, not one value: a KPI measures scalar fields only
_SCALAR_SKIP = ("table",)


def scalar_fields(form, data: dict) -> dict[str, str]:
    """{field name: value as text} for the form's scalar fields that have a value."""
    out = {}
    for f in form.fields:
        if f.type in _SCALAR_SKIP:
            continue
        value = data.get(f.name)
        if value is None or value == "":
            continue
        out[f.name] = value if isinstance(value, str) else str(value)
    return out


def event_fields(cat, d: dict) -> dict[str, str]:
    """The values an event carries; an event written before events carried them (no `fields`)
    gets them from the data.yaml it archived (the folder is in place when it is projected)."""
    if isinstance(d.get("fields"), dict):
        return {str(k): str(v) for k, v in d["fields"].items() if v is not None}
    if cat.path is None or not d.get("folder"):
        return {}
    path = Path(cat.path).parent.parent / d["folder"] / "data.yaml"
    try:
        from ..yamlsrc import load_archived
        data = (load_archived(path) or {}).get("data") or {}
    except Exception:       # a missing or unreadable file: the record has no values to measure
        return {}
    return {str(k): v if isinstance(v, str) else str(v) for k, v in data.items()
            if v not in (None, "") and not isinstance(v, (list, dict))}

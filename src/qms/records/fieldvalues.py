"""A record's field values as the catalog keeps them (table record_fields), for the KPIs:
one text per scalar field, carried by the record.file / record.amend events as `fields`."""

from __future__ import annotations

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

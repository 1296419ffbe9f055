"""KPIs as data (流程监控) and the CAPAs they propose (流程改进), issue 24.

Definitions are `kpis/*.yaml` (README, "KPI YAML reference"); values are recomputed from the
catalog on every request; a missed target proposes a CAPA once per KPI, period and group."""

from importlib import import_module

__all__ = ["Kpi", "behind", "check", "decide", "find_kpi", "load_kpis", "misses", "proposals", "propose", "series",
           "show_json"]

# Loaded when first asked for: the projection's handlers (kpi_rows) are loaded by every replay and
# commit, and importing the package took the definitions and the measures with them.
_FROM = {"Kpi": "definition", "find_kpi": "definition", "load_kpis": "definition", "decide": "improve",
         "misses": "improve", "proposals": "improve", "propose": "improve", "behind": "measures",
         "check": "measures", "series": "measures", "show_json": "measures"}


def __getattr__(name: str):
    if name in _FROM:
        return getattr(import_module(f"{__name__}.{_FROM[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

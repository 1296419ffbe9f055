"""KPIs as data (流程监控) and the CAPAs they propose (流程改进), issue 24.

Definitions are `kpis/*.yaml` (README, "KPI YAML reference"); values are recomputed from the
catalog on every request; a missed target proposes a CAPA once per KPI, period and group.

The names below load on first use: qms.store.projection imports nothing of kpi (startup registers kpi.kpi_rows) and
the services import the writer, which imports the projection."""

_WHERE = {"Kpi": "definition", "find_kpi": "definition", "load_kpis": "definition",
          "decide": "improve", "misses": "improve", "proposals": "improve", "propose": "improve",
          "behind": "measures", "check": "measures", "series": "measures", "show_json": "measures"}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(name)
    import importlib
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)

"""KPIs as data (流程监控) and the CAPAs they propose (流程改进), issue 24.

Definitions are `kpis/*.yaml` (README, "KPI YAML reference"); values are recomputed from the
catalog on every request; a missed target proposes a CAPA once per KPI, period and group."""

from .definition import Kpi, find_kpi, load_kpis
from .improve import decide, misses, proposals, propose
from .measures import behind, check, series, show_json

__all__ = ["Kpi", "behind", "check", "decide", "find_kpi", "load_kpis", "misses", "proposals", "propose", "series",
           "show_json"]

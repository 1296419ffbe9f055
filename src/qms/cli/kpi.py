"""qms kpi (流程监控, 流程改进) and qms report monthly (the monthly quality report)."""

from __future__ import annotations

import click

from .env import QmsGroup, pass_env
from .options import emit, json_option, output_option
from ..base.errors import InvalidInput
from ..kpi import check, series, behind, propose, proposals, decide
from ..kpi.compute import fmt
from ..kpi.report import monthly


@click.group(cls=QmsGroup)
def kpi():
    """KPIs (kpis/*.yaml): check, show, the CAPAs a missed target proposes."""


@kpi.command("check")
@pass_env
def kpi_check(env):
    """Validate every kpis/*.yaml against the forms; nothing is written."""
    res = check(env.ws)
    for err in res.errors:
        click.echo(err.format(), err=True)
    if res.errors:
        raise InvalidInput(f"{len(res.errors)} KPI definition(s) refused, {len(res.kpis)} ok")
    click.echo(f"ok: {len(res.kpis)} KPIs — " + "、".join(k.title for k in res.kpis))


@kpi.command("show")
@click.argument("name", required=False, metavar="[KPI]")
@click.option("--period", metavar="PERIOD", help="One month (2026-03), quarter (2026-Q1) or year (2026).")
@click.option("--by", metavar="FIELD", help="Group by a field of the KPI's form (name or label; 客户).")
@json_option
@pass_env
def kpi_show(env, name, period, by, as_json):
    """Each KPI's values by period (and group), recomputed from the records now."""
    result = series(env.ws, period=period, by=by, kpi=name)

    def text(_):
        lines = []
        for s in result:
            k = s.kpi
            target = f"，目标 {'≥' if k.direction == '>=' else '≤'} {fmt(k, k.target)}" if k.target is not None else ""
            lines.append(f"{k.title}（{k.form.title}{target}）")
            for c in s.cells:
                state = {True: "达标", False: "未达标", None: ""}[c.met]
                miss = f"，缺少数据 {len(c.missing)}" if c.missing else ""
                group = f" {c.group}" if c.group else ""
                lines.append(f"  {c.period}{group}  {fmt(k, c.value)}  （{c.n} 条{miss}） {state}".rstrip())
        return "\n".join(lines) if lines else "没有 KPI（kpis/*.yaml）"
    emit({"kpis": [s.to_json() for s in result]}, as_json, text)


@kpi.command("records")
@click.argument("name", metavar="KPI")
@click.argument("period")
@click.option("--group", default="", help="The group (with a KPI grouped by a field).")
@json_option
@pass_env
def kpi_records(env, name, period, group, as_json):
    """The records behind one number (the drill-down), each with its own value."""
    res = behind(env.ws, name, period, group)
    emit(res, as_json, lambda r: "\n".join([f"{r['kpi']['title']} {period} {group}: {r['value']}".rstrip()]
                                          + [f"  {x['number']}  {x['record_date']}  {x['shown']}"
                                             + ("  ✗" if x["missed"] else "") for x in r["records"]]))


@kpi.command("propose")
@json_option
@pass_env
def kpi_propose(env, as_json):
    """Propose a CAPA for each finished period a KPI missed its target in (once each)."""
    emit(propose(env.ws, actor=env.act("doc.release")), as_json)


@kpi.command("proposals")
@click.option("--all", "everything", is_flag=True, help="Also those accepted or dismissed.")
@json_option
@pass_env
def kpi_proposals(env, everything, as_json):
    """The proposed CAPAs waiting for the quality manager."""
    rows = proposals(env.ws, status=None if everything else "proposed")
    emit(rows, as_json, lambda rs: "\n".join(f"{p['key']}  {p['title']} {p['period']} {p['group']}  "
                                            f"{p['shown']}（目标 {p['target_shown']}）  {p['status']}"
                                            for p in rs) or "没有待处理的建议")


@kpi.command("accept")
@click.argument("key")
@json_option
@pass_env
def kpi_accept(env, key, as_json):
    """Accept a proposal: the CAPA is opened."""
    emit(decide(env.ws, key, actor=env.act("doc.release"), accept=True), as_json)


@kpi.command("dismiss")
@click.argument("key")
@click.option("--reason", required=True)
@json_option
@pass_env
def kpi_dismiss(env, key, reason, as_json):
    """Dismiss a proposal, with the reason."""
    emit(decide(env.ws, key, actor=env.act("doc.release"), accept=False, reason=reason), as_json)


@click.group(cls=QmsGroup)
def report():
    """Reports over the records (the monthly quality report)."""


@report.command("monthly")
@click.option("--month", required=True, metavar="YYYY-MM")
@output_option("OUT.pdf (PDF/A) or OUT.xlsx", required=True)
@click.option("--file", "file_it", is_flag=True, help="Also archive the report as a record, journaled.")
@json_option
@pass_env
def report_monthly(env, month, output, file_it, as_json):
    """The monthly quality report: each KPI's table and chart, misses, open CAPA and reviews due."""
    actor = env.act("doc.release") if file_it else None
    emit(monthly(env.ws, month, output, actor=actor), as_json)


COMMANDS = [kpi, report]

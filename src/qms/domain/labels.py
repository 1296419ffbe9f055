"""What a reader sees: statuses, dates and times in the workspace's language and time zone.

Data, JSON and the audit log keep the English keys and ISO timestamps; every table,
XLSX, PDF and terminal line meant for a person goes through here, so a zh-CN
workspace reads 生效/已替代/作废 and times in its own zone (config `timezone`).
"""

from __future__ import annotations
from ..base.dates import zone_of, local_time as _local_time


# One word per state, for every reader: CLI, web, XLSX and PDFs all print these (the web's filters
# take them from here). A form's `signer_noun` (业主, 客户 …) replaces 用户 in 待用户签字.
STATUS_ZH = {
    "draft": "草稿",
    "in_review": "审批中",
    "approved": "已批准",
    "pending_release": "待发布",
    "released": "已发布（未实施）",
    "effective": "生效",
    "superseded": "已替代",
    "obsolete": "作废",
    "awaiting_signature": "待用户签字",
    "filed": "已归档",
    "disposed": "已销毁",
}


def chinese(locale: str) -> bool:
    return (locale or "").lower().startswith("zh")


AWAITING = "awaiting_signature"


def status_label(status: str | None, locale: str = "zh-CN", signer: str | None = None) -> str:
    """A status as a person reads it; `signer` is the form's signer noun (待业主签字)."""
    if not status:
        return ""
    if not chinese(locale):
        return status
    if status == AWAITING and signer:
        return f"待{signer}签字"
    return STATUS_ZH.get(status, status)


def zone(name: str | None):
    """The workspace's time zone (an IANA name such as Asia/Shanghai), else the machine's."""
    return zone_of(name)


def local_time(value: str | None, tz_name: str | None = None) -> str:
    """An ISO timestamp as 2026-03-13 09:30 in the workspace's zone (blank stays blank): dates.local_time."""
    return _local_time(value, tz_name)

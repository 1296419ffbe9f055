"""A record's state read from the catalog: its row, versions, signatures, holds; what is due.

The records package, retention and the yearly volume read through these names (a lower box
than all of them), so the catalog's SQL for records lives in one place (parallel to docstate)."""

from __future__ import annotations

import datetime as dt

from ..store.catalog import Catalog
from ..base.errors import NotFound
import json

# The customer-signed scan in a record's folder (records sign it in; search reads its text).
SCAN_NAME = "signed-scan.pdf"


def find(cat: Catalog, number: str):
    """The record's row, or None (disposed or never filed)."""
    return cat.one("SELECT * FROM records WHERE number=?", number)


def disposed(cat: Catalog, number: str):
    """The disposal row of a destroyed record, or None."""
    return cat.one("SELECT * FROM disposed WHERE number=?", number)


def record_row(cat: Catalog, number: str):
    row = find(cat, number)
    if row is None:
        gone = disposed(cat, number)
        if gone:
            raise NotFound(f"{number} was disposed on {gone['disposed_at'][:10]} "
                           f"(disposal certificate {gone['certificate']})", field="number")
        raise NotFound(f"unknown record {number!r} (qms record list shows the records)", field="number")
    return row


def number_used(cat: Catalog, number: str) -> bool:
    """Whether a record holds (or a disposed one held) this number."""
    return cat.one("SELECT 1 FROM records WHERE number=? UNION SELECT 1 FROM disposed WHERE number=?",
                   number, number) is not None


def pdf_pending(cat: Catalog, numbers: list[str] | None = None) -> list:
    """(number, folder) of records still waiting for their PDF: all of them, or those of `numbers`."""
    if numbers is None:
        return cat.all("SELECT number, folder FROM records WHERE pdf_pending=1 ORDER BY number")
    rows = [cat.one("SELECT number, folder FROM records WHERE number=? AND pdf_pending=1", n) for n in numbers]
    return [r for r in rows if r]


def versions(cat: Catalog, number: str) -> list:
    return cat.all("SELECT * FROM record_versions WHERE number=? ORDER BY version", number)


def signatures(cat: Catalog, number: str) -> list:
    """The customer's signatures (one row per signer of a scan), each with the version it covers:
    the version whose folder holds the scan (a scan is filed into the version it signed)."""
    return cat.all("SELECT s.*, (SELECT v.version FROM record_versions v WHERE v.number=s.number AND "
                   "substr(s.scan, 1, length(v.folder) + 1) = v.folder || '/') AS version "
                   "FROM signatures s WHERE s.number=? ORDER BY s.at, s.rowid", number)


def open_hold(cat: Catalog, number: str):
    """The hold in force on a record (reason, added_at, added_by), or None."""
    return cat.one("SELECT reason, added_at, added_by FROM holds WHERE number=? AND released_at IS NULL", number)


def listing(cat: Catalog, *, form: str | None = None, status: str | None = None,
            year: int | None = None) -> list[dict]:
    sql = "SELECT number, form, status, record_date, retention_until, customer, folder FROM records WHERE 1=1"
    args: list = []
    if form:
        sql += " AND form=?"
        args.append(form)
    if status:
        sql += " AND status=?"
        args.append(status)
    if year:
        sql += " AND year=?"
        args.append(int(year))
    return [dict(r) for r in cat.all(sql + " ORDER BY form, record_date, number", *args)]


# The record list's order: newest filing first; rowid breaks a tie of one second (an import files
# many at once) in the order the journal filed them. The records_filed* indexes serve it.
LIST_ORDER = "filed_at DESC, rowid DESC"
LIST_COLUMNS = "number, form, status, record_date, retention_until, customer, filed_at, version, pdf_pending"


def _list_filters(form, status, year, customer) -> tuple[str, list]:
    where, args = [], []
    if form:
        where.append("form=?")
        args.append(form)
    if status:
        where.append("status=?")
        args.append(status)
    if year:
        where.append("year=?")
        args.append(int(year))
    if customer:
        where.append("instr(customer, ?) > 0")      # part of the name finds it (广州 → 广州白云医院)
        args.append(customer)
    return (" WHERE " + " AND ".join(where)) if where else "", args


def page(cat: Catalog, *, limit: int, offset: int = 0, form: str | None = None, status: str | None = None,
         year: int | None = None, customer: str | None = None) -> tuple[int, list[dict]]:
    """(total, one page of records newest first), both counted and cut in SQL."""
    where, args = _list_filters(form, status, year, customer)
    total = cat.one(f"SELECT COUNT(*) AS n FROM records{where}", *args)["n"]
    rows = cat.all(f"SELECT {LIST_COLUMNS} FROM records{where} ORDER BY {LIST_ORDER} LIMIT ? OFFSET ?",
                   *args, int(limit), int(offset))
    return total, [dict(r) for r in rows]


def field_values(cat: Catalog, numbers: list[str]) -> dict[str, dict[str, str]]:
    """{number: {field: value}} from record_fields (the projection keeps every scalar value), so a
    page of a list shows its columns without opening any record's data.yaml."""
    out: dict[str, dict[str, str]] = {n: {} for n in numbers}
    for i in range(0, len(numbers), 500):
        chunk = numbers[i:i + 500]
        for r in cat.all("SELECT number, name, value FROM record_fields WHERE number IN "
                         f"({','.join('?' * len(chunk))})", *chunk):
            out[r["number"]][r["name"]] = r["value"]
    return out


# ------------------------------------------------------------------ retention

def due(cat: Catalog, as_of: dt.date, form: str | None) -> list[dict]:
    """Records past their retention end at `as_of` (held ones marked), by form and number."""
    sql = ("SELECT r.number, r.form, r.record_date, r.retention_until, r.folder, r.status, r.version, "
           "(SELECT COUNT(*) FROM signatures s WHERE s.number=r.number) AS signatures, "
           "EXISTS(SELECT 1 FROM holds h WHERE h.number=r.number AND h.released_at IS NULL) AS held "
           "FROM records r WHERE r.retention_until IS NOT NULL AND r.retention_until < ?")
    args: list = [as_of.isoformat()]
    if form:
        sql += " AND r.form=?"
        args.append(form)
    return [dict(r) | {"held": bool(r["held"])} for r in cat.all(sql + " ORDER BY r.form, r.number", *args)]


def holds(cat: Catalog) -> list[dict]:
    """Every hold in force, with the record's form."""
    return [dict(r) for r in cat.all(
        "SELECT h.number, r.form, h.reason, h.added_at, h.added_by FROM holds h "
        "LEFT JOIN records r ON r.number=h.number WHERE h.released_at IS NULL ORDER BY h.number")]


def last_disposal_as_of(cat: Catalog) -> str | None:
    return cat.one("SELECT MAX(as_of) AS d FROM disposals")["d"]


def disposals(cat: Catalog) -> list[dict]:
    return [dict(r) for r in cat.all("SELECT certificate, at, as_of, actor, count, folder, proposal, proposed_by "
                                     "FROM disposals ORDER BY at")]


def disposals_page(cat: Catalog, limit: int, offset: int) -> tuple[int, list[dict]]:
    """(total, one page of disposal certificates, newest first)."""
    total = cat.one("SELECT COUNT(*) AS n FROM disposals")["n"]
    rows = cat.all("SELECT certificate, at, as_of, actor, count, folder, proposal, proposed_by FROM disposals "
                   "ORDER BY at DESC, certificate DESC LIMIT ? OFFSET ?", int(limit), int(offset))
    return total, [dict(r) for r in rows]


def _request(row) -> dict:
    out = dict(row)
    out["records"] = json.loads(out["records"] or "[]")
    out["left_out"] = json.loads(out["left_out"] or "[]")
    out["proposer_login"] = (out["proposed_by"] or "").split(" ")[0]
    return out


def disposal_request(cat: Catalog, number: str) -> dict | None:
    """A disposal proposal (销毁审批单) with the records it lists, or None."""
    row = cat.one("SELECT * FROM disposal_requests WHERE number=?", number)
    return _request(row) if row else None


def disposal_requests(cat: Catalog) -> list[dict]:
    return [_request(r) for r in cat.all("SELECT * FROM disposal_requests ORDER BY proposed_at, number")]


def pending_disposal_numbers(cat: Catalog) -> set[str]:
    """Records listed in a proposal still awaiting its decision: not proposed twice."""
    return {r["number"] for req in disposal_requests(cat) if req["status"] == "pending" for r in req["records"]}


# ------------------------------------------------------------------ yearly volume

def year_of_form(cat: Catalog, form: str, year: int, *, monthly: bool) -> list[dict]:
    """A form's records of one year in number order (a monthly pattern restarts every month)."""
    order = "substr(record_date, 6, 2), seq, number" if monthly else "seq, number"
    return [dict(r) for r in cat.all("SELECT number, record_date, status, folder, customer, pdf_pending "
                                     f"FROM records WHERE form=? AND year=? ORDER BY {order}", form, int(year))]


def version_folders(cat: Catalog, number: str) -> list[str]:
    return [v["folder"] for v in cat.all(
        "SELECT folder FROM record_versions WHERE number=? ORDER BY version", number)]


def recent(cat: Catalog, limit: int = 10) -> list[dict]:
    """The records filed last, newest first (the search page before a query); rowid breaks a tie of
    one second in the order the journal filed them."""
    return [dict(r) for r in cat.all("SELECT number, form, status, record_date, filed_at, customer FROM records "
                                     "ORDER BY filed_at DESC, rowid DESC LIMIT ?", int(limit))]

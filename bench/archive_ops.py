"""Purge and verify at scale.

A synthetic archive of N expired records is generated through qms's own write path
(staged folders with data.yaml, a rendered .docx and a manifest; catalog rows; audit
entries; index entries) but without rendering each record anew, so 100,000 records
can be made in minutes. Then: `qms verify` against sha256sum over the same files,
purge time, and verify again.

    python -m bench.archive_ops [--records 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_session, phone_rows, print_table


def generate(ws, n: int, year: int = 2019) -> None:
    """N records of QR-SV-022-04 dated `year`, through qms's own write path (staged, logged,
    placed, projected) but without rendering each record anew; the index is built in bulk."""
    from qms.store import projection
    from qms.domain.forms import load_form
    from qms.records import record_context, template_path
    from qms.records.fieldvalues import scalar_fields
    from qms.adapters.render import RecordRenderer
    from qms.store.writer import writing
    from qms.base.yaml_source import dump_yaml
    form = load_form(ws, "QR-SV-022-04")
    rows = phone_rows(min(n, 500), year=year)
    renderer = RecordRenderer(template_path(ws, form))
    docx = renderer.render_bytes(record_context(ws, form, rows[0], number="X"))
    at = f"{year}-12-01T10:00:00+08:00"
    docs = []
    with writing(ws, purpose="bench") as w:
        for start in range(1, n + 1, 2000):
            st = w.stage()
            st._sync = False
            events = []
            for i in range(start, min(n, start + 1999) + 1):
                row = rows[i % len(rows)]
                number = f"QR-SV-022-04-{year}-{i:06d}"
                rel = f"archive/records/{form.id}/{year}/{number}/v1"
                mark = st.mark()
                st.folder(rel)
                st.write(f"{rel}/data.yaml", dump_yaml({"number": number, "form": form.id, "data": row})
                         .encode("utf-8"), sync=False)
                st.write(f"{rel}/{number}.docx", docx, sync=False)
                st.manifest(rel, now=at)
                events.append({"action": "record.file", "target": number,
                               "data": {"form": form.id, "record_date": row["call_date"], "status": "filed",
                                        "version": 1, "folder": rel, "seq": i, "sequence": f"{form.id}:{year}",
                                        "retention_until": f"{year + 5}-12-31", "customer": row["customer"],
                                        "pdf_pending": False, "fields": scalar_fields(form, row),
                                        **st.promise_since(mark)}})
                docs.append((number, row))
            w.commit(events, actor="bench", sync="all", index=False)
        # Index entries carry the record's values (what purge must remove), built straight from
        # the rows rather than re-read from 100,000 data.yaml files.
        # open_backend: whoosh in the folder, or PostgreSQL when the workspace has storage.database.
        from qms.search import IndexDoc
        from qms.search.engines import open_backend
        open_backend(ws).rebuild(
            IndexDoc(number=number, kind="record", title=form.title, form=form.id, customer=row["customer"],
                     text="\n".join(str(v) for v in row.values()),
                     date=dt.date.fromisoformat(row["call_date"]), status="filed")
            for number, row in docs)
        with w.cat.transaction():
            projection.set_indexed(w.cat, projection.head(w.cat)[0])
    os.sync()


def sha256sum_time(root: Path) -> float:
    start = time.perf_counter()
    files = subprocess.run(["find", str(root / "archive" / "records"), "-type", "f"], capture_output=True,
                           text=True, check=True).stdout.split()
    subprocess.run(["xargs", "-0", "sha256sum"], input="\0".join(files), capture_output=True, text=True, check=True)
    return time.perf_counter() - start


def qms_time(root: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("qms")), "-w", str(root), *args],
                          capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"qms {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return took


def run(records: int = 10000) -> list[list]:
    from qms.store.workspace import init_workspace
    out = []
    with tempfile.TemporaryDirectory(prefix="qms-bench-archive-") as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        admin = bench_session(ws, Path(tmp) / "config", roles=("keeper",))   # purge needs records.purge
        start = time.perf_counter()
        generate(ws, records)
        out.append([f"generate {records} records (+ index)", f"{time.perf_counter() - start:.1f} s", ""])
        subprocess.run(["sync"])
        sha256sum_time(ws.root)          # warm the page cache so both read the files from memory
        t_sum = sha256sum_time(ws.root)
        t_verify = qms_time(ws.root, "verify")
        out.append([f"sha256sum over the {records} records' files", f"{t_sum:.2f} s", "floor"])
        out.append([f"qms verify ({records} records)", f"{t_verify:.2f} s", f"{t_verify / t_sum:.2f}× sha256sum"])
        # 销毁审批: the keeper's proposal, then another person's approval, which destroys
        t_propose = qms_time(ws.root, "purge", "--as-of", "2026-11-23", "--yes")
        out.append([f"qms purge (the proposal) of {records} expired records", f"{t_propose:.1f} s", ""])
        from qms.retention.disposal import approve, listing
        from qms.identity.users import add_user, get_user
        add_user(ws, "approver", name="管理者代表", roles=["manager"], password="bench-approver-pass", actor=admin)
        start = time.perf_counter()
        approve(ws, listing(ws, status="pending")[0]["number"], user=get_user(ws, "approver"),
                password="bench-approver-pass")
        t_purge = time.perf_counter() - start
        out.append([f"qms disposal approve: {records} records destroyed", f"{t_purge:.1f} s",
                    f"{records / t_purge:.0f} records/s"])
        t_after = qms_time(ws.root, "verify")
        out.append(["qms verify after the purge", f"{t_after:.2f} s", ""])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10000)
    a = ap.parse_args()
    print_table(f"purge and verify, {a.records} records", ["measure", "time", "ratio / rate"], run(a.records))


if __name__ == "__main__":
    main()

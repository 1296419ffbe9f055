"""The README tour on PostgreSQL + S3 with Object Lock (moto) (issue 26) — its own file so that pytest-xdist runs the tours (each 1–2 minutes)
on whichever worker is free."""

from __future__ import annotations

from qms.store.s3_objects import S3Objects

from tour import check, run_tour


def test_the_readme_tour_runs_on_postgresql_and_s3(tmp_path, pg_database, s3_server):
    """The same tour with the catalog and journal in PostgreSQL and every archived file in a bucket
    with Object Lock (moto); the tour's own `qms verify` checks the bucket against the manifests."""
    bucket = s3_server.bucket_url()
    ws = check(*run_tour(tmp_path, database=pg_database,
                         init_extra=f"--objects {bucket} --s3-endpoint {s3_server.endpoint}"))
    assert not (ws / "archive" / "audit.log").exists()
    store = S3Objects(bucket, s3_server.endpoint)
    filed = [p for p in (ws / "archive").rglob("manifest.json") if ".staging" not in p.parts]
    assert filed
    for manifest in filed:
        rel = manifest.relative_to(ws).as_posix()
        assert store.get(rel) == manifest.read_bytes(), rel

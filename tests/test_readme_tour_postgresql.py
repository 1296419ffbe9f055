"""The README tour on PostgreSQL (issue 26) — its own file so that pytest-xdist runs the tours (each 1–2 minutes)
on whichever worker is free."""

from __future__ import annotations

from tour import check, run_tour


def test_the_readme_tour_runs_on_postgresql(tmp_path, pg_database):
    """The same tour on a workspace whose catalog, journal and sessions are in PostgreSQL (issue 26)."""
    ws = check(*run_tour(tmp_path, database=pg_database))
    # the catalog and the journal were the database's, not files in the working folder
    assert not (ws / "archive" / "audit.log").exists() and not (ws / "archive" / "catalog.sqlite").exists()

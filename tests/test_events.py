"""Post-commit work is a subscriber: the writer publishes what it committed, recovery what it
replays; a service (search, later OCR or KPIs) subscribes at start-up and storage never calls it."""

from __future__ import annotations

from qms.store import events
from qms.store.catalog import open_catalog
from qms.store.projection import indexed_seq, set_indexed
from qms.store.workspace import open_workspace
from qms.store.writer import catch_up
from test_records import phone_rows, write_csv


def test_a_subscriber_hears_each_commit_and_recovery_replays_what_it_missed(qms):
    heard = []

    def subscriber(ws, cat, entries):
        heard.extend((e.action, e.target) for e in entries)
    events.subscribe(subscriber)
    try:
        path = write_csv(qms.root / "calls.csv", phone_rows(2))
        numbers = [r["number"] for r in qms.json("record", "import", "QR-SV-022-04", path, "--no-pdf")]
        assert [t for a, t in heard if a == "record.file"] == numbers
        # a crash after the log and before the subscribers ran: the mark says where they stopped
        with open_catalog(qms.root / "archive" / "catalog.sqlite", create=False) as cat:
            head = indexed_seq(cat)
            with cat.transaction():
                set_indexed(cat, head - 2)
        heard.clear()
        catch_up(open_workspace(qms.root))
        assert [t for a, t in heard if a == "record.file"] == numbers     # replayed through the same subscriber
        assert qms.json("search", numbers[0])["hits"]                  # and search, subscribed at start-up
    finally:
        events._SUBSCRIBERS.remove(subscriber)


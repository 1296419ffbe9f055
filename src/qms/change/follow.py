"""A revision submitted under a change request (`doc submit --cr`) is linked to it in the same batch."""

from __future__ import annotations



def follow(w, events: list[dict]) -> list[dict]:
    return [{"action": "cr.linked", "target": e["data"]["cr"],
             "data": {"number": e["target"], "revision": e["data"]["revision"]}}
            for e in events if e.get("action") == "doc.submit" and e["data"].get("cr")]


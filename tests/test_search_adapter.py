"""The whoosh adapter (qms.search._whoosh): the whoosh version qms is built against, the whoosh
internals it subclasses or calls, and a tiny index written with our codec and read back.

A whoosh upgrade that renames or reshapes any of these fails here, by name, before any search
test starts answering wrongly.
"""

from __future__ import annotations

import datetime

import pytest

from qms.search import IndexDoc, SearchIndex

whoosh = pytest.importorskip("whoosh")


def test_the_pinned_whoosh_version():
    # Bumping it means re-reading every override in the _whoosh package against the new whoosh source.
    assert whoosh.versionstring() == "2.7.5"


@pytest.mark.parametrize("owner, names", [
    ("whoosh.codec.whoosh3.W3PostingsWriter",
     ["_ids", "_weights", "_values", "_blocklimit", "_maxweight", "_minlength", "_maxlength", "_write_block",
      "_mini_ids", "_mini_values", "_new_block", "_terminfo", "_postfile", "_blockcount", "_compression"]),
    ("whoosh.codec.whoosh3.W3LeafMatcher", ["_read_data", "_goto", "_data", "_ids", "_i", "_maxid",
                                           "_lastblock", "_atend", "_nextoffset", "_byteids"]),
    ("whoosh.writing.PostingPool", ["_write_run", "_read_run", "_open_run", "_remove_run", "current",
                                    "currentsize", "limit", "fieldnames", "save", "items"]),
    ("whoosh.writing.SegmentWriter", ["_finalize_segment", "_close_segment", "_commit_toc", "_finish",
                                      "_tempstorage", "newsegment", "pool"]),
    ("whoosh.reading.SegmentReader", ["_perdoc"]),
])
def test_the_whoosh_internals_the_adapter_relies_on_exist(owner, names):
    module, _, cls = owner.rpartition(".")
    klass = getattr(__import__(module, fromlist=[cls]), cls)
    # instance attributes are set in __init__: look for them in its source as well
    import inspect
    source = inspect.getsource(klass)
    missing = [n for n in names if not hasattr(klass, n) and f"self.{n}" not in source]
    assert not missing, f"{owner} lacks {missing}"


def _doc(i: int) -> IndexDoc:
    return IndexDoc(number=f"QR-T-{i:04d}", kind="record", form="QR-T", title="试验记录",
                    text=f"第{i:03d}号 型号 XK-{i % 7}00 空气压缩机排气温度正常", customer="华东电力",
                    people=["赵建国"], date=datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 300),
                    status="filed")


def test_a_tiny_index_round_trips_through_our_codec(tmp_path):
    ix = SearchIndex(tmp_path / "index")
    ix.add([_doc(i) for i in range(5)])
    # positions (our compact encoding) decode right: a sequence and a phrase match
    assert {h.number for h in ix.search("空气压缩机排气", limit=50)} == {f"QR-T-{i:04d}" for i in range(5)}
    hit = ix.search('"型号 XK-300"')[0]
    assert hit.number == "QR-T-0003" and ("型号 XK-300", True) in hit.highlight   # the phrase, as one span
    # stored fields and the key column read back
    assert (hit.kind, hit.form, hit.title, hit.status, hit.date) == ("record", "QR-T", "试验记录", "filed",
                                                                      "2026-01-04")
    assert ix.numbers() == {f"QR-T-{i:04d}": "filed" for i in range(5)}
    ix.delete(["QR-T-0003"])
    assert ix.search('"型号 XK-300"') == []
    ix.close()


def test_a_parallel_rebuild_commits_the_segments_of_its_workers(tmp_path):
    ix = SearchIndex(tmp_path / "index")
    assert ix.rebuild(_doc(i) for i in range(250)) == 250        # two workers (2 cores) or one
    assert ix.count("空气压缩机") == 250
    newest = ix.search("空气压缩机", limit=1)[0]
    assert newest.date == max(_doc(i).date for i in range(250)).isoformat()   # newest first
    ix.close()
    again = SearchIndex(tmp_path / "index")                                  # reopened from disk
    assert again.search_page("华东电力", limit=3, offset=1)[1] == 250
    again.close()


def test_an_index_written_before_the_search_package_still_opens(tmp_path, monkeypatch):
    # Its TOC pickles the field classes and the codec as qms.index.*: write one so, then open it afresh.
    from qms.search import _whoosh
    # (the form-field classes came later, with index version 3; they stand in for the old names here)
    for name in ("CjkTokenizer", "_GramField", "_UnigramField", "_GramPositions", "_GramFrequency", "_Codec",
                 "_FormField", "_FormUnigramField", "_FieldGramPositions", "_FieldGramFrequency"):
        monkeypatch.setattr(getattr(_whoosh, name), "__module__", "qms.index")
    ix = SearchIndex(tmp_path / "index")
    ix.add([_doc(i) for i in range(3)])
    ix.close()
    toc = next((tmp_path / "index").glob("_MAIN_*.toc")).read_bytes()
    assert b"qms.index" in toc and b"qms.search" not in toc
    monkeypatch.undo()
    again = SearchIndex(tmp_path / "index")
    assert [h.number for h in again.search('"型号 XK-200"')] == ["QR-T-0002"]
    again.close()


def test_a_merge_reads_the_same_postings_as_whoosh(tmp_path):
    # _MergeReader.iter_postings reads blocks straight from the file; whoosh's reads through a
    # matcher per term. Same tuples, same order: segments of one document, one with a deleted
    # document, and one with terms of more than one block (> 128 postings).
    from whoosh.reading import SegmentReader
    from qms.search import _whoosh
    from qms.search._whoosh import merging
    ix = SearchIndex(tmp_path / "index")
    ix.rebuild(_doc(i) for i in range(300))
    for i in range(300, 303):
        ix.add([IndexDoc(**{**_doc(i).__dict__, "fields": {"result": [f"第{i}次 正常"]}})])
    ix.delete(["QR-T-0301", "QR-T-0005"])
    raw = _whoosh.open_dir(tmp_path / "index")
    segments = raw._segments()
    assert len(segments) >= 2 and any(s.has_deletions() for s in segments)
    assert any(s.doc_count_all() > 128 for s in segments)
    for seg in segments:
        theirs, ours = SegmentReader(raw.storage, raw.schema, seg), merging._MergeReader(raw.storage, raw.schema, seg)
        expected = list(theirs.iter_postings())
        assert expected and list(ours.iter_postings()) == expected
        theirs.close()
        ours.close()
    raw.close()
    ix.close()



def _segment_files(path) -> list[dict[str, bytes]]:
    """The term table and postings of each segment of the index at `path`, in the TOC's order."""
    from qms.search import _whoosh
    raw = _whoosh.open_dir(path)
    out = []
    for seg in raw._segments():
        storage = seg.open_compound_file(raw.storage) if seg.is_compound() else raw.storage
        files = {"docs": seg.doc_count_all(), "deleted": sorted(seg.deleted_docs() or ())}
        for ext in (".trm", ".pst"):
            f = seg.open_file(storage, ext)
            files[ext] = bytes(f.read())
            f.close()
        if storage is not raw.storage:
            storage.close()
        out.append(files)
    raw.close()
    return out


def test_terms_are_written_byte_for_byte_as_whoosh_writes_them(tmp_path, monkeypatch):
    # _FieldWriter writes a term of one block in one go (a filing's segment is all such terms);
    # whoosh's own add_postings goes term by term through start_term/add/finish_term. The files
    # must be the same bytes: one document, and 300 with terms of three blocks, form fields, and
    # weights, lengths and positions that differ between documents.
    from whoosh.codec.base import FieldWriter
    from qms.search._whoosh import postings
    batches = {"one": [_doc(7)],
               "many": [IndexDoc(**{**_doc(i).__dict__, "text": _doc(i).text + "排气" * (i % 5),
                                    "fields": {"result": [f"第{i % 40}次 正常"], "note": ["压缩机" * (i % 3 + 1)]}})
                        for i in range(300)]}
    for name, docs in batches.items():
        ours = SearchIndex(tmp_path / f"ours-{name}")
        ours.add(docs)
        ours.close()
        monkeypatch.setattr(postings._FieldWriter, "add_postings", FieldWriter.add_postings)
        theirs = SearchIndex(tmp_path / f"theirs-{name}")
        theirs.add(docs)
        theirs.close()
        monkeypatch.undo()
        (mine,), (stock,) = _segment_files(tmp_path / f"ours-{name}"), _segment_files(tmp_path / f"theirs-{name}")
        assert len(mine[".pst"]) > 1000 and mine == stock, name


def test_a_merge_puts_in_the_pool_what_whoosh_would(tmp_path, monkeypatch):
    # A merge's reader renumbers its postings as it reads them and the writer's pool takes them as
    # one list (renumbered_postings, _Pool.extend); whoosh's path is a generator and a pool.add per
    # posting. One-by-one additions (merged four at a time, one with a document deleted before its
    # segment is merged) must leave the same segments, byte for byte.
    from whoosh.writing import SegmentWriter
    from qms.search._whoosh import postings

    def fill(path):
        ix = SearchIndex(path)
        for i in range(22):
            ix.add([IndexDoc(**{**_doc(i).__dict__, "fields": {"result": [f"第{i}次 正常"]}})])
            if i == 9:
                ix.delete(["QR-T-0008"])
        ix.close()
        return _segment_files(path)

    ours = fill(tmp_path / "ours")
    monkeypatch.setattr(postings._SegmentWriter, "add_postings_to_pool", SegmentWriter.add_postings_to_pool)
    theirs = fill(tmp_path / "theirs")
    assert len(ours) > 1 and sum(s["docs"] for s in ours) == 21 and ours == theirs    # the deleted one merged away


class _Seg:
    def __init__(self, sid, n, live=None):
        self.sid, self.n, self.live = sid, n, n if live is None else live

    def segment_id(self):
        return self.sid

    def doc_count_all(self):
        return self.n

    def doc_count(self):
        return self.live


def test_segments_of_one_size_class_are_merged_four_at_a_time():
    from qms.search._whoosh.merging import _to_merge
    ids = lambda segs: [s.segment_id() for s in segs]          # noqa: E731
    big = _Seg("big", 100_000)
    assert _to_merge([big, _Seg("a", 1), _Seg("b", 1), _Seg("c", 3)]) == []             # three of class 0
    assert ids(_to_merge([big, _Seg("a", 1), _Seg("b", 1), _Seg("c", 3), _Seg("d", 2)])) == ["a", "b", "c", "d"]
    # the smallest full class first; a larger one waits
    segs = [_Seg(f"m{i}", 5) for i in range(4)] + [_Seg(f"s{i}", 1) for i in range(4)]
    assert ids(_to_merge(segs)) == ["s0", "s1", "s2", "s3"]
    assert ids(_to_merge(segs[:4] + [_Seg("s", 1)])) == ["m0", "m1", "m2", "m3"]
    # the two big segments of a parallel rebuild stay as they are; a wholly deleted one is not counted
    assert _to_merge([_Seg("r1", 50_000), _Seg("r2", 50_000)]) == []
    assert _to_merge([_Seg("a", 1), _Seg("b", 1), _Seg("c", 1), _Seg("gone", 1, live=0)]) == []


def test_one_by_one_filing_keeps_few_segments_and_finds_every_document(tmp_path):
    from qms.search import _whoosh
    ix = SearchIndex(tmp_path / "index")
    for i in range(60):
        ix.add([_doc(i)])
    raw = _whoosh.open_dir(tmp_path / "index")
    counts = [s.doc_count_all() for s in raw._segments()]
    raw.close()
    assert sum(counts) == 60 and len(counts) <= 3 * (_whoosh.MERGE_FACTOR - 1) + 1, counts
    assert ix.count("空气压缩机") == 60
    assert ix.numbers() == {f"QR-T-{i:04d}": "filed" for i in range(60)}
    ix.close()

"""The query language: whoosh's (AND, OR, NOT, ANDNOT, +/-, quotes, parentheses, field:value for
number/form/kind/status/title/customer/department/people/text, Chinese aliases such as 客户: and
编号:, every form field by label or name (房号：1502 — see _rewrite), dates written any way,
XK-2* wildcards) with our own term and phrase construction, and helpers that read a
parsed query tree (what to highlight, which numbers were typed, the title variant)."""

from __future__ import annotations

import re
import threading
from typing import Iterator

from ..base.errors import InvalidInput, QmsError
from ._whoosh import MAX_FORM_FIELDS, QueryParser, parser_schema, plugins, query, syntax
from .analysis import (CODE, DATE_RE, FIELD_MARK, HAS_CJK, RUN, TOKEN_RE, chunks, code_parts, date_term,
                       gram, normalize, run_words)
from .matching import SeqAnd, SeqQuery, seq_clause
from .schema import ALIASES, FORM_FIELD, ID_FIELDS, KIND_ALIASES, TEXT_FIELDS, FieldMap

# ---------------------------------------------------------------------------
# Query parser: whoosh's language (AND/OR/NOT, quotes, field:value, grouping)
# with our own term and phrase construction.

class _PhrasePlugin(plugins.PhrasePlugin):
    class QmsPhraseNode(syntax.TextNode):
        def __init__(self, text, textstartchar, slop=1):
            syntax.TextNode.__init__(self, text)
            self.textstartchar = textstartchar
            self.slop = slop

        def r(self):
            return f"QmsPhrase {self.text!r}"

        def query(self, parser):
            fieldname = self.fieldname or parser.fieldname
            return syntax.attach(parser.phrase_query(fieldname, self.text, self.boost), self)

    class QmsPhraseTagger(plugins.RegexTagger):
        def create(self, parser, match):
            slop = match.group("slop")
            return _PhrasePlugin.QmsPhraseNode(match.group("text"), match.start("text"),
                                              int(slop) if slop else 1)

    def taggers(self, parser):
        return [(self.QmsPhraseTagger(self.expr), 0)]


class _Parser(QueryParser):
    def __init__(self):
        pins = [plugins.SingleQuotePlugin(), plugins.FieldsPlugin(),
                plugins.FieldAliasPlugin(ALIASES), plugins.WildcardPlugin(),
                _PhrasePlugin(), plugins.GroupPlugin(), plugins.OperatorsPlugin(),
                plugins.PlusMinusPlugin(r"(?:^|(?<=[\s(]))\+(?=\S)", r"(?:^|(?<=[\s(]))-(?=\S)"),
                plugins.BoostPlugin(), plugins.EveryPlugin()]
        super().__init__("text", parser_schema(), plugins=pins)
        # The form fields named in the query being parsed: ffN -> the field names it means
        # (one label can be a field of several forms). Set by parse_query.
        self.form_fields: list[tuple[str, ...]] = []

    # -- building blocks -------------------------------------------------
    @staticmethod
    def run_query(fieldname: str, run: str, boost: float = 1.0, prefix: str = "") -> query.Query:
        n = len(run)
        if n == 1:
            q = query.Term(fieldname + "1", prefix + run, boost=boost)
        elif n == 2:
            q = query.Term(fieldname, prefix + gram(run), boost=boost)
        else:
            # A covering subset of the bigrams is enough: offsets 0,2,4,... and n-2.
            offs = list(range(0, n - 1, 2))
            if offs[-1] != n - 2:
                offs.append(n - 2)
            return SeqQuery(fieldname, [(prefix + gram(run[i:i + 2]), i) for i in offs], boost=boost,
                            needle=run)
        return q

    def _targets(self, fieldname: str) -> list[tuple[str, str]]:
        """(index field, term prefix) pairs a query field stands for."""
        if fieldname in TEXT_FIELDS:
            return [(fieldname, "")]
        m = _FORM_FIELD.fullmatch(fieldname)
        if m and int(m.group(1)) < len(self.form_fields):
            return [(FORM_FIELD, name + FIELD_MARK) for name in self.form_fields[int(m.group(1))]]
        raise InvalidInput(f"unknown search field '{fieldname}'")

    @staticmethod
    def _any(qs: list) -> query.Query | None:
        qs = [q for q in qs if q is not None]
        return None if not qs else qs[0] if len(qs) == 1 else query.Or(qs)

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True,
                   removestops=True):
        fieldname = fieldname or self.fieldname
        if fieldname in ID_FIELDS:
            value = normalize(text.strip())
            if fieldname == "kind":
                value = KIND_ALIASES.get(value, value)
            if termclass is query.Prefix:
                return query.Prefix(fieldname, value, boost=boost)
            if termclass is not query.Term:
                return query.Wildcard(fieldname, value, boost=boost)
            return query.Term(fieldname, value, boost=boost)
        return self._any([self._value_query(f, prefix, text, termclass, boost)
                          for f, prefix in self._targets(fieldname)])

    def _value_query(self, fieldname, prefix, text, termclass, boost):
        wild = termclass is not query.Term
        norm = normalize(text).strip()
        if wild:
            if not norm.strip("*?"):
                return query.Every()
            if not HAS_CJK.search(norm) and TOKEN_RE.fullmatch(norm.replace("*", "a").replace("?", "a")):
                # ASCII wildcard over whole-word tokens (XK-2*, qp-??-015).
                pattern = norm + "*" if termclass is query.Prefix else norm
                return query.Wildcard(fieldname, prefix + pattern, boost=boost)
            # Chinese already has substring semantics: a * adds nothing.
            norm = norm.replace("*", " ").replace("?", " ")
        clauses: list[query.Query] = []
        numbered = fieldname == "text" and not prefix
        for kind, t, _start, inner in chunks(norm):
            if kind == RUN:
                q = self.run_query(fieldname, t, boost, prefix)
                if run_words(kind, t, inner) and len(t) != 2:
                    # 1502 is also a whole word where the text has it as a code's part
                    # (022 of QR-SV-022-01, 3729 of 139-5140-3729)
                    q = query.Or([query.Term(fieldname, prefix + t, boost=boost), q])
            else:
                q = query.Term(fieldname, prefix + t, boost=boost)
            if numbered and (kind != RUN or run_words(kind, t, inner)) and code_parts(t):
                # A code typed alone may be a document/record number: rank the
                # document itself first.
                q = query.Or([q, query.Term("number", t, boost=boost * 20)])
            clauses.append(q)
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else query.And(clauses)

    def phrase_query(self, fieldname, text, boost=1.0):
        if fieldname in ID_FIELDS:
            return self.term_query(fieldname, text, query.Term, boost)
        return self._any([self._phrase(f, prefix, text, boost) for f, prefix in self._targets(fieldname)])

    def _phrase(self, fieldname, prefix, text, boost):
        # The tokens of a quoted phrase must follow each other, with only spaces
        # or punctuation between them.  Chinese is written without spaces, so a
        # space next to a Chinese run may also stand for nothing at all:
        # "服务 工程师" finds 服务工程师 as well as 服务，工程师 (one variant each).
        norm = normalize(text)
        toks = chunks(norm)
        if not toks:
            return None
        optional = [i for i in range(1, len(toks))
                    if toks[i][0] != CODE and toks[i - 1][0] != CODE
                    and (HAS_CJK.search(toks[i][1]) or HAS_CJK.search(toks[i - 1][1]))
                    and not norm[toks[i - 1][2] + len(toks[i - 1][1]):toks[i][2]].strip()][:3]
        variants = []
        for mask in range(1 << len(optional)):
            joined = {optional[k] for k in range(len(optional)) if mask >> k & 1}
            pieces: list[list] = []
            for i, (kind, t, _start, _inner) in enumerate(toks):
                if i in joined:
                    pieces[-1] = [RUN, pieces[-1][1] + t]
                else:
                    pieces.append([kind, t])
            q = self._sequence(fieldname, prefix, pieces, boost, text)
            if q not in variants:
                variants.append(q)
        return variants[0] if len(variants) == 1 else query.Or(variants)

    def _sequence(self, fieldname, prefix, pieces, boost, needle):
        if len(pieces) == 1:
            return self._value_query(fieldname, prefix, pieces[0][1], query.Term, boost)   # a substring
        items: list[tuple[str, int]] = []
        pos = 0
        for kind, tok in pieces:
            if kind == RUN:
                n = len(tok)
                if n == 1:
                    # between other tokens a single character must start (after
                    # a token) or end (before one) a run: the edge unigrams
                    items.append((prefix + tok, pos))
                else:
                    items.extend((prefix + gram(tok[k:k + 2]), pos + k) for k in range(n - 1))
                pos += n + 1
            else:
                items.append((prefix + tok, pos))
                pos += 1
        if len(items) == 1:
            return query.Term(fieldname, items[0][0], boost=boost)
        return SeqQuery(fieldname, items, boost=boost, needle=needle)


_LOCAL = threading.local()     # one parser a thread: form_fields is per parse


def _parser() -> _Parser:
    p = getattr(_LOCAL, "parser", None)
    if p is None:
        p = _LOCAL.parser = _Parser()
    return p


_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
# Field names and aliases a user can type before a colon.
_KNOWN_FIELDS = set(TEXT_FIELDS) | set(ID_FIELDS) | {a for v in ALIASES.values() for a in v}
_FORM_FIELD = re.compile(r"ff(\d+)")      # how a form field named in a query reaches the parser


def _check_syntax(qstring: str) -> None:
    """Reject what whoosh would silently reinterpret, with a message a user can act on."""
    if qstring.count('"') % 2:
        raise InvalidInput(f"unbalanced double quote in search query: {qstring}")
    depth = 0
    outside = re.sub(r'"[^"]*"', "q", qstring)     # a quoted phrase is a value: customer:"华东 电力"
    for ch in outside:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise InvalidInput(f"unbalanced ')' in search query: {qstring}")
    if depth:
        raise InvalidInput(f"unbalanced '(' in search query: {qstring}")
    words = re.findall(r"\S+", re.sub(r"[()]", " ", outside))
    if words and words[-1] in _OPERATORS:
        raise InvalidInput(f"search query ends with operator {words[-1]}: {qstring}")
    if words and words[0] in _OPERATORS - {"NOT"}:
        raise InvalidInput(f"search query starts with operator {words[0]}: {qstring}")
    for a, b in zip(words, words[1:]):
        if a in _OPERATORS and b in _OPERATORS - {"NOT"}:
            raise InvalidInput(f"operators {a} {b} in a row in search query: {qstring}")
    for m in re.finditer(r"(?:^|(?<=[\s(]))([A-Za-z]\w*|[^\W\d]\w*):(?=\s*(?:\)|$))",
                         outside):
        if m.group(1) in _KNOWN_FIELDS or _FORM_FIELD.fullmatch(m.group(1)):
            raise InvalidInput(f"field '{m.group(1)}:' has no value in search query: {qstring}")


_FIELD_KEY = re.compile(r"(?:^|(?<=[\s(+\-]))([^\s():：\"']+)([:：])")


def _rewrite(qstring: str, fields: FieldMap, form_fields: list) -> str:
    """Outside quotes: 客户：华东电力 as a Chinese keyboard types it means 客户:华东电力; a form's
    field named by label or name (房号：1502, room:1502) becomes ffN: with form_fields[N] the
    field names it means; a name no form has is an error, not zero hits; dates are written
    2026-11-05 (the term every way of writing a date is indexed under)."""
    out = []
    parts = re.split(r'("[^"]*")', qstring)
    for i, piece in enumerate(parts):
        if i % 2:
            out.append(piece)
            continue
        piece = DATE_RE.sub(lambda m: date_term(m) or m.group(0), piece)
        tail = "".join(parts[i + 1:])        # a value may be a quoted phrase: 房号："3栋 2单元"
        out.append(_FIELD_KEY.sub(lambda m: _field_key(m, piece[m.end():] + tail, fields, form_fields),
                                  piece))
    return "".join(out)


def _field_key(m: re.Match, rest: str, fields: FieldMap, form_fields: list) -> str:
    key, colon = m.group(1), m.group(2)
    if key in _KNOWN_FIELDS:
        return key + ":"
    names = fields.names(key)
    if names:
        if not rest[:1].strip() or rest[:1] == ")":
            raise InvalidInput(f"field '{key}' has no value in search query: {key}{colon}")
        if names not in form_fields:
            if len(form_fields) >= MAX_FORM_FIELDS:
                raise InvalidInput(f"a search query names at most {MAX_FORM_FIELDS} fields")
            form_fields.append(names)
        return f"ff{form_fields.index(names)}:"
    if (rest[:1].strip() and not rest.startswith("//") and re.fullmatch(r"[^\W\d]+", key)
            and key not in _OPERATORS):
        raise InvalidInput(fields.unknown(key))
    return m.group(0)


def parse_query(qstring: str, fields: FieldMap | None = None) -> query.Query | None:
    """Parse a user query; None when it holds nothing searchable. A query of negations only
    (`NOT 华东`, `-培训`) means everything except those. `fields`: the forms' fields a query may
    name (label or name before a colon)."""
    parser = _parser()
    parser.form_fields = []
    qstring = _rewrite(qstring, fields or FieldMap(), parser.form_fields)
    _check_syntax(qstring)
    try:
        q = parser.parse(qstring)
    except QmsError:
        raise
    except Exception as e:  # whoosh parser internals: report, don't trace back
        raise InvalidInput(f"cannot parse search query '{qstring}': {e}") from None
    errors = [n for n in _walk(q) if getattr(n, "error", None)]
    if errors:
        raise InvalidInput(f"cannot parse search query '{qstring}': {errors[0].error}")
    if q is query.NullQuery:
        return None
    if not _has_positive(q):
        q = query.And([query.Every(), q])
    return _seq_ands(_without_andnot(q))


def _without_andnot(q):
    # whoosh-reloaded's AndNotMatcher returns its first positive document even
    # when the negative list holds it (it only re-checks when both lists start on
    # the same document): "维修 -培训" leaked.  And(a, Not(b)) is matched right.
    if isinstance(q, query.AndNot):
        return query.And([_without_andnot(q.a), query.Not(_without_andnot(q.b))])
    if list(q.children()):
        return q.apply(_without_andnot)
    return q


def _seq_ands(q):
    # an AND of sequence queries and terms is matched by one leapfrog over all their terms (matching.SeqAnd)
    if list(q.children()):
        q = q.apply(_seq_ands)
    if type(q) is query.And and len(q.subqueries) > 1 and all(seq_clause(c) for c in q.subqueries):
        return SeqAnd(q.subqueries, boost=q.boost)
    return q


def _walk(q) -> Iterator[query.Query]:
    yield q
    for c in q.children():
        yield from _walk(c)


def _has_positive(q) -> bool:
    if q is query.NullQuery:
        return False
    if isinstance(q, query.Not):
        return False
    if isinstance(q, query.AndNot):
        return _has_positive(q.a)
    kids = list(q.children())
    if kids:
        return any(_has_positive(c) for c in kids)
    return True


def _positive_leaves(q):
    """The query's clauses that are not negated, depth first (NOT and AndNot's b are skipped)."""
    if isinstance(q, query.Not):
        return
    if isinstance(q, query.AndNot):
        yield from _positive_leaves(q.a)
        return
    yield q
    for c in q.children():
        yield from _positive_leaves(c)


def needles(q) -> list[str]:
    """Strings to highlight: the text of every positive clause on a text field."""
    out: list[str] = []
    text_fields = {f + end for f in (*TEXT_FIELDS, FORM_FIELD) for end in ("", "1")}
    skip: set[int] = set()
    for node in _positive_leaves(q):
        if id(node) in skip or getattr(node, "fieldname", None) not in text_fields:
            continue
        skip.update(id(c) for c in _positive_leaves(node) if c is not node)   # its parts are not needles
        if isinstance(node, SeqQuery):
            out.append(node.needle)
        elif isinstance(node, query.Prefix):
            out.append(node.text.rpartition(FIELD_MARK)[2] + "*")
        elif isinstance(node, (query.Term, query.Wildcard)):
            out.append(node.text.rpartition(FIELD_MARK)[2])
    return out


# ---------------------------------------------------------------------------
# What ranking reads from a parsed query

def positive_terms(q, fieldname: str) -> list[str]:
    """Texts of the non-negated terms of `fieldname` in the query."""
    return [n.text for n in _positive_leaves(q) if isinstance(n, query.Term) and n.fieldname == fieldname]


_TITLE_MAP = {"text": "title", "text1": "title1"}


def title_query(q):
    """The query with its positive body clauses moved to the title (None if none)."""
    changed = False

    def rw(node):
        nonlocal changed
        if isinstance(node, query.Not):
            return node
        if isinstance(node, query.AndNot):
            return query.AndNot(rw(node.a), node.b)
        if isinstance(node, query.AndMaybe):
            return query.AndMaybe(rw(node.a), rw(node.b))
        if isinstance(node, (query.And, query.Or)):
            return node.__class__([rw(c) for c in node.subqueries], boost=node.boost)
        fieldname = getattr(node, "fieldname", None)
        if fieldname in _TITLE_MAP:
            changed = True
            if isinstance(node, SeqQuery):
                return node.with_field(_TITLE_MAP[fieldname])
            if isinstance(node, (query.Term, query.Prefix, query.Wildcard)):
                return node.__class__(_TITLE_MAP[fieldname], node.text, boost=node.boost)
        return node

    out = rw(q)
    return out if changed else None


# ---------------------------------------------------------------------------

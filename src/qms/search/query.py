"""The query language: whoosh's (AND, OR, NOT, ANDNOT, +/-, quotes, parentheses, field:value for
number/form/kind/status/title/customer/department/people/text, Chinese aliases such as 客户: and
编号:, XK-2* wildcards) with our own term and phrase construction, and helpers that read a
parsed query tree (what to highlight, which numbers were typed, the title variant)."""

from __future__ import annotations

import re
from typing import Iterator

from ..errors import InvalidInput, QmsError
from ._whoosh import QueryParser, parser_schema, plugins, query, syntax
from .analysis import HAS_CJK, TOKEN_RE, code_parts, normalize
from .matching import SeqQuery
from .schema import ALIASES, ID_FIELDS, KIND_ALIASES, TEXT_FIELDS

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

    # -- building blocks -------------------------------------------------
    @staticmethod
    def run_query(fieldname: str, run: str, boost: float = 1.0) -> query.Query:
        n = len(run)
        if n == 1:
            q = query.Term(fieldname + "1", run, boost=boost)
        elif n == 2:
            q = query.Term(fieldname, run, boost=boost)
        else:
            # A covering subset of the bigrams is enough: offsets 0,2,4,... and n-2.
            offs = list(range(0, n - 1, 2))
            if offs[-1] != n - 2:
                offs.append(n - 2)
            return SeqQuery(fieldname, [(run[i:i + 2], i) for i in offs], boost=boost,
                            needle=run)
        return q

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True,
                   removestops=True):
        fieldname = fieldname or self.fieldname
        wild = termclass is not query.Term
        if fieldname in ID_FIELDS:
            value = normalize(text.strip())
            if fieldname == "kind":
                value = KIND_ALIASES.get(value, value)
            if termclass is query.Prefix:
                return query.Prefix(fieldname, value, boost=boost)
            if wild:
                return query.Wildcard(fieldname, value, boost=boost)
            return query.Term(fieldname, value, boost=boost)
        if fieldname not in TEXT_FIELDS:
            raise InvalidInput(f"unknown search field '{fieldname}'")
        norm = normalize(text).strip()
        if wild:
            if not norm.strip("*?"):
                return query.Every()
            if not HAS_CJK.search(norm) and TOKEN_RE.fullmatch(norm.replace("*", "a").replace("?", "a")):
                # ASCII wildcard over whole-word tokens (XK-2*, qp-??-015).
                pattern = norm + "*" if termclass is query.Prefix else norm
                return query.Wildcard(fieldname, pattern, boost=boost)
            # Chinese already has substring semantics: a * adds nothing.
            norm = norm.replace("*", " ").replace("?", " ")
        clauses: list[query.Query] = []
        for m in TOKEN_RE.finditer(norm):
            run, word = m.group(1), m.group(2)
            if run:
                clauses.append(self.run_query(fieldname, run, boost))
            else:
                q = query.Term(fieldname, word, boost=boost)
                if fieldname == "text" and code_parts(word):
                    # A code typed alone may be a document/record number: rank the
                    # document itself first.
                    q = query.Or([q, query.Term("number", word, boost=boost * 20)])
                clauses.append(q)
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else query.And(clauses)

    def phrase_query(self, fieldname, text, boost=1.0):
        if fieldname in ID_FIELDS:
            return self.term_query(fieldname, text, query.Term, boost)
        if fieldname not in TEXT_FIELDS:
            raise InvalidInput(f"unknown search field '{fieldname}'")
        # The tokens of a quoted phrase must follow each other, with only spaces
        # or punctuation between them.  Chinese is written without spaces, so a
        # space between two Chinese runs may also stand for nothing at all:
        # "服务 工程师" finds 服务工程师 as well as 服务，工程师 (one variant each).
        norm = normalize(text)
        toks = list(TOKEN_RE.finditer(norm))
        if not toks:
            return None
        optional = [i for i in range(1, len(toks))
                    if toks[i].group(1) and toks[i - 1].group(1)
                    and not norm[toks[i - 1].end():toks[i].start()].strip()][:3]
        variants = []
        for mask in range(1 << len(optional)):
            joined = {optional[k] for k in range(len(optional)) if mask >> k & 1}
            pieces: list[list] = []
            for i, m in enumerate(toks):
                if i in joined:
                    pieces[-1][1] += m.group(1)
                else:
                    pieces.append([bool(m.group(1)), m.group(0)])
            q = self._sequence(fieldname, pieces, boost, text)
            if q not in variants:
                variants.append(q)
        return variants[0] if len(variants) == 1 else query.Or(variants)

    def _sequence(self, fieldname, pieces, boost, needle):
        if len(pieces) == 1 and pieces[0][0]:
            return self.run_query(fieldname, pieces[0][1], boost)   # a substring
        items: list[tuple[str, int]] = []
        pos = 0
        for is_run, tok in pieces:
            if is_run:
                n = len(tok)
                if n == 1:
                    # between other tokens a single character must start (after
                    # a token) or end (before one) a run: the edge unigrams
                    items.append((tok, pos))
                else:
                    items.extend((tok[k:k + 2], pos + k) for k in range(n - 1))
                pos += n + 1
            else:
                items.append((tok, pos))
                pos += 1
        if len(items) == 1:
            return query.Term(fieldname, items[0][0], boost=boost)
        return SeqQuery(fieldname, items, boost=boost, needle=needle)


_PARSER: _Parser | None = None


def _parser() -> _Parser:
    global _PARSER
    if _PARSER is None:
        _PARSER = _Parser()
    return _PARSER


_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
# Field names and aliases a user can type before a colon.
_KNOWN_FIELDS = set(TEXT_FIELDS) | set(ID_FIELDS) | {a for v in ALIASES.values() for a in v}


def _check_syntax(qstring: str) -> None:
    """Reject what whoosh would silently reinterpret, with a message a user can act on."""
    if qstring.count('"') % 2:
        raise InvalidInput(f"unbalanced double quote in search query: {qstring}")
    depth = 0
    outside = re.sub(r'"[^"]*"', " ", qstring)
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
        if m.group(1) in _KNOWN_FIELDS:
            raise InvalidInput(f"field '{m.group(1)}:' has no value in search query: {qstring}")


def _field_colons(qstring: str) -> str:
    """客户：华东电力 as a Chinese keyboard types it means 客户:华东电力 (only after a field name)."""
    return re.sub(r"(?:^|(?<=[\s(+-]))([^\s():：]+)：",
                  lambda m: m.group(1) + (":" if m.group(1) in _KNOWN_FIELDS else "："), qstring)


def parse_query(qstring: str) -> query.Query | None:
    """Parse a user query; None when it holds nothing searchable. A query of negations only
    (`NOT 华东`, `-培训`) means everything except those."""
    qstring = _field_colons(qstring)
    _check_syntax(qstring)
    try:
        q = _parser().parse(qstring)
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
    return _without_andnot(q)


def _without_andnot(q):
    # whoosh-reloaded's AndNotMatcher returns its first positive document even
    # when the negative list holds it (it only re-checks when both lists start on
    # the same document): "维修 -培训" leaked.  And(a, Not(b)) is matched right.
    if isinstance(q, query.AndNot):
        return query.And([_without_andnot(q.a), query.Not(_without_andnot(q.b))])
    if list(q.children()):
        return q.apply(_without_andnot)
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
    text_fields = set(TEXT_FIELDS) | {f + "1" for f in TEXT_FIELDS}
    skip: set[int] = set()
    for node in _positive_leaves(q):
        if id(node) in skip or getattr(node, "fieldname", None) not in text_fields:
            continue
        skip.update(id(c) for c in _positive_leaves(node) if c is not node)   # its parts are not needles
        if isinstance(node, SeqQuery):
            out.append(node.needle)
        elif isinstance(node, query.Prefix):
            out.append(node.text + "*")
        elif isinstance(node, (query.Term, query.Wildcard)):
            out.append(node.text)
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

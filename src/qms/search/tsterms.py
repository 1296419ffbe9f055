"""The PostgreSQL side of the analysis, pure Python: an IndexDoc as a `tsvector` literal with explicit
positions, and a parsed query (query.parse_query, the same tree whoosh runs) as a `tsquery` literal.

Nothing here lets PostgreSQL's text parser see the text (it would cut Chinese wrongly): the terms
are analysis.py's, the very terms the whoosh fields hold, and every lexeme is quoted.

A lexeme is `CODE|TERM`: a short code of the whoosh field (T title, C customer, …, U the body's
unigrams; see CODES) and its term, so `客户:华东` and a bare 华东 stay apart; the body's terms
(the most numerous) go bare. A Chinese character alone is found as a prefix of the field's
positional terms (every character of a run starts a bigram or ends the run), so only the other
unigrams (digits, letters inside a run) are stored. A run of n characters
is a phrase over its bigrams at their offsets (`'text|服务' <-> 'text|务过' <-> 'text|过程'`,
a covering subset with `<2>`): exact substring semantics, as in whoosh's SeqQuery.

Windows: PostgreSQL keeps positions 1…16383 and at most 256 positions per lexeme (more are
silently dropped, and a phrase then misses). A long field is cut into overlapping windows of
positions; window k's lexemes are `FIELD#k|TERM` with positions relative to the window, and a
query ORs its positional leaves over every window the corpus has. A sequence spanning fewer than
OVERLAP positions lies wholly inside one window, so it is found exactly once per window it is in,
and never across two. A document's windows are halved (down to MIN_WINDOW) while a lexeme would
hold more than 256 positions in one of them.
"""

from __future__ import annotations

from ..base.errors import InvalidInput
from ._whoosh import query
from .analysis import HAS_CJK, FIELD_MARK, field_positional_terms, field_unigram_counts, positional_terms, unigram_counts
from .matching import SeqQuery
from .schema import FORM_FIELD, ID_FIELDS, TEXT_FIELDS, IndexDoc, fields_for

POSITIONAL = (*TEXT_FIELDS, FORM_FIELD)
UNIGRAM = tuple(f + "1" for f in POSITIONAL)
WINDOW = 16000             # positions of one window (PostgreSQL keeps 1…16383); halved per document as needed
MIN_WINDOW = 1024
OVERLAP = 128              # a query sequence spanning more positions than this may be missed
MAX_POSITIONS = 256        # PostgreSQL's limit per lexeme
_MAX_BYTES = 2046          # PostgreSQL's limit per lexeme ("word is too long")
MAX_ROW_BYTES = 900_000   # the literal's size, above PostgreSQL's stored size; its limit is 1 MB
NOTHING = "'|'"            # a lexeme no document has (every lexeme is FIELD|TERM)


# Short field codes keep each row's tsvector small (every candidate of a phrase query is read
# whole): the body's terms, the most numerous, go bare.
CODES = {"text": "", "title": "T", "customer": "C", "department": "D", "people": "P", FORM_FIELD: "F",
         "number": "N", "form": "M", "kind": "K", "status": "S"}
# unigrams: U (upper case, as every code: a term is lower case, so a bare body term never
# starts with a code)
CODES.update({f + "1": CODES[f] + "U" for f in POSITIONAL})


def lexeme(field: str, term: str, window: int = 0) -> str:
    code = CODES[field]
    if window:
        return f"{code}#{window}|{term}"
    return f"{code}|{term}" if code else term         # a body term has no | (TOKEN_RE)


def _quote(lex: str) -> str:
    return "'" + lex.replace("\\", "\\\\").replace("'", "''") + "'"


def _windows(terms: dict[str, list[int]], size: int) -> dict[tuple[str, int], list[int]]:
    """(term, window) -> positions (1-based, relative to the window) for windows of `size`."""
    step = size - OVERLAP
    out: dict[tuple[str, int], list[int]] = {}
    for term, plist in terms.items():
        for p in plist:
            k = p // step
            for w in (k - 1, k):
                if w >= 0 and w * step <= p < w * step + size:
                    out.setdefault((term, w), []).append(p - w * step + 1)
    return out


def _fitted(terms: dict[str, list[int]]) -> dict[tuple[str, int], list[int]]:
    size = WINDOW
    while True:
        placed = _windows(terms, size)
        if size <= MIN_WINDOW or all(len(ps) <= MAX_POSITIONS for ps in placed.values()):
            return placed
        size //= 2


def tsvector(doc: IndexDoc) -> tuple[str, int]:
    """(the tsvector literal of `doc`, how many windows its longest field needed)."""
    f = fields_for(doc)
    entries: dict[str, list[int]] = {}
    late: dict[str, int] = {}          # lexeme -> its window, for cutting an oversized row
    windows = 1
    for name in POSITIONAL:
        value = f.get(name)
        if not value:
            continue
        if name == FORM_FIELD:
            terms, unigrams = field_positional_terms(value), field_unigram_counts(value)
        else:
            terms, unigrams = positional_terms(value), unigram_counts(value)
        for (term, w), ps in _fitted(terms).items():
            entries[lexeme(name, term, w)] = ps[:MAX_POSITIONS]
            late[lexeme(name, term, w)] = w
            windows = max(windows, w + 1)
        for term in unigrams:
            if not HAS_CJK.match(term):       # a Chinese one is a prefix query (see TsQuery)
                entries.setdefault(lexeme(name + "1", term), [])
    for name in ID_FIELDS:
        if f.get(name):
            entries.setdefault(lexeme(name, f[name]), [])
    parts: list[tuple[int, str]] = []
    for lex, ps in entries.items():
        if len(lex.encode("utf-8")) > _MAX_BYTES:
            continue        # PostgreSQL refuses it; a 2 kB "word" is no one's query
        parts.append((late.get(lex, 0), _quote(lex) + (":" + ",".join(map(str, sorted(ps))) if ps else "")))
    literal = " ".join(p for _, p in parts)
    while len(literal.encode("utf-8")) > MAX_ROW_BYTES and windows > 1:
        # PostgreSQL refuses a tsvector over 1 MB (a text of roughly 80,000 characters): the row
        # keeps the text's first windows (title, number, fields and the start of the text stay
        # findable) rather than fail the filing or a whole reindex
        windows = max(1, windows * 3 // 4)
        literal = " ".join(p for w, p in parts if w < windows)
    return literal, windows


# ---------------------------------------------------------------------------
# Queries

EVERY = None               # matches every document (whoosh's Every); kept out of the tsquery


class TsQuery:
    """Translates a parsed query tree. `windows`: how many windows the corpus has; `expand`: the
    lexemes matching a regular expression (for a wildcard inside a word)."""

    def __init__(self, windows: int, expand):
        self.windows = max(1, windows)
        self.expand = expand

    def __call__(self, node) -> str | None:
        """The tsquery literal, or EVERY."""
        return self._q(node)

    def _any(self, field: str, term: str, suffix: str = "") -> str:
        wins = range(self.windows) if field in POSITIONAL else (0,)
        alts = [_quote(lexeme(field, term, w)) + suffix for w in wins]
        return alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")"

    def _seq(self, node: SeqQuery) -> str:
        items = sorted(node.items, key=lambda x: x[1])
        alts = []
        for w in range(self.windows):
            out, last = _quote(lexeme(node.fieldname, items[0][0], w)), items[0][1]
            for term, off in items[1:]:
                out += f" <{off - last}> " + _quote(lexeme(node.fieldname, term, w))
                last = off
            alts.append(out if len(items) == 1 else "(" + out + ")")
        return alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")"

    def _q(self, node) -> str | None:
        if isinstance(node, query.Every):
            return EVERY
        if isinstance(node, type(query.NullQuery)):
            return NOTHING
        if isinstance(node, SeqQuery):
            return self._seq(node)
        if isinstance(node, query.Term):
            if node.fieldname in UNIGRAM and HAS_CJK.match(node.text.rpartition(FIELD_MARK)[2]):
                return self._any(node.fieldname[:-1], node.text, ":*")
            return self._any(node.fieldname, node.text)
        if isinstance(node, query.Prefix):
            return self._any(node.fieldname, node.text, ":*")
        if isinstance(node, query.Wildcard):
            return self._wildcard(node.fieldname, node.text)
        if isinstance(node, query.Not):
            inner = self._q(node.query)
            return NOTHING if inner is EVERY else f"!{_group(inner)}"
        if isinstance(node, query.AndNot):
            return self._q(query.And([node.a, query.Not(node.b)]))
        if isinstance(node, query.AndMaybe):
            return self._q(node.a)          # the optional side only ranks
        if isinstance(node, (query.And, query.Require)):
            kids = [k for k in (self._q(c) for c in node.children()) if k is not EVERY]
            return EVERY if not kids else " & ".join(_group(k) for k in kids)
        if isinstance(node, (query.Or, query.DisjunctionMax)):
            kids = [self._q(c) for c in node.children()]
            if any(k is EVERY for k in kids):
                return EVERY
            return NOTHING if not kids else " | ".join(_group(k) for k in kids)
        raise InvalidInput(f"search query cannot run on PostgreSQL ({type(node).__name__})")

    def _wildcard(self, field: str, pattern: str) -> str:
        body = pattern.rstrip("*")
        if body and "*" not in body and "?" not in body and body != pattern:
            return self._any(field, body, ":*")      # XK-2*: a prefix, which GIN answers
        # never across the | of a field code: a bare body term has none
        rx = "".join("[^|]*" if c == "*" else "[^|]" if c == "?" else _rx_escape(c) for c in pattern)
        code = _rx_escape_text(CODES[field])
        if not code:
            head = r"(#[0-9]+\|)?"            # the body: bare, or #k| in a later window
        elif field in POSITIONAL:
            head = code + r"(#[0-9]+)?\|"
        else:
            head = code + r"\|"
        found = self.expand(f"^{head}{rx}$")
        return " | ".join(_quote(lx) for lx in found) if found else NOTHING


def _group(s: str) -> str:
    return s if s.startswith("(") and s.endswith(")") and _balanced_inside(s) else f"({s})"


def _balanced_inside(s: str) -> bool:
    """Whether the outer parentheses of s enclose all of it (not '(a) | (b)')."""
    depth, quoted = 0, False
    for i, c in enumerate(s):
        if c == "'":
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
            if depth == 0 and i != len(s) - 1:
                return False
    return True


def _rx_escape(c: str) -> str:
    return "\\" + c if c in r".^$|()[]{}+*?\\" else c


def _rx_escape_text(s: str) -> str:
    return "".join(_rx_escape(c) for c in s)

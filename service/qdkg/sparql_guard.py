"""Inspect a SPARQL query before it runs: its form, and the SERVICE and FROM IRIs it names.

The endpoint must never open a connection because of a query, so SERVICE calls are refused
(unless allow-listed) before evaluation. A full parser costs ~13 ms per query (rdflib's), more
than the query itself, so the common case uses a one-pass tokenizer that follows SPARQL's
lexical rules. Strings, comments and IRIs are the only places where a keyword can hide, and
their borders are unambiguous except for one spot: inside parentheses, `<` after an operand may be
the less-than operator (`FILTER(?a<'x>')`) or start an IRI (a collection `(?a<http://x#y>)`).
When such a spot could change what is hidden (the would-be IRI contains `#`, a quote or a
parenthesis) and the query mentions SERVICE at all, the query is parsed with rdflib instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)
QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
_FORMS_AND_UPDATES = QUERY_FORMS | UPDATE_KEYWORDS

_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
# Escapes are matched generously (any non-space after a backslash): reading more of a name than
# the engine would only turns a query it would reject anyway into tokens; reading less could
# let a `\#` or `\'` start a comment or a string that the engine does not see.
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\\S)"
_PN_PREFIX = f"[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?"
_PN_LOCAL = (
    f"(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?"
)
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"

_TOKEN = re.compile(
    rf"""
      (?P<ws>\s+)
    | (?P<comment>\#[^\r\n]*)
    | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|{_UCHAR})*>)
    | (?P<string>'''(?:(?:''|')?(?:[^'\\]|\\[\s\S]))*'''
               |\"\"\"(?:(?:\"\"|\")?(?:[^"\\]|\\[\s\S]))*\"\"\"
               |'(?:[^'\\\r\n]|\\.)*'
               |"(?:[^"\\\r\n]|\\.)*")
    | (?P<var>[?$][{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*)
    | (?P<bnode>_:[{_PN_CHARS_U}0-9](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)
    | (?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)
    | (?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
    | (?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>\^\^|&&|\|\||<=|>=|!=|<<|>>|[\s\S])
    """,
    re.VERBOSE,
)
_OPERAND_KINDS = frozenset({"iri", "string", "var", "bnode", "pname", "langtag", "number", "word"})
_HIDING_CHARS = re.compile(r"[#'()]")
_SERVICE_WORD = re.compile("service", re.IGNORECASE | re.ASCII)
_SCAN_ALL = re.compile("service|from", re.IGNORECASE | re.ASCII)
_UESCAPE = re.compile(_UCHAR)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_LOCAL_ESCAPE = re.compile(r"\\(.)")
RELATIVE = "(a relative IRI)"


class QueryRefused(ValueError):
    """The query asks for something the endpoint does not do; the message says what and why."""


@dataclass
class QueryShape:
    """What a query asks for, as far as the endpoint needs to know before running it."""

    form: str | None = None  # SELECT, ASK, CONSTRUCT, DESCRIBE; an update keyword; None if unclear
    services: list[str | None] = field(default_factory=list)  # None: a variable endpoint
    from_graphs: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)

    @property
    def is_update(self) -> bool:
        return self.form in UPDATE_KEYWORDS

    @property
    def has_dataset(self) -> bool:
        return bool(self.from_graphs or self.from_named)


@dataclass
class Token:
    kind: str  # ws and comment are never yielded
    text: str
    start: int = 0  # its place in the query text
    end: int = 0

    @property
    def upper(self) -> str:
        """A keyword's text in capitals ("" for anything but a word)."""
        return self.text.upper() if self.kind == "word" else ""


@dataclass
class Names:
    """The PREFIX and BASE declarations read so far, and the IRIs they make of names."""

    prefixes: dict[str, str] = field(default_factory=dict)
    base: str | None = None

    def iri(self, token: Token) -> str | None:
        """The full IRI an IRI or prefixed-name token stands for (None: it cannot say)."""
        if token.kind == "iri":
            iri = _unescape_iri(token.text)
            return urljoin(self.base, iri) if self.base and not _is_absolute(iri) else iri
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            if prefix in self.prefixes:
                return self.prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)
        return None

    def declare(self, tokens: list[Token], i: int) -> int:
        """Read the declaration starting at tokens[i]: the number of tokens it took (0 when
        there is none there)."""
        word, following = tokens[i].upper, tokens[i + 1 : i + 3]
        if word == "PREFIX" and len(following) == 2 and following[0].kind == "pname":
            namespace = self.iri(following[1])
            if namespace is not None:
                self.prefixes[following[0].text.rstrip(":")] = namespace
            return 3
        if word == "BASE" and following and following[0].kind == "iri":
            self.base = _unescape_iri(following[0].text)
            return 2
        return 0


def _unescape_iri(text: str) -> str:
    return _UESCAPE.sub(lambda m: chr(int(m.group()[2:], 16)), text[1:-1])


def _tokens(query: str, state: dict[str, bool]) -> Iterator[Token]:
    """Significant tokens; sets state["ambiguous"] when an IRI border could be read two ways."""
    brackets: list[str] = []  # open brackets; "v" marks a VALUES block, "d" a row of data in it
    after_operand = False
    values_pending = False
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or "punct"
        if kind in ("ws", "comment"):
            continue
        text = match.group()
        if kind == "iri" and after_operand and brackets and brackets[-1] == "(":
            if _HIDING_CHARS.search(text):
                state["ambiguous"] = True
        elif kind == "word" and text.upper() == "VALUES":
            values_pending = True
        elif kind == "punct" and text in "({[":
            if text == "{" and values_pending:
                brackets.append("v")
            elif text == "(" and brackets and brackets[-1] == "v":
                brackets.append("d")
            else:
                brackets.append(text)
            values_pending = values_pending and text == "("
        elif kind == "punct" and text in ")}]" and brackets:
            brackets.pop()
        after_operand = kind in _OPERAND_KINDS or text in (")", "]")
        yield Token(kind, text, match.start(), match.end())


def tokenize(query: str) -> tuple[list[Token], bool]:
    """The significant tokens of `query`, with their places, and whether an IRI border in it
    could be read two ways (see the module's docstring)."""
    state = {"ambiguous": False}
    tokens = list(_tokens(query, state))
    return tokens, state["ambiguous"]


def _is_absolute(iri: str) -> bool:
    return _SCHEME.match(iri) is not None


def inspect(query: str) -> QueryShape:
    """The form of `query` and the SERVICE/FROM IRIs it names, read without running it."""
    shape = QueryShape()
    state = {"ambiguous": False}
    names = Names()
    # Most queries name neither: then only the prologue and the form keyword need reading.
    scan_all = _SCAN_ALL.search(query) is not None
    tokens: list[Token] = []
    for token in _tokens(query, state):
        tokens.append(token)
        if not scan_all and token.kind == "word" and token.text.upper() in _FORMS_AND_UPDATES:
            break

    for i, token in enumerate(tokens):
        if token.kind != "word":
            continue
        word = token.text.upper()
        following = tokens[i + 1 : i + 3]
        if names.declare(tokens, i):
            continue
        if shape.form is None and (word in QUERY_FORMS or word in UPDATE_KEYWORDS):
            shape.form = word
        elif word in ("FROM", "SERVICE") and following:
            modifier = "NAMED" if word == "FROM" else "SILENT"
            modified = following[0].kind == "word" and following[0].text.upper() == modifier
            target = following[-1] if modified else following[0]
            iri = names.iri(target)
            if word == "SERVICE":
                if target.kind == "iri" and not _is_absolute(_unescape_iri(target.text)):
                    iri = RELATIVE
                shape.services.append(None if target.kind == "var" else iri or target.text)
            else:
                (shape.from_named if modified else shape.from_graphs).append(iri or target.text)
    if state["ambiguous"] and _SERVICE_WORD.search(query):
        shape.services = _services_by_parser(query)
    return shape


def _services_by_parser(query: str) -> list[str | None]:
    """SERVICE endpoints as rdflib's full parser reads them, where the tokenizer cannot tell."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue
    from rdflib.term import URIRef, Variable

    try:
        parsed = parseQuery(query)
    except ParseException as error:
        raise QueryRefused(
            "the query mentions SERVICE and its SERVICE calls could not be checked: a '<' "
            "between parentheses can be read as a comparison or as the start of an IRI here, and "
            f"the checking parser stopped at line {error.lineno}, column {error.col} "
            f"({error.msg}); write comparisons with spaces around '<' and try again"
        ) from None
    except RecursionError:
        raise QueryRefused(
            "the query mentions SERVICE and nests too deeply for its SERVICE calls to be checked; "
            "flatten the nesting, or write comparisons with spaces around '<', and try again"
        ) from None
    prefixes = {
        decl["prefix"] or "": str(decl["iri"])
        for decl in parsed[0]
        if isinstance(decl, CompValue) and decl.name == "PrefixDecl"
    }
    found: list[str | None] = []

    def walk(node: object) -> None:
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                term = node.get("term")
                if isinstance(term, Variable):
                    found.append(None)
                elif isinstance(term, URIRef):
                    found.append(str(term))
                elif isinstance(term, CompValue) and term.name == "pname":
                    prefix = term.get("prefix") or ""
                    found.append(prefixes.get(prefix, "?") + (term.get("localname") or ""))
                else:
                    found.append(None)
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)

    walk(list(parsed))
    return found


def check(shape: QueryShape, *, allowlist: Collection[str], graphs: Collection[str]) -> None:
    """Raise QueryRefused when the query would write, call out, or name graphs we do not hold."""
    if shape.is_update:
        if shape.form == "LOAD":
            raise QueryRefused(
                "LOAD is not allowed: this endpoint never fetches data because of a request"
            )
        raise QueryRefused(
            f"{shape.form} is a SPARQL Update operation; send updates to /update, not /sparql"
        )
    for endpoint in shape.services:
        if endpoint is None:
            raise QueryRefused(
                "SERVICE with a variable endpoint is not allowed: this endpoint does not make "
                "outbound calls to endpoints chosen at query time"
            )
        if endpoint not in allowlist:
            allowed = ", ".join(f"<{i}>" for i in sorted(allowlist)) or "none are configured"
            raise QueryRefused(
                f"SERVICE {_show(endpoint)} is not allowed: this endpoint only calls allow-listed "
                f"federation endpoints ({allowed})"
            )
    unknown = [g for g in shape.from_graphs + shape.from_named if g not in graphs]
    if unknown:
        raise QueryRefused(unknown_graphs_message(unknown, "FROM / FROM NAMED", graphs))


def _show(iri: str) -> str:
    return iri if iri == RELATIVE else f"<{iri}>"


def unknown_graphs_message(unknown: list[str], where: str, graphs: Collection[str]) -> str:
    return (
        f"{where} names graphs that are not in this dataset: "
        + ", ".join(f"<{g}>" for g in unknown)
        + "; the endpoint never loads graphs from elsewhere. Available graphs: "
        + ", ".join(f"<{g}>" for g in sorted(graphs))
    )

"""Swedish typography rules for the report's running text, checkable on the rendered pages.

:func:`problems` checks a piece of running text (the caller strips code, URLs and CSS first;
:func:`html_text` does that for a rendered HTML page) and returns one message per breach, naming
the rule and quoting about 30 characters around it. The rules follow the conventions of Swedish
official statistics and Språkrådet's writing rules, as :mod:`helpers.publishing.fmt` writes numbers:

``hyphen-between-digits``
    A range takes an en dash: "0–17", "2018–2022", never "0-17". ISO dates ("2020-03-01") and
    year–months ("2020-03") are allowed, and so are digit groups glued to letters (ids such as
    "B12-3" or "fig-1").
``negative-hyphen``
    A negative number takes the minus sign U+2212: "−3,7", never "-3,7".
``space-before-percent``
    An ordinary space (U+0020), tab or line break between a number and "%": the line may break
    there. Use a no-break space (U+00A0). "95 %-igt" and "95 % konfidensintervall" fall under it.
``percent-without-space``
    "48,4%": Swedish puts a (no-break) space between the number and "%".
``space-before-procentenheter``
    An ordinary space or line break between a number and "procentenhet(er)".
``thousands-plain-space``
    An ordinary space (or a single line break) used as thousands separator: "1 704". The check
    is a heuristic, since "år 2020 1 704 anmälningar" cannot be told apart from a number in
    general: it flags 1–3 digits, not preceded by a digit, comma or period, followed by one or
    more groups of *exactly three* digits, each after a single space or line break, and not
    followed by another digit. So "2020 170" (four digits first) and "12 fall" are not flagged,
    "1 704" and "15 000" are. A list of small numbers such as "3 100" in running text is the
    one false alarm; rephrase it.
``times-more``
    "gånger fler/mer/större/högre/vanligare/färre/mindre/lägre": ambiguous in Swedish (is "2
    gånger fler" twice as many or three times as many?). Write "2 gånger så många".
``double-period``
    Exactly two periods ("..") – usually a sentence end added twice. A three-dot ellipsis is
    left alone.
``space-before-punctuation``
    A space before a comma or a period that ends a clause ("ökade , och" / "år 2020 .").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

NBSP = "\u00a0"

#: Width of the context quoted on each side of a problem.
CONTEXT = 15

_COMPARATIVES = "fler|flera|mer|större|högre|vanligare|färre|mindre|lägre"

#: rule name → (compiled pattern, explanation in Swedish). The match is what is quoted.
RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "hyphen-between-digits": (
        re.compile(
            r"(?<![\w.,\-\u2212])"  # not glued to letters, digits or another number
            r"(?!\d{4}-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?(?![\d\-]))"  # ISO date
            r"\d+(?:[.,]\d+)?-\d+"
        ),
        "intervall skrivs med tankstreck (–), inte bindestreck",
    ),
    "negative-hyphen": (
        re.compile(r"(?<![\w\-.,/])-\d"),
        "negativa tal skrivs med minustecken (−), inte bindestreck",
    ),
    "space-before-percent": (
        re.compile(r"\d[ \t\r\n]+%"),
        "fast mellanslag (U+00A0) ska stå mellan tal och %",
    ),
    "percent-without-space": (
        re.compile(r"\d%"),
        "mellanslag (fast, U+00A0) ska stå mellan tal och %",
    ),
    "space-before-procentenheter": (
        re.compile(r"\d[ \t\r\n]+procentenhet", re.IGNORECASE),
        "fast mellanslag (U+00A0) ska stå mellan tal och procentenheter",
    ),
    "thousands-plain-space": (
        re.compile(r"(?<![\d,.])\d{1,3}(?:[ \n]\d{3})+(?!\d)"),
        "tusental avgränsas med fast mellanslag (U+00A0), inte vanligt mellanslag",
    ),
    "times-more": (
        re.compile(rf"\bgånger\s+(?:{_COMPARATIVES})\b", re.IGNORECASE),
        "skriv ”gånger så många/stor/hög”, inte ”gånger fler/större/högre”",
    ),
    "double-period": (
        re.compile(r"(?<!\.)\.\.(?!\.)"),
        "två punkter i rad",
    ),
    "space-before-punctuation": (
        re.compile(r"(?<=\S)[ \t\u00a0]+[,.](?=\s|$)"),
        "mellanslag före komma eller punkt",
    ),
}


@dataclass(frozen=True)
class Problem:
    """One breach of a rule: where it is and what it looks like."""

    rule: str
    start: int
    end: int
    context: str
    explanation: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.explanation}: »{self.context}«"


def _context(text: str, start: int, end: int, width: int = CONTEXT) -> str:
    a, b = max(0, start - width), min(len(text), end + width)
    snippet = text[a:b].replace("\n", "⏎").replace("\t", "⇥").replace(NBSP, "\u2423")
    # show ordinary spaces as they are, no-break spaces as ␣ so the difference is visible
    return ("…" if a > 0 else "") + snippet + ("…" if b < len(text) else "")


def find_problems(text: str, rules: Iterable[str] | None = None) -> list[Problem]:
    """All breaches in ``text``, in order of position (optionally only the named ``rules``)."""
    names = list(RULES) if rules is None else list(rules)
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise KeyError(f"okända regler: {', '.join(unknown)} (finns: {', '.join(RULES)})")
    found: list[Problem] = []
    for name in names:
        pattern, explanation = RULES[name]
        for m in pattern.finditer(text):
            found.append(
                Problem(name, m.start(), m.end(), _context(text, m.start(), m.end()), explanation)
            )
    found.sort(key=lambda p: (p.start, p.rule))
    return found


def problems(text: str, rules: Iterable[str] | None = None) -> list[str]:
    """The breaches of the typography rules in running ``text`` as messages.

    Each message names the rule, explains it in Swedish and quotes about 30 characters of
    context, with a no-break space shown as ``␣`` and a line break as ``⏎``:
    ``"space-before-percent: fast mellanslag (U+00A0) ska stå mellan tal och %: »…andelen var
    48,4 % år 2020…«"``. An empty list means the text follows the rules.
    """
    return [str(p) for p in find_problems(text, rules)]


# --- Running text of a rendered page ------------------------------------------------------------

#: Elements whose content is not running text.
SKIP_TAGS = frozenset(
    {"script", "style", "code", "pre", "kbd", "samp", "nav", "head", "title", "svg", "math",
     "noscript", "template", "textarea", "select", "button", "iframe", "object"}
)  # fmt: skip
#: Element ids and classes whose content is navigation, not running text (Quarto's table of
#: contents, sidebars, headers and page navigation).
SKIP_IDS = frozenset(
    {"TOC", "toc", "quarto-sidebar", "quarto-margin-sidebar", "quarto-header", "quarto-search",
     "quarto-toc-toggle"}
)  # fmt: skip
SKIP_CLASSES = frozenset(
    {"toc", "sidebar", "sidebar-navigation", "page-navigation", "sitenav", "nav-footer",
     "sourceCode", "cell-code", "math", "visually-hidden", "hidden", "toc-book"}
)  # fmt: skip
#: Elements that end a block of text: their content is separated by a blank line.
BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr",
     "td", "th", "caption", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header",
     "footer", "main", "aside", "figure", "figcaption", "blockquote", "hr", "details", "summary",
     "body", "html", "form", "fieldset", "legend", "address"}
)  # fmt: skip
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip

_URL = re.compile(
    r"(?:https?://|ftp://|www\.|\bdoi:\s*|\b10\.\d{4,9}/)[^\s<>\"'»«]*[^\s<>\"'»«.,;:!?)\]]"
)
#: What a removed URL, DOI or e-mail address is replaced by, so the punctuation around it still
#: reads as it did ("se [url]." rather than "se .").
URL_PLACEHOLDER = "[url]"
_EMAIL = re.compile(r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b")
_WS = re.compile(r"[ \t\r\n\f]+")  # HTML whitespace: not the no-break space


#: What inline code and math are replaced by, so the sentence around them keeps its shape
#: ("i filen [kod]." rather than "i filen .").
CODE_PLACEHOLDER = "[kod]"
MATH_PLACEHOLDER = "[formel]"


def _placeholder(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    classes = set(dict(attrs).get("class", "").split()) if attrs else set()
    if tag in ("code", "kbd", "samp") and "sourceCode" not in classes:
        return CODE_PLACEHOLDER
    if tag == "math" or (tag == "span" and "math" in classes):
        return MATH_PLACEHOLDER
    return ""


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_tag: str | None = None
        self._skip_depth = 0

    def _skips(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in SKIP_TAGS:
            return True
        a = {k: (v or "") for k, v in attrs}
        if a.get("id") in SKIP_IDS or a.get("role") in ("doc-toc", "navigation"):
            return True
        if a.get("aria-hidden") == "true":
            return True
        return bool(SKIP_CLASSES.intersection(a.get("class", "").split()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth += 1
            return
        if tag not in VOID_TAGS and self._skips(tag, attrs):
            self._skip_tag, self._skip_depth = tag, 1
            self.parts.append(_placeholder(tag, attrs))
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_tag is None and tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_tag is not None:
            if tag == self._skip_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skip_tag = None
            return
        if tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip_tag is None:
            self.parts.append(_WS.sub(" ", data))


def html_text(html: str) -> str:
    """The running text of a rendered HTML page, for :func:`problems`.

    Drops the content of ``script``, ``style``, ``code``, ``pre``, ``nav`` (with it the table of
    contents), ``head``, ``svg``, ``math`` and elements marked as navigation, table of contents,
    source code, math or hidden (:data:`SKIP_TAGS`, :data:`SKIP_IDS`, :data:`SKIP_CLASSES`,
    ``aria-hidden="true"``). Attributes (``href``, ``src``, ``alt``) are never text; URLs, DOIs
    and e-mail addresses written in the text are replaced by ``[url]`` (punctuation after them
    is kept), inline code by ``[kod]`` and inline math by ``[formel]``, so the sentence around
    them keeps its shape. Whitespace inside a block collapses to
    one space, as a browser shows it, but the no-break space is kept; ``<br>`` becomes a line
    break and blocks (paragraphs, list items, table cells, headings) are separated by a blank
    line, so numbers in neighbouring table cells are not read as one number.
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = _URL.sub(URL_PLACEHOLDER, text)
    text = _EMAIL.sub(URL_PLACEHOLDER, text)
    lines = [line.strip(" ") for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


__all__ = ["RULES", "Problem", "find_problems", "html_text", "problems"]

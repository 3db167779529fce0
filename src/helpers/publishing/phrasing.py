"""Swedish prose claims whose every direction and strength word is chosen from the numbers.

A chapter never writes "ökade", "minskade", "fler" or "de flesta" by hand. It passes the numbers
(already disclosure-protected: ``None`` means hidden or suppressed) to a function here and gets a
:class:`Claim` back: the Swedish text together with the numbers, the test and the direction it
rests on. ``str(claim)`` is the text. A :class:`ClaimLog` collects the claims of a chapter and
writes them to JSON, so a test can check the rendered prose against the data afterwards.

Rules the functions follow
--------------------------

* **Direction words only with evidence.** "ökade"/"minskade" are written only when the test is
  significant at ``alpha`` (default 0,05). Otherwise the text gives both values and says the
  difference lies within the random variation. A significant change that is too small to show
  in the rounded numbers (or smaller than ``min_pp`` percentage points) is called marginal.
* **Tests.** Two shares: two-sided z test with pooled variance (:func:`helpers.analysis.stats.two_proportion_test`,
  ``test="two_proportion_z"``). Two counts or rates: exact Poisson test, i.e. the conditional
  binomial test of ``k1`` given ``k1 + k0`` with ``p = t1 / (t1 + t0)`` (``test="poisson_exact"``);
  its interval is the exact conditional one (:func:`helpers.analysis.stats.rate_ratio`, ``method="exact"``).
  A trend: the confidence interval of the yearly rate ratio (a change is "säker" only when the
  interval excludes 1), after the model check (a constant yearly change must describe the years).
* **Relative size** is written "2,1 gånger så många", never "gånger fler" (ambiguous in Swedish).
  An interval covering 1 gives "ungefär lika många".
* **A negative change** is written with the verb: "minskade med 3,7 %", never "ökade med −3,7 %".
* **Numbers** are formatted by :mod:`helpers.publishing.fmt` (no-break spaces, decimal comma, minus sign);
  ranges take an en dash ("2018–2022", "0–17").
* **Grammar.** Each claim's ``text`` is a main clause that *starts with its subject* ("andelen
  anmälningar om brottslighet ökade …"). Swedish word order is verb-second, so do not put an
  adverbial in front of it ("Jämfört med året innan andelen ökade" is wrong); use
  :meth:`Claim.sentence` to get a capitalised sentence with one final period. The verbs used
  ("ökade", "minskade", "låg kvar på", "var") need no agreement with the subject.

Strength words (:func:`quantifier`)
-----------------------------------

Chosen from a share in percent (0–100), rounded to one decimal as the reader sees it:

==================  ========================
share               word
==================  ========================
0                   "ingen"
over 0, under 10    "en liten andel"
10 to under 40      "en minoritet"
40 to under 50      "knappt hälften"
exactly 50          "hälften"
over 50, under 60   "drygt hälften"
60 to under 90      "de flesta"
90 to under 100     "nästan alla"
100                 "alla"
==================  ========================
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from helpers.analysis import stats
from helpers.publishing import fmt
from helpers.publishing.fmt import MINUS as MINUS_SIGN
from helpers.publishing.fmt import MISSING, NBSP

Direction = Literal["up", "down", "same", "none", "hidden"]
DIRECTIONS: tuple[str, ...] = ("up", "down", "same", "none", "hidden")

EN_DASH = "\u2013"
#: "95 %-igt konfidensintervall" with a no-break space inside "95 %".
CI_WORDS = f"95{NBSP}%-igt konfidensintervall"
HIDDEN_REASON = "redovisas inte, eftersom underlaget är litet eller uppgiften döljs för att skydda andra uppgifter"
CHANCE = "en skillnad inom den slumpmässiga variationen"


# --- The claim and its log ----------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One statement in the prose with the numbers and the test behind it.

    Attributes:
        kind: what is claimed: ``"share_change"``, ``"count_change"``, ``"rate_ratio"``,
            ``"rank"``, ``"level"``, ``"quantity"``, ``"trend"``.
        subject: the Swedish noun phrase the claim is about ("andelen anmälningar om …").
        values: the numbers used (plain floats, ints, strings and lists; JSON-serialisable).
        direction: ``"up"``, ``"down"``, ``"same"`` (the observed direction, whether or not it is
            significant), ``"none"`` (no test possible or no single direction) or ``"hidden"``
            (disclosure control suppressed the numbers).
        test: the test's name (``"two_proportion_z"``, ``"poisson_exact"``, ``"ci_excludes_1"``) or
            ``None``.
        pvalue: the test's p-value, or ``None``.
        significant: whether the test rejects at ``alpha``; ``None`` when there is no test.
        text: the Swedish clause (starts with the subject, no final period).
    """

    kind: str
    subject: str
    values: dict[str, Any] = field(hash=False)
    direction: Direction
    test: str | None
    pvalue: float | None
    significant: bool | None
    text: str

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"okänd riktning {self.direction!r}: använd en av {DIRECTIONS}")

    def __str__(self) -> str:
        return self.text

    def sentence(self) -> str:
        """The text as a sentence: first letter capitalised, exactly one final period."""
        return sentence(self.text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Claim:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


class ClaimLog:
    """The claims of one chapter, in the order they were made.

    >>> log = ClaimLog("inflode")
    >>> c = log.add(compare_counts(1890, 1704, subject="antalet anmälningar", year1=2020, year0=2019))
    >>> log.to_json("claims.json")  # doctest: +SKIP
    """

    def __init__(self, chapter: str = "", claims: Iterable[Claim] = ()) -> None:
        self.chapter = chapter
        self.claims: list[Claim] = list(claims)

    def add(self, claim: Claim) -> Claim:
        """Record ``claim`` and return it unchanged (so it can be used inline in an f-string)."""
        if not isinstance(claim, Claim):
            raise TypeError(f"ClaimLog.add() kräver en Claim, fick {type(claim).__name__}")
        self.claims.append(claim)
        return claim

    def __iter__(self) -> Iterator[Claim]:
        return iter(self.claims)

    def __len__(self) -> int:
        return len(self.claims)

    def to_json(self, path: str | Path) -> Path:
        """Write ``{"chapter": …, "claims": [...]}`` as UTF-8 JSON; returns the path.

        Strict JSON: infinite and NaN numbers (a change from 0, a missing interval) become ``null``.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"chapter": self.chapter, "claims": [_finite(c.to_dict()) for c in self.claims]}
        path.write_text(
            json.dumps(
                payload, ensure_ascii=False, indent=2, default=_json_default, allow_nan=False
            )
            + "\n",
            encoding="utf-8",
        )
        return path

    @classmethod
    def read(cls, path: str | Path) -> ClaimLog:
        """Read a log written by :meth:`to_json`."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(payload.get("chapter", ""), (Claim.from_dict(c) for c in payload["claims"]))


def _finite(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str):  # numpy scalars
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):  # numpy scalars
        return x.item()
    raise TypeError(f"kan inte skriva {type(x).__name__} som JSON")


# --- Small words --------------------------------------------------------------------------------


def join_sv(items: Iterable[Any]) -> str:
    """A Swedish list: ``["a", "b", "c"]`` → ``"a, b och c"``; one item → itself; none → ``""``."""
    words = [str(x) for x in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " och " + words[-1]


def range_sv(start: Any, end: Any) -> str:
    """A range with an en dash: ``range_sv(2018, 2022)`` → ``"2018–2022"``; equal ends → one value."""
    a, b = str(start), str(end)
    return a if a == b else f"{a}{EN_DASH}{b}"


def years_sv(years: Iterable[int]) -> str:
    """Years in running text: ``[2018, 2019]`` → ``"2018 och 2019"``.

    The years are sorted and deduplicated; three or more consecutive years are written as a range
    (``[2016, 2017, 2018, 2020]`` → ``"2016–2018 och 2020"``).
    """
    ys = sorted({int(y) for y in years})
    parts: list[str] = []
    i = 0
    while i < len(ys):
        j = i
        while j + 1 < len(ys) and ys[j + 1] == ys[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(range_sv(ys[i], ys[j]))
        else:
            parts.extend(str(y) for y in ys[i : j + 1])
        i = j + 1
    return join_sv(parts)


def pvalue_sv(p: float, alpha: float | None = None) -> str:
    """A p-value: ``"p < 0,001"`` or ``"p = 0,012"`` (three decimals, decimal comma).

    With ``alpha``, a p-value below ``alpha`` that would round up to it (0,0496 → "0,050") is
    written ``"p < 0,05"`` so the text does not contradict the conclusion.
    """
    if fmt.is_missing(p) or not 0 <= float(p) <= 1:
        raise ValueError(f"ett p-värde måste ligga mellan 0 och 1, inte {p!r}")
    p = float(p)
    if p < 0.001:
        return "p < 0,001"
    text = fmt.num(p, 3)
    if alpha is not None and p < alpha and float(text.replace(",", ".")) >= alpha:
        return f"p < {fmt.num(alpha, max(2, _decimals_of(alpha)))}"
    return f"p = {text}"


def _decimals_of(x: float) -> int:
    s = repr(float(x))
    return len(s.split(".")[1].rstrip("0")) if "." in s else 0


def sentence(text: str) -> str:
    """Capitalise the first letter and end with exactly one period (no "..")."""
    t = str(text).strip()
    if not t:
        return ""
    t = t[0].upper() + t[1:]
    t = t.rstrip(".")
    if t.endswith(("?", "!", "…")):
        return t
    return t + "."


def quantifier(share: float) -> str:
    """The strength word for a share in percent (0–100): ``quantifier(93)`` → ``"nästan alla"``.

    Thresholds are in the module docstring; the share is rounded to one decimal first. A hidden
    share (``None``) has no word: :class:`ValueError`.
    """
    if fmt.is_missing(share):
        raise ValueError("andelen redovisas inte, så inget kvantitetsord kan väljas")
    s = _as_float(fmt.num(float(share), 1))
    if not 0 <= s <= 100:
        raise ValueError(f"andelen ska anges i procent 0–100, inte {share!r}")
    if s == 0:
        return "ingen"
    if s < 10:
        return "en liten andel"
    if s < 40:
        return "en minoritet"
    if s < 50:
        return "knappt hälften"
    if s == 50:
        return "hälften"
    if s < 60:
        return "drygt hälften"
    if s < 90:
        return "de flesta"
    if s < 100:
        return "nästan alla"
    return "alla"


def _hidden(x: Any) -> bool:
    return fmt.is_missing(x)


def _as_float(text: str) -> float:
    """The value a formatted number shows (``"1 704,5"`` → 1704.5)."""
    return float(text.replace(NBSP, "").replace(MINUS_SIGN, "-").replace(",", "."))


def _pct_value(x: float, decimals: int) -> str:
    """``fmt.pct`` but with more decimals (up to 3) when the value would otherwise show as 0."""
    d = decimals
    while d < 3 and x != 0 and _as_float(fmt.num(x, d)) == 0:
        d += 1
    return fmt.pct(x, d)


# --- Ratios -------------------------------------------------------------------------------------


def ratio_text(
    rr: float, low: float | None = None, high: float | None = None, decimals: int = 2
) -> str:
    """A ratio with its interval: ``"1,42 (95 %-igt konfidensintervall 1,21–1,66)"``.

    Missing bounds leave the interval out; a missing ratio gives ``"–"``.
    """
    if _hidden(rr):
        return MISSING
    text = fmt.num(rr, decimals)
    if _hidden(low) or _hidden(high):
        return text
    return f"{text} ({CI_WORDS} {fmt.num(low, decimals)}{EN_DASH}{fmt.num(high, decimals)})"


def times_as_many(
    rr: float,
    low: float | None = None,
    high: float | None = None,
    *,
    word: str = "många",
    decimals: int = 1,
) -> str:
    """A ratio in words: ``"2,1 gånger så många"``, ``"ungefär lika många"``, ``"0,6 gånger så många"``.

    ``word`` is the adjective ("många", "hög", "stor"). "ungefär lika" when the interval
    ``low``–``high`` covers 1 or the ratio rounds to 1; "dubbelt så" at 2,0 and "hälften så" at
    0,5. Never "gånger fler".
    """
    if _hidden(rr):
        raise ValueError("kvoten redovisas inte")
    rr = float(rr)
    if rr < 0:
        raise ValueError(f"en kvot kan inte vara negativ: {rr}")
    covers_one = not (_hidden(low) or _hidden(high)) and float(low) <= 1 <= float(high)
    shown = fmt.num(rr, decimals)
    if covers_one or _as_float(shown) == 1:
        return f"ungefär lika {word}"
    if math.isinf(rr):
        raise ValueError("kvoten är oändlig (jämförelsen har värdet 0)")
    if rr == 0:
        return "inga" if word == "många" else f"noll gånger så {word}"
    if _as_float(shown) < 0.5:  # 0,08 is not "0,1 gånger så många"
        shown = fmt.num(rr, max(decimals, 2))
    if _as_float(shown) == 2:
        return f"dubbelt så {word}"
    if _as_float(shown) == 0.5:
        return f"hälften så {word}"
    return f"{shown} gånger så {word}"


# --- Two shares ---------------------------------------------------------------------------------


def compare_shares(
    k1: int | None,
    n1: int | None,
    k0: int | None,
    n0: int | None,
    *,
    subject: str,
    year1: Any,
    year0: Any,
    decimals: int = 1,
    alpha: float = 0.05,
    min_pp: float | None = None,
) -> Claim:
    """Compare the share ``k1/n1`` (``year1``) with ``k0/n0`` (``year0``).

    ``"andelen … ökade från 12,3 % år 2019 till 15,0 % år 2020 (+2,7 procentenheter; p = 0,013)"``
    when the two-proportion z test is significant at ``alpha``; otherwise ``"andelen … var 12,4 %
    år 2020 mot 12,3 % år 2019, en skillnad inom den slumpmässiga variationen (p = 0,946)"``.
    A significant difference smaller than ``min_pp`` percentage points, or one that does not show
    after rounding, "förändrades bara marginellt". The difference in percentage points is computed
    from the unrounded shares. Any ``None`` → hidden; ``n = 0`` → "kan inte jämföras".
    """
    kind = "share_change"
    base = {"k1": k1, "n1": n1, "k0": k0, "n0": n0, "year1": year1, "year0": year0,
            "alpha": alpha}  # fmt: skip
    if any(_hidden(x) for x in (k1, n1, k0, n0)):
        return Claim(kind, subject, base, "hidden", None, None, None,
                     f"{subject} år {year0} och {year1} {HIDDEN_REASON}")  # fmt: skip
    k1, n1, k0, n0 = int(k1), int(n1), int(k0), int(n0)
    for k, n in ((k1, n1), (k0, n0)):
        if not 0 <= k <= n:
            raise ValueError(f"kräver 0 ≤ k ≤ n, fick k={k}, n={n}")
    if n1 == 0 or n0 == 0:
        missing = join_sv(str(y) for y, n in ((year0, n0), (year1, n1)) if n == 0)
        return Claim(kind, subject, base, "none", None, None, None,
                     f"{subject} kan inte jämföras mellan {year0} och {year1} eftersom det "
                     f"saknas underlag år {missing}")  # fmt: skip
    s1, s0 = 100 * k1 / n1, 100 * k0 / n0
    diff = s1 - s0
    t = stats.two_proportion_test(k1, n1, k0, n0, alpha=alpha)
    p = float(t.pvalue)
    sig = p < alpha
    values = {**base, "share1": s1, "share0": s0, "diff_pp": diff,
              "diff_low_pp": 100 * t.low, "diff_high_pp": 100 * t.high}  # fmt: skip
    a1, a0 = fmt.pct(s1, decimals), fmt.pct(s0, decimals)
    direction: Direction = "up" if diff > 0 else "down" if diff < 0 else "same"
    ptxt = pvalue_sv(p, alpha)
    if direction == "same":
        text = f"{subject} låg kvar på {a1} både år {year0} och år {year1}"
    elif not sig:
        text = f"{subject} var {a1} år {year1} mot {a0} år {year0}, {CHANCE} ({ptxt})"
    else:
        shown = fmt.pp(diff, decimals, sign=True)
        tiny = (min_pp is not None and abs(diff) < min_pp) or _as_float(
            fmt.num(diff, decimals)
        ) == 0
        if tiny:
            text = (f"{subject} förändrades bara marginellt, från {a0} år {year0} till {a1} år "
                    f"{year1} ({shown}; {ptxt})")  # fmt: skip
        else:
            verb = "ökade" if direction == "up" else "minskade"
            text = f"{subject} {verb} från {a0} år {year0} till {a1} år {year1} ({shown}; {ptxt})"
    return Claim(kind, subject, values, direction, "two_proportion_z", p, sig, text)


def level_share(
    k: int | None, n: int | None, *, subject: str, year: Any, decimals: int = 1, alpha: float = 0.05
) -> Claim:
    """One share with its Wilson interval: ``"andelen … var 12,3 % år 2020 (95 %-igt
    konfidensintervall 10,1–14,9 %)"``; hidden when ``k`` or ``n`` is ``None``."""
    kind = "level"
    base = {"k": k, "n": n, "year": year}
    if _hidden(k) or _hidden(n):
        return Claim(kind, subject, base, "hidden", None, None, None,
                     f"{subject} år {year} {HIDDEN_REASON}")  # fmt: skip
    if int(n) == 0:
        return Claim(kind, subject, base, "none", None, None, None,
                     f"{subject} år {year} kan inte beräknas eftersom det saknas underlag")  # fmt: skip
    w = stats.wilson(int(k), int(n), alpha=alpha)
    values = {**base, "share": 100 * w.share, "low": 100 * w.low, "high": 100 * w.high}
    level = round(100 * (1 - alpha))
    text = (f"{subject} var {fmt.pct(100 * w.share, decimals)} år {year} ({level}{NBSP}%-igt "
            f"konfidensintervall {fmt.num(100 * w.low, decimals)}{EN_DASH}"
            f"{fmt.pct(100 * w.high, decimals)})")  # fmt: skip
    return Claim(kind, subject, values, "none", None, None, None, text)


def quantity(
    k: int | None, n: int | None, *, whole: str, predicate: str, decimals: int = 1,
) -> Claim:
    """How many of a whole did something, with the strength word chosen from the share
    (:func:`quantifier`): ``"de flesta av utredningarna efter ansökan (78,3 %) avslutades med
    insats"``; ``"hälften …"`` only at exactly 50,0 %, ``"knappt hälften"`` just under.

    ``whole`` is the definite noun phrase of the whole ("utredningarna efter ansökan som avslutades
    2020"), ``predicate`` what the part did ("avslutades med insats"). Hidden (``None``) →
    "redovisas inte"; ``n = 0`` → nothing to describe. A level, not a change: no test.
    """
    kind = "quantity"
    base = {"k": k, "n": n}
    if _hidden(k) or _hidden(n):
        return Claim(kind, whole, base, "hidden", None, None, None,
                     f"hur stor del av {whole} som {predicate} {HIDDEN_REASON}")  # fmt: skip
    k, n = int(k), int(n)
    if not 0 <= k <= n:
        raise ValueError(f"kräver 0 ≤ k ≤ n, fick k={k}, n={n}")
    if n == 0:
        return Claim(kind, whole, base, "none", None, None, None,
                     f"det fanns inga {whole.removeprefix('de ')} att beskriva")  # fmt: skip
    share = 100 * k / n
    word = quantifier(share)
    values = {**base, "share": share, "word": word}
    if word in ("ingen", "alla"):
        verb_whole = f"{word} av {whole}" if word == "alla" else f"ingen av {whole}"
        return Claim(kind, whole, values, "none", None, None, None, f"{verb_whole} {predicate}")
    text = f"{word} av {whole} ({_pct_value(share, decimals)}) {predicate}"
    return Claim(kind, whole, values, "none", None, None, None, text)


# --- Two counts ---------------------------------------------------------------------------------


def poisson_exact_test(k1: int, k0: int, t1: float = 1.0, t0: float = 1.0) -> float:
    """Two-sided exact Poisson test of equal rates: binomial test of ``k1`` given ``k1 + k0``."""
    from scipy.stats import binomtest

    n = k1 + k0
    if n == 0:
        return 1.0
    return float(binomtest(int(k1), int(n), t1 / (t1 + t0)).pvalue)


def compare_counts(
    k1: int | None,
    k0: int | None,
    *,
    subject: str,
    year1: Any,
    year0: Any,
    exposure1: float | None = None,
    exposure0: float | None = None,
    per: float = 1000,
    unit: str = "per 1 000 invånare",
    rate_decimals: int = 1,
    alpha: float = 0.05,
) -> Claim:
    """Compare two counts (or rates, with exposures) between two periods; exact Poisson test.

    Plain counts: ``"antalet anmälningar ökade från 1 704 år 2019 till 1 890 år 2020, en ökning
    med 11 % (p < 0,001)"``; not significant: ``"antalet … var 1 720 år 2020 mot 1 704 år 2019,
    en skillnad inom den slumpmässiga variationen (p = 0,798)"``. With ``exposure1``/``exposure0``
    the rates ``per`` ``unit`` are compared instead ("… från 41,2 till 45,8 per 1 000 barn …").
    ``unit`` should name the exposure with a no-break space in the number, as the default does.
    """
    kind = "count_change"
    unit = unit.replace("1 000", f"1{NBSP}000")
    base = {"k1": k1, "k0": k0, "year1": year1, "year0": year0, "exposure1": exposure1,
            "exposure0": exposure0, "alpha": alpha}  # fmt: skip
    rates = exposure1 is not None or exposure0 is not None
    if any(_hidden(x) for x in (k1, k0)) or (
        rates and any(_hidden(x) for x in (exposure1, exposure0))
    ):
        return Claim(kind, subject, base, "hidden", None, None, None,
                     f"{subject} år {year0} och {year1} {HIDDEN_REASON}")  # fmt: skip
    k1, k0 = int(k1), int(k0)
    if min(k1, k0) < 0:
        raise ValueError(f"ett antal kan inte vara negativt: {k1}, {k0}")
    t1, t0 = (float(exposure1), float(exposure0)) if rates else (1.0, 1.0)
    if min(t1, t0) <= 0:
        raise ValueError(f"exponeringen måste vara större än 0: {t1}, {t0}")
    if rates:
        v1, v0 = per * k1 / t1, per * k0 / t0
        a1, a0 = fmt.num(v1, rate_decimals), fmt.num(v0, rate_decimals)
        suffix = f" {unit}"
    else:
        v1, v0 = float(k1), float(k0)
        a1, a0 = fmt.num(k1), fmt.num(k0)
        suffix = ""
    if k1 == 0 and k0 == 0:
        return Claim(kind, subject, {**base, "value1": v1, "value0": v0}, "same", None, None,
                     None, f"{subject} var 0 både år {year0} och år {year1}")  # fmt: skip
    p = poisson_exact_test(k1, k0, t1, t0)
    rr = stats.rate_ratio(k1, k0, t1, t0, alpha=alpha, method="exact")
    sig = p < alpha
    change = 100 * (v1 / v0 - 1) if v0 > 0 else math.inf
    values = {**base, "value1": v1, "value0": v0, "rr": rr.rr, "rr_low": rr.low,
              "rr_high": rr.high, "change_pct": change}  # fmt: skip
    direction: Direction = "up" if v1 > v0 else "down" if v1 < v0 else "same"
    ptxt = pvalue_sv(p, alpha)
    if direction == "same":
        text = f"{subject} låg kvar på {a1}{suffix} både år {year0} och år {year1}"
    elif not sig:
        text = f"{subject} var {a1}{suffix} år {year1} mot {a0} år {year0}, {CHANCE} ({ptxt})"
    else:
        verb = "ökade" if direction == "up" else "minskade"
        noun = "en ökning" if direction == "up" else "en minskning"
        head = f"{subject} {verb} från {a0}{suffix} år {year0} till {a1} år {year1}"
        if math.isinf(change):
            text = f"{head} ({ptxt})"
        else:
            size = _pct_value(abs(change), 0)
            text = f"{head}, {noun} med {size} ({ptxt})"
    return Claim(kind, subject, values, direction, "poisson_exact", p, sig, text)


def compare_rates(
    k1: int | None,
    t1: float | None,
    k0: int | None,
    t0: float | None,
    *,
    subject: str,
    group1: str,
    group0: str,
    word: str = "många",
    alpha: float = 0.05,
) -> Claim:
    """Two groups' rates as a ratio: ``"anmälningarna per barn var 2,1 gånger så många i de
    utsatta områdena som i övriga områden (kvot 2,08; 95 %-igt konfidensintervall 1,82–2,37)"``.

    Exact conditional interval and exact Poisson test; "ungefär lika många" when the interval
    covers 1. ``group1``/``group0`` are written as given ("i de utsatta områdena").
    """
    kind = "rate_ratio"
    base = {"k1": k1, "t1": t1, "k0": k0, "t0": t0, "group1": group1, "group0": group0}
    if any(_hidden(x) for x in (k1, t1, k0, t0)):
        return Claim(kind, subject, base, "hidden", None, None, None,
                     f"{subject} {group1} jämfört med {group0} {HIDDEN_REASON}")  # fmt: skip
    k1, k0, t1, t0 = int(k1), int(k0), float(t1), float(t0)
    if k0 == 0:
        return Claim(kind, subject, base, "none", None, None, None,
                     f"{subject} {group1} kan inte jämföras med {group0}, där antalet är 0")  # fmt: skip
    r = stats.rate_ratio(k1, k0, t1, t0, alpha=alpha, method="exact")
    p = poisson_exact_test(k1, k0, t1, t0)
    sig = p < alpha
    direction: Direction = "up" if r.rr > 1 else "down" if r.rr < 1 else "same"
    words = times_as_many(r.rr, r.low, r.high, word=word)
    values = {**base, "rr": r.rr, "rr_low": r.low, "rr_high": r.high}
    text = (f"{subject} var {words} {group1} som {group0} (kvot {fmt.num(r.rr, 2)}; {CI_WORDS} "
            f"{fmt.num(r.low, 2)}{EN_DASH}{fmt.num(r.high, 2)})")  # fmt: skip
    return Claim(kind, subject, values, direction, "poisson_exact", p, sig, text)


# --- Ranking ------------------------------------------------------------------------------------


def rank(
    items: Mapping[str, float | None],
    *,
    n: int = 3,
    highest: bool = True,
    subject: str = "",
    prep: str = "i",
    decimals: int = 1,
    show_values: bool = False,
    unit: str = "",
) -> Claim:
    """Name the ``n`` highest (or lowest) items: ``"högst i Skäggetorp, Berga och Ryd"``.

    With ``show_values`` each name gets its value and ``unit`` (e.g. ``" %"``, with a no-break space).

    Hidden values (``None``/NaN) are left out (listed in ``values["hidden"]``). Items are compared
    on their values rounded to ``decimals`` (what the reader sees); items tied with the ``n``:th
    are all included. A tie at the top is said: ``"högst i Berga och Ryd, som delar
    förstaplatsen, följt av Skäggetorp"``. With ``subject`` the text is ``"<subject> var högst i
    …"``. A ranking is descriptive: it carries no test.
    """
    word = "högst" if highest else "lägst"
    hidden = [str(k) for k, v in items.items() if _hidden(v)]
    shown = {str(k): float(v) for k, v in items.items() if not _hidden(v)}
    lead = f"{subject} var {word}" if subject else word
    base: dict[str, Any] = {"items": shown, "hidden": hidden, "n": n, "highest": highest}
    if not shown:
        text = (f"{subject} kan inte rangordnas eftersom underlaget är litet" if subject
                else "ingen rangordning kan redovisas eftersom underlaget är litet")  # fmt: skip
        return Claim("rank", subject, base, "hidden", None, None, None, text)
    key = {k: _as_float(fmt.num(v, decimals)) for k, v in shown.items()}
    order = sorted(key, key=lambda k: -key[k] if highest else key[k])
    groups: list[list[str]] = []
    for k in order:
        if groups and key[groups[-1][0]] == key[k]:
            groups[-1].append(k)
        else:
            groups.append([k])
    chosen: list[list[str]] = []
    for g in groups:
        if sum(len(x) for x in chosen) >= n:
            break
        chosen.append(g)

    def label(k: str) -> str:
        return f"{k} ({fmt.num(shown[k], decimals)}{unit.replace(' ', NBSP)})" if show_values else k

    names = [k for g in chosen for k in g]
    base["top"] = names
    if len(groups) == 1 and len(groups[0]) > 1:
        text = f"{subject} var lika {prep} {join_sv(map(label, names))}" if subject else (
            f"lika {prep} {join_sv(map(label, names))}")  # fmt: skip
        return Claim("rank", subject, base, "same", None, None, None, text)
    first = chosen[0]
    text = f"{lead} {prep} {join_sv(map(label, first))}"
    if len(first) > 1:
        rest = [k for g in chosen[1:] for k in g]
        text += ", som delar förstaplatsen"
        if rest:
            text += f", följt av {join_sv(map(label, rest))}"
    else:
        rest = [k for g in chosen[1:] for k in g]
        if rest:
            text = f"{lead} {prep} {join_sv(map(label, first + rest))}"
    return Claim("rank", subject, base, "none", None, None, None, text)


# --- Trend --------------------------------------------------------------------------------------


def trend(
    estimate: Any,
    *,
    subject: str,
    start: Any,
    end: Any,
    constant_fits: bool | None = None,
    check_test: str | None = None,
    check_pvalue: float | None = None,
    pvalue: float | None = None,
    decimals: int = 1,
) -> Claim:
    """A yearly trend from a fitted model and a check of the model.

    ``estimate`` is a :class:`helpers.analysis.stats.MonthlyCountModel` (its ``trend`` and
    ``trend_pvalue`` are used), a ``(rr, low, high)`` rate ratio per year, or ``None`` (hidden).
    ``constant_fits`` is the model check: ``False`` when a constant yearly change does not
    describe the years (e.g. a test of year effects against the linear trend rejects); the claim
    then says so instead of giving a rate. Otherwise:

    * interval excludes 1: ``"antalet anmälningar ökade med 3,7 % per år under 2018–2022 (95 %-igt
      konfidensintervall 1,2–6,3 %)"``; below 1: ``"… minskade med 3,7 % per år …"`` (the interval
      is given as sizes of the decrease);
    * interval covers 1: ``"antalet anmälningar visade ingen säker förändring under 2018–2022
      (skattad förändring +1,2 % per år; 95 %-igt konfidensintervall −2,0 till +4,5 %)"``.
    """
    kind = "trend"
    period = range_sv(start, end)
    base: dict[str, Any] = {"start": start, "end": end, "constant_fits": constant_fits,
                            "check_test": check_test, "check_pvalue": check_pvalue}  # fmt: skip
    if estimate is None:
        return Claim(kind, subject, base, "hidden", None, None, None,
                     f"{subject} {period} {HIDDEN_REASON}")  # fmt: skip
    if hasattr(estimate, "trend") and hasattr(estimate, "trend_pvalue"):
        if pvalue is None:
            pvalue = float(estimate.trend_pvalue)
        base["family"] = getattr(estimate, "family", None)
        estimate = estimate.trend
    rr, low, high = (float(x) for x in estimate)
    if any(_hidden(x) for x in (rr, low, high)):
        return Claim(kind, subject, base, "hidden", None, None, None,
                     f"{subject} {period} {HIDDEN_REASON}")  # fmt: skip
    values = {**base, "rr": rr, "rr_low": low, "rr_high": high,
              "change_pct": 100 * (rr - 1), "low_pct": 100 * (low - 1),
              "high_pct": 100 * (high - 1)}  # fmt: skip
    if constant_fits is False:
        text = (f"{subject} {period}: en konstant årlig förändring beskriver inte åren väl; "
                f"förändringen varierar mellan åren")  # fmt: skip
        if check_pvalue is not None:
            text += f" ({pvalue_sv(check_pvalue)})"
        return Claim(kind, subject, values, "none", check_test, check_pvalue, None, text)
    sig = not (low <= 1 <= high)
    direction: Direction = "up" if rr > 1 else "down" if rr < 1 else "same"
    ci = f"{CI_WORDS}"
    if not sig:
        est = fmt.num(100 * (rr - 1), decimals)
        est = est if est.startswith(MINUS_SIGN) or _as_float(est) == 0 else "+" + est
        lo = fmt.num(100 * (low - 1), decimals)
        hi = fmt.num(100 * (high - 1), decimals)
        hi = hi if hi.startswith(MINUS_SIGN) or _as_float(hi) == 0 else "+" + hi
        text = (f"{subject} visade ingen säker förändring under {period} (skattad förändring "
                f"{est}{NBSP}% per år; {ci} {lo}{NBSP}% till {hi}{NBSP}%)")  # fmt: skip
    else:
        verb = "ökade" if direction == "up" else "minskade"
        sizes = sorted(abs(100 * (x - 1)) for x in (low, high))
        size = _pct_value(abs(100 * (rr - 1)), decimals)
        text = (f"{subject} {verb} med {size} per år under {period} ({ci} "
                f"{fmt.num(sizes[0], decimals)}{EN_DASH}{fmt.pct(sizes[1], decimals)})")  # fmt: skip
    return Claim(kind, subject, values, direction, "ci_excludes_1", pvalue, sig, text)


__all__: Sequence[str] = (
    "CI_WORDS", "Claim", "ClaimLog", "compare_counts", "compare_rates", "compare_shares",
    "join_sv", "level_share", "poisson_exact_test", "pvalue_sv", "quantifier", "range_sv",
    "rank", "ratio_text", "sentence", "times_as_many", "trend", "years_sv",
)  # fmt: skip

"""Swedish typography rules on running text (helpers.publishing.typography)."""

from __future__ import annotations

import pytest

from helpers.publishing import fmt, phrasing, typography
from helpers.publishing.typography import html_text, problems

NB = "\u00a0"
MINUS = "\u2212"
EN = "\u2013"


def rules_hit(text: str) -> list[str]:
    return [p.rule for p in typography.find_problems(text)]


# Each rule: texts that break it, and texts that look alike but are right.
CASES = {
    "hyphen-between-digits": (
        ["barn 0-17 år", "åren 2018-2022", "1,5-2,0 gånger", "i åldern 13-17.", "Anmälan 0-17år"],
        [f"barn 0{EN}17 år", "den 2020-03-01", "i 2020-03 kom", "fil fig-1", "kod B12-3",
         "sec-2020-01-02"],
    ),
    "negative-hyphen": (
        ["förändringen var -3,7 procent", "(-12)", "-5 grader"],
        [f"förändringen var {MINUS}3,7 procent", "fig-1", "2020-03", "a - 5 b"],
    ),
    "space-before-percent": (
        ["andelen var 48,4 % år 2020", "95 % konfidensintervall", "95 %-igt", "48,4\n%"],
        [f"andelen var 48,4{NB}%", f"95{NB}%-igt konfidensintervall", "Andel (%)"],
    ),
    "percent-without-space": (
        ["andelen var 48,4% år 2020", "95%-igt"],
        [f"48,4{NB}%", "Andel (%)"],
    ),
    "space-before-procentenheter": (
        ["ökade med 2,7 procentenheter", "med 1 procentenhet", "2,7\nprocentenheter"],
        [f"ökade med 2,7{NB}procentenheter", "antal procentenheter"],
    ),
    "thousands-plain-space": (
        ["kom 1 704 anmälningar", "15 000 barn", "1 234 567", "år 2020 1 704 anmälningar",
         "1\n704", "1 704,5"],
        [f"kom 1{NB}704 anmälningar", "år 2020 170 anmälningar", "i 12 fall", "2019 och 2020",
         "0,5 100", "12 3456", "1  704"],
    ),
    "times-more": (
        ["1,54 gånger fler", "tre gånger mer", "2 gånger större", "två GÅNGER högre"],
        ["2,1 gånger så många", "flera gånger", "gånger så hög"],
    ),
    "double-period": (
        ["sedan 2018..", "slut.. Nästa"],
        ["slut. Nästa", "och så vidare...", "slut…"],
    ),
    "space-before-punctuation": (
        ["ökade , och", "år 2020 .", f"år 2020{NB}."],
        ["ökade, och", "år 2020.", "värdet ,5 i filen .csv-format", "a,b"],
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "text"),
    [(rule, t) for rule, (bad, _) in CASES.items() for t in bad],
)
def test_rule_flags(rule, text):
    assert rule in rules_hit(text), (rule, text, problems(text))


@pytest.mark.parametrize(
    ("rule", "text"),
    [(rule, t) for rule, (_, good) in CASES.items() for t in good],
)
def test_rule_passes(rule, text):
    assert rule not in rules_hit(text), (rule, text, problems(text))


def test_every_rule_has_cases():
    assert set(CASES) == set(typography.RULES)


def test_message_names_rule_and_quotes_context():
    text = "Under året kom många anmälningar in; andelen var 48,4 % år 2020 enligt tabellen nedan."
    (msg,) = problems(text)
    assert msg.startswith("space-before-percent: ")
    assert "48,4 %" in msg and "»" in msg and "…" in msg
    context = msg.split("»", 1)[1].rstrip("«")
    assert 20 <= len(context) <= 45


def test_context_shows_invisible_characters():
    (msg,) = problems(f"var 1{NB}704 och 48,4\n% av")
    assert "1\u2423704" in msg and "⏎" in msg


def test_clean_text_and_rule_selection():
    text = (
        f"Under 2020 kom 1{NB}704 anmälningar, 12,3{NB}% fler än 2019 (+2,7{NB}procentenheter). "
        f"Barn 0{EN}17 år; förändring {MINUS}3,7{NB}% per år; 2,1 gånger så många. Den 2020-03-01."
    )
    assert problems(text) == []
    assert rules_hit("0-17 och 48,4 %") == ["hyphen-between-digits", "space-before-percent"]
    assert problems("0-17 och 48,4 %", rules=["space-before-percent"])[0].startswith("space-")
    with pytest.raises(KeyError):
        problems("x", rules=["no-such-rule"])


def test_fmt_and_phrasing_output_is_clean():
    samples = [
        fmt.num(1234567.5, 1), fmt.pct(-3.7), fmt.pp(2.7, sign=True), fmt.pp(-2.7),
        str(phrasing.compare_counts(1890, 1704, subject="antalet", year1=2020, year0=2019)),
        str(phrasing.compare_shares(300, 2000, 246, 2000, subject="andelen", year1=2020,
                                    year0=2019)),
        str(phrasing.trend((1.012, 0.98, 1.045), subject="antalet", start=2018, end=2022)),
        phrasing.ratio_text(1.42, 1.21, 1.66),
    ]  # fmt: skip
    for s in samples:
        assert problems(s) == [], (s, problems(s))


# --- html_text ----------------------------------------------------------------------------------

PAGE = f"""<!DOCTYPE html>
<html lang="sv"><head><title>Inflöde 0-17</title>
<style>.a {{ width: 0-17px; }} p::after {{ content: "1 704"; }}</style>
<script>var x = "0-17 .."; </script></head>
<body>
<nav id="TOC" role="doc-toc"><a href="#s-1">1 Inflöde 2018-2022</a></nav>
<div id="quarto-margin-sidebar" class="sidebar"><p>Sidan 1 704</p></div>
<main id="content">
<h1><span class="header-section-number">1</span> Inflöde</h1>
<p>Under 2020 kom 1{NB}704
   anmälningar in, se <a href="https://example.org/a-1-2">figur 1.1</a>.
Källa: https://www.scb.se/hitta-statistik/2018-2022. Data i <code>key_figures_2018-2022.csv</code>.</p>
<pre><code>x = 2018-2022 ..</code></pre>
<div class="sourceCode"><pre>y = -3</pre></div>
<p>Andelen var 48,4&nbsp;% och<br>barn 0&ndash;17 år.</p>
<table><tr><td>12</td><td>345</td></tr><tr><td>2020</td><td>48,4</td></tr></table>
<p>Formel <span class="math inline">\\(a-1\\)</span>.</p>
</main>
<nav class="sitenav"><a href="sec-2.html">Nästa 2-3</a></nav>
</body></html>"""


def test_html_text_keeps_running_text_only():
    text = html_text(PAGE)
    assert "Under 2020 kom 1\u00a0704 anmälningar in, se figur 1.1." in text
    assert "Andelen var 48,4\u00a0% och\nbarn 0–17 år." in text
    for dropped in ("width", "var x", "Inflöde 2018-2022", "Sidan", "x = 2018", "y = -3",
                    "Nästa", "example.org", "scb.se", "key_figures", "a-1", "<"):  # fmt: skip
        assert dropped not in text, dropped
    assert "Källa: [url]." in text and "Data i [kod]." in text and "Formel [formel]." in text


def test_html_text_separates_blocks_and_cells():
    text = html_text(PAGE)
    assert "12\n\n345" in text  # neighbouring cells are not one number
    assert problems(text) == [], problems(text)


def test_html_text_then_problems_finds_prose_errors():
    html = "<p>Antalet var 1 704, 0-17 år, 1,54 gånger fler (18 % förändring)..</p>"
    rules = [p.rule for p in typography.find_problems(html_text(html))]
    assert set(rules) == {
        "thousands-plain-space",
        "hyphen-between-digits",
        "times-more",
        "space-before-percent",
        "double-period",
    }


def test_html_text_whitespace_collapses_but_keeps_nbsp():
    text = html_text("<p>48,4\n   %</p><p>a&nbsp;&nbsp;b</p>")
    assert text == "48,4 %\n\na\u00a0\u00a0b"
    assert rules_hit(text) == ["space-before-percent"]


def test_html_text_nested_skips_and_unclosed_tags():
    html = "<div class='toc'><div><p>0-17</p></div><p>1 704</div><p>kvar 0–17<li>punkt"
    assert html_text(html) == "kvar 0–17\n\npunkt"

"""The downloads beside the report: data files that Swedish Excel opens, and PDF links that work.

Every figure's and table's data file, and ``nyckeltal.csv``, is UTF-8 with a byte-order mark,
``;`` between fields and a decimal comma, rounded as the report shows it, with Swedish headers,
a ``Förklaring`` for every hidden value and a ``Data`` column saying whether the data are
synthetic. The build's audit reads the same files. Every link in the PDF is absolute or names a
file that exists beside the PDF.
"""

from __future__ import annotations

import io
import json
import re
import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers import build  # noqa: E402
from helpers.analysis.disclosure import CellSet  # noqa: E402
from helpers.publishing import publish  # noqa: E402
from helpers.publishing.files import _csv_bytes  # noqa: E402
from helpers.publishing.publish import Publisher  # noqa: E402
from helpers.publishing.views import CSV_DATA_NOTE, _published_csv, csv_header  # noqa: E402
from tests.conftest import Project  # noqa: E402

SYNTHETIC = CSV_DATA_NOTE[True]
#: Internal column names that must never reach a published file.
INTERNAL = {"ar", "antal", "andel", "orsak", "kategori", "aldersgrupp", "month", "modell", "per_1000",
            "barn_0_17", "utsatt_omrade", "beslut", "etikett", "forklaring", "förklaring", "status"}
NUMBER = re.compile(r"^-?\d+(,(\d+))?$")


def read_excel_csv(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The file as Swedish Excel settings read it (typed), and as text (to see the decimals)."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: ingen BOM"
    assert b"\r\n" in raw
    typed = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig")
    text = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return typed, text


def decimals(value: str) -> int:
    m = NUMBER.match(value)
    return len(m.group(2)) if m and m.group(2) else 0


def check_data_file(path: Path) -> None:
    typed, text = read_excel_csv(path)
    name = path.name
    assert len(typed.columns) > 2, f"{name}: fel avgränsare?"
    for col in typed.columns:
        assert "|" not in col, f"{name}: intern kolumn {col!r}"
        assert col.strip().lower() not in INTERNAL or col[:1].isupper(), f"{name}: intern rubrik {col!r}"
        assert col[:1].isupper(), f"{name}: rubriken {col!r} är inte en svensk rubrik"
    assert list(typed.columns[-2:]) == ["Förklaring", "Data"], name
    assert set(text["Data"]) == {SYNTHETIC}, f"{name}: datakolumnen säger inte att data är syntetiska"
    for col in text.columns[:-2]:
        cells = [v for v in text[col] if v != ""]
        numeric = cells and all(NUMBER.match(v) for v in cells)
        if not numeric:
            assert not any(re.fullmatch(r"-?\d+\.\d+", v) for v in cells), f"{name}: decimalpunkt i {col!r}"
            continue
        assert pd.api.types.is_numeric_dtype(typed[col]), f"{name}: {col!r} läses inte som tal"
        most = max(decimals(v) for v in cells)
        if col.startswith(("Antal", "År")) and "per" not in col:
            assert most == 0, f"{name}: {col!r} har decimaler"
        elif "(%)" in col or "per 1 000" in col:
            assert most == 1, f"{name}: {col!r} har {most} decimaler, visas med 1"
        else:
            assert most <= 2, f"{name}: {col!r} har {most} decimaler"
    # a hidden count is empty and its row says why
    for col in [c for c in text.columns if c.startswith("Antal") and "per" not in c]:
        for i in text.index[text[col] == ""]:
            assert col in text.at[i, "Förklaring"], f"{name}: rad {i + 1}: {col!r} tom utan förklaring"


# --- the rendered book --------------------------------------------------------------------------


def test_every_data_file_opens_in_swedish_excel(rendered: Project):
    files = sorted((rendered.book / "figures").glob("*.csv")) + sorted((rendered.book / "tables").glob("*.csv"))
    assert len(files) >= 9
    for path in files:
        check_data_file(path)
    # the share of fig-aldersgrupper was 78.43137254901961 before: now as displayed
    text = (rendered.book / "figures" / "fig-aldersgrupper.csv").read_text(encoding="utf-8-sig")
    assert not re.search(r"\d[.,]\d{3,}", text)


def test_nyckeltal_opens_in_swedish_excel(rendered: Project):
    typed, text = read_excel_csv(rendered.book / "nyckeltal.csv")
    assert list(typed.columns[:4]) == ["Id", "Kapitel", "År", "Värde"]
    assert pd.api.types.is_numeric_dtype(typed["Värde"])
    assert set(text["Data"]) == {SYNTHETIC}
    for value, unit in zip(text["Värde"], text["Enhet"], strict=True):
        if value:
            assert NUMBER.match(value), value
            assert decimals(value) <= build.UNIT_DECIMALS[{v: k for k, v in build.UNIT_LABELS.items()}[unit]]
    assert (text.loc[text["Värde"] == "", "Förklaring"] != "").all()
    machine = pd.read_csv(rendered.book / "key_figures.csv", keep_default_na=False, na_values={"value": [""]})
    assert list(machine.columns) == build.PUBLISHED_KEY_FIGURE_COLUMNS  # the machine-readable one is kept


def test_pdf_links_reach_their_files(rendered: Project):
    pdf = next(rendered.book.glob("*.pdf"))
    targets = build.pdf_link_targets(pdf.read_bytes())
    data = [t for t in targets if t.endswith(".csv")]
    figures = {p.name for p in (rendered.book / "figures").glob("fig-*.csv")}
    assert {Path(t).name for t in data} >= figures, "en figurs data saknar länk i PDF:en"
    for t in targets:
        assert re.match(r"^(https?|mailto):", t) or (pdf.parent / t).is_file(), f"död länk i PDF:en: {t}"
    assert build.check_pdf_links(pdf) >= len(figures)


# --- the publisher's files and the audit ------------------------------------------------------


@pytest.fixture
def chapter(tmp_path, monkeypatch) -> tuple[Publisher, Path]:
    monkeypatch.setattr(publish, "display", lambda obj: None)
    records = pd.DataFrame({"kategori": ["a"] * 1200 + ["b"] * 3 + ["c"] * 40 + ["d"] * 15})
    pub = Publisher("demo", 2020, tmp_path / "out", figures_dir=tmp_path / "slides")
    cs = CellSet(records)
    tab = cs.tabulate("t", by="kategori")
    total = cs.total("alla")
    pub.protect(cs)
    view = pub.view(tab, den=total, interval=True)
    pub.figure("fig-demo", view, lambda ax, d: publish.barh(ax, d, y="kategori", x="antal"),
               title="Demo", source="Källa: test.")
    pub.table("tbl-demo", view, columns={"kategori": "Orsak", "antal": "Antal", "andel": "Andel (%)"})
    return pub, tmp_path / "out"


def test_publisher_writes_excel_files_and_logs_their_headers(chapter):
    pub, out = chapter
    for path in (out / "figures" / "fig-demo.csv", out / "tables" / "tbl-demo.csv"):
        check_data_file(path)
    typed, text = read_excel_csv(out / "figures" / "fig-demo.csv")
    assert list(typed.columns) == ["Kategori (kod)", "Antal", "Andel (%)", "Andel, KI lägre (%)",
                                   "Andel, KI övre (%)", "Förklaring", "Data"]
    assert typed.loc[0, "Antal"] == 1200 and text.loc[0, "Andel (%)"] == "95,4"
    assert "<5 = färre än 5" in text.loc[1, "Förklaring"]
    pubs = json.loads(pub.publications_path.read_text(encoding="utf-8"))
    for entry in pubs:
        if entry["kind"] in {"figure", "table"}:
            header = read_excel_csv(out / entry["artefact"])[0].columns
            assert {c["column"] for c in entry["cells"]} <= set(header)


def test_audit_reads_the_excel_files(chapter):
    pub, out = chapter
    assert build.check_publications(out, pub.publications_path, pub.prot, "demo") == 8
    path = out / "tables" / "tbl-demo.csv"
    good = path.read_bytes()
    path.write_bytes(good.replace(b"\r\n" + b"a;1200;", b"\r\na;1201;"))
    with pytest.raises(build.BuildError, match=r"tbl-demo.csv, rad 1, kolumnen 'Antal' visar '1201'"):
        build.check_publications(out, pub.publications_path, pub.prot, "demo")
    lines = good.decode("utf-8-sig").split("\r\n")
    assert lines[2].startswith("b;;;")
    lines[2] = f"b;;;;{SYNTHETIC}"  # the hidden row without its explanation
    path.write_bytes(("\ufeff" + "\r\n".join(lines)).encode("utf-8"))
    with pytest.raises(build.BuildError, match="utan att säga varför"):
        build.check_publications(out, pub.publications_path, pub.prot, "demo")


def test_values_rounded_as_displayed_and_headers():
    df = pd.DataFrame({"ar": [2019, 2020], "month": pd.to_datetime(["2019-01-01", "2020-02-01"]),
                       "Kvot": [1.0969983324068928, -0.001], "modell": [291.6910711468061, 2.25],
                       "barn_0_17": [1500.0, 2700.0], "utsatt_omrade": [True, False]})
    table = _published_csv(df, synthetic=False)
    assert list(table.columns) == ["År", "Månad", "Kvot", "Modell", "Barn 0–17 år", "Utsatt område",
                                   "Förklaring", "Data"]
    assert table.iloc[0].tolist()[:6] == ["2019", "2019-01-01", "1,10", "291,7", "1500", "ja"]
    assert table.iloc[1].tolist()[:6] == ["2020", "2020-02-01", "0,00", "2,3", "2700", "nej"]
    assert set(table["Data"]) == {CSV_DATA_NOTE[False]}
    back = pd.read_csv(io.BytesIO(_csv_bytes(table)), sep=";", decimal=",", encoding="utf-8-sig")
    assert back["Kvot"].tolist() == [1.1, 0.0] and back["Barn 0–17 år"].tolist() == [1500, 2700]
    assert csv_header("andel övre") == "Andel, KI övre (%)" and csv_header("Mars 2020") == "Mars 2020"
    assert csv_header("ny_kolumn") == "Ny kolumn"


# --- links in a PDF read alone ------------------------------------------------------------------


def test_absolute_data_links_with_a_published_address():
    base = build.published_base("https://example.se/genomlysning/{year}/", 2020, "1.2.0")
    assert base == "https://example.se/genomlysning/2020/"
    text = '"#| fig-cap: \\"Figur. [Data (CSV)](figures/fig-a.csv)\\"", "[bild](figures/fig-a.png)"'
    out = build.absolute_data_links(text, base)
    assert "](https://example.se/genomlysning/2020/figures/fig-a.csv)" in out
    assert "](figures/fig-a.png)" in out
    assert build.published_base("", 2020, "1") == ""
    with pytest.raises(build.BuildError):
        build.published_base("example.se/{år}", 2020, "1")


def test_pdf_link_targets_also_in_compressed_object_streams(tmp_path):
    plain = b"<< /A << /S /URI /URI (figures/fig-a.csv) >> >>"
    packed = zlib.compress(b"<< /S /URI /URI (tables/tbl-\\(b\\).csv) >> << /URI <68747470733a2f2f782e7365> >>")
    pdf = b"%PDF-1.5\n" + plain + b"\n1 0 obj << /Type /ObjStm >>\nstream\n" + packed + b"\nendstream\n"
    assert build.pdf_link_targets(pdf) == ["figures/fig-a.csv", "tables/tbl-(b).csv", "https://x.se"]
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig-a.csv").write_text("x")
    (tmp_path / "r.pdf").write_bytes(pdf)
    with pytest.raises(build.BuildError, match=r"tables/tbl-\(b\).csv"):
        build.check_pdf_links(tmp_path / "r.pdf")
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "tbl-(b).csv").write_text("x")
    assert build.check_pdf_links(tmp_path / "r.pdf") == 2

"""The command ``genomlysning struktur update`` (``helpers.data.struktur_offentlig``), offline.

SCB and Kolada are replaced by getters (url → JSON) or, for the HTTP errors and the command line, by
fakes of the modules' ``urlopen`` that answer from hand-made responses in the sources' documented
shapes (``tests/data/struktur_offentlig/``). An error leaves the previous extract byte for byte as
it was; the written extract passes ingest's validation of the extract.
"""

from __future__ import annotations

import datetime as dt
import email.message
import io
import json
import urllib.error
import urllib.parse
from pathlib import Path

import openpyxl
import pytest

from helpers import cli
from helpers.data import contract, ingest, kolada, scb, struktur_offentlig

DATA = Path(__file__).parent / "data" / "struktur_offentlig"
YEARS = [2018, 2019]
KOLADA_URL = f"{kolada.API}/data/kpi/N15508,N31816,N00919/municipality/0580,0000/year/2018,2019"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class Getter:
    """url → JSON: Kolada's pages by URL, SCB's one answer for any TAB638 data URL; records URLs."""

    def __init__(self, scb_file: str = "scb_tab638.json", kolada_pages: dict[str, dict] | None = None):
        self.scb_file = scb_file
        self.kolada_pages = kolada_pages if kolada_pages is not None else {
            KOLADA_URL: recorded("kolada_sida1.json"),
            recorded("kolada_sida1.json")["next_url"]: recorded("kolada_sida2.json"),
        }
        self.urls: list[str] = []

    def scb(self, url: str) -> dict:
        self.urls.append(url)
        assert url.startswith(f"{scb.API}/tables/TAB638/data?")
        return recorded(self.scb_file)

    def kolada(self, url: str) -> dict:
        self.urls.append(url)
        return self.kolada_pages[url]


def run(tmp_path: Path, getter: Getter | None = None, **kwargs) -> struktur_offentlig.UpdateResult:
    g = getter or Getter()
    return struktur_offentlig.update(YEARS, tmp_path / "struktur_offentlig.xlsx", get_scb=g.scb, get_kolada=g.kolada,
                                     **kwargs)


def sheet_rows(path: Path, name: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()


def contract_headers(sheet: str) -> tuple[str, ...]:
    return tuple(c.header for c in next(s for s in contract.STRUKTUR_OFFENTLIG.sheets if s.name == sheet).columns)


class FakeUrlopen:
    """``urlopen`` answering from ``answers`` (callable url → JSON) or raising HTTP ``status`` for
    URLs that contain ``fail``."""

    def __init__(self, answer, fail: str | None = None, status: int = 503):
        self.answer, self.fail, self.status = answer, fail, status

    def __call__(self, req, timeout=None):
        assert timeout is not None, "every request has a timeout"
        url = req.full_url
        if self.fail and self.fail in url:
            raise urllib.error.HTTPError(url, self.status, "Service Unavailable", email.message.Message(), None)
        return io.BytesIO(json.dumps(self.answer(url)).encode("utf-8"))


@pytest.fixture
def network(monkeypatch):
    """Replace both modules' ``urlopen``; a Kolada or SCB URL that contains ``fail`` gets HTTP ``status``."""

    def install(fail: str | None = None, status: int = 503) -> Getter:
        g = Getter()
        monkeypatch.setattr(scb, "urlopen", FakeUrlopen(g.scb, fail, status))
        monkeypatch.setattr(kolada, "urlopen", FakeUrlopen(g.kolada, fail, status))
        return g

    return install


# --------------------------------------------------------------------------------------------
# Happy path
# --------------------------------------------------------------------------------------------


def test_update_writes_both_sheets_with_the_contracts_headers(tmp_path):
    g = Getter()
    result = run(tmp_path, g)
    out = tmp_path / "struktur_offentlig.xlsx"
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["Befolkning", "Nyckeltal", "Om"]
    assert wb.properties.creator.endswith("struktur update"), "real data, not marked synthetic"
    wb.close()
    assert not ingest.is_synthetic(out)

    pop = sheet_rows(out, "Befolkning")
    assert pop[0] == contract_headers("Befolkning") == ("Region-id", "Region", "År", "Ålder", "Antal")
    assert len(pop) - 1 == result.population_rows == 2 * 20
    assert pop[1] == ("0580", "Linköping", 2018, 0, 3807), "id as text with its leading zero; SCB's '0580 ' prefix dropped"
    assert pop[-1] == ("0580", "Linköping", 2019, 19, 3807 + 20 * 19 + 50 + 9), "summed over sex and marital status"
    assert [(r[2], r[3]) for r in pop[1:]] == [(y, a) for y in YEARS for a in range(20)]

    kpi = sheet_rows(out, "Nyckeltal")
    assert kpi[0] == contract_headers("Nyckeltal") == ("Kommun-id", "Kommun", "KPI-id", "Nyckeltal", "År", "Värde")
    assert kpi[1:] == [
        ("0580", "Linköping", "N15508", "ak9_alla_amnen", 2018, 76.1),
        ("0580", "Linköping", "N15508", "ak9_alla_amnen", 2019, 74.9),
        ("0580", "Linköping", "N31816", "langvarigt_bistand", 2018, 1.4),
        ("0580", "Linköping", "N31816", "langvarigt_bistand", 2019, 1.3),
        ("0000", "Riket", "N15508", "ak9_alla_amnen", 2018, 75.6),
        ("0000", "Riket", "N15508", "ak9_alla_amnen", 2019, 75.5),
        ("0000", "Riket", "N31816", "langvarigt_bistand", 2018, 1.5),
    ]
    assert result.kpi_rows == 7

    about = dict(sheet_rows(out, "Om")[1:])
    assert about["Adress, folkmängd"] == g.urls[0] and "TAB638" in about["Källa, folkmängd"]
    assert about["Adresser, nyckeltal"] == KOLADA_URL
    assert "N15508" in about["Nyckeltal"] and "N00919" in about["Nyckeltal"] and about["År"] == "2018–2019"
    assert dt.datetime.fromisoformat(about["Hämtat"]).date() == dt.datetime.now(dt.UTC).date()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["struktur_offentlig.xlsx"], "no temporary file left"


def test_scb_is_asked_for_the_configured_selection(tmp_path):
    g = Getter()
    run(tmp_path, g)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(g.urls[0]).query)
    assert q["valueCodes[Region]"] == ["0580"] and q["valueCodes[Tid]"] == ["2018,2019"]
    assert q["valueCodes[Alder]"] == [",".join(str(a) for a in range(20))]


def test_kolada_pages_are_followed(tmp_path):
    g = Getter()
    run(tmp_path, g)
    assert g.urls[1:] == [KOLADA_URL, recorded("kolada_sida1.json")["next_url"]], "both pages, then stop at next_url null"


def test_missing_kpi_data_are_reported(tmp_path):
    result = run(tmp_path)
    summary = result.summary()
    assert "inga värden för N00919 (arbetsloshet)" in summary
    assert "N31816 (langvarigt_bistand) saknar värden för Riket 2019" in summary
    assert "N15508" not in " ".join(result.warnings), "a KPI with every value is not reported"
    assert result.fetched.missing == 1 and result.fetched.other_genders == 2
    about = dict(sheet_rows(tmp_path / "struktur_offentlig.xlsx", "Om")[1:])
    assert "N00919" in about["Utelämnade"]


def test_written_file_passes_ingest_validation(tmp_path):
    run(tmp_path, validate=False)  # the check after writing is tested here on its own
    tables, problems = ingest.read_extract(tmp_path / "struktur_offentlig.xlsx", contract.STRUKTUR_OFFENTLIG, None, "k")
    assert problems == []
    pop, kpi = tables["befolkning_alder"], tables["struktur_nyckeltal"]
    assert set(pop["region_id"].astype(str)) == {"0580"} and len(pop) == 40
    assert set(kpi["kommun_id"].astype(str)) == {"0580", "0000"}
    assert set(kpi["kpi_id"].astype(str)) == {"N15508", "N31816"}


def test_a_value_against_the_contract_is_not_written(tmp_path):
    pages = {KOLADA_URL: recorded("kolada_sida1.json"), recorded("kolada_sida1.json")["next_url"]: recorded("kolada_sida2.json")}
    pages[KOLADA_URL]["values"][0]["values"][0]["value"] = 176.1  # a share above 100 %
    with pytest.raises(struktur_offentlig.StrukturError, match="följer inte datakontraktet"):
        run(tmp_path, Getter(kolada_pages=pages))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Errors: nothing is written
# --------------------------------------------------------------------------------------------


def test_missing_age_is_a_clear_error_and_nothing_is_written(tmp_path):
    with pytest.raises(struktur_offentlig.StrukturError) as e:
        run(tmp_path, Getter(scb_file="scb_tab638_utan_7_ar.json"))
    msg = str(e.value)
    assert msg.startswith("SCB:s svar för https://") and "2018: 7 år" in msg and "2019: 7 år" in msg
    assert "skrevs inte" in msg
    assert list(tmp_path.iterdir()) == []


def test_a_null_population_cell_is_an_error(tmp_path):
    doc = recorded("scb_tab638.json")
    doc["value"][3] = None

    class Null(Getter):
        def scb(self, url):
            return doc

    with pytest.raises(struktur_offentlig.StrukturError, match="1 tomma celler"):
        run(tmp_path, Null())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("failing", "source", "where"), [
    ("/tables/TAB638/", "SCB", scb.API),
    ("/data/kpi/", "Kolada", KOLADA_URL),
    ("page=2", "Kolada", "page=2"),  # the second page of Kolada
])
def test_http_error_names_source_url_and_status_and_leaves_the_old_file(network, tmp_path, capsys, failing, source, where):
    out = tmp_path / "struktur_offentlig.xlsx"
    network()
    assert cli.main(["struktur", "update", "--years", "2018-2019", "--out", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    network(fail=failing)
    assert cli.main(["struktur", "update", "--years", "2018-2019", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{source} svarade med HTTP-status 503" in err and where in err and "är orörd" in err
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["struktur_offentlig.xlsx"]


def test_scb_400_says_what_to_check(network, tmp_path):
    network(fail="/tables/TAB638/", status=400)
    with pytest.raises(scb.ScbError) as e:
        struktur_offentlig.update(YEARS, tmp_path / "x.xlsx")
    assert "HTTP-status 400" in str(e.value) and "scb_tabeller.csv" in str(e.value)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def test_command_prints_a_summary(network, tmp_path, capsys):
    network()
    out = tmp_path / "raw" / "struktur_offentlig.xlsx"
    assert cli.main(["struktur", "update", "--years", "2018-2019", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "40 rader folkmängd (SCB), 7 rader nyckeltal (Kolada)" in printed and "Varning: inga värden för N00919" in printed
    assert out.exists()


def test_bad_years_are_refused(capsys, tmp_path):
    assert cli.main(["struktur", "update", "--years", "sedan 2014", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "ogiltiga år" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_help_lists_the_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "struktur" in capsys.readouterr().out


def test_default_years_run_from_2014_to_last_year():
    assert struktur_offentlig.default_years(dt.date(2023, 3, 1)) == list(range(2014, 2023))
    assert set(struktur_offentlig.kpis()) == {"N15508", "N31816", "N00919"}

"""The Kolada client, the command ``genomlysning kolada update`` and the synthetic comparison data.

Offline: ``helpers.data.kolada.urlopen`` is replaced by a fake Kolada that answers from recorded
responses in the documented JSON shape (``tests/data/kolada/``) or, for the whole command, from a
generator of responses in that shape. An HTTP error leaves the previous extract byte for byte as it
was; the written extract passes ingest's contract checks.
"""

from __future__ import annotations

import email.message
import io
import json
import re
import urllib.error
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from helpers import cli
from helpers.data import contract, ingest, kolada
from helpers.data.synth import generate, jamforelse

DATA = Path(__file__).parent / "data" / "kolada"
API = kolada.API
PAGE1_URL = f"{API}/data/kpi/N33016,N33007/municipality/0580,0581/year/2018,2019"
GROUP_SEARCH_URL = f"{API}/municipality_groups?title=" + urllib.parse.quote("Liknande kommuner IFO, Linköping")


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class FakeKolada:
    """Answers ``urlopen`` from a dict URL → JSON (or a callable for data queries); records every
    URL asked for; an unknown URL is a 404."""

    def __init__(self, responses: dict[str, dict] | None = None, data=None, fail: dict[str, int] | None = None):
        self.responses = dict(responses or {})
        self.data = data
        self.fail = dict(fail or {})
        self.urls: list[str] = []

    def __call__(self, req, timeout=None):
        url = req.full_url if hasattr(req, "full_url") else str(req)
        assert timeout is not None, "every request has a timeout"
        self.urls.append(url)
        for pattern, status in self.fail.items():
            if pattern in url:
                raise urllib.error.HTTPError(url, status, "Service Unavailable", email.message.Message(), None)
        if url in self.responses:
            body = self.responses[url]
        elif self.data is not None and "/data/kpi/" in url:
            body = self.data(url)
        else:
            raise urllib.error.HTTPError(url, 404, "Not Found", email.message.Message(), None)
        return io.BytesIO(json.dumps(body).encode("utf-8"))


@pytest.fixture
def fake(monkeypatch):
    def install(**kwargs) -> FakeKolada:
        f = FakeKolada(**kwargs)
        monkeypatch.setattr(kolada, "urlopen", f)
        return f

    return install


def generated_data(without: tuple[str, ...] = ()):
    """A data endpoint in Kolada's shape: a value for every KPI, municipality and year asked for
    (KPIs in ``without`` have none), gender T and, for cost KPIs, K and M too."""

    def answer(url: str) -> dict:
        m = re.search(r"/data/kpi/([^/]+)/municipality/([^/]+)/year/([^/?]+)", url)
        kpis, munis, years = (urllib.parse.unquote(g).split(",") for g in m.groups())
        values = []
        for k in kpis:
            if k in without:
                continue
            for mu in munis:
                for y in years:
                    v = 1000.0 + int(mu) % 97 + int(y) - 2000 if k.startswith("N330") else 5.5
                    values.append({"kpi": k, "municipality": mu, "period": int(y), "values": [
                        {"gender": "T", "count": 1, "status": "", "value": v, "isdeleted": False}]})
        return {"count": len(values), "values": values, "previous_url": None, "next_url": None}

    return answer


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


def test_data_query_follows_next_url_and_keeps_gender_t(fake):
    f = fake(responses={PAGE1_URL: recorded("data_page1.json"),
                        recorded("data_page1.json")["next_url"]: recorded("data_page2.json")})
    got = kolada.fetch_data(["N33016", "N33007"], ["0580", "0581"], [2018, 2019])
    assert f.urls == [PAGE1_URL, recorded("data_page1.json")["next_url"]], "both pages, then stop at next_url null"
    assert {(r["kpi_id"], r["kommun_id"], r["ar"]): r["varde"] for r in got.rows} == {
        ("N33016", "0580", 2018): 2060.0, ("N33016", "0580", 2019): 2427.0, ("N33016", "0581", 2019): 2512.0,
        ("N33007", "0580", 2018): 858.0, ("N33007", "0580", 2019): 974.0,
    }
    assert got.missing == 2, "a null value and a result without values"
    assert got.deleted == 1, "the value marked isdeleted"
    assert got.other_genders == 2, "K and M are not kept"
    assert got.without_data(["N33016", "N33007"]) == []


def test_a_kpi_without_data(fake):
    url = f"{API}/data/kpi/N33808/municipality/0580/year/2019"
    fake(responses={url: recorded("data_empty.json")})
    got = kolada.fetch_data(["N33808"], ["0580"], [2019])
    assert got.rows == [] and got.without_data(["N33808"]) == ["N33808"]


def test_requests_are_split_into_chunks(fake):
    f = fake(data=generated_data())
    munis = [f"{i:04d}" for i in range(100, 118)]  # 18 municipalities
    kpis = kolada.kpis()["kpi_id"].tolist()  # 7 KPIs
    got = kolada.fetch_data(kpis, munis, [2019])
    assert len(f.urls) == 2 * 3, "KPIs in chunks of 4, municipalities in chunks of 8"
    for url in f.urls:
        m = re.search(r"/kpi/([^/]+)/municipality/([^/]+)/", url)
        assert len(m.group(1).split(",")) <= kolada.MAX_KPIS and len(m.group(2).split(",")) <= kolada.MAX_MUNICIPALITIES
    assert len(got.rows) == 7 * 18


def test_http_error_names_url_and_status(fake):
    fake(fail={"/data/": 503})
    with pytest.raises(kolada.KoladaError) as e:
        kolada.fetch_data(["N33016"], ["0580"], [2019])
    assert "HTTP-status 503" in str(e.value) and f"{API}/data/kpi/N33016/municipality/0580/year/2019" in str(e.value)


def test_network_error_and_bad_json(monkeypatch):
    def down(req, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(kolada, "urlopen", down)
    with pytest.raises(kolada.KoladaError, match="Kolada kunde inte nås .* för https://api.kolada.se/v3/"):
        kolada.get_json(f"{API}/kpi/N33016")
    monkeypatch.setattr(kolada, "urlopen", lambda req, timeout=None: io.BytesIO(b"<html>"))
    with pytest.raises(kolada.KoladaError, match="är inte JSON"):
        kolada.get_json(f"{API}/kpi/N33016")


def test_a_page_that_refers_to_itself_stops(fake):
    page = {"count": 0, "values": [], "next_url": PAGE1_URL}
    fake(responses={PAGE1_URL: page})
    with pytest.raises(kolada.KoladaError, match="samma sida"):
        list(kolada.pages(PAGE1_URL))


def test_group_lookup_takes_the_latest_group_with_the_title(fake):
    fake(responses={GROUP_SEARCH_URL: recorded("groups_search.json")})
    g = kolada.municipality_group("Liknande kommuner IFO, Linköping")
    assert g.id == "G2024" and g.title.endswith("2024")
    assert len(g.members) == 7 and ("1281", "Lund") in g.members and ("0512", "Ydre") not in g.members


def test_group_members_are_asked_for_when_the_search_leaves_them_out(fake):
    f = fake(responses={GROUP_SEARCH_URL: recorded("groups_search_no_members.json"),
                        f"{API}/municipality_groups/G2024": recorded("group_G2024.json")})
    g = kolada.municipality_group("Liknande kommuner IFO, Linköping")
    assert g.id == "G2024" and len(g.members) == 7 and f.urls[-1].endswith("/municipality_groups/G2024")
    assert kolada.municipality_group("G2024").members == g.members


def test_parse_years():
    assert kolada.parse_years("2016-2022") == list(range(2016, 2023))
    assert kolada.parse_years("2016–2018") == [2016, 2017, 2018]
    assert kolada.parse_years("2019,2016") == [2016, 2019]
    with pytest.raises(ValueError, match="ogiltiga år"):
        kolada.parse_years("2022-2016")


def test_configuration_files():
    cfg = kolada.group_config()
    assert [kid for kid, _ in cfg.members["R9"]] == ["0484", "2180", "0680", "0580", "0581", "0181", "0380", "1980", "1880"]
    assert cfg.members["Linköping"] == [("0580", "Linköping")]
    assert cfg.ifo_group == "Liknande kommuner IFO, Linköping" and 7 <= len(cfg.ifo_fallback) <= 9
    k = kolada.kpis()
    assert {"N33016", "N33008", "N33007", "N33009", "N33808"} <= set(k["kpi_id"])
    assert k["namn"].is_unique and (k["kommentar"].str.len() > 0).all(), "every id says what it is and how it was checked"


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def test_update_writes_an_extract_that_ingest_accepts(fake, tmp_path, capsys):
    f = fake(responses={GROUP_SEARCH_URL: recorded("groups_search.json")}, data=generated_data(without=("N33801",)))
    out = tmp_path / "raw" / "jamforelse.xlsx"
    assert cli.main(["kolada", "update", "--years", "2018-2019", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "G2024" in printed and "inga värden för N33801" in printed
    assert all(u.startswith(API) for u in f.urls)
    tables, problems = ingest.read_extract(out, contract.JAMFORELSE, None, "k")
    assert problems == []
    df = tables["jamforelse"]
    assert not ingest.is_synthetic(out), "real data are not marked synthetic"
    assert set(df["grupp"].astype(str)) == {"Linköping", "R9", "IFO-liknande"}
    assert set(df.loc[df["grupp"] == "IFO-liknande", "kommun_id"]) == {"1281", "2480", "1283", "1380", "1780", "0780", "1490"}
    assert set(df.loc[df["grupp"] == "R9", "kommun_id"]) == {kid for kid, _ in kolada.group_config().members["R9"]}
    assert set(df["ar"]) == {2018, 2019} and "N33801" not in set(df["kpi_id"].astype(str))
    assert sorted(p.name for p in out.parent.iterdir()) == ["jamforelse.xlsx"], "no temporary file left"


def test_update_falls_back_to_the_list_when_the_group_is_not_found(fake, tmp_path):
    fake(responses={GROUP_SEARCH_URL: recorded("data_empty.json")}, data=generated_data())
    result = kolada.update([2019], tmp_path / "jamforelse.xlsx")
    assert result.ifo is None and "reservlistan" in result.summary()
    df = pd.read_excel(tmp_path / "jamforelse.xlsx", dtype=object)
    assert set(df.loc[df["Grupp"] == "IFO-liknande", "Kommun-id"]) == {kid for kid, _ in kolada.group_config().ifo_fallback}


@pytest.mark.parametrize("failing", ["/municipality_groups", "N33801"])  # the lookup, or a later data chunk
def test_http_error_leaves_the_previous_extract_untouched(fake, tmp_path, capsys, failing):
    out = tmp_path / "jamforelse.xlsx"
    jamforelse.write(generate.load_targets(), tmp_path)
    before = out.read_bytes()
    fake(responses={GROUP_SEARCH_URL: recorded("groups_search.json")}, data=generated_data(), fail={failing: 503})
    assert cli.main(["kolada", "update", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "HTTP-status 503" in err and "https://api.kolada.se/v3/" in err and "är orörd" in err
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jamforelse.xlsx"]


def test_replace_atomically_keeps_the_old_file_when_the_check_fails(tmp_path):
    out = tmp_path / "extrakt.xlsx"
    out.write_bytes(b"gammal")

    def refuse(path: Path) -> None:
        assert path.parent == out.parent and path.name.startswith(".extrakt-") and path.read_bytes() == b"ny"
        raise kolada.KoladaError("följer inte datakontraktet")

    with pytest.raises(kolada.KoladaError):
        kolada.replace_atomically(out, lambda tmp: tmp.write_bytes(b"ny"), refuse)
    assert out.read_bytes() == b"gammal" and [p.name for p in tmp_path.iterdir()] == ["extrakt.xlsx"]
    kolada.replace_atomically(out, lambda tmp: tmp.write_bytes(b"ny"))
    assert out.read_bytes() == b"ny" and [p.name for p in tmp_path.iterdir()] == ["extrakt.xlsx"]


def test_bad_years_are_refused(capsys, tmp_path):
    assert cli.main(["kolada", "update", "--years", "sedan 2016", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "ogiltiga år" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Group means
# --------------------------------------------------------------------------------------------


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["kommun_id", "grupp", "kpi_id", "nyckeltal", "ar", "varde"])


def test_group_mean_is_unweighted_and_leaves_linkoping_out():
    df = _frame([
        ("0580", "Linköping", "N33007", "hvb", 2019, 974.0),
        ("0580", "R9", "N33007", "hvb", 2019, 974.0),
        ("0484", "R9", "N33007", "hvb", 2019, 1000.0),
        ("2180", "R9", "N33007", "hvb", 2019, 1200.0),
        ("2180", "R9", "N33007", "hvb", 2018, 5000.0),
        ("2180", "R9", "N33008", "familjehem", 2019, 9000.0),
        ("1281", "IFO-liknande", "N33007", "hvb", 2019, 10.0),
    ])
    assert kolada.group_mean(df, "R9", "N33007", 2019) == 1100.0
    assert kolada.group_mean(df, "R9", "hvb", 2019) == 1100.0, "the short name works too"
    assert kolada.group_mean(df, "R9", "hvb", 2019, exclude=()) == pytest.approx((974 + 1000 + 1200) / 3)
    assert pd.isna(kolada.group_mean(df, "IFO-liknande", "hvb", 2018))
    with pytest.raises(KeyError):
        kolada.group_mean(df, "R9", "N99999", 2019)
    means = kolada.group_means(df)
    row = means[(means["grupp"] == "R9") & (means["kpi_id"] == "N33007") & (means["ar"] == 2019)].iloc[0]
    assert row["medel"] == 1100.0 and row["antal"] == 2


# --------------------------------------------------------------------------------------------
# The synthetic snapshot
# --------------------------------------------------------------------------------------------


def _synthetic(scenario: str) -> pd.DataFrame:
    cols = ["kommun_id", "kommun", "grupp", "kpi_id", "nyckeltal", "ar", "varde"]
    return pd.DataFrame(jamforelse.rows(generate.load_targets(scenario)), columns=cols)


def _own(df: pd.DataFrame, kpi: str, year: int) -> float:
    sel = df[(df["grupp"] == "Linköping") & (df["nyckeltal"] == kpi) & (df["ar"] == year)]
    assert len(sel) == 1
    return float(sel["varde"].iloc[0])


def test_demo_snapshot_holds_the_reports_figures():
    df = _synthetic("demo")
    assert _own(df, "nettokostnad", 2019) == 2427 and _own(df, "nettokostnad", 2019) - _own(df, "nettokostnad", 2018) == 367
    for year in range(2016, 2019):
        assert _own(df, "nettokostnad", year) < kolada.group_mean(df, "IFO-liknande", "nettokostnad", year), year
    assert _own(df, "nettokostnad", 2019) > kolada.group_mean(df, "IFO-liknande", "nettokostnad", 2019)
    assert (_own(df, "familjehem", 2019), kolada.group_mean(df, "R9", "familjehem", 2019)) == (776, 876)
    assert (_own(df, "hvb", 2019), kolada.group_mean(df, "R9", "hvb", 2019)) == (974, 1093)
    assert _own(df, "hvb", 2016) == 655
    assert (_own(df, "oppna_insatser", 2019), kolada.group_mean(df, "R9", "oppna_insatser", 2019)) == (925, 815)
    ifo = df[df["grupp"] == "IFO-liknande"]["kommun_id"].unique()
    assert 7 <= len(ifo) <= 9 and "0580" not in ifo
    assert sorted(df["ar"].unique()) == list(range(2016, 2023))


def test_kontrast_snapshot_contradicts_the_demo():
    df = _synthetic("kontrast")
    assert _own(df, "hvb", 2019) > kolada.group_mean(df, "R9", "hvb", 2019)
    assert _own(df, "familjehem", 2019) > kolada.group_mean(df, "R9", "familjehem", 2019)
    assert _own(df, "oppna_insatser", 2019) < kolada.group_mean(df, "R9", "oppna_insatser", 2019)
    assert _own(df, "nettokostnad", 2019) < _own(df, "nettokostnad", 2018)
    assert _own(df, "nettokostnad", 2018) > kolada.group_mean(df, "IFO-liknande", "nettokostnad", 2018)
    assert _own(df, "nettokostnad", 2019) < kolada.group_mean(df, "IFO-liknande", "nettokostnad", 2019)


def test_snapshot_is_written_marked_and_accepted(tmp_path):
    for scenario in ("demo", "kontrast"):
        path = jamforelse.write(generate.load_targets(scenario), tmp_path / scenario)
        assert path.name == "jamforelse.xlsx" and ingest.is_synthetic(path)
        tables, problems = ingest.read_extract(path, contract.JAMFORELSE, None, "k")
        assert problems == [] and len(tables["jamforelse"]) > 0
    again = jamforelse.write(generate.load_targets("demo"), tmp_path)
    assert again.read_bytes() == (tmp_path / "demo" / "jamforelse.xlsx").read_bytes(), "deterministic"

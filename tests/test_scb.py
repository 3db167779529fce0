"""The SCB PxWebAPI 2.0 client (``helpers.data.scb``), offline.

``helpers.data.scb.urlopen`` is replaced by a fake that answers from hand-written responses in the
documented json-stat2 shape (``tests/data/scb/``) or raises an HTTP error; nothing touches the network.
"""

from __future__ import annotations

import email.message
import io
import json
import urllib.error
import urllib.parse
from pathlib import Path

import pytest

from helpers.data import scb

DATA = Path(__file__).parent / "data" / "scb"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class FakeScb:
    """Answers every request with ``body`` (or raises HTTP ``status``); records URLs and timeouts."""

    def __init__(self, body: dict | None = None, status: int | None = None):
        self.body, self.status = body, status
        self.urls: list[str] = []

    def __call__(self, req, timeout=None):
        assert timeout is not None, "every request has a timeout"
        url = req.full_url
        self.urls.append(url)
        if self.status is not None:
            raise urllib.error.HTTPError(url, self.status, "Bad Request", email.message.Message(), None)
        return io.BytesIO(json.dumps(self.body).encode("utf-8"))


def query(url: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


def test_parse_three_dimensions_row_major():
    parsed = scb.parse_jsonstat2(recorded("tab638_3dim.json"), {"Region": "region", "Alder": "alder", "Tid": "ar"})
    df = parsed.data
    assert list(df.columns) == ["region", "region_text", "alder", "alder_text", "ar", "ar_text", "value"]
    assert len(df) == 5  # 6 cells, one null
    got = {(r.alder, r.ar): r.value for r in df.itertuples()}
    # Last dimension (Tid) varies fastest.
    assert got == {("0", "2018"): 1901, ("0", "2019"): 1950, ("1", "2018"): 1885, ("1", "2019"): 1912, ("2", "2019"): 1870}
    assert set(df["region_text"]) == {"0580 Linköping"}
    assert df.loc[df["alder"] == "2", "alder_text"].iloc[0] == "2 år"


def test_null_values_dropped_and_counted():
    parsed = scb.parse_jsonstat2(recorded("tab638_3dim.json"))
    assert parsed.missing == 1
    assert not ((parsed.data["Alder"] == "2") & (parsed.data["Tid"] == "2018")).any()
    assert parsed.data["value"].notna().all()


def test_sparse_value_dict_and_list_index():
    doc = recorded("tab638_3dim.json")
    doc["value"] = {"0": 1, "5": 6}
    doc["dimension"]["Alder"]["category"]["index"] = ["0", "1", "2"]
    parsed = scb.parse_jsonstat2(doc)
    assert parsed.missing == 4
    assert list(zip(parsed.data["Alder"], parsed.data["Tid"], parsed.data["value"], strict=True)) == [
        ("0", "2018", 1.0), ("2", "2019", 6.0)]


def test_inconsistent_shape_is_refused():
    doc = recorded("tab638_3dim.json")
    doc["value"] = doc["value"][:-1]
    with pytest.raises(scb.ScbError, match="värden"):
        scb.parse_jsonstat2(doc)


def test_data_url_query_parameters():
    url = scb.data_url("TAB638", {"Region": ["0580"], "Alder": [0, 1, 19], "Civilstand": ["*"], "Tid": [2018, 2019]})
    assert url.startswith(f"{scb.API}/tables/TAB638/data?")
    q = query(url)
    assert q["lang"] == ["sv"]
    assert q["outputFormat"] == ["json-stat2"]
    assert q["valueCodes[Region]"] == ["0580"]
    assert q["valueCodes[Alder]"] == ["0,1,19"]
    assert q["valueCodes[Civilstand]"] == ["*"]
    assert q["valueCodes[Tid]"] == ["2018,2019"]
    with pytest.raises(scb.ScbError, match="Inga koder"):
        scb.data_url("TAB638", {"Tid": []})


def test_http_error_gives_swedish_message(monkeypatch):
    fake = FakeScb(status=400)
    monkeypatch.setattr(scb, "urlopen", fake)
    with pytest.raises(scb.ScbError) as exc:
        scb.population_by_age(years=[2019])
    msg = str(exc.value)
    assert "SCB svarade med HTTP-status 400" in msg
    assert fake.urls[0] in msg
    assert "scb_tabeller.csv" in msg


def test_unreachable_gives_swedish_message(monkeypatch):
    def down(req, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(scb, "urlopen", down)
    with pytest.raises(scb.ScbError, match="SCB kunde inte nås"):
        scb.get_json("https://example.invalid/x")


def test_population_by_age_asks_from_config_and_sums(monkeypatch):
    fake = FakeScb(body=recorded("tab638_5dim.json"))
    monkeypatch.setattr(scb, "urlopen", fake)
    parsed = scb.population_by_age(region="0580", years=[2019])
    assert len(fake.urls) == 1
    q = query(fake.urls[0])
    assert q["valueCodes[Region]"] == ["0580"]
    assert q["valueCodes[Alder]"] == [",".join(str(a) for a in range(20))]
    assert q["valueCodes[Tid]"] == ["2019"]
    assert q["valueCodes[ContentsCode]"] == ["BE0101N1"]
    assert set(q) == {"lang", "outputFormat"} | {f"valueCodes[{v}]" for v in scb.table_config("TAB638")["variabel"]}
    df = parsed.data
    assert list(df.columns) == ["region", "region_text", "alder", "alder_text", "ar", "ar_text", "value"]
    assert parsed.missing == 1
    got = dict(zip(df["alder"], df["value"], strict=True))
    # Order: Civilstand(OG,G) × Alder(18,19) × Kon(1,2); age 18: 1000+900+2+5, age 19: 1100+950+12.
    assert got == {"18": 1907.0, "19": 2062.0}


def test_unknown_table_is_named():
    with pytest.raises(scb.ScbError, match="TAB9999 finns inte i scb_tabeller.csv"):
        scb.population_by_age(table="TAB9999")


def test_table_file_is_package_data():
    df = scb.tables()
    assert {"tabell", "variabel", "koder", "kolumn", "kommentar"} <= set(df.columns)
    cols = set(scb.table_config(scb.DEFAULT_TABLE)["kolumn"])
    assert {"region", "alder", "ar"} <= cols


def test_a_getter_replaces_the_network_and_the_address_is_kept():
    urls: list[str] = []

    def get(url: str) -> dict:
        urls.append(url)
        return recorded("tab638_5dim.json")

    parsed = scb.population_by_age(region="0580", years=[2019], get=get)
    assert len(urls) == 1 and parsed.url == urls[0]
    assert urls[0].startswith("https://statistikdatabasen.scb.se/api/v2/tables/TAB638/data?"), "the production v2 address"
    assert dict(zip(parsed.data["alder"], parsed.data["value"], strict=True)) == {"18": 1907.0, "19": 2062.0}
    beta = scb.population_by_age(region="0580", years=[2019], get=get, api=scb.API_BETA)
    assert beta.url.startswith(f"{scb.API_BETA}/tables/TAB638/data?")

"""The contract documentation is current, and the contract and its code lists are sound."""

from __future__ import annotations

import pytest

from helpers.config import PATHS, PSEUDONYM_KEY_ENV
from helpers.data import codes, contract, contract_doc, ingest

README = PATHS.root / "data" / "raw" / "README.md"
REPORT_CATEGORIES = (
    "bristande_omsorg",
    "familjekonflikter",
    "beteendeproblem",
    "brottslighet",
    "psykisk_ohalsa",
    "skolproblematik",
    "missbruk",
)


# --------------------------------------------------------------------------------------------
# data/raw/README.md
# --------------------------------------------------------------------------------------------


def test_committed_readme_is_generated_from_the_contract():
    assert contract_doc.README == README
    assert README.is_file(), "data/raw/README.md is missing: run `python -m helpers.data.contract_doc`"
    assert README.read_text(encoding="utf-8") == contract_doc.render_markdown(), (
        "data/raw/README.md is out of date with the contract: run `python -m helpers.data.contract_doc`"
    )


def test_render_is_deterministic():
    assert contract_doc.render_markdown() == contract_doc.render_markdown()


def test_check_mode(tmp_path, capsys):
    target = tmp_path / "README.md"
    assert contract_doc.main(["--check", "--output", str(target)]) == 1
    assert contract_doc.main(["--output", str(target)]) == 0
    assert contract_doc.main(["--check", "--output", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8") + "handskrivet\n", encoding="utf-8")
    assert contract_doc.main(["--check", "--output", str(target)]) == 1
    capsys.readouterr()


def test_document_covers_the_contract():
    md = contract_doc.render_markdown()
    for text in ("Treserva", "HMAC-SHA256", PSEUDONYM_KEY_ENV, "demonyckel", "git", "<extrakt>_<år>.xlsx"):
        assert text in md, text
    for extract in contract.EXTRACTS:
        assert f"## Extrakt `{extract.name}`" in md
        assert extract.description in md
        for sheet in extract.sheets:
            assert f"### Blad `{sheet.name}` → `{sheet.table}.parquet`" in md
            for col in sheet.columns:
                assert f"| `{col.header}` | `{col.name}` |" in md, (sheet.name, col.header)
    for rules in (*ingest.CROSS_COLUMN_RULES.values(), *ingest.CROSS_FILE_RULES.values()):
        for rule in rules:
            assert rule in md
    assert ingest.CROSS_FILE_SCOPE.split(". ")[0] in md
    for name in codes.CODELISTS:
        assert f"### `{name}`" in md
        for value in codes.values(name):
            assert f"`{value}`" in md, (name, value)
    # the full mapping of orsakskoder to the report's categories
    etikett = codes.kategori_etikett()
    for kod, kategori in codes.orsak_kategori().items():
        assert f"| `{kod}` |" in md and f"{etikett[kategori]} (`{kategori}`)" in md


def _section(md: str, heading: str) -> str:
    start = md.index(heading)
    end = md.find("\n## ", start + 1)
    return md[start:] if end < 0 else md[start:end]


def _rows(section: str) -> dict[str, str]:
    """Table rows of a section (not the header row), by the code in their first cell."""
    lines = section.splitlines()
    rows = {}
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith("| `") and not after.startswith("|---"):
            rows[line.split("|")[1].strip().strip("`")] = line
    return rows


def test_every_code_list_is_documented_with_all_its_columns():
    md = contract_doc.render_markdown()
    lists = _section(md, "## Kodlistor")
    for name in codes.CODELISTS:
        part = lists.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        header = next(line for line in part.splitlines() if line.startswith("| `"))
        for column in codes.load(name).columns:
            assert f"`{column}`" in header, (name, column)
        assert contract_doc.CODELIST_INFO[name] in part


def test_problem_areas_and_bistand_groups_of_the_bbic_codes_are_tabled():
    """Each BBIC code's problem area and bistånd group, in the orsakskoder table and in the lists
    of codes under each area and group."""
    md = contract_doc.render_markdown()
    lists = _section(md, "## Kodlistor")
    orsak = _rows(lists.split("### `orsakskoder`", 1)[1].split("\n### ", 1)[0])
    omrade, grupp = codes.problemomrade_etikett(), codes.etiketter("bistandsgrupper")
    assert set(orsak) == set(codes.values("orsakskoder"))
    for kod, area in codes.problemomrade().items():
        cells = [c.strip() for c in orsak[kod].split("|")[1:-1]]
        assert cells[4] == (f"{omrade[area]} (`{area}`)" if area else "–"), kod
    for kod, group in codes.bistandsgrupp().items():
        cells = [c.strip() for c in orsak[kod].split("|")[1:-1]]
        assert cells[5] == (f"{grupp[group]} (`{group}`)" if group else "–"), kod
    for name, mapping in (("problemomraden", codes.problemomrade()), ("bistandsgrupper", codes.bistandsgrupp())):
        rows = _rows(lists.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0])
        for code in codes.values(name):
            members = [k for k, v in mapping.items() if v == code]
            assert members and rows[code].rstrip(" |").endswith(", ".join(f"`{k}`" for k in members)), (name, code)


def test_case_extract_rule_is_documented():
    md = contract_doc.render_markdown()
    section = _section(md, "## Ärendeextrakten")
    assert contract.CASE_EXTRACT_RULE in section
    for extract in (contract.UTREDNINGAR, contract.INSATSER):
        assert f"`{extract.name}`" in section.splitlines()[0]
        assert contract.CASE_EXTRACT_RULE in extract.description


def test_every_kind_chapter_and_codelist_is_described():
    kinds = {c.kind for e in contract.EXTRACTS for s in e.sheets for c in s.columns}
    assert kinds <= set(contract_doc.KINDS)
    chapters = {ch for e in contract.EXTRACTS for ch in e.chapters}
    assert chapters <= set(contract_doc.CHAPTERS)
    assert set(codes.CODELISTS) <= set(contract_doc.CODELIST_INFO)


# --------------------------------------------------------------------------------------------
# Code lists
# --------------------------------------------------------------------------------------------


def test_exactly_29_orsakskoder_with_unique_codes():
    df = codes.load("orsakskoder")
    assert len(df) == 29
    assert df["kod"].is_unique
    assert df["kod"].str.fullmatch(r"[BFOX]\d{2}").all()
    assert (df["orsak"].str.strip() != "").all()


def test_every_orsak_category_is_in_kategorier():
    kategorier = set(codes.load("kategorier")["kategori"])
    used = set(codes.load("orsakskoder")["kategori"])
    assert used <= kategorier
    assert used == kategorier, "every category has at least one orsakskod"


def test_the_seven_report_categories_and_ovrigt():
    df = codes.load("kategorier")
    assert set(df["kategori"]) == {*REPORT_CATEGORIES, "ovrigt"}
    ordered = df.sort_values("ordning", key=lambda s: s.astype(int))["kategori"].tolist()
    assert ordered[-1] == "ovrigt"
    assert sorted(df["ordning"].astype(int)) == list(range(1, len(df) + 1))
    assert list(codes.kategori_etikett()) == ordered


def test_orsak_hos_is_consistent_with_the_category_flag():
    orsak = codes.load("orsakskoder")
    hos_barnet = dict(zip(codes.load("kategorier")["kategori"], codes.load("kategorier")["orsak_hos_barnet"], strict=True))
    for r in orsak.itertuples():
        if hos_barnet[r.kategori]:
            assert r.orsak_hos == "barnet", r.kod


def test_utsatta_omraden_are_flagged():
    assert set(codes.utsatta_omraden()) == {"Berga", "Skäggetorp", "Ryd"}
    df = codes.load("stadsdelar")
    assert df["utsatt_omrade"].dtype == bool
    assert df["stadsdel"].is_unique


@pytest.mark.parametrize("name", codes.CODELISTS)
def test_codelist_values_are_unique_and_non_empty(name):
    values = codes.values(name)
    assert values and len(values) == len(set(values))
    assert all(v == v.strip() and v for v in values)


def test_aktualiseringstyper_carry_the_age_category():
    df = codes.load("aktualiseringstyper")
    assert set(df["alderskategori"]) == {"0-17", "18-20"}
    for r in df.itertuples():
        assert r.aktualiseringstyp.endswith(r.alderskategori)


# --------------------------------------------------------------------------------------------
# The contract itself
# --------------------------------------------------------------------------------------------


def test_contract_names_are_unique_and_code_lists_exist():
    assert len({e.name for e in contract.EXTRACTS}) == len(contract.EXTRACTS)
    tables = [s.table for e in contract.EXTRACTS for s in e.sheets]
    assert len(tables) == len(set(tables))
    for e in contract.EXTRACTS:
        assert contract.extract(e.name) is e
        assert set(e.pseudonymise) <= {c.header for s in e.sheets for c in s.columns if c.kind == "pnr"}
        for s in e.sheets:
            assert len({c.header for c in s.columns}) == len(s.columns), s.name
            assert len({c.name for c in s.columns}) == len(s.columns), s.name
            for c in s.columns:
                if isinstance(c.codes, str):
                    assert c.codes in codes.CODELISTS, (s.name, c.header)
                elif c.codes is not None:
                    assert c.codes and len(set(c.codes)) == len(c.codes), (s.name, c.header)
                if c.kind == "code":
                    assert c.codes is not None, (s.name, c.header)
                if c.kind == "pnr":
                    assert c.header in e.pseudonymise, "every personnummer column must be pseudonymised"
    with pytest.raises(KeyError):
        contract.extract("finns_inte")


def test_the_rules_of_ingest_fit_the_contract_and_code_lists():
    """The tables, columns and codes that ingest's rules name exist, so that a renamed column or
    code cannot silently switch a rule off."""
    sheets = {s.table: s for e in contract.EXTRACTS for s in e.sheets}
    names = {t: {c.name for c in s.columns} for t, s in sheets.items()}
    assert set(ingest.CROSS_COLUMN_RULES) <= set(sheets)
    assert set(ingest.CROSS_FILE_RULES) <= set(sheets)
    for table in ingest.CASE_TABLES:
        assert {"start_datum", "slut_datum", "person_id", "kon", "alder"} <= names[table]
        extract = next(e for e in contract.EXTRACTS if e.sheets[0].table == table)
        assert extract.yearly and contract.CASE_EXTRACT_RULE in extract.description
    for table, date_col in ingest.AGE_AT.items():
        assert {"alder", date_col, "person_id"} <= names[table]
    assert {"utfall", "bedomning", "startgrund", "aktualisering_id"} <= names["utredningar"]
    assert {"utredning_id", "aktualisering_id", "grund", "avslutsorsak", "lagrum", "insatstyp"} <= names["insatser"]
    utfall = codes.load("utfall").set_index("utfall")
    assert not utfall.loc[ingest.UTFALL_MED_BEDOMNING, "insats"]
    assert utfall["insats"].sum() >= 1
    assert {ingest.BESLUT_UTREDNING, ingest.BESLUT_SERVICE} <= set(codes.values("beslut"))
    grund = next(c for c in sheets["insatser"].columns if c.name == "grund")
    assert set(ingest.GRUND_AVSLUT) == set(grund.codes)
    assert set(ingest.GRUND_AVSLUT.values()) <= set(codes.load("avslutsorsaker").columns)
    avslut = codes.load("avslutsorsaker")
    assert ingest.PLACERING_AVSLUT in avslut.columns
    byte = avslut.set_index("avslutsorsak").loc[ingest.BYTE_AV_PLACERINGSFORM]
    assert byte[ingest.PLACERING_AVSLUT] and not byte[list(ingest.GRUND_AVSLUT.values())].any()
    assert set(codes.load("insatstyper")["form"]) == {"öppen", "heldygn"} == {ingest.FORM_OPPEN, ingest.FORM_PLACERING}
    assert {ingest.STODBOENDE, ingest.STODBOENDE_REGISTRERAD_FORE} <= set(codes.values("insatstyper"))
    assert {"registrerad_som", "ensamkommande", "situation_efter"} <= names["insatser"]
    for table in (*ingest.AGE_AT_YEAR_END, *ingest.SNAPSHOT_TABLES):
        assert {"alder", "person_id", "insats_id", "placeringsform", "registrerad_som", "lagrum",
                "tidigare_oppenvard"} <= names[table]
        form = next(c for c in sheets[table].columns if c.name == "placeringsform")
        assert set(form.codes) == {ingest.STODBOENDE, ingest.STODBOENDE_REGISTRERAD_FORE}
    assert set(codes.load("startgrund")["typ"]) == set(codes.load("aktualiseringstyper")["typ"])

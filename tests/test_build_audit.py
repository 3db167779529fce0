"""The build's checks on what the chapters publish, without running a notebook.

Small fake chapter output folders (``key_figures_<chapter>.csv``, a table and a figure CSV,
``publications_<chapter>.json``, ``disclosure_<chapter>.json``, ``headlines_<chapter>.json``)
exercise the disclosure audit at build time, the published key figures (rounding, Excel form),
the landing-page headlines and the staged front matter. The protected cells are read by a stand-in
for ``helpers.analysis.disclosure.Protected`` with the same interface (``value``, ``audit``, ``summary``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from helpers import __version__, build
from helpers.build import BuildError, ChapterRun
from helpers.config import PATHS
from helpers.publishing.render import builtin

YEAR = 2020
CHAPTER = "demo"

# --- a stand-in for helpers.analysis.disclosure.Protected ----------------------------------------------------


@dataclass
class FakeAudit:
    passed: bool
    narrowest: float | None
    threshold: float
    intervals: pd.DataFrame


class FakeProtected:
    """Cells ``{cell: {"value": n, "status": "" | "<5" | "x", "lo": .., "hi": ..}}``."""

    def __init__(self, cells: dict[str, dict[str, Any]], threshold: float = 3.0):
        self.cells = cells
        self.threshold = threshold

    @classmethod
    def from_json(cls, path: Path) -> FakeProtected:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["cells"], data.get("threshold", 3.0))

    def value(self, cell: str) -> float | None:
        c = self.cells[cell]
        return None if c["status"] else c["value"]

    def audit(self) -> FakeAudit:
        rows = [{"cell": k, "status": c["status"], "true": c["value"], "lo": c.get("lo", c["value"]),
                 "hi": c.get("hi", c["value"])} for k, c in self.cells.items()]
        iv = pd.DataFrame(rows)
        iv["width"] = iv["hi"] - iv["lo"]
        hidden = iv[iv["status"] != ""]
        narrowest = float(hidden["width"].min()) if not hidden.empty else None
        passed = narrowest is None or narrowest >= self.threshold
        return FakeAudit(passed, narrowest, self.threshold, iv)

    def summary(self) -> dict[str, Any]:
        statuses = [c["status"] for c in self.cells.values()]
        return {"cells": len(statuses), "published": statuses.count(""), "hidden_primary": statuses.count("<5"),
                "hidden_secondary": statuses.count("x"), "inner_cells": len(statuses) - 1,
                "narrowest_width": self.audit().narrowest, "rounds": 1, "seconds": 0.01}


def loader(path: Path) -> FakeProtected:
    return FakeProtected.from_json(path)


# --- a fake chapter output folder -------------------------------------------------------------------

CELLS = {
    "orsak:A": {"value": 120, "status": ""},
    "orsak:B": {"value": 3, "status": "<5", "lo": 0, "hi": 80},
    "orsak:C": {"value": 77, "status": "x", "lo": 0, "hi": 80},
    "orsak:total": {"value": 200, "status": ""},
}
TABLE = pd.DataFrame({"Orsak": ["A", "B", "C", "Totalt"], "Antal": ["120", "", "", "200"],
                      "status": ["", "<5", "x", ""]})
FIGURE = pd.DataFrame({"Orsak": ["A", "Totalt"], "Antal": [120, 200]})
KEY_FIGURES = pd.DataFrame([
    {"id": "demo_total", "chapter": CHAPTER, "year": YEAR, "value": 200, "unit": "count", "label": "Totalt",
     "status": "", "data_cutoff": ""},
    {"id": "demo_share_a", "chapter": CHAPTER, "year": YEAR, "value": 100 * 25 / 80, "unit": "percent",
     "label": "Andel A", "status": "", "data_cutoff": ""},
    {"id": "demo_b", "chapter": CHAPTER, "year": YEAR, "value": 3, "unit": "count", "label": "B",
     "status": "<5", "data_cutoff": ""},
    {"id": "demo_share_b", "chapter": CHAPTER, "year": YEAR, "value": 1.5, "unit": "percent", "label": "Andel B",
     "status": "x", "data_cutoff": ""},
    {"id": "demo_ratio", "chapter": CHAPTER, "year": YEAR, "value": 1.255, "unit": "ratio", "label": "Kvot",
     "status": "", "data_cutoff": "2021-03-31"},
    {"id": "demo_since", "chapter": CHAPTER, "year": YEAR, "value": 2018, "unit": "year", "label": "Sedan",
     "status": "", "data_cutoff": ""},
])


def publications() -> list[dict[str, Any]]:
    return [
        {"artefact": "tables/tbl-orsaker.csv", "kind": "table",
         "cells": [{"row": i, "column": "Antal", "cell": c} for i, c in enumerate(CELLS)]},
        {"artefact": "figures/fig-orsaker.csv", "kind": "figure",
         "cells": [{"row": 0, "column": "Antal", "cell": "orsak:A"}, {"row": 1, "column": "Antal", "cell": "orsak:total"}]},
        {"artefact": "text", "kind": "text",
         "cells": [{"row": None, "column": None, "cell": "orsak:total"}, {"row": None, "column": None, "cell": "orsak:B"}]},
        {"artefact": f"key_figures_{CHAPTER}.csv", "kind": "key_figure",
         "cells": [{"row": 0, "column": "value", "cell": "orsak:total"}, {"row": 2, "column": "value", "cell": "orsak:B"}]},
    ]


def make_chapter(folder: Path, *, table: pd.DataFrame = TABLE, pubs: list | None = None,
                 cells: dict | None = None, disclosure: bool = True, key_figures: pd.DataFrame = KEY_FIGURES,
                 headlines: list | None = None) -> Path:
    (folder / "tables").mkdir(parents=True, exist_ok=True)
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "tables" / "tbl-orsaker.csv", index=False)
    FIGURE.to_csv(folder / "figures" / "fig-orsaker.csv", index=False)
    key_figures.to_csv(folder / f"key_figures_{CHAPTER}.csv", index=False)
    if pubs is not False:
        (folder / f"publications_{CHAPTER}.json").write_text(json.dumps(pubs or publications()), encoding="utf-8")
    if disclosure:
        (folder / f"disclosure_{CHAPTER}.json").write_text(json.dumps({"cells": cells or CELLS, "threshold": 3.0}),
                                                           encoding="utf-8")
    if headlines is not None:
        (folder / f"headlines_{CHAPTER}.json").write_text(json.dumps(headlines), encoding="utf-8")
    return folder


def run_of(folder: Path) -> ChapterRun:
    source = PATHS.root / "notebooks" / "01_inflode.ipynb"
    return ChapterRun("01_inflode", source, folder, 0.0, True, {"year": YEAR})


# --- the audit ----------------------------------------------------------------------------------


def test_a_protected_chapter_passes_and_is_summarised(tmp_path):
    folder = make_chapter(tmp_path / "ch")
    summary = build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)
    s = summary[CHAPTER]
    assert {"cells", "hidden_primary", "hidden_secondary", "narrowest_width", "threshold", "audit_seconds"} <= set(s)
    assert (s["cells"], s["hidden_primary"], s["hidden_secondary"]) == (4, 1, 1)
    assert s["narrowest_width"] == 80 and s["threshold"] == 3.0
    assert s["publications_checked"] == 10
    json.dumps(summary)  # goes into manifest.json as is
    md = build.audit_markdown(summary, {CHAPTER: "Inflöde"})
    assert "| Inflöde | 4 | 1 | 1 | 80 | 3 |" in md


def test_a_table_that_shows_a_hidden_count_fails(tmp_path):
    leaking = TABLE.assign(Antal=["120", "3", "", "200"])
    folder = make_chapter(tmp_path / "ch", table=leaking)
    with pytest.raises(BuildError) as e:
        build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)
    msg = str(e.value)
    assert "tables/tbl-orsaker.csv" in msg and "rad 2" in msg and "orsak:B" in msg and "'3'" in msg
    assert "kapitlet demo" in msg and "år 2020" in msg


def test_a_published_count_must_equal_its_protected_cell(tmp_path):
    folder = make_chapter(tmp_path / "ch", table=TABLE.assign(Antal=["121", "", "", "200"]))
    with pytest.raises(BuildError, match=r"visar '121'.*orsak:A är 120"):
        build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)


def test_a_count_published_around_the_protection_fails(tmp_path):
    pubs = publications()
    pubs[0]["cells"] = [c for c in pubs[0]["cells"] if c["cell"] != "orsak:C"]  # row 3 not covered
    folder = make_chapter(tmp_path / "ch", pubs=pubs)
    with pytest.raises(BuildError, match=r"tbl-orsaker.csv, kolumnen 'Antal' publicerar antal på rad 3"):
        build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)


def test_a_row_without_a_count_is_not_a_count_around_the_protection(tmp_path):
    """A figure may show counts on some rows only (observed years beside model estimates for later
    years): a row with nothing in the count column and no reason is not a publication."""
    pubs = publications()
    pubs[0]["cells"] = [c for c in pubs[0]["cells"] if c["cell"] != "orsak:C"]
    table = TABLE.assign(status=["", "<5", "", ""])  # row 3: no count and nothing hidden
    folder = make_chapter(tmp_path / "ch", pubs=pubs, table=table)
    build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)


def test_a_count_in_the_text_must_be_a_protected_cell(tmp_path):
    pubs = publications()
    pubs[2]["cells"].append({"row": None, "column": None, "cell": "orsak:okänd"})
    folder = make_chapter(tmp_path / "ch", pubs=pubs)
    with pytest.raises(BuildError, match="okänd skyddad uppgift 'orsak:okänd'"):
        build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)


def test_a_hidden_cell_must_say_why(tmp_path):
    folder = make_chapter(tmp_path / "ch", table=TABLE.assign(status=["", "", "x", ""]))
    with pytest.raises(BuildError, match="utan att säga varför"):
        build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)


def test_a_hidden_key_figure_needs_its_status(tmp_path):
    kf = KEY_FIGURES.copy()
    kf.loc[2, "status"] = ""
    folder = make_chapter(tmp_path / "ch", key_figures=kf)
    with pytest.raises(BuildError, match=r"key_figures_demo.csv, rad 3.*orsak:B"):
        build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)


def test_an_audit_that_does_not_pass_names_the_cell_and_its_interval(tmp_path):
    cells = {**CELLS, "orsak:B": {"value": 3, "status": "<5", "lo": 2, "hi": 4}}
    folder = make_chapter(tmp_path / "ch", cells=cells)
    with pytest.raises(BuildError) as e:
        build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)
    msg = str(e.value)
    assert "Röjandekontrollen underkänner kapitlet demo" in msg and "år 2020" in msg
    assert "orsak:B (<5)" in msg and "intervallet 2–4" in msg and "bredd 2" in msg and "minst 3" in msg
    assert "orsak:C" not in msg


def test_new_format_without_disclosure_file_fails(tmp_path):
    folder = make_chapter(tmp_path / "ch", disclosure=False, pubs=False)
    with pytest.raises(BuildError, match="disclosure_demo.json saknas"):
        build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None)


def test_old_format_without_disclosure_file_is_tolerated(tmp_path):
    old = KEY_FIGURES.drop(columns=["status", "data_cutoff"]).assign(numerator=["", "25", "", "2", "", ""])
    folder = make_chapter(tmp_path / "ch", disclosure=False, pubs=False, key_figures=old)
    assert build.audit_chapters([run_of(folder)], YEAR, loader=loader, log=lambda _m: None) == {}
    kf = build.collect_key_figures([run_of(folder)])
    assert kf.set_index("id")["status"].to_dict() == {
        "demo_total": "", "demo_share_a": "", "demo_b": "<5", "demo_share_b": "x", "demo_ratio": "", "demo_since": ""}


def test_render_stops_before_staging_when_the_audit_fails(tmp_path, monkeypatch):
    folder = make_chapter(tmp_path / "ch", table=TABLE.assign(Antal=["120", "3", "", "200"]))
    manifest = {"synthetic": True, "inputs": {"a.xlsx": {"extract": "aktualiseringar", "year": YEAR, "sha256": "0"}}}
    monkeypatch.setattr(build, "prepare_data", lambda log=print, stage=True: (manifest, build.PATHS.processed))
    monkeypatch.setattr(build, "run_chapters", lambda *a, **k: [run_of(folder)])
    monkeypatch.setattr(build, "load_protected", loader)
    monkeypatch.setattr(build, "stage_book", lambda *a, **k: pytest.fail("staged despite a failed audit"))
    with pytest.raises(BuildError, match="orsak:B"):
        build.render(YEAR, renderer="builtin", publish=False, log=lambda _m: None)


def test_data_cutoff_is_a_date_not_before_the_end_of_the_year():
    assert build.check_data_cutoff(2020, None) == "" and build.check_data_cutoff(2020, "") == ""
    assert build.check_data_cutoff(2020, "2021-03-31") == "2021-03-31"
    with pytest.raises(BuildError, match="före slutet av rapportåret 2020"):
        build.check_data_cutoff(2020, "2020-06-30")
    with pytest.raises(BuildError, match="inget datum"):
        build.check_data_cutoff(2020, "mars")
    assert build.cutoff_text(2020, "") == "31 december 2020 (rapportårets slut)"
    assert build.cutoff_text(2020, "2021-03-31").startswith("31 mars 2021")


def test_chapters_get_the_synthetic_flag_and_the_cutoff():
    p = build.chapter_parameters(2020, {"synthetic": True}, "2021-03-31")
    assert p["synthetic"] is True and p["data_cutoff"] == "2021-03-31" and p["year"] == 2020
    assert build.chapter_parameters(2020, {})["synthetic"] is False
    nb = PATHS.root / "notebooks" / "01_inflode.ipynb"
    assert (build.chapter_hash(nb, build.chapter_parameters(2020, {"synthetic": True}), {})
            != build.chapter_hash(nb, build.chapter_parameters(2020, {"synthetic": False}), {}))


# --- published key figures ---------------------------------------------------------------------------


def test_key_figures_are_rounded_half_away_from_zero_as_displayed():
    assert 100 * 25 / 80 == 31.25
    assert build.round_as_displayed(31.25, "percent") == Decimal("31.3")
    assert build.round_as_displayed(-31.25, "percentage_points") == Decimal("-31.3")
    assert build.round_as_displayed(1.255, "ratio") == Decimal("1.26")
    assert build.round_as_displayed(2.5, "count") == Decimal("3")
    assert str(build.round_as_displayed(-0.04, "percent")) == "0.0"
    pub = build.published_key_figures(KEY_FIGURES).set_index("id")
    assert pub.loc["demo_share_a", "value"] == Decimal("31.3")
    assert pub.loc["demo_b", "value"] is None and pub.loc["demo_b", "forklaring"] == "färre än 5"
    assert pub.loc["demo_share_b", "forklaring"] == "döljs för att skydda en annan uppgift"


def test_key_figures_csv_is_machine_readable(tmp_path):
    path = tmp_path / "key_figures.csv"
    path.write_bytes(build.key_figures_csv(build.published_key_figures(KEY_FIGURES)))
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    kf = pd.read_csv(path, keep_default_na=False, na_values={"value": [""]}).set_index("id")
    assert list(kf.reset_index().columns) == build.PUBLISHED_KEY_FIGURE_COLUMNS
    assert kf.loc["demo_share_a", "value"] == 31.3 and kf.loc["demo_ratio", "value"] == 1.26
    assert pd.isna(kf.loc["demo_b", "value"]) and kf.loc["demo_b", "status"] == "<5"
    assert kf.loc["demo_ratio", "data_cutoff"] == "2021-03-31"
    assert "\n200," not in path.read_text() and ",200," in path.read_text()  # counts without ".0"


def test_nyckeltal_csv_opens_in_swedish_excel(tmp_path):
    path = tmp_path / "nyckeltal.csv"
    path.write_bytes(build.nyckeltal_csv(build.published_key_figures(KEY_FIGURES)))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == "Id;Kapitel;År;Värde;Enhet;Beskrivning;Status;Förklaring;Data till och med;Data"
    assert ";31,3;procent;" in text and ";1,26;kvot;" in text
    kf = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", keep_default_na=False,
                     na_values={"Värde": [""]}).set_index("Id")
    assert kf.loc["demo_share_a", "Värde"] == 31.3
    assert pd.isna(kf.loc["demo_b", "Värde"]) and kf.loc["demo_b", "Status"] == "<5"
    assert kf.loc["demo_b", "Förklaring"] == "färre än 5"
    assert kf.loc["demo_share_b", "Status"] == "x"
    assert set(kf["Data"]) == {"syntetiska demodata, inga verkliga barn"}
    real = build.nyckeltal_csv(build.published_key_figures(KEY_FIGURES), synthetic=False).decode("utf-8-sig")
    assert real.splitlines()[1].endswith(";ärendedata ur Treserva, pseudonymiserade")


def test_appendix_shows_symbols_and_the_same_rounding():
    md = build.key_figures_markdown(KEY_FIGURES, {CHAPTER: "Inflöde"})
    assert "| `demo_share_a` Andel A | 2020 | 31,3 | procent |" in md
    assert "| `demo_b` B | 2020 | \\<5 | antal |" in md
    assert "| `demo_share_b` Andel B | 2020 | x | procent |" in md
    assert "| `demo_ratio` Kvot (data till och med 2021-03-31) | 2020 | 1,26 | kvot |" in md
    assert "| `demo_since` Sedan | 2020 | 2018 | år |" in md
    assert "\\<5 | procent" not in md
    assert "färre än fem" in md and "x: döljs för att skydda en annan uppgift" in md


def test_read_key_figures_turns_a_hidden_share_into_x(tmp_path):
    kf = KEY_FIGURES.copy()
    kf.loc[3, "status"] = "<5"
    kf.to_csv(tmp_path / "key_figures_demo.csv", index=False)
    read = build.read_key_figures(tmp_path / "key_figures_demo.csv").set_index("id")
    assert read.loc["demo_share_b", "status"] == "x" and read.loc["demo_b", "status"] == "<5"
    assert build.published_key_figures(kf).loc[3, "status"] == "x"  # also when not read from a file
    assert read.loc["demo_share_a", "value"] == 31.25  # the chapter's own file stays unrounded


# --- headlines and front matter ------------------------------------------------------------------------


def test_headlines_in_book_order_and_never_on_a_hidden_figure(tmp_path):
    lines = [{"text": "Antalet anmälningar ökade.", "key": "demo_total"},
             {"text": "Andelen A var  31,3 %.", "key": "demo_share_a"}]
    folder = make_chapter(tmp_path / "ch", headlines=lines)
    kf = build.collect_key_figures([run_of(folder)])
    md = build.headlines_markdown(build.collect_headlines([run_of(folder)], kf))
    assert md == "- Antalet anmälningar ökade.\n- Andelen A var 31,3 %.\n"
    hidden = make_chapter(tmp_path / "ch2", headlines=[{"text": "B var få.", "key": "demo_b"}])
    with pytest.raises(BuildError, match="demo_b, som döljs"):
        build.collect_headlines([run_of(hidden)], kf)
    assert "sammanfattning" in build.headlines_markdown([])


def _info(**extra: Any) -> dict[str, Any]:
    settings = build.report_settings()
    info = {"year": YEAR, "version": __version__, "date": "2024-05-02", "commit": "abc", "commit_short": "abc",
            "dirty": False, "fingerprint": "0123456789ab", "synthetic": True,
            "data_note": "Syntetiska demodata.", "data_description": "Beskrivning.",
            "municipality": settings["municipality"],
            "author": f"{settings['publisher']}, {settings['municipality']}",
            "renderer_text": build.renderer_text("builtin", "pandoc 3.6, typst-py 0.13"),
            "data_cutoff": "", "data_cutoff_text": build.cutoff_text(YEAR, ""), "chapters": 1}
    return {**info, **extra}


def test_staged_front_matter_and_generated_parts(tmp_path):
    folder = make_chapter(tmp_path / "ch", headlines=[{"text": "En mening om **inflödet**.", "key": ""}])
    shutil.copy2(PATHS.root / "notebooks" / "01_inflode.ipynb", folder / "01_inflode.ipynb")
    runs = [run_of(folder)]
    disclosure = build.audit_chapters(runs, YEAR, loader=loader, log=lambda _m: None)
    stage = tmp_path / "stage"
    stage.mkdir()
    build.stage_book(YEAR, runs, build.collect_key_figures(runs), _info(), stage, disclosure)

    book = yaml.safe_load((stage / "_quarto.yml").read_text(encoding="utf-8"))["book"]
    assert book["subtitle"] == f"Data för 2020 · version {__version__}"
    assert book["author"] == "FoU-enheten, socialförvaltningen, Linköpings kommun"
    assert book["date"] == "2024-05-02"
    assert "appendix/om-statistiken.qmd" in book["appendices"]
    assert book["appendices"].index("appendix/om-statistiken.qmd") < book["appendices"].index("appendix/referenser.qmd")
    variables = yaml.safe_load((stage / "_variables.yml").read_text(encoding="utf-8"))
    assert variables["report"]["renderer"] == "pandoc 3.6 och typst 0.13"
    assert (stage / "_headlines.md").read_text(encoding="utf-8") == "- En mening om **inflödet**.\n"
    assert "| Dataår | 2020 |" in (stage / "appendix" / "_data_info.md").read_text(encoding="utf-8")
    assert "31 december 2020" in (stage / "appendix" / "_data_info.md").read_text(encoding="utf-8")
    assert "Granskningen godkände" in (stage / "appendix" / "_audit.md").read_text(encoding="utf-8")
    assert (stage / "appendix" / "nyckeltal.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    # Every shortcode of the preface and the new appendix resolves (the built-in renderer's expansion;
    # Quarto reads the same _variables.yml and includes).
    index = builtin.expand_shortcodes((stage / "index.qmd").read_text(encoding="utf-8"), stage, variables)
    assert "{{<" not in index
    assert "boken sätts ihop med pandoc 3.6 och typst 0.13" in " ".join(index.split())
    assert "- En mening om **inflödet**." in index and "Quarto" not in index
    about = builtin.expand_shortcodes((stage / "appendix" / "om-statistiken.qmd").read_text(encoding="utf-8"),
                                      stage / "appendix", variables)
    assert "{{<" not in about
    assert "Linköpings kommun" in about and "2024-05-02" in about and "| Dataår | 2020 |" in about
    quarto_variables = build.renderer_text("quarto", "1.7.31")
    assert quarto_variables == "Quarto 1.7.31"


def test_report_settings_have_defaults(tmp_path):
    assert build.report_settings(tmp_path) == {"publisher": "FoU-enheten, socialförvaltningen", "municipality": "",
                                               "published_url": ""}
    (tmp_path / "report.yml").write_text("municipality: Norrköpings kommun\n", encoding="utf-8")
    assert build.report_settings(tmp_path)["municipality"] == "Norrköpings kommun"
    assert build.report_settings(PATHS.root)["municipality"] == "Linköpings kommun"


# --- with the real protection (helpers.analysis.disclosure) -----------------------------------------------------


def _real_chapter(folder: Path) -> tuple[Any, pd.DataFrame]:
    disclosure = pytest.importorskip("helpers.analysis.disclosure")
    records = pd.DataFrame({"orsak": ["A"] * 30 + ["B"] * 3 + ["C"] * 12 + ["D"] * 9})
    cs = disclosure.CellSet(records)
    tab = cs.tabulate("orsak", by="orsak")
    cs.total("orsak_totalt")
    protected = cs.protect()
    folder.mkdir(parents=True, exist_ok=True)
    protected.to_json(folder / f"disclosure_{CHAPTER}.json")
    shown = protected.frame(tab)
    table = pd.concat([shown[["orsak", "antal", "status"]],
                       pd.DataFrame({"orsak": ["Totalt"], "antal": [protected.value("orsak_totalt")], "status": [""]})],
                      ignore_index=True)
    (folder / "tables").mkdir(exist_ok=True)
    table.to_csv(folder / "tables" / "tbl-orsaker.csv", index=False)
    pubs = [{"artefact": "tables/tbl-orsaker.csv", "kind": "table",
             "cells": [{"row": i, "column": "antal", "cell": c} for i, c in enumerate([*tab["cell"], "orsak_totalt"])]}]
    (folder / f"publications_{CHAPTER}.json").write_text(json.dumps(pubs), encoding="utf-8")
    KEY_FIGURES.to_csv(folder / f"key_figures_{CHAPTER}.csv", index=False)
    return protected, table


def test_the_real_protection_passes_the_build_audit(tmp_path):
    protected, table = _real_chapter(tmp_path / "ch")
    assert protected.status("orsak|orsak=B") == "primary" and table.loc[1, "status"] == "<5"
    summary = build.audit_chapters([run_of(tmp_path / "ch")], YEAR, log=lambda _m: None)[CHAPTER]
    assert summary["hidden_primary"] == 1 and summary["hidden_secondary"] >= 1
    assert summary["narrowest_width"] >= summary["threshold"]
    assert summary["audit_reused"] is False
    json.dumps(summary)
    again = build.audit_chapters([run_of(tmp_path / "ch")], YEAR, log=lambda _m: None)[CHAPTER]
    assert again["audit_reused"] is True and again["cells"] == summary["cells"]


def test_the_real_protection_catches_a_leak_and_a_broken_protection(tmp_path):
    protected, table = _real_chapter(tmp_path / "ch")
    leak = table.copy()
    leak["antal"] = leak["antal"].astype(object)
    leak.loc[1, "antal"] = 3
    leak.to_csv(tmp_path / "ch" / "tables" / "tbl-orsaker.csv", index=False)
    with pytest.raises(BuildError, match=r"rad 2.*orsak\|orsak=B"):
        build.audit_chapters([run_of(tmp_path / "ch")], YEAR, log=lambda _m: None)
    # Publish the complementary cell too: the audit itself must now fail and name the <5 cell.
    path = tmp_path / "ch" / f"disclosure_{CHAPTER}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["status"] = ["published" if s == "secondary" else s for s in doc["status"]]
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(BuildError, match=r"underkänner kapitlet demo.*\n.*orsak\|orsak=B \(<5\) ligger i intervallet 3–3"):
        build.audit_chapters([run_of(tmp_path / "ch")], YEAR, log=lambda _m: None)

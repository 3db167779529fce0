"""Disclosure control and the publishing path (helpers.publishing.publish)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Image, Markdown  # noqa: E402

from helpers.analysis.disclosure import MIN_CELL, CellSet  # noqa: E402
from helpers.config import PATHS  # noqa: E402
from helpers.publishing import publish, theme  # noqa: E402
from helpers.publishing.publish import Publisher  # noqa: E402

NB = "\u00a0"


def test_min_cell_is_five():
    assert MIN_CELL == 5


# --- Publisher ----------------------------------------------------------------------------------


@pytest.fixture
def shown(monkeypatch):
    """Capture what the publisher displays instead of printing reprs."""
    out: list = []
    monkeypatch.setattr(publish, "display", lambda obj: out.append(obj))
    return out


RECORDS = pd.DataFrame({"kategori": ["a"] * 1200 + ["b"] * 3 + ["c"] * 40 + ["d"] * 15})


def protected_pub(tmp_path, name="out", slides="slides") -> tuple[Publisher, pd.DataFrame, str]:
    p = Publisher("inflode", 2020, tmp_path / name, figures_dir=tmp_path / slides)
    cs = CellSet(RECORDS)
    tab = cs.tabulate("fig-test", by="kategori")
    total = cs.total("alla")
    p.protect(cs)
    return p, tab, total


@pytest.fixture
def pub(tmp_path, shown) -> Publisher:
    return protected_pub(tmp_path)[0]


@pytest.fixture
def fig_data(tmp_path, shown) -> pd.DataFrame:
    p, tab, total = protected_pub(tmp_path, "fd", "fd-slides")
    return p.view(tab, den=total)


def bar_plot(ax, d):
    publish.barh(ax, d, y="kategori", x="antal")
    from helpers.publishing import fmt

    fmt.swedish_ticks(ax, axis="x")


def test_default_paths():
    p = Publisher("inflode", 2020)
    assert p.output_dir == PATHS.build_year(2020) / "interactive"
    assert p.figures_dir == PATHS.figures / "2020"
    assert Publisher("inflode", 2020, "").output_dir == p.output_dir
    assert Publisher("inflode", 2020, "").figures_dir == p.figures_dir
    assert Publisher("inflode", 2020, "/tmp/x").figures_dir is None
    assert p.synthetic is True
    with pytest.raises(ValueError):
        Publisher("in flöde/", 2020)


def test_setup_theme():
    import matplotlib as mpl

    publish.setup_theme()
    assert tuple(mpl.rcParams["figure.figsize"]) == tuple(theme.FIGSIZE)
    assert mpl.rcParams["savefig.dpi"] == 150
    assert mpl.rcParams["svg.hashsalt"] == publish.SVG_HASHSALT


def test_figure_writes_png_svg_csv_and_shows_one_image(tmp_path, shown):
    pub, tab, total = protected_pub(tmp_path)
    data = pub.view(tab, den=total)
    out = pub.figure("fig-test", data, bar_plot, title="Test", source="Källa: test.")
    for base in (tmp_path / "out" / "figures", tmp_path / "slides"):
        for ext in ("png", "svg", "csv"):
            assert (base / f"fig-test.{ext}").is_file(), (base, ext)
        assert (base / "fig-test.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (base / "fig-test.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert not list(tmp_path.rglob("*.tmp")), "temporary files left behind"
    assert len(shown) == 1 and isinstance(shown[0], Image)
    # b (3) is suppressed, and at least one more cell with it: the total 1 258 is published.
    assert pub.value(total) == 1258 and out.loc[1, "antal|status"] == "<5"
    assert out["antal"].isna().sum() >= 2 and out["andel"].isna().sum() >= 2
    assert isinstance(out, publish.PublishedData)
    raw = (tmp_path / "out" / "figures" / "fig-test.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Swedish Excel reads å, ä, ö
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Kategori (kod);Antal;Andel (%);Förklaring;Data"
    assert re.fullmatch(r"a;1200;\d+,\d;;syntetiska demodata, inga verkliga barn", lines[1])
    assert lines[2] == ('b;;;"Antal: <5 = färre än 5, redovisas inte; Andel (%): x = döljs så att andra '
                        'uppgifter inte kan räknas fram";syntetiska demodata, inga verkliga barn')
    pubs = json.loads((tmp_path / "out" / "publications_inflode.json").read_text(encoding="utf-8"))
    assert pubs[0]["artefact"] == "figures/fig-test.csv"
    assert {c["column"] for c in pubs[0]["cells"]} == {"Antal"}  # the header in the file
    assert [c["cell"] for c in pubs[0]["cells"]] == tab["cell"].tolist()
    assert (tmp_path / "out" / "disclosure_inflode.json").is_file()


def test_figure_refuses_counts_that_bypass_the_protection(pub):
    raw = pd.DataFrame({"kategori": ["a", "b"], "antal": [1200, 3]})
    with pytest.raises(ValueError, match="röjandekontrollen"):
        pub.figure("fig-raa", raw, bar_plot, title="x", source="y")


def test_barh_marks_hidden_bars_in_place(pub):
    import matplotlib.pyplot as plt

    d = pd.DataFrame({"g": ["a", "b", "c"], "v": [10.0, float("nan"), 30.0], "v|status": ["", "x", ""]})
    fig, ax = plt.subplots()
    publish.barh(ax, d, y="g", x="v", label=str)
    assert len(ax.patches) == 2  # no bar for the hidden value
    marks = {t.get_text(): t.get_position()[1] for t in ax.texts}
    assert marks["x"] == pytest.approx(1.0)  # on row b, not shifted
    assert [p.get_y() + p.get_height() / 2 for p in ax.patches] == pytest.approx([0.0, 2.0])
    plt.close(fig)


def test_barh_legend_has_every_group_even_when_its_first_bar_is_hidden(pub):
    import matplotlib.pyplot as plt

    d = pd.DataFrame({"g": ["a", "a", "b", "b"], "h": ["2019", "2020", "2019", "2020"],
                      "v": [8.0, float("nan"), 38.0, 22.0], "v|status": ["", "x", "", ""]})
    fig, ax = plt.subplots()
    publish.barh(ax, d, y="g", x="v", hue="h")
    assert [t.get_text() for t in ax.legend().get_texts()] == ["2019", "2020"]
    plt.close(fig)


def test_barh_with_every_value_hidden_draws_only_marks(pub):
    import matplotlib.pyplot as plt

    d = pd.DataFrame({"g": ["a", "b"], "v": [float("nan")] * 2, "v|status": ["x", "<5"]})
    fig, ax = plt.subplots()
    publish.barh(ax, d, y="g", x="v", label=str)
    assert len(ax.patches) == 0 and {t.get_text() for t in ax.texts} == {"x", "<5"}
    assert ax.get_xlim()[1] > 0
    plt.close(fig)


def test_figure_source_line_and_title(pub, fig_data):
    assert pub.source_line("Källa: Treserva.") == "Källa: Treserva. Syntetiska demodata."
    assert pub.source_line("Källa: Treserva") == "Källa: Treserva. Syntetiska demodata."
    pub.synthetic = False
    assert pub.source_line("Källa: Treserva.") == "Källa: Treserva."

    texts = {}

    def plot(ax, d):
        texts["fig"] = ax.figure
        ax.plot([1, 2], [3, 4])

    pub.synthetic = True
    pub.figure("fig-texter", fig_data, plot, title="Min titel", source="Källa: test.")
    fig = texts["fig"]
    assert fig._suptitle.get_text() == "Min titel"
    assert fig.texts[-1].get_text().splitlines() == [
        "Källa: test. Syntetiska demodata.", "<5: färre än 5, redovisas inte; x: döljs så att andra uppgifter inte kan räknas fram."]


def test_figure_plot_may_replace_the_axes(pub, tmp_path, fig_data):
    def plot(ax, d):
        fig = ax.figure
        ax.remove()
        for a in fig.subplots(1, 2, sharey=True):
            a.barh(d["kategori"], d["antal"].fillna(0))

    pub.figure("fig-delar", fig_data, plot, title="Två delar", source="Källa: test.")
    assert (tmp_path / "out" / "figures" / "fig-delar.png").stat().st_size > 1000


def test_figure_svg_and_png_are_deterministic(tmp_path, shown):
    files = []
    for run in ("a", "b"):
        p, tab, total = protected_pub(tmp_path, run, f"slides_{run}")
        p.figure("fig-det", p.view(tab), bar_plot, title="Determinism", source="Källa: test.")
        files.append({ext: (tmp_path / run / "figures" / f"fig-det.{ext}").read_bytes()
                      for ext in ("svg", "png", "csv")})
    assert files[0] == files[1]
    assert b"<dc:date>" not in files[0]["svg"]


def test_figure_label_is_checked(pub, fig_data):
    for bad in ("akttyp", "tbl-akttyp", "fig-", "fig-a b", "fig-../x"):
        with pytest.raises(ValueError):
            pub.figure(bad, fig_data, bar_plot, title="x", source="y")


def test_figure_closes_its_figure(pub, fig_data):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    pub.figure("fig-stangd", fig_data, bar_plot, title="x", source="y")
    assert len(plt.get_fignums()) == before

    def broken(ax, d):
        raise RuntimeError("trasig")

    with pytest.raises(RuntimeError):
        pub.figure("fig-trasig", fig_data, broken, title="x", source="y")
    assert len(plt.get_fignums()) == before


def test_published_data_shows_nothing_as_a_cell_result():
    d = publish.PublishedData(pd.DataFrame({"a": [1, 2]}))
    assert d._ipython_display_() is None
    assert type(d.head(1)) is pd.DataFrame
    assert type(d[["a"]]) is pd.DataFrame


# --- tables -------------------------------------------------------------------------------------


def test_table_markdown_and_csv(tmp_path, shown):
    pub, tab, total = protected_pub(tmp_path)
    view = pub.view(tab.assign(kategori=["Bristande omsorg", "Brott | våld", "Missbruk", "Övrigt"]), den=total)
    view["Kvot"] = [1.2345, 2.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="röjandekontrollen"):
        pub.table("tbl-test", view)
    out = pub.table("tbl-test", view, columns={"kategori": "Orsak", "antal": "Antal", "andel": "Andel (%)", "Kvot": "Kvot"},
                    decimals={"Kvot": 2}, free=["Kvot"])
    assert out["Antal"].isna().tolist()[1] and len(shown) == 1 and isinstance(shown[0], Markdown)
    md = shown[0].data
    lines = md.splitlines()
    assert lines[0] == "| Orsak | Antal | Andel (%) | Kvot |"
    # Dashes as wide as the longest cell or header word: pandoc sizes wrapped columns by them.
    assert lines[1] == "|:" + "-" * 15 + "|" + "-" * 4 + ":|" + "-" * 5 + ":|" + "-" * 3 + ":|"
    assert lines[2] == f"| Bristande omsorg | 1{NB}200 | 95,4{NB}% | 1,23 |"
    assert lines[3] == "| Brott \\| våld | \\<5 | x | 2,00 |"
    assert "|cell" not in md and "|status" not in md
    assert "färre än 5" in md
    csv = (tmp_path / "out" / "tables" / "tbl-test.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv[0] == "Orsak;Antal;Andel (%);Kvot;Förklaring;Data"
    assert csv[1].startswith("Bristande omsorg;1200;95,4;1,23;;")  # rounded as shown, decimal comma
    assert csv[2].startswith('Brott | våld;;;2,00;"Antal: <5 = färre än 5')


def test_table_without_suppression_has_no_note(tmp_path, shown):
    pub = Publisher("inflode", 2020, tmp_path / "o")
    cs = CellSet(pd.DataFrame({"ar": [2019] * 30 + [2020] * 40}))
    tab = cs.tabulate("tbl-ar", by="ar")
    pub.protect(cs)
    pub.table("tbl-ar", pub.view(tab).rename(columns={"ar": "År"}))
    md = shown[0].data
    assert md.splitlines()[2] == "| 2019 | 30 |"
    assert "färre" not in md


def test_view_shares_need_both_cells_and_a_denominator_of_twenty(tmp_path, shown):
    pub = Publisher("inflode", 2020, tmp_path / "o")
    cs = CellSet(pd.DataFrame({"g": ["a"] * 12 + ["b"] * 7}))
    tab = cs.tabulate("t", by="g")
    total = cs.total("alla")
    pub.protect(cs)
    v = pub.view(tab, den=total)
    assert v["andel"].isna().all() and (v["andel|status"] == "x").all()  # 19 < 20
    assert pub.pct(tab["cell"][0], total) == "en andel som inte redovisas"


# --- key figures and text -----------------------------------------------------------------------


def test_key_figures(tmp_path, shown):
    pub, tab, total = protected_pub(tmp_path)
    a, b = tab["cell"][0], tab["cell"][1]
    assert pub.key_figure("inflow_total", "count", "Alla", cell=total) == 1258
    assert pub.key_figure("inflow_b", "count", "B", cell=b) is None
    assert pub.key_figure("inflow_share_a", "percent", "Andel a", share=(a, total), year=2019) == pytest.approx(100 * 1200 / 1258)
    assert pub.key_figure("inflow_rr", "ratio", "Kvot", value=1.25, data_cutoff="2021-03-31") == 1.25
    path = tmp_path / "out" / "key_figures_inflode.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,chapter,year,value,unit,label,status,data_cutoff"
    assert lines[1] == "inflow_total,inflode,2020,1258,count,Alla,,"
    assert lines[2] == "inflow_b,inflode,2020,3,count,B,<5,"  # the true value stays internal
    assert lines[4] == "inflow_rr,inflode,2020,1.25,ratio,Kvot,,2021-03-31"
    pub.key_figure("inflow_total", "count", "Alla", cell=total)
    with pytest.raises(ValueError, match="finns redan"):
        pub.key_figure("inflow_total", "count", "Alla", value=1259)
    with pytest.raises(ValueError, match="exakt en"):
        pub.key_figure("inflow_x", "count", "X", cell=total, value=3)
    assert len(pub.key_figures()) == 4
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_share_of_nothing_is_not_recorded(tmp_path, shown):
    pub = Publisher("inflode", 2020, tmp_path / "o")
    cs = CellSet(pd.DataFrame({"g": ["a"] * 30}))
    tab = cs.tabulate("t", by="g", levels={"g": ["a", "b"]})
    pub.protect(cs)
    b = tab["cell"][1]
    assert pub.value(b) == 0
    assert pub.key_figure("inflow_none", "percent", "Andel av inget", share=(b, b)) is None
    assert "inflow_none" not in set(pub.key_figures()["id"])


@pytest.mark.parametrize(
    ("value", "unit", "error"),
    [
        (1.0, "procent", ValueError),
        (math.nan, "percent", ValueError),
        ("12", "count", TypeError),
        (True, "count", TypeError),
        (math.inf, "ratio", ValueError),
    ],
)
def test_key_figure_rejects_bad_input(pub, value, unit, error):
    with pytest.raises(error):
        pub.key_figure("x", unit, "etikett", value=value)


def test_key_figure_units():
    assert set(publish.KEY_FIGURE_UNITS) == {
        "count",
        "percent",
        "ratio",
        "per_1000",
        "kr",
        "tkr",
        "mnkr",
        "kr_per_invanare",
        "percentage_points",
        "year",
    }


def test_text(pub, shown):
    assert pub.text("Under **2020** kom 4 250 aktualiseringar in.") is None
    assert isinstance(shown[0], Markdown) and shown[0].data.startswith("Under **2020**")


def test_atomic_write_replaces_whole_files(tmp_path):
    target = tmp_path / "a" / "b.csv"
    publish._atomic_write(target, b"first\n")
    publish._atomic_write(target, b"second\n")
    assert target.read_bytes() == b"second\n"
    assert [p.name for p in target.parent.iterdir()] == ["b.csv"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_prose_counts_and_shares_follow_disclosure_control(tmp_path, shown):
    pub, tab, total = protected_pub(tmp_path)
    a, b = tab["cell"][0], tab["cell"][1]
    assert pub.n(total) == f"1{NB}258"
    assert pub.n(b) == "färre än fem"
    hidden_x = [c for c in tab["cell"] if pub._mark(c) == "x"]
    assert hidden_x and pub.n(hidden_x[0]) == "ett antal som inte redovisas"
    assert pub.pct(b, total) == "en andel som inte redovisas"
    assert pub.pct(a, total, 0) == f"95{NB}%"
    pub.text("x")
    pubs = json.loads((tmp_path / "out" / "publications_inflode.json").read_text(encoding="utf-8"))
    assert {c["cell"] for c in pubs[-1]["cells"]} >= {total, b, a}


def test_nothing_is_published_before_protect(tmp_path):
    pub = Publisher("inflode", 2020, tmp_path / "o")
    with pytest.raises(RuntimeError, match="protect"):
        pub.n("x")

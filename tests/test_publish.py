"""Disclosure control and the publishing path (helpers.publish)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Image, Markdown  # noqa: E402

from helpers import publish  # noqa: E402
from helpers.config import PATHS  # noqa: E402
from helpers.publish import MIN_CELL, Publisher, protect  # noqa: E402

NB = "\u00a0"


# --- protect ------------------------------------------------------------------------------------


def counts(values, **extra) -> pd.DataFrame:
    return pd.DataFrame(
        {"kategori": [f"k{i}" for i in range(len(values))], "antal": values, **extra}
    )


def test_min_cell_is_five():
    assert MIN_CELL == 5


def test_primary_suppression_of_one_to_four_only():
    df = counts([0, 1, 4, 5, 12])
    out, n = protect(df, ["antal"], secondary=False)
    assert n == 2
    assert out["antal"].isna().tolist() == [False, True, True, False, False]
    assert out["antal"].iloc[[0, 3, 4]].tolist() == [0, 5, 12]  # zero is published
    assert out["skyddad"].tolist() == [False, True, True, False, False]
    assert out["skyddad"].dtype == bool


def test_input_is_not_modified_and_dtype_kept_without_suppression():
    df = counts([0, 3, 10, 25])
    before = df.copy()
    protect(df, "antal")
    pd.testing.assert_frame_equal(df, before)
    out, n = protect(counts([0, 5, 10]), ["antal"])
    assert n == 0 and out["antal"].dtype == np.int64 and not out["skyddad"].any()


def test_secondary_suppression_hides_the_next_smallest_cell():
    out, n = protect(counts([0, 3, 10, 25, 7]), ["antal"])
    assert n == 2
    assert out["antal"].isna().tolist() == [False, True, False, False, True]  # 7, not the zero
    assert out["skyddad"].tolist() == [False, True, False, False, True]


def test_no_secondary_suppression_when_two_cells_are_already_hidden():
    out, n = protect(counts([2, 3, 10, 25]), ["antal"])
    assert n == 2 and out["antal"].isna().tolist() == [True, True, False, False]


def test_secondary_suppression_ties_take_the_first_cell():
    out, _ = protect(counts([2, 7, 7, 30]), ["antal"])
    assert out["antal"].isna().tolist() == [True, True, False, False]


def test_secondary_suppression_falls_back_to_a_zero():
    out, n = protect(counts([3, 0, 0]), ["antal"])
    assert n == 2 and out["antal"].isna().tolist() == [True, True, False]


def test_single_row_group_gets_no_secondary_suppression():
    out, n = protect(counts([3]), ["antal"])
    assert n == 1


def test_secondary_suppression_per_group():
    df = pd.DataFrame(
        {
            "ar": [2019] * 3 + [2020] * 3 + [2021] * 3,
            "kategori": ["a", "b", "c"] * 3,
            "antal": [3, 40, 9, 20, 30, 40, 1, 2, 50],
        }
    )
    out, n = protect(df, ["antal"], group_cols="ar")
    assert n == 2 + 0 + 2
    assert out["antal"].isna().tolist() == [
        True,
        False,
        True,
        False,
        False,
        False,
        True,
        True,
        False,
    ]
    # Without groups the whole frame is one group: two primary cells, no secondary needed.
    out_all, n_all = protect(df, ["antal"])
    assert n_all == 3


def test_groups_over_several_columns():
    df = pd.DataFrame(
        {
            "ar": [2020] * 4,
            "aldersgrupp": ["0-12", "0-12", "13-17", "13-17"],
            "antal": [2, 8, 6, 9],
        }
    )
    out, n = protect(df, "antal", group_cols=["ar", "aldersgrupp"])
    assert n == 2 and out["antal"].isna().tolist() == [True, True, False, False]


def test_several_count_columns_are_protected_column_by_column():
    df = pd.DataFrame({"omrade": ["A", "B", "C"], "pojkar": [3, 10, 20], "flickor": [15, 12, 4]})
    out, n = protect(df, ["pojkar", "flickor"])
    assert n == 4
    assert out["pojkar"].isna().tolist() == [True, True, False]
    assert out["flickor"].isna().tolist() == [False, True, True]
    assert out["skyddad"].tolist() == [True, True, True]


def test_shares_of_suppressed_rows_are_suppressed():
    df = counts([0, 3, 10, 25, 7])
    df["andel"] = 100 * df["antal"] / df["antal"].sum()
    df["ki"] = df["andel"] + 1
    out, _ = protect(df, ["antal"], share_cols=["andel", "ki"])
    assert out["andel"].isna().tolist() == [False, True, False, False, True]
    assert out["ki"].isna().tolist() == [False, True, False, False, True]
    assert out.loc[0, "andel"] == 0


def test_existing_flag_is_kept_and_missing_counts_are_not_flagged():
    df = counts([np.nan, 10, 20], skyddad=[False, True, False])
    out, n = protect(df, ["antal"])
    assert n == 0 and out["skyddad"].tolist() == [False, True, False]


def test_protect_rejects_bad_input():
    with pytest.raises(KeyError):
        protect(counts([1]), ["saknas"])
    with pytest.raises(ValueError):
        protect(counts([-1, 5]), ["antal"])
    with pytest.raises(ValueError):
        protect(counts([1, 5], andel=[1.0, 2.0]), ["antal"], share_cols=["antal"])


def test_no_suppressed_value_can_be_derived_from_the_group_total():
    """Property check: after protection, no group has exactly one hidden non-derivable cell."""
    rng = np.random.default_rng(5)
    for _ in range(300):
        size = int(rng.integers(2, 7))
        values = rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 15, 40], size=size)
        out, _ = protect(counts(values.tolist()), ["antal"])
        hidden = out["antal"].isna().to_numpy()
        assert hidden.sum() != 1
        # Every published cell is >= MIN_CELL or 0; every 1..4 is hidden.
        assert all(v == 0 or v >= MIN_CELL for v in out["antal"].dropna())
        # With two or more hidden cells, the hidden total alone does not pin a 1..4 cell when a
        # positive complement was available.
        if hidden.sum() >= 2 and (values[hidden] > 0).sum() >= 2:
            hidden_values = values[hidden]
            total = hidden_values.sum()
            small = [v for v in hidden_values if 0 < v < MIN_CELL]
            for v in small:
                assert total - v > 0


# --- Publisher ----------------------------------------------------------------------------------


@pytest.fixture
def shown(monkeypatch):
    """Capture what the publisher displays instead of printing reprs."""
    out: list = []
    monkeypatch.setattr(publish, "display", lambda obj: out.append(obj))
    return out


@pytest.fixture
def pub(tmp_path, shown) -> Publisher:
    return Publisher("inflode", 2020, tmp_path / "out", figures_dir=tmp_path / "slides")


def bar_plot(ax, d):
    ax.barh(d["kategori"], d["antal"].fillna(0))
    from helpers import fmt

    fmt.swedish_ticks(ax, axis="x")


FIG_DATA = pd.DataFrame({"kategori": ["a", "b", "c", "d"], "antal": [1200, 3, 40, 15]})
FIG_DATA["andel"] = 100 * FIG_DATA["antal"] / FIG_DATA["antal"].sum()


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
    assert tuple(mpl.rcParams["figure.figsize"]) == (7.0, 4.0)
    assert mpl.rcParams["savefig.dpi"] == 150
    assert mpl.rcParams["svg.hashsalt"] == publish.SVG_HASHSALT


def test_figure_writes_png_svg_csv_and_shows_only_the_png(pub, tmp_path, shown):
    out = pub.figure(
        "fig-test",
        FIG_DATA,
        bar_plot,
        title="Test",
        source="Källa: test.",
        count_cols=["antal"],
        share_cols=["andel"],
    )
    for base in (tmp_path / "out" / "figures", tmp_path / "slides"):
        for ext in ("png", "svg", "csv"):
            assert (base / f"fig-test.{ext}").is_file(), (base, ext)
        assert (base / "fig-test.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (base / "fig-test.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert (tmp_path / "out" / "figures" / "fig-test.png").read_bytes() == (
        tmp_path / "slides" / "fig-test.png"
    ).read_bytes()
    assert not list(tmp_path.rglob("*.tmp")), "temporary files left behind"
    assert len(shown) == 1 and isinstance(shown[0], Image)
    # The protected data: 3 and its complement 15 suppressed, with their shares.
    assert out["antal"].isna().tolist() == [False, True, False, True]
    assert out["andel"].isna().tolist() == [False, True, False, True]
    assert isinstance(out, publish.PublishedData)
    csv = (tmp_path / "out" / "figures" / "fig-test.csv").read_text(encoding="utf-8")
    lines = csv.splitlines()
    assert lines[0] == "kategori,antal,andel,skyddad"
    assert lines[1].startswith("a,1200,") and lines[1].endswith(",False")
    assert lines[2] == "b,,,True"  # suppressed: empty, counts written as integers


def test_figure_source_line_and_title(pub):
    assert pub.source_line("Källa: Treserva.") == "Källa: Treserva. Syntetiska demodata."
    assert pub.source_line("Källa: Treserva") == "Källa: Treserva. Syntetiska demodata."
    pub.synthetic = False
    assert pub.source_line("Källa: Treserva.") == "Källa: Treserva."

    texts = {}

    def plot(ax, d):
        texts["fig"] = ax.figure
        ax.plot([1, 2], [3, 4])

    pub.synthetic = True
    pub.figure("fig-texter", FIG_DATA, plot, title="Min titel", source="Källa: test.")
    fig = texts["fig"]
    assert fig._suptitle.get_text() == "Min titel"
    assert fig.texts[-1].get_text() == "Källa: test. Syntetiska demodata."


def test_figure_plot_may_replace_the_axes(pub, tmp_path):
    def plot(ax, d):
        fig = ax.figure
        ax.remove()
        for a in fig.subplots(1, 2, sharey=True):
            a.barh(d["kategori"], d["antal"].fillna(0))

    pub.figure(
        "fig-delar", FIG_DATA, plot, title="Två delar", source="Källa: test.", count_cols="antal"
    )
    assert (tmp_path / "out" / "figures" / "fig-delar.png").stat().st_size > 1000


def test_figure_svg_and_png_are_deterministic(tmp_path, shown):
    files = []
    for run in ("a", "b"):
        p = Publisher("inflode", 2020, tmp_path / run, figures_dir=tmp_path / f"slides_{run}")
        p.figure(
            "fig-det",
            FIG_DATA,
            bar_plot,
            title="Determinism",
            source="Källa: test.",
            count_cols=["antal"],
        )
        files.append(
            {
                ext: (tmp_path / run / "figures" / f"fig-det.{ext}").read_bytes()
                for ext in ("svg", "png", "csv")
            }
        )
    assert files[0] == files[1]
    assert b"<dc:date>" not in files[0]["svg"]


def test_figure_label_is_checked(pub):
    for bad in ("akttyp", "tbl-akttyp", "fig-", "fig-a b", "fig-../x"):
        with pytest.raises(ValueError):
            pub.figure(bad, FIG_DATA, bar_plot, title="x", source="y")


def test_figure_closes_its_figure(pub):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    pub.figure("fig-stangd", FIG_DATA, bar_plot, title="x", source="y", count_cols=["antal"])
    assert len(plt.get_fignums()) == before

    def broken(ax, d):
        raise RuntimeError("trasig")

    with pytest.raises(RuntimeError):
        pub.figure("fig-trasig", FIG_DATA, broken, title="x", source="y")
    assert len(plt.get_fignums()) == before


def test_published_data_shows_nothing_as_a_cell_result():
    d = publish.PublishedData(pd.DataFrame({"a": [1, 2]}))
    assert d._ipython_display_() is None
    assert type(d.head(1)) is pd.DataFrame
    assert type(d[["a"]]) is pd.DataFrame


# --- tables -------------------------------------------------------------------------------------


def test_table_markdown_and_csv(pub, tmp_path, shown):
    df = pd.DataFrame(
        {
            "Orsak": ["Bristande omsorg", "Brott | våld", "Missbruk", "Övrigt"],
            "Antal": [2469, 3, 7, 160],
            "Andel (%)": [93.6, 0.1, 0.3, 6.1],
            "Kvot": [1.2345, 2.0, 0.5, 1.0],
        }
    )
    out = pub.table(
        "tbl-test", df, count_cols=["Antal"], share_cols=["Andel (%)"], decimals={"Kvot": 2}
    )
    assert out["Antal"].isna().tolist() == [False, True, True, False]
    assert len(shown) == 1 and isinstance(shown[0], Markdown)
    md = shown[0].data
    lines = md.splitlines()
    assert lines[0] == "| Orsak | Antal | Andel (%) | Kvot |"
    assert lines[1] == "|:---|---:|---:|---:|"
    assert lines[2] == f"| Bristande omsorg | 2{NB}469 | 93,6{NB}% | 1,23 |"
    assert lines[3] == "| Brott \\| våld | \\<5 | x | 2,00 |"
    assert lines[4] == "| Missbruk | x | x | 0,50 |"
    assert "skyddad" not in lines[0]
    assert "färre än 5" in md
    csv = (tmp_path / "out" / "tables" / "tbl-test.csv").read_text(encoding="utf-8").splitlines()
    assert csv[0] == "Orsak,Antal,Andel (%),Kvot,skyddad"
    assert csv[2] == "Brott | våld,,,2.0,True"


def test_table_without_suppression_has_no_note(pub, shown):
    df = pd.DataFrame({"År": [2019, 2020], "Anmälningar": [3947, 4250], "Kvot": [1.1, 1.08]})
    pub.table("tbl-ar", df, count_cols=["Anmälningar"], decimals=2)
    md = shown[0].data
    assert md.splitlines()[2] == f"| 2019 | 3{NB}947 | 1,10 |"
    assert "färre" not in md


def test_table_index_and_label(pub, shown):
    df = pd.DataFrame({"Antal": [10, 20]}, index=pd.Index(["a", "b"], name="Grupp"))
    pub.table("tbl-index", df, count_cols=["Antal"], index=True)
    assert shown[0].data.splitlines()[0] == "| Grupp | Antal |"
    with pytest.raises(ValueError):
        pub.table("fig-index", df)


# --- key figures and text -----------------------------------------------------------------------


def test_key_figures(pub, tmp_path):
    assert pub.key_figure("inflow_total", np.int64(4250), "count", "Aktualiseringar totalt") == 4250
    assert pub.key_figure("inflow_share", 48.4, "percent", "Andel", year=2019, numerator=2057) == 48.4
    path = tmp_path / "out" / "key_figures_inflode.csv"
    assert path.read_text(encoding="utf-8").splitlines() == [
        "id,chapter,year,value,unit,label,numerator",
        "inflow_total,inflode,2020,4250,count,Aktualiseringar totalt,",
        "inflow_share,inflode,2019,48.4,percent,Andel,2057",
    ]
    kf = pub.key_figures()
    assert list(kf.columns) == ["id", "chapter", "year", "value", "unit", "label"]
    assert kf["value"].tolist() == [4250, 48.4]
    # The same value again is fine, another value is not.
    pub.key_figure("inflow_total", 4250, "count", "Aktualiseringar totalt")
    with pytest.raises(ValueError, match="finns redan"):
        pub.key_figure("inflow_total", 4251, "count", "Aktualiseringar totalt")
    assert len(pub.key_figures()) == 2
    assert not list(tmp_path.rglob("*.tmp"))


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
        pub.key_figure("x", value, unit, "etikett")


def test_key_figure_units():
    assert set(publish.KEY_FIGURE_UNITS) == {
        "count",
        "percent",
        "ratio",
        "per_1000",
        "kr",
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


def test_prose_counts_and_shares_follow_disclosure_control():
    assert Publisher.count(0) == "0"
    assert Publisher.count(3) == "färre än 5"
    assert Publisher.count(1704) == "1\u00a0704"
    assert Publisher.share(3, 100) == "x"
    assert Publisher.share(50, 200, 0) == "25\u00a0%"

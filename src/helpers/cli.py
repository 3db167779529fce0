"""Command line: ``genomlysning <command>`` (installed by ``pip install -e .``).

* ``genomlysning data`` writes the synthetic demo extracts if ``data/raw`` has none and ingests;
  with ``--scenario``/``--scale`` it replaces the synthetic extracts (never real ones) first;
* ``genomlysning ingest`` validates and ingests ``data/raw`` (exit 2 on bad input);
* ``genomlysning render --year 2020`` builds the report (see :mod:`helpers.build`);
* ``genomlysning bench --year 2020`` prints cold and warm render times;
* ``genomlysning kolada update [--years 2016-2022] [--out data/raw/jamforelse.xlsx]`` fetches the
  public comparison data from Kolada and writes the comparison extract atomically (see
  :mod:`helpers.data.kolada`); the render itself never needs the network;
* ``genomlysning struktur update [--years 2014-2022] [--out data/raw/struktur_offentlig.xlsx]``
  fetches SCB's population by age and Kolada's structural KPIs and writes the public extract of the
  chapter Strukturella faktorer atomically (see :mod:`helpers.data.struktur_offentlig`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from helpers import __version__
from helpers.config import DEFAULT_YEAR
from helpers.data import synth


def _render_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=int, default=DEFAULT_YEAR, help=f"rapportår (standard {DEFAULT_YEAR})")
    p.add_argument("--renderer", choices=["auto", "quarto", "builtin"], default="auto",
                   help="auto: Quarto om det finns på PATH, annars den inbyggda (pandoc + typst)")
    p.add_argument("--jobs", type=int, default=None, help="kapitel som körs parallellt (standard: antal kärnor)")
    p.add_argument("--data-cutoff", default=None, metavar="ÅÅÅÅ-MM-DD",
                   help="sista dag med data (standard: rapportårets slut); ett senare datum tar med stickprovet "
                        "i mars året efter, som rapporten 2021 gjorde (2021-03-31 för rapportår 2020)")
    p.add_argument("--preliminary", action="store_true",
                   help="tillåt ett rapportår som inte är slut; rapporten säger på varje sida att uppgifterna är preliminära")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genomlysning", description="Genomlysning Barn och unga: data, kapitel och rapport.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("data", help="skriv demodata om data/raw saknar uttag, och läs in")
    synth.add_arguments(d)
    sub.add_parser("ingest", help="validera och läs in data/raw till data/processed")
    r = sub.add_parser("render", help="bygg rapporten (HTML + PDF) för ett rapportår")
    _render_args(r)
    r.add_argument("--no-cache", action="store_true", help="kör alla kapitel på nytt")
    r.add_argument("--no-publish", action="store_true", help="spara ingen kopia i _publish/")
    b = sub.add_parser("bench", help="mät kall och varm rendering")
    _render_args(b)
    k = sub.add_parser("kolada", help="offentliga jämförelsedata från Kolada")
    ksub = k.add_subparsers(dest="kolada_command", required=True)
    ku = ksub.add_parser("update", help="hämta jämförelsedata från Koladas API och skriv jamforelse.xlsx")
    ku.add_argument("--years", default="2016-2022", metavar="ÅR",
                    help="år att hämta, t.ex. 2016-2022 eller 2016,2019 (standard 2016-2022)")
    ku.add_argument("--out", type=Path, default=None, metavar="FIL",
                    help="extraktet som skrivs (standard data/raw/jamforelse.xlsx)")
    s = sub.add_parser("struktur", help="offentlig statistik för Strukturella faktorer (SCB och Kolada)")
    ssub = s.add_subparsers(dest="struktur_command", required=True)
    su = ssub.add_parser("update", help="hämta folkmängd efter ålder (SCB) och nyckeltal (Kolada) och skriv "
                                        "struktur_offentlig.xlsx")
    su.add_argument("--years", default=None, metavar="ÅR",
                    help="år att hämta, t.ex. 2014-2022 eller 2014,2019 (standard 2014 till och med förra året)")
    su.add_argument("--out", type=Path, default=None, metavar="FIL",
                    help="extraktet som skrivs (standard data/raw/struktur_offentlig.xlsx)")
    args = parser.parse_args(argv)
    if args.command == "kolada":
        return _kolada(args)
    if args.command == "struktur":
        return _struktur(args)

    from helpers import build

    try:
        if args.command == "data":
            if args.scenario is not None or args.scale is not None:
                from helpers.data.synth import generate

                try:
                    print(generate.data_command(args.scenario, args.scale))
                except generate.NotSyntheticError as e:
                    print(f"fel: {e}", file=sys.stderr)
                    return 1
            with build.build_lock(print):  # one run at a time; a killed earlier run is put in order first
                build.recover_interrupted()
                build.ensure_data()
            return 0
        if args.command == "ingest":
            from helpers.data import ingest

            with build.build_lock(print):
                build.recover_interrupted()
                return ingest.main([])
        if args.command == "render":
            build.render(args.year, renderer=args.renderer, jobs=args.jobs, data_cutoff=args.data_cutoff,
                         use_cache=not args.no_cache, publish=not args.no_publish, preliminary=args.preliminary)
            return 0
        if args.command == "bench":
            times = {}
            for label, cache in (("kall", False), ("varm", True)):
                t = time.perf_counter()
                build.render(args.year, renderer=args.renderer, jobs=args.jobs, data_cutoff=args.data_cutoff,
                             use_cache=cache, preliminary=args.preliminary,
                             publish=False, log=lambda _m: None)
                times[label] = time.perf_counter() - t
            for label, s in times.items():
                print(f"{label:5s} rendering {args.year}: {s:6.1f} s".replace(".", ","))
            return 0
    except build.BuildError as e:
        print(f"fel: {e}", file=sys.stderr)
        print("Den tidigare rapporten i _book/ är orörd.", file=sys.stderr)
        return 1
    return 2


def _kolada(args: argparse.Namespace) -> int:
    """``genomlysning kolada update``: exit 0, 1 on an error from Kolada (the previous extract is
    left as it was), 2 on bad arguments."""
    from helpers.config import PATHS
    from helpers.data import kolada

    out = args.out or PATHS.raw / "jamforelse.xlsx"
    try:
        years = kolada.parse_years(args.years)
    except ValueError as e:
        print(f"fel: {e}", file=sys.stderr)
        return 2
    try:
        result = kolada.update(years, out)
    except kolada.KoladaError as e:
        print(f"fel: {e}", file=sys.stderr)
        print(f"{out} är orörd." if out.exists() else f"{out} skrevs inte.", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def _struktur(args: argparse.Namespace) -> int:
    """``genomlysning struktur update``: exit 0, 1 on an error from SCB or Kolada or an incomplete
    answer (the previous extract is left as it was), 2 on bad arguments."""
    from helpers.config import PATHS
    from helpers.data import kolada, scb, struktur_offentlig

    out = args.out or PATHS.raw / "struktur_offentlig.xlsx"
    try:
        years = kolada.parse_years(args.years) if args.years is not None else None
    except ValueError as e:
        print(f"fel: {e}", file=sys.stderr)
        return 2
    try:
        result = struktur_offentlig.update(years, out)
    except (scb.ScbError, kolada.KoladaError, struktur_offentlig.StrukturError) as e:
        print(f"fel: {e}", file=sys.stderr)
        print(f"{out} är orörd." if out.exists() else f"{out} skrevs inte.", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

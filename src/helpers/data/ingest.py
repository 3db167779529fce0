"""Ingest: ``data/raw`` (Excel extracts) → validation → pseudonymisation → ``data/processed``.

Every raw workbook is checked against :mod:`helpers.data.contract` before anything is written: each
cell (type, code, range), each row (:data:`CROSS_COLUMN_RULES`) and, once every file is read, the
links between files (:data:`CROSS_FILE_RULES`). A broken rule stops ingest with a
:class:`RawDataError` naming file, sheet, row, column and rule (all problems of a run at once), and
``data/processed`` is left exactly as it was: tables are written to a staging folder beside it,
and only a complete, validated set is swapped in, together with ``manifest.json`` (input hashes,
row counts, code version).

Command line: ``python -m helpers.data.ingest [--raw DIR] [--processed DIR]`` (:func:`main`) exits with
0 on success and 2 on bad input, printing the problems to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import __version__
from helpers.config import DEMO_PSEUDONYM_KEY, PATHS, PSEUDONYM_KEY_ENV
from helpers.data import codes, pnr, reading
from helpers.data.contract import EXTRACTS, STODBOENDE_SEPARAT_FRAN, Column, Extract, Sheet
from helpers.provenance import git_info, hash_files, swap_dir

MAX_REPORTED = 20
EXIT_BAD_INPUT = 2
_FILE_RE = re.compile(r"^(?P<name>[a-z_]+?)(?:_(?P<year>\d{4}))?\.xlsx$")

#: Tables whose rows are cases cut by start year (:data:`helpers.data.contract.CASE_EXTRACT_RULE`).
CASE_TABLES = ("utredningar", "insatser")
#: The date at which ``Ålder`` is counted, per processed table.
AGE_AT: dict[str, str] = {"aktualiseringar": "inkom_datum", "utredningar": "start_datum", "insatser": "start_datum"}
#: Tables whose ``Ålder`` is counted on 31 December of the file's year (snapshots at the year's end).
AGE_AT_YEAR_END = ("placeringar_december",)
#: Yearly extracts that are a snapshot on 31 December of the file's year: the same placement and
#: child may be in several years' files, so their ids are unique within a file only.
SNAPSHOT_TABLES = ("placeringar_december",)
#: The Utfall that needs a Bedömning (the social worker's view of a case closed without insats).
UTFALL_MED_BEDOMNING = "Ingen insats"
#: Beslut of an aktualisering that an utredning, and a service insats, may refer to.
BESLUT_UTREDNING = "utredning"
BESLUT_SERVICE = "service"
#: Grund of an open insats and the column of ``avslutsorsaker.csv`` that lists its allowed endings.
GRUND_AVSLUT = {"Service": "service", "Bistånd": "bistand"}
#: The column of ``avslutsorsaker.csv`` that lists the allowed endings of a placement (any Grund).
PLACERING_AVSLUT = "placering"
#: The Avslutsorsak of a placement that goes on in another form under the same lagrum (the next
#: placement starts the same day or the day after).
BYTE_AV_PLACERINGSFORM = "Byte av placeringsform"
#: The ``form`` (code list insatstyper) of open insatser and of placements (heldygnsvård).
FORM_OPPEN = "öppen"
FORM_PLACERING = "heldygn"
#: Stödboende, and the form it was registered as before :data:`contract.STODBOENDE_SEPARAT_FRAN`.
STODBOENDE = "Stödboende"
STODBOENDE_REGISTRERAD_FORE = "HVB"

#: Linköping's municipality code in the comparison extract (jamforelse).
JAMFORELSE_FOKUS = "0580"

#: The two areas of the series on mental ill-health (struktur, Psykisk ohälsa): the municipality
#: lies in the county, so its counts are not above the county's.
PSYKISK_OHALSA_KOMMUN = "Linköping"
PSYKISK_OHALSA_LAN = "Östergötlands län"
#: The one-year ages every region and year of the public population extract (struktur_offentlig,
#: Befolkning) has: the ages the report's population 0–19 is counted from.
BEFOLKNING_ALDRAR = tuple(range(0, 20))

_KON_RULE = ("`Kön` ska stämma med `Personnummer`: näst sista siffran udda betyder `Pojke`, jämn "
             "`Flicka`.")


def _age_rule(date_header: str | None = None, *, at: str | None = None) -> str:
    """The Ålder rule in words: at the date in column ``date_header``, or ``at`` (a phrase)."""
    when = at if at is not None else f"vid `{date_header}`"
    return (f"`Ålder` ska vara barnets ålder i hela år {when}, räknad från födelsedatumet i "
            "`Personnummer` (för samordningsnummer: dagen minus 60).")


_CASE_RULES = (
    "`Startdatum` ska ligga i extraktets år. Bara i det första årets fil av extraktet (det tidigaste år "
    "som finns i data/raw) får `Startdatum` ligga tidigare, och då ska `Slutdatum` vara tomt eller "
    "tidigast den 1 januari det året (ärendet pågick vid årets början).",
    "`Slutdatum` får inte ligga före `Startdatum`.",
)

#: Rules across columns, per processed table, in words (checked in :func:`_row_rules`; listed here,
#: beside the checks, so that ``data/raw/README.md`` documents them).
CROSS_COLUMN_RULES: dict[str, tuple[str, ...]] = {
    "aktualiseringar": (
        _age_rule("Inkom datum"),
        "`Aktualiseringstyp` ska sluta på `0-17` om och endast om `Ålder` är högst 17 år "
        "(annars `18-20`).",
        _KON_RULE,
    ),
    "utredningar": (
        *_CASE_RULES,
        _age_rule("Startdatum"),
        _KON_RULE,
        "`Utfall` ska vara ifyllt om och endast om `Slutdatum` är ifyllt (en pågående utredning har "
        "inget utfall).",
        f"`Bedömning` ska vara ifylld om och endast om `Utfall` är `{UTFALL_MED_BEDOMNING}`.",
    ),
    "insatser": (
        *_CASE_RULES,
        _age_rule("Startdatum"),
        _KON_RULE,
        "`Avslutsorsak` ska vara ifylld om och endast om `Slutdatum` är ifyllt.",
        "`Avslutsorsak` ska passa insatsen: kodlistan `avslutsorsaker` anger i kolumnen "
        f"`{PLACERING_AVSLUT}` vilka som gäller för placeringar (kodlistan `insatstyper`, `form` = "
        f"`{FORM_PLACERING}`, oavsett `Grund`), och för öppna insatser (`form` = `{FORM_OPPEN}`) i "
        "kolumnen `service` vilka som gäller för `Grund` = `Service` och i kolumnen `bistand` vilka som "
        f"gäller för `Grund` = `Bistånd`. `{BYTE_AV_PLACERINGSFORM}` gäller bara för placeringar.",
        "`Registrerad som` ska vara ifylld om och endast om insatsen är en placering (`form` = "
        f"`{FORM_PLACERING}`). Den ska vara samma som `Insatstyp`, utom för en placering på "
        f"`{STODBOENDE}` med `Startdatum` före den 1 januari {STODBOENDE_SEPARAT_FRAN}: den registrerades "
        f"som `{STODBOENDE_REGISTRERAD_FORE}` och ska då ha `Registrerad som` = `{STODBOENDE_REGISTRERAD_FORE}`.",
        f"`Lagrum` ska vara ifyllt för placeringar (`form` = `{FORM_PLACERING}`) och tomt för öppna "
        f"insatser (`form` = `{FORM_OPPEN}`).",
        "`Ensamkommande` ska vara ifylld (`Ja` eller `Nej`) om och endast om insatsen är en placering.",
        "`Situation efter` ska vara ifylld om och endast om insatsen är en avslutad placering (`Slutdatum` "
        f"ifyllt) med en annan `Avslutsorsak` än `{BYTE_AV_PLACERINGSFORM}`; tom för öppna insatser, "
        f"pågående placeringar och placeringar som avslutades med `{BYTE_AV_PLACERINGSFORM}` (placeringen "
        "fortsätter då i en annan form).",
        "En insats med `Utrednings-ID` har `Grund` = `Bistånd`; en insats med `Aktualiserings-ID` har "
        "`Grund` = `Service`.",
    ),
    "placeringar_december": (
        _KON_RULE,
        _age_rule(at="den 31 december i filens år"),
        f"`Registrerad som` ska vara `{STODBOENDE_REGISTRERAD_FORE}` i filer för år före "
        f"{STODBOENDE_SEPARAT_FRAN} (stödboende registrerades då som HVB). Från och med "
        f"{STODBOENDE_SEPARAT_FRAN} ska den vara samma som `Placeringsform`, utom för en placering på "
        f"`{STODBOENDE}` som började före {STODBOENDE_SEPARAT_FRAN} och därför registrerades som "
        f"`{STODBOENDE_REGISTRERAD_FORE}` (vilket som gäller avgörs av placeringen i `insatser`, se reglerna "
        "mellan filer).",
    ),
    "kostnader": (
        "`Vårddygn` ska vara ifyllt för placeringsformerna och tomt för `Öppenvård` (öppenvård har inga vårddygn).",
        "En månad, placeringsform och avtalstyp står på högst en rad i filen.",
    ),
    "budget": (
        "`År` ska vara filens år; varje `Budgetpost` står högst en gång.",
    ),
    "jamforelse": (
        "`Kommun-id` ska vara fyra siffror (kommunkoden, t.ex. `0580`).",
        "`Nyckeltal` ska vara det korta namnet (kolumnen `namn` i kodlistan `kolada_nyckeltal`) för `KPI-id`.",
        f"Gruppen `Linköping` har bara Linköping (`{JAMFORELSE_FOKUS}`); gruppen `R9` bara de kommuner som "
        "står under R9 i `src/helpers/data/codelists/kolada_grupper.csv`.",
        "Samma `Kommun-id` har samma `Kommun` på alla rader.",
        "Högst en rad per `Kommun-id`, `Grupp`, `KPI-id` och `År`.",
        "`År` får inte ligga efter innevarande år.",
    ),
    "befolkning": (
        "Högst en rad per `Stadsdel` och `Åldersgrupp`.",
        "Varje stadsdel i bladet har en rad för varje åldersgrupp i kodlistan för `Åldersgrupp` (antalet per "
        "1 000 invånare räknas från raderna).",
    ),
    "befolkningsprognos": (
        "`Prognosår` får inte ligga före filens år.",
        "Högst en rad per `Stadsdel` och `Prognosår`.",
        "Varje stadsdel i bladet har en rad för filens år (utgångsläget) och samma prognosår som de andra "
        "stadsdelarna.",
    ),
    "arbetsloshet": (
        "Högst en rad per `Stadsdel`.",
        "`Arbetslösa 18-64` får inte vara större än `Invånare 18-64`.",
    ),
    "ekonomiskt_bistand": (
        "Högst en rad per `Stadsdel`.",
        "`Varav barnfamiljer` får inte vara större än `Hushåll med långvarigt bistånd`, och `Hushåll med "
        "långvarigt bistånd` inte större än `Hushåll`.",
    ),
    "skolresultat": (
        "`Uppnått alla ämnen` får inte vara större än `Elever åk 9`.",
        "Högst en rad per `Skola` och `Kön`.",
        "En skola ligger i en enda stadsdel: samma `Skola` har samma `Stadsdel` på alla rader.",
    ),
    "psykisk_ohalsa": (
        "`År` får inte ligga efter filens år.",
        "Högst en rad per `Område`, `År` och `Mått`.",
        "`Antal` får inte vara större än `Invånare 0-17`.",
        f"För samma `År` och `Mått` är `Antal` och `Invånare 0-17` för `{PSYKISK_OHALSA_KOMMUN}` inte större än "
        f"för `{PSYKISK_OHALSA_LAN}` (kommunen ligger i länet).",
    ),
    "befolkning_alder": (
        "`Region-id` ska vara fyra siffror (kommunkoden, t.ex. `0580`).",
        "Högst en rad per `Region-id`, `År` och `Ålder`.",
        f"Varje region och år har en rad för varje ålder {BEFOLKNING_ALDRAR[0]}–{BEFOLKNING_ALDRAR[-1]}.",
        "En regions år är en obruten följd: inget år saknas mellan regionens första och sista år.",
    ),
    "struktur_nyckeltal": (
        "`Kommun-id` ska vara fyra siffror (kommunkoden, t.ex. `0580`, eller `0000` för riket).",
        "`Nyckeltal` ska vara det korta namnet (kolumnen `namn` i kodlistan `kolada_struktur`) för `KPI-id`.",
        "Högst en rad per `Kommun-id`, `KPI-id` och `År`.",
    ),
}

#: Rules between files, per processed table of the referring record, in words (checked in
#: :func:`check_across_files` once every file is read; documented in ``data/raw/README.md``).
CROSS_FILE_RULES: dict[str, tuple[str, ...]] = {
    "aktualiseringar": (
        "`Aktualiserings-ID` är unikt i alla årsfiler av extraktet tillsammans.",
    ),
    "utredningar": (
        "`Utrednings-ID` är unikt i alla årsfiler av extraktet tillsammans (en utredning finns i exakt "
        "ett extrakt).",
        "Ett ifyllt `Aktualiserings-ID` ska finnas i `aktualiseringar` (något år) och den "
        f"aktualiseringen ska ha `Beslut` = `{BESLUT_UTREDNING}`, gälla samma barn (`Personnummer`) och "
        "ha `Inkom datum` senast på utredningens `Startdatum`. `Startgrund` ska motsvara "
        "aktualiseringens typ (kolumnen `typ` i kodlistorna `startgrund` och `aktualiseringstyper`).",
        "Högst en utredning per aktualisering.",
    ),
    "insatser": (
        "`Insats-ID` är unikt i alla årsfiler av extraktet tillsammans (en insats finns i exakt ett "
        "extrakt).",
        "Ett ifyllt `Utrednings-ID` ska finnas i `utredningar` (något år) och den utredningen ska ha "
        "avslutats med ett `Utfall` som innebär insats (`Insats beviljas`), gälla samma barn och ha "
        "`Slutdatum` senast på insatsens `Startdatum`.",
        "Ett ifyllt `Aktualiserings-ID` ska finnas i `aktualiseringar` (något år) och den "
        f"aktualiseringen ska ha `Beslut` = `{BESLUT_SERVICE}`, gälla samma barn och ha `Inkom datum` "
        "senast på insatsens `Startdatum`.",
        f"En placering som avslutades med `Avslutsorsak` = `{BYTE_AV_PLACERINGSFORM}` ska följas av en "
        "placering (`form` = `heldygn`) av samma barn (`Personnummer`) med samma `Lagrum` och med "
        "`Startdatum` samma dag som dess `Slutdatum` eller dagen efter, i någon av årsfilerna. Regeln "
        "kontrolleras när alla filer av `insatser` kunde läsas, och inte när dagen efter `Slutdatum` "
        "ligger efter det sista året av `insatser` i data/raw (den följande placeringen hör då till ett "
        "senare extrakt).",
    ),
    "placeringar_december": (
        "`Insats-ID` är unikt i filen (samma placering kan finnas i flera års genomgångar).",
        "`Insats-ID` ska finnas i `insatser` (något år) och gälla samma barn (`Personnummer`). Den "
        "placeringen ska ha pågått den 31 december i filens år: `Startdatum` senast den 31 december och "
        "`Slutdatum` tomt eller efter den 31 december. Placeringens `Insatstyp` ska vara samma som "
        "`Placeringsform`, och `Registrerad som` och `Lagrum` ska vara samma som i `insatser`.",
        "`Tidigare öppenvård` ska vara `Ja` om och endast om `insatser` (alla år som finns i data/raw) har "
        "en öppen insats (kodlistan `insatstyper`, `form` = `öppen`) för samma barn med `Startdatum` före "
        "placeringens `Startdatum`.",
    ),
}

#: When the rules between files apply (documented in ``data/raw/README.md``).
CROSS_FILE_SCOPE = (
    "Reglerna mellan filer kontrolleras när alla filer har lästs. Felet redovisas på den post som "
    "hänvisar (fil, blad, rad och kolumn), med den post den hänvisar till. En hänvisning till ett annat "
    "extrakt kontrolleras bara om det extraktet finns i data/raw och alla dess filer kunde läsas "
    "(annars redovisas bara det felet). Ett id som inte hittas är ett fel: leverera därför extrakten "
    "för samma år. Ett extrakts årsfiler ska vara en obruten följd av år: inget år får saknas mellan det "
    "första och det sista (ett saknat år skulle räknas som tolv månader utan ärenden)."
)


@dataclass(frozen=True)
class Problem:
    file: str
    sheet: str | None
    row: int | None  # Excel row number (header is row 1)
    column: str | None
    rule: str

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"blad '{self.sheet}'")
        if self.row:
            where.append(f"rad {self.row}")
        if self.column:
            where.append(f"kolumn '{self.column}'")
        return ", ".join(where) + f": {self.rule}"


class RawDataError(Exception):
    """Raw input breaks the contract. ``problems`` lists every broken rule found (up to 20)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_REPORTED])
        more = f"\n  … och {len(problems) - MAX_REPORTED} till" if len(problems) > MAX_REPORTED else ""
        super().__init__(f"Rådata följer inte datakontraktet ({len(problems)} fel):\n{shown}{more}")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pseudonym_key() -> tuple[str, str]:
    """The HMAC key and where it came from: ``env``, or ``demo`` for the published demo key (the
    variable unset, or set to the demo key itself)."""
    key = os.environ.get(PSEUDONYM_KEY_ENV)
    if key and key != DEMO_PSEUDONYM_KEY:
        return key, "env"
    return DEMO_PSEUDONYM_KEY, "demo"


#: The shortest key accepted for real case data, and the fewest different characters in it.
MIN_KEY_LENGTH = 32
MIN_KEY_DISTINCT = 8
EXIT_BAD_KEY = 3


class PseudonymKeyError(RawDataError):
    """The key may not pseudonymise these data: real case data with the demo key or a weak key.
    A :class:`RawDataError` (one problem), so that every caller stops with it and writes nothing."""

    def __init__(self, file: str, message: str):
        self.problems = [Problem(file, None, None, None, message)]
        Exception.__init__(self, message)


def check_key(key: str, source: str, real: list[str]) -> None:
    """Raise :class:`PseudonymKeyError` unless ``key`` may pseudonymise these data.

    ``real`` names the extracts that are not synthetic (:func:`is_synthetic`; public data do not
    count), those with personnummer first. The published demo key, which anyone can use to reverse the pseudonyms by hashing
    candidate personnummer, is for the synthetic demo data only; real case data need a key of their
    own of at least :data:`MIN_KEY_LENGTH` characters.
    """
    if not real:
        return
    files = ", ".join(real[:3]) + (f" och {len(real) - 3} filer till" if len(real) > 3 else "")
    how = (f"Sätt en egen hemlig nyckel med minst {MIN_KEY_LENGTH} tecken i miljövariabeln {PSEUDONYM_KEY_ENV}, "
           "till exempel en som skapas med\n  python -c \"import secrets; print(secrets.token_urlsafe(32))\"\n"
           "Förvara nyckeln utanför repot och använd samma nyckel varje år (annars får samma barn nya pseudonymer). "
           "Inget har skrivits.")
    if source == "demo":
        why = ("är inte satt" if not os.environ.get(PSEUDONYM_KEY_ENV) else "innehåller demonyckeln")
        raise PseudonymKeyError(real[0], (
            f"{files} är verkliga data (inte skrivna av demogeneratorn), men {PSEUDONYM_KEY_ENV} {why}. "
            "Demonyckeln är publicerad och får bara användas för de syntetiska demodata: med den går "
            f"pseudonymerna att räkna tillbaka till personnummer.\n{how}"))
    if len(key) < MIN_KEY_LENGTH or len(set(key)) < MIN_KEY_DISTINCT:
        weak = (f"har bara {len(key)} tecken" if len(key) < MIN_KEY_LENGTH
                else f"har bara {len(set(key))} olika tecken (minst {MIN_KEY_DISTINCT} krävs)")
        raise PseudonymKeyError(real[0], (
            f"Nyckeln i {PSEUDONYM_KEY_ENV} {weak}: för verkliga data ({files}) krävs en stark nyckel.\n{how}"))


# --------------------------------------------------------------------------------------------
# Reading and validating one sheet
# --------------------------------------------------------------------------------------------


def _allowed(col: Column) -> set[str] | None:
    if col.codes is None:
        return None
    if isinstance(col.codes, str):
        return set(codes.values(col.codes))
    return set(col.codes)


def _read_sheet(path: Path, sheet: Sheet, problems: list[Problem], book: pd.ExcelFile | None = None) -> pd.DataFrame | None:
    """One sheet as text cells (``None`` and a problem if it is missing, empty or lacks a column).
    ``book`` is the workbook already open (read once for all its sheets)."""
    fname = path.name
    try:
        frame = reading.read_sheet(path if book is None else book, sheet.name)
    except ValueError as exc:
        if "not found" in str(exc).lower() or "worksheet" in str(exc).lower():
            if sheet.required:
                problems.append(Problem(fname, sheet.name, None, None, "bladet saknas"))
            return None
        problems.append(_unreadable_sheet(fname, sheet, exc))
        return None
    except Exception as exc:  # noqa: BLE001 - any reader failure on the sheet is a broken file
        problems.append(_unreadable_sheet(fname, sheet, exc))
        return None
    if frame.empty and len(frame.columns) == 0:
        problems.append(Problem(fname, sheet.name, None, None, "bladet är tomt (ingen rubrikrad)"))
        return None
    frame.columns = [str(c).strip() for c in frame.columns]
    if _markup_problems(path, sheet, list(frame.columns), problems):
        return None
    missing = [c.header for c in sheet.columns if c.header not in frame.columns]
    for header in missing:
        problems.append(Problem(fname, sheet.name, 1, header, "kolumnen saknas i rubrikraden"))
    if missing:
        return None
    if frame.empty:
        problems.append(Problem(fname, sheet.name, 2, None, "bladet har inga datarader"))
        return None
    return frame


def _unreadable_sheet(fname: str, sheet: Sheet, exc: BaseException) -> Problem:
    return Problem(fname, sheet.name, None, None,
                   f"bladet kan inte läsas: {reading.unreadable(exc)}; exportera filen igen eller öppna den i Excel "
                   "och spara den på nytt")


def _markup_problems(path: Path, sheet: Sheet, headers: list[str], problems: list[Problem]) -> bool:
    """Add a problem for every formula cell, merged range and error value (``#N/A``) in the
    contract's columns of ``sheet`` (``headers``: the sheet's header row, by column); True if
    there was one.

    The extracts hold values, as the source systems write them. calamine reads a formula cell as
    the value last computed and saved (blank if none was saved, as by programs other than Excel),
    a merged range as its top-left value and blanks, and an error value as blank, all silently;
    so a sheet with any of them is not read until it is pasted as values and unmerged. Columns outside the contract are ignored,
    as their values are (:func:`helpers.data.reading.sheet_markup` finds both in the sheet's XML)."""
    fname = path.name
    try:
        markup = reading.sheet_markup(path, sheet.name)
    except Exception as exc:  # noqa: BLE001 - a broken zip archive or sheet XML is a broken file
        problems.append(_unreadable_sheet(fname, sheet, exc))
        return True
    if not markup:
        return False
    wanted = {c.header for c in sheet.columns}

    def header(col: int) -> str | None:
        return headers[col] if 0 <= col < len(headers) and headers[col] in wanted else None

    found: list[tuple[int, int, Problem]] = []
    # A formula or an error value names one cell; a merged range is reported at its first cell.
    formula = ("cellen {ref} innehåller en formel (={f}), inte ett värde: extraktet ska bara innehålla värden, "
               "som ärendesystemet skriver dem. Markera cellerna, kopiera och klistra in som värden "
               "(Klistra in special → Värden) och spara filen")
    error = ("cellen {ref} innehåller felvärdet {f}, inte ett värde (ett felvärde läses som en tom cell): oftast en "
             "formel som gav fel och klistrades in som värde. Skriv in det rätta värdet eller exportera filen igen")
    single = [(ref, formula.format(ref=ref, f=f)) for ref, f in markup.formulas]
    single += [(ref, error.format(ref=ref, f=f or "(okänt)")) for ref, f in markup.errors]
    for ref, text in single:
        row, col = reading.cell_position(ref)
        if header(col) is not None:
            found.append((row, col, Problem(fname, sheet.name, row, header(col), text)))
    for ref in markup.merged:
        first, _, last = ref.partition(":")
        row, col = reading.cell_position(first)
        last_col = reading.cell_position(last)[1] if last else col
        inside = [h for c in range(col, last_col + 1) if (h := header(c)) is not None]
        if inside:
            found.append((row, col, Problem(
                fname, sheet.name, row, header(col) or inside[0],
                f"cellerna {ref} är sammanfogade: bara den första cellen har ett värde, de andra läses som tomma. "
                "Dela upp sammanfogningen (Start → Sammanfoga och centrera → Dela upp celler) och skriv värdet "
                "i varje cell")))
    problems += [p for _, _, p in sorted(found, key=lambda f: (f[0], f[1]))]
    return bool(found)


#: A date written as text: ``ÅÅÅÅ-MM-DD``, optionally followed by a time of day (a date-time as
#: text, e.g. ``2019-03-04 00:00:00``), and nothing else.
_TEXT_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?", re.ASCII)


def _text_date(text: str) -> dt.date:
    """The date in a date cell written as text (:data:`_TEXT_DATE`; the time, if any, is dropped
    as for a date-time cell). Raises ``ValueError`` for anything else, also a valid date followed
    by other text ("2019-03-04 abc", "2019-03-041"): the text is never cut to its first ten
    characters."""
    m = _TEXT_DATE.fullmatch(text.strip())
    if m is None:
        raise ValueError(text)
    if m.group(2):
        dt.time.fromisoformat(m.group(2))  # raises for an impossible time, e.g. 25:00
    return dt.date.fromisoformat(m.group(1))


#: Letters from other scripts that look like Latin letters (Cyrillic and Greek), folded to the
#: Latin letter when a code is not in its code list (:func:`_unknown_code`).
_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "ο": "o", "α": "a", "ν": "v", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})


def _folded(value: str) -> str:
    """``value`` as plain text: NFKC-normalised (no-break and other odd spaces become spaces, full-width
    letters plain), without invisible characters (format characters such as U+200B, soft hyphen),
    runs of white space as one space, and look-alike Cyrillic and Greek letters as Latin."""
    text = unicodedata.normalize("NFKC", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split()).translate(_CONFUSABLES)


def _code_point(ch: str) -> str:
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'okänt tecken')})"


def _unknown_code(value: object, allowed: set[str], shown: str) -> str:
    """The problem for a code not in its code list. A value that would be a valid code but for
    invisible or look-alike characters (it looks the same on screen) says so, by code point."""
    rule = f"okänd kod '{value}' (tillåtna: {shown})"
    if not isinstance(value, str):
        return rule
    folded = _folded(value)
    if folded == value or folded not in allowed:
        return rule
    ordinary = set("".join(allowed))
    odd = list(dict.fromkeys(ch for ch in value if ch not in ordinary or (ch.isspace() and ch != " ")))
    what = (f"innehåller {', '.join(map(_code_point, odd))}" if odd
            else "har extra mellanslag")
    return (f"okänd kod '{value}': ser ut som koden '{folded}' men {what}; skriv koden med vanliga tecken "
            f"(tillåtna: {shown})")


def _check_column(
    frame: pd.DataFrame, col: Column, fname: str, sheet: str, year: int | None, problems: list[Problem],
    invalid: set[int] | None = None,
) -> pd.Series:
    """Validate and convert one column; return the converted Series (object dtype, ``None`` where
    a value is missing or unreadable). Rows whose cell breaks a rule are added to ``invalid``, so
    that the rules across columns and files can leave them out (one problem, not several)."""
    raw = frame[col.header]
    out: list[object] = []
    allowed = _allowed(col)
    invalid = set() if invalid is None else invalid

    def bad(i: int, rule: str, *, cell: bool = True) -> None:
        problems.append(Problem(fname, sheet, i + 2, col.header, rule))
        if cell:
            invalid.add(i)

    fast = reading.convert_column(raw.to_numpy(dtype=object), col.kind)
    if fast is not None:  # every cell of the expected type: checked column-wise, same problems
        out = _check_converted(*fast, col, allowed, year, bad)
    for i, value in enumerate(raw.tolist() if fast is None else ()):
        if value is None or (isinstance(value, float) and pd.isna(value)) or (isinstance(value, str) and not value.strip()):
            if col.required:
                bad(i, "värde saknas")
            out.append(None)
            continue
        try:
            if col.kind == "date":
                if isinstance(value, dt.datetime):
                    v = value.date()
                elif isinstance(value, dt.date):
                    v = value
                else:
                    v = _text_date(str(value))
                if col.in_year and year is not None and v.year != year:
                    bad(i, f"datumet {v.isoformat()} ligger utanför extraktets år {year}")
                out.append(v)
                continue
            if col.kind == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                v = int(str(value).strip()) if isinstance(value, str) else int(value)
            elif col.kind == "float":
                v = float(str(value).replace(",", ".").replace("\u00a0", "").replace(" ", "")) if isinstance(value, str) else float(value)
            elif col.kind == "bool":
                s = str(value).strip().lower()
                if s not in {"ja", "nej", "true", "false", "1", "0"}:
                    raise ValueError
                v = s in {"ja", "true", "1"}
            elif col.kind == "pnr":
                try:
                    v = pnr.normalise(str(value))
                except ValueError as exc:
                    bad(i, f"ogiltigt personnummer ({exc})")
                    out.append(None)
                    continue
            else:
                v = str(value).strip()
        except (ValueError, TypeError):
            kinds = {"date": "ett datum (ÅÅÅÅ-MM-DD)", "int": "ett heltal", "float": "ett tal", "bool": "Ja eller Nej"}
            bad(i, f"'{value}' är inte {kinds.get(col.kind, col.kind)}")
            out.append(None)
            continue
        if allowed is not None and v not in allowed:
            bad(i, _unknown_code(v, allowed, ", ".join(sorted(allowed))[:200]))
        if col.min is not None and isinstance(v, int | float) and v < col.min:
            bad(i, f"värdet {v} är mindre än {col.min:g}")
        if col.max is not None and isinstance(v, int | float) and v > col.max:
            bad(i, f"värdet {v} är större än {col.max:g}")
        out.append(v)

    series = pd.Series(out, name=col.name, index=frame.index, dtype=object)
    if col.unique:
        dup = series[series.notna() & series.duplicated(keep="first")]
        for i, v in dup.items():
            bad(int(i), f"id '{v}' förekommer mer än en gång", cell=False)
    return series


def _check_converted(out: list, blank: np.ndarray, col: Column, allowed: set[str] | None, year: int | None,
                     bad: Callable[[int, str], None]) -> list:
    """The checks of :func:`_check_column` on a column converted at once
    (:func:`helpers.data.reading.convert_column`), problems in the same order (by row)."""
    found: list[tuple[int, int, str]] = []  # (row, order within the row, rule)
    if col.required:
        found += [(i, 0, "värde saknas") for i in np.flatnonzero(blank).tolist()]
    present = np.flatnonzero(~blank).tolist()
    distinct = set(out) - {None}  # (blank cells are None) the checks go by distinct value; rows only for a broken one
    if col.kind == "pnr":
        texts = list(distinct)
        numbers = dict(zip(texts, pnr.normalise_many(texts), strict=True))
        broken = any(isinstance(v, ValueError) for v in numbers.values())
        for i, v in zip(present, map(numbers.__getitem__, [out[i] for i in present]), strict=True):
            if broken and isinstance(v, ValueError):
                found.append((i, 1, f"ogiltigt personnummer ({v})"))
                v = None
            out[i] = v
    elif col.kind == "date":
        if col.in_year and year is not None and any(v.year != year for v in distinct):
            found += [(i, 1, f"datumet {out[i].isoformat()} ligger utanför extraktets år {year}")
                      for i in present if out[i].year != year]
    else:
        if allowed is not None and not distinct <= allowed:
            shown = ", ".join(sorted(allowed))[:200]
            found += [(i, 1, _unknown_code(out[i], allowed, shown)) for i in present if out[i] not in allowed]
        if col.kind in ("int", "float") and (col.min is not None or col.max is not None) and present:
            nums = np.array([out[i] for i in present], dtype=float)
            if col.min is not None:
                found += [(present[j], 2, f"värdet {out[present[j]]} är mindre än {col.min:g}")
                          for j in np.flatnonzero(nums < col.min).tolist()]
            if col.max is not None:
                found += [(present[j], 3, f"värdet {out[present[j]]} är större än {col.max:g}")
                          for j in np.flatnonzero(nums > col.max).tolist()]
    for i, _, rule in sorted(found, key=lambda f: (f[0], f[1])):
        bad(i, rule)
    return out


def _typed(series: pd.Series, col: Column) -> pd.Series:
    if col.kind == "date":
        return pd.to_datetime(series)
    if col.kind == "int":
        return series.astype("Int64")
    if col.kind == "float":
        return series.astype("Float64")
    if col.kind == "bool":
        return series.astype("boolean")
    if col.kind == "code":
        if not col.codes:
            return series.astype("string")
        cat = series.astype("category")
        if len(cat.cat.categories) == 0:  # an all-blank column: text categories, or parquet gives it back as object
            cat = cat.cat.set_categories(pd.Index([], dtype="str"))
        return cat
    return series.astype("string")


# --------------------------------------------------------------------------------------------
# Rules across columns (one row at a time, vectorised)
# --------------------------------------------------------------------------------------------

_META = ["_file", "_sheet", "_row"]  # where a row came from (file, sheet, Excel row), for Problems
_HEADERS = {s.table: {c.name: c.header for c in s.columns} for e in EXTRACTS for s in e.sheets}


def _today() -> dt.date:
    """The day of the run: no date in the extracts may lie after it."""
    return dt.date.today()


def _day(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def _emit(problems: list[Problem], rows: pd.DataFrame, column: str, rule: Callable[[dict], str]) -> None:
    """One :class:`Problem` per row of ``rows`` (a frame with the columns of ``_META``); only the
    rows that break a rule get here, so the loop is over problems, not over the data."""
    if rows.empty:
        return
    for rec in rows.to_dict("records"):
        problems.append(Problem(rec["_file"], rec["_sheet"], int(rec["_row"]), column, rule(rec)))


def _rows(frame: pd.DataFrame, mask: pd.Series | np.ndarray, **extra: pd.Series) -> pd.DataFrame:
    """``frame[mask]`` with extra columns (Series aligned with ``frame``), also when no row is
    selected (``assign`` of a Series to an empty frame would take the Series' index)."""
    keep = np.asarray(mask, dtype=bool)
    return frame[keep].assign(**{k: np.asarray(v, dtype=object)[keep] for k, v in extra.items()})


def _with_meta(df: pd.DataFrame, fname: str, sheet: str) -> pd.DataFrame:
    return df.assign(_file=fname, _sheet=sheet, _row=np.arange(2, len(df) + 2))


def _row_rules(df: pd.DataFrame, valid: pd.DataFrame, sheet: Sheet, year: int | None, first_year: int | None) -> list[Problem]:
    """The rules between the columns of one row (:data:`CROSS_COLUMN_RULES`), on the typed frame
    ``df`` (personnummer still in the normalised twelve-digit form; columns of ``_META``).
    ``valid`` is False for cells that already broke a rule: rules leave those rows out."""
    problems: list[Problem] = []
    table = sheet.table
    header = {c.name: c.header for c in sheet.columns}

    # Per column: the cell is valid, and valid and present (numpy, combined row-wise by ok/both_valid).
    is_valid = {name: valid[name].to_numpy(dtype=bool) for name in valid.columns}
    is_ok = {name: is_valid[name] & df[name].notna().to_numpy(dtype=bool) for name in valid.columns}

    def ok(*names: str) -> pd.Series:
        """Rows where every named cell is present and valid."""
        return pd.Series(np.logical_and.reduce([is_ok[n] for n in names]), index=df.index)

    def both_valid(*names: str) -> pd.Series:
        """Rows where every named cell is valid (present or, for optional columns, blank)."""
        return pd.Series(np.logical_and.reduce([is_valid[n] for n in names]), index=df.index)

    # No date in the future (any date column of any extract).
    today = pd.Timestamp(_today())
    for col in sheet.columns:
        if col.kind == "date":
            late = df[ok(col.name) & (df[col.name] > today)]
            _emit(problems, late, col.header, lambda r, n=col.name: (
                f"datumet {_day(r[n])} ligger efter dagens datum ({today.date().isoformat()}); ett datum i framtiden är ett skrivfel"))

    pnr_col = next((c.name for c in sheet.columns if c.kind == "pnr"), None)
    # Kön from the personnummer.
    if pnr_col and "kon" in header:
        sub = df[ok(pnr_col, "kon")]
        expected = pnr.sexes(sub[pnr_col])
        wrong = _rows(sub, (sub["kon"].astype("string") != expected).to_numpy(dtype=bool), _expected=expected)
        _emit(problems, wrong, header["kon"], lambda r: f"'{r['kon']}' stämmer inte med personnumret (näst sista siffran ger '{r['_expected']}')")

    # Ålder from the personnummer, at the record's date (or at the end of the file's year).
    date_col = AGE_AT.get(table)
    if pnr_col and date_col and "alder" in df and date_col in df:
        sub = df[ok(pnr_col, "alder", date_col)]
        when = "vid " + header[date_col].lower().replace("inkom datum", "inkomstdatum")
        _check_age(problems, sub, sub[date_col], pnr_col, header["alder"], when)
    elif pnr_col and table in AGE_AT_YEAR_END and "alder" in df and year is not None:
        sub = df[ok(pnr_col, "alder")]
        year_end = pd.Series(pd.Timestamp(year, 12, 31), index=sub.index, dtype="datetime64[ns]")
        _check_age(problems, sub, year_end, pnr_col, header["alder"], f"den 31 december {year}")

    if "aktualiseringstyp" in df and "alder" in df:
        sub = df[ok("aktualiseringstyp", "alder")]
        young = sub["aktualiseringstyp"].astype(str).str.endswith("0-17").to_numpy()
        wrong = sub[young != (sub["alder"].to_numpy(dtype="int64") <= 17)]
        _emit(problems, wrong, header["aktualiseringstyp"], lambda r: f"'{r['aktualiseringstyp']}' passar inte åldern {r['alder']}")

    if table in CASE_TABLES and year is not None:
        problems += _case_dates(df, ok, header, year, first_year if first_year is not None else year)
    if table == "utredningar":
        _iff_ended(problems, df, both_valid, header, "utfall", "ett utfall", "utfallet")
        need = df["utfall"].astype(object) == UTFALL_MED_BEDOMNING
        has = df["bedomning"].notna()
        rows = both_valid("utfall", "bedomning")
        _emit(problems, df[rows & need & ~has], header["bedomning"],
              lambda r: f"värde saknas: utfallet '{UTFALL_MED_BEDOMNING}' ska ha en bedömning")
        _emit(problems, df[rows & ~need & has], header["bedomning"], lambda r: (
            f"bedömning anges bara när utfallet är '{UTFALL_MED_BEDOMNING}' (här "
            + (f"'{r['utfall']}')" if not pd.isna(r["utfall"]) else "inget utfall: utredningen pågår)")))
    if table == "insatser":
        problems += _insats_rules(df, ok, both_valid, header)
    if table == "placeringar_december" and year is not None:
        problems += _december_rules(df, ok, header, year)
    if table == "jamforelse":
        problems += _jamforelse_rules(df, ok, header)
    if table == "kostnader":
        problems += _kostnad_rules(df, ok, both_valid, header)
    if table == "befolkningsprognos" and year is not None:
        problems += _prognos_rules(df, ok, header, year)
    if table in ("arbetsloshet", "ekonomiskt_bistand"):
        _duplicate_keys(problems, df, ok("stadsdel"), ["stadsdel"], header["stadsdel"],
                        lambda r: f"stadsdelen '{r['stadsdel']}'", "stadsdel")
    if table == "arbetsloshet":
        _not_above(problems, df, ok, header, "arbetslosa_18_64", "invanare_18_64", lambda r: (
            f"{r['arbetslosa_18_64']} arbetslösa är fler än de {r['invanare_18_64']} invånarna 18–64 år"))
    if table == "ekonomiskt_bistand":
        _not_above(problems, df, ok, header, "varav_barnfamiljer", "hushall_langvarigt", lambda r: (
            f"{r['varav_barnfamiljer']} barnfamiljer är fler än de {r['hushall_langvarigt']} hushållen med långvarigt bistånd"))
        _not_above(problems, df, ok, header, "hushall_langvarigt", "hushall", lambda r: (
            f"{r['hushall_langvarigt']} hushåll med långvarigt bistånd är fler än alla {r['hushall']} hushåll"))
    if table == "skolresultat":
        problems += _skolresultat_rules(df, ok, header)
    if table == "psykisk_ohalsa" and year is not None:
        problems += _psykisk_ohalsa_rules(df, ok, header, year)
    if table == "befolkning":
        problems += _befolkning_rules(df, ok, header, sheet)
    if table == "befolkning_alder":
        problems += _befolkning_alder_rules(df, ok, header)
    if table == "struktur_nyckeltal":
        problems += _struktur_nyckeltal_rules(df, ok, header)
    if table == "budget" and year is not None:
        wrong = df[ok("ar") & (df["ar"].astype("Int64") != year)]
        _emit(problems, wrong, header["ar"], lambda r: f"året {r['ar']} är inte filens år {year}")
        dup = df[ok("budgetpost") & df["budgetpost"].astype(object).duplicated(keep="first")]
        _emit(problems, dup, header["budgetpost"], lambda r: f"budgetposten '{r['budgetpost']}' står redan på en tidigare rad")
    return problems


def _kostnad_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], both_valid: Callable[..., pd.Series],
                   header: dict[str, str]) -> list[Problem]:
    """Care days for the forms of care, none for öppenvård; one row per month, form and contract."""
    problems: list[Problem] = []
    rows = both_valid("placeringsform", "varddygn") & df["placeringsform"].notna()
    open_ = df["placeringsform"].astype(object) == "Öppenvård"
    has = df["varddygn"].notna()
    _emit(problems, df[rows & ~open_ & ~has], header["varddygn"],
          lambda r: f"värde saknas: '{r['placeringsform']}' ska ha vårddygn")
    _emit(problems, df[rows & open_ & has], header["varddygn"],
          lambda r: "öppenvård har inga vårddygn; lämna cellen tom")
    keys = ok("manad", "placeringsform", "avtalstyp")
    key = (df["manad"].astype(str) + "|" + df["placeringsform"].astype(object).astype(str) + "|"
           + df["avtalstyp"].astype(object).astype(str))
    dup = df[keys & key.where(keys).duplicated(keep="first") & keys]
    _emit(problems, dup, header["placeringsform"], lambda r: (
        f"månaden {_day(r['manad'])}, '{r['placeringsform']}' och '{r['avtalstyp']}' står redan på en tidigare rad"))
    return problems


def _check_age(problems: list[Problem], sub: pd.DataFrame, day: pd.Series, pnr_col: str, column: str, when: str) -> None:
    """Ålder in ``sub`` is the child's age in whole years on ``day`` (a date per row), counted from
    the birth date in the personnummer."""
    birth = pnr.birth_dates(sub[pnr_col])
    age = day.dt.year - birth.dt.year - ((day.dt.month * 100 + day.dt.day) < (birth.dt.month * 100 + birth.dt.day)).astype(int)
    wrong = _rows(sub, age.to_numpy() != sub["alder"].to_numpy(dtype="int64"), _age=age)
    _emit(problems, wrong, column, lambda r: f"åldern {r['alder']} stämmer inte med personnumret (ger {r['_age']} år {when})")


def _case_dates(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str], year: int, first_year: int) -> list[Problem]:
    """Startdatum in the extract's year (earlier only in the first year's file, for cases still
    ongoing on 1 January); Slutdatum not before Startdatum."""
    problems: list[Problem] = []
    start, end = df["start_datum"], df["slut_datum"]
    has_start = ok("start_datum")
    _emit(problems, df[has_start & (start.dt.year > year)], header["start_datum"],
          lambda r: f"startdatumet {_day(r['start_datum'])} ligger efter extraktets år {year}")
    early = has_start & (start.dt.year < year)
    if year != first_year:
        _emit(problems, df[early], header["start_datum"], lambda r: (
            f"startdatumet {_day(r['start_datum'])} ligger före extraktets år {year}; bara det första årets "
            f"fil ({first_year}) får innehålla ärenden som inleddes tidigare"))
    else:
        ended_before = early & ok("slut_datum") & (end < pd.Timestamp(year, 1, 1))
        _emit(problems, df[ended_before], header["slut_datum"], lambda r: (
            f"ärendet inleddes {_day(r['start_datum'])} och avslutades {_day(r['slut_datum'])}, före extraktets "
            f"år {year}: det första årets fil får bara innehålla tidigare ärenden som pågick den 1 januari {year}"))
    reversed_ = ok("start_datum", "slut_datum") & (end < start)
    _emit(problems, df[reversed_], header["slut_datum"],
          lambda r: f"slutdatumet {_day(r['slut_datum'])} ligger före startdatumet {_day(r['start_datum'])}")
    return problems


def _iff_ended(problems: list[Problem], df: pd.DataFrame, both_valid: Callable[..., pd.Series], header: dict[str, str],
               name: str, a_value: str, the_value: str) -> None:
    """``name`` is filled in if and only if Slutdatum is (an ended case has it, an ongoing one not)."""
    column = header[name]
    rows = both_valid(name, "slut_datum")
    ended, has = df["slut_datum"].notna(), df[name].notna()
    _emit(problems, df[rows & ended & ~has], column, lambda r: f"värde saknas: ett avslutat ärende (Slutdatum ifyllt) ska ha {a_value}")
    _emit(problems, df[rows & ~ended & has], column,
          lambda r: f"{the_value} '{r[name]}' anges bara för ett avslutat ärende (Slutdatum är tomt)")


def _forms() -> dict[str, str]:
    """Insatstyp → form (``öppen`` or ``heldygn``), from the code list insatstyper."""
    typer = codes.load("insatstyper")
    return dict(zip(typer["insatstyp"], typer["form"], strict=True))


def _insats_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], both_valid: Callable[..., pd.Series],
                  header: dict[str, str]) -> list[Problem]:
    """Avslutsorsak (only when ended, and one that fits a placement or the Grund of an open insats),
    the columns of placements (Registrerad som, Lagrum, Ensamkommande, Situation efter: filled for
    placements, blank for open insatser) and Grund (Bistånd after an utredning, Service after an
    aktualisering)."""
    problems: list[Problem] = []
    _iff_ended(problems, df, both_valid, header, "avslutsorsak", "en avslutsorsak", "avslutsorsaken")

    form = df["insatstyp"].astype(object).map(_forms())
    known = ok("insatstyp")
    open_ = known & (form == FORM_OPPEN)
    placed = known & (form == FORM_PLACERING)
    typ = df["insatstyp"].astype(object)

    # Avslutsorsak: the column of avslutsorsaker that applies (placering, or the open insats' Grund).
    avslut = codes.load("avslutsorsaker")
    allowed = {flag: avslut.loc[avslut[flag], "avslutsorsak"].tolist() for flag in (*GRUND_AVSLUT.values(), PLACERING_AVSLUT)}
    flag = df["grund"].astype(object).map(GRUND_AVSLUT).where(~placed, PLACERING_AVSLUT)
    pairs = {f"{f}|{a}" for f, values in allowed.items() for a in values}
    rows = ok("avslutsorsak") & (placed | (open_ & ok("grund")))
    key = flag.astype(object) + "|" + df["avslutsorsak"].astype(object)
    wrong = _rows(df, rows & ~key.isin(pairs), _flag=flag)
    _emit(problems, wrong, header["avslutsorsak"], lambda r: (
        f"avslutsorsaken '{r['avslutsorsak']}' gäller inte för "
        + ("placeringar" if r["_flag"] == PLACERING_AVSLUT else f"öppna insatser med grund {r['grund']}")
        + f" (tillåtna: {', '.join(allowed[r['_flag']])})"))

    # Registrerad som: the placement form as registered (stödboende as HVB before STODBOENDE_SEPARAT_FRAN).
    column = header["registrerad_som"]
    reg = df["registrerad_som"].astype(object)
    rows = both_valid("registrerad_som")
    _emit(problems, df[rows & placed & reg.isna()], column,
          lambda r: f"värde saknas: en placering ('{r['insatstyp']}') ska ha den registrerade placeringsformen")
    _emit(problems, df[rows & open_ & reg.notna()], column, lambda r: (
        f"registrerad placeringsform ('{r['registrerad_som']}') anges bara för placeringar; '{r['insatstyp']}' "
        "är en öppen insats och ska ha tomt värde"))
    separate = pd.Timestamp(STODBOENDE_SEPARAT_FRAN, 1, 1)
    stod = typ == STODBOENDE
    before = stod & (df["start_datum"] < separate)
    expected = typ.where(~before, STODBOENDE_REGISTRERAD_FORE)
    rows = ok("registrerad_som", "start_datum") & placed & (reg != expected)
    wrong = _rows(df, rows, _expected=expected, _before=before)

    def why(r: dict) -> str:
        if r["insatstyp"] != STODBOENDE:
            return "samma som insatstypen"
        if r["_before"]:
            return (f"stödboende som började före {STODBOENDE_SEPARAT_FRAN} registrerades som "
                    f"{STODBOENDE_REGISTRERAD_FORE}; startdatum {_day(r['start_datum'])}")
        return f"stödboende registreras som egen placeringsform från {STODBOENDE_SEPARAT_FRAN}; startdatum {_day(r['start_datum'])}"

    _emit(problems, wrong, column, lambda r: (
        f"placeringen ('{r['insatstyp']}') ska vara registrerad som '{r['_expected']}', inte '{r['registrerad_som']}' ({why(r)})"))

    # Lagrum: required for placements, blank for open insatser.
    _emit(problems, df[ok("insatstyp", "lagrum") & open_], header["lagrum"], lambda r: (
        f"lagrum ('{r['lagrum']}') anges bara för placeringar; '{r['insatstyp']}' är en öppen insats och ska ha tomt lagrum"))
    _emit(problems, df[both_valid("lagrum") & placed & df["lagrum"].isna()], header["lagrum"],
          lambda r: f"värde saknas: en placering ('{r['insatstyp']}') ska ha lagrum")

    # Ensamkommande: for placements only.
    column = header["ensamkommande"]
    has = df["ensamkommande"].notna()
    rows = both_valid("ensamkommande")
    _emit(problems, df[rows & placed & ~has], column,
          lambda r: f"värde saknas: en placering ('{r['insatstyp']}') ska ange om barnet är ensamkommande (Ja eller Nej)")
    _emit(problems, df[rows & open_ & has], column, lambda r: (
        f"ensamkommande anges bara för placeringar; '{r['insatstyp']}' är en öppen insats och ska ha tomt värde"))

    # Situation efter: for placements that ended, except by a change of placement form.
    column = header["situation_efter"]
    has = df["situation_efter"].notna()
    ended = df["slut_datum"].notna()
    cause = df["avslutsorsak"].astype(object)
    byte = cause == BYTE_AV_PLACERINGSFORM
    rows = both_valid("situation_efter", "slut_datum", "avslutsorsak")
    _emit(problems, df[rows & placed & ended & cause.notna() & ~byte & ~has], column, lambda r: (
        f"värde saknas: en avslutad placering (avslutsorsak '{r['avslutsorsak']}') ska ha barnets situation efter placeringen"))
    what = "situationen efter ('{}') anges bara för avslutade placeringar; "
    _emit(problems, df[rows & open_ & has], column, lambda r: (
        what.format(r["situation_efter"]) + f"'{r['insatstyp']}' är en öppen insats och ska ha tomt värde"))
    _emit(problems, df[rows & placed & ~ended & has], column, lambda r: (
        what.format(r["situation_efter"]) + "placeringen pågår (Slutdatum är tomt)"))
    _emit(problems, df[rows & placed & ended & byte & has], column, lambda r: (
        f"situationen efter ('{r['situation_efter']}') anges inte när placeringen avslutades med "
        f"'{BYTE_AV_PLACERINGSFORM}': placeringen fortsätter i en annan form"))

    for id_col, grund in (("utredning_id", "Bistånd"), ("aktualisering_id", "Service")):
        wrong = ok(id_col, "grund") & (df["grund"].astype(object) != grund)
        _emit(problems, df[wrong], header["grund"], lambda r, c=id_col, h=header[id_col], g=grund: (
            f"en insats med {h} ('{r[c]}') har grund '{g}', inte '{r['grund']}'"))
    return problems


def _december_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str], year: int) -> list[Problem]:
    """Registrerad som in the review of placements on 31 December: HVB before
    STODBOENDE_SEPARAT_FRAN, the Placeringsform from then on, except that a stödboende placement
    begun earlier stays registered as HVB (which of the two is checked against insatser)."""
    problems: list[Problem] = []
    column = header["registrerad_som"]
    reg = df["registrerad_som"].astype(object)
    if year < STODBOENDE_SEPARAT_FRAN:
        _emit(problems, df[ok("registrerad_som") & (reg != STODBOENDE_REGISTRERAD_FORE)], column, lambda r: (
            f"'{r['registrerad_som']}': före {STODBOENDE_SEPARAT_FRAN} registrerades stödboende som "
            f"{STODBOENDE_REGISTRERAD_FORE}, så i filen för {year} ska värdet vara '{STODBOENDE_REGISTRERAD_FORE}'"))
    else:
        form = df["placeringsform"].astype(object)
        earlier = (form == STODBOENDE) & (reg == STODBOENDE_REGISTRERAD_FORE)
        wrong = ok("registrerad_som", "placeringsform") & (reg != form) & ~earlier
        _emit(problems, df[wrong], column, lambda r: (
            f"'{r['registrerad_som']}' stämmer inte med placeringsformen '{r['placeringsform']}': från "
            f"{STODBOENDE_SEPARAT_FRAN} registreras placeringen som sin placeringsform (stödboende som "
            f"började tidigare som {STODBOENDE_REGISTRERAD_FORE})"))
    return problems


def _jamforelse_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str]) -> list[Problem]:
    """The comparison extract from Kolada: the municipality code, the KPI's short name, the fixed
    groups (Linköping, R9 from ``kolada_grupper.csv``), one name per code and one row per key."""
    from helpers.data import kolada

    problems: list[Problem] = []
    kid = df["kommun_id"].astype(object)
    rows = ok("kommun_id")
    bad_id = rows & ~kid.astype(str).str.fullmatch(r"\d{4}")
    _emit(problems, df[bad_id], header["kommun_id"], lambda r: (
        f"'{r['kommun_id']}' är inte en kommunkod med fyra siffror (t.ex. '{JAMFORELSE_FOKUS}'; skriv koden som text "
        "så att den inledande nollan finns kvar)"))
    names = kolada.kpi_names()
    expected = df["kpi_id"].astype(object).map(names)
    wrong = _rows(df, ok("kpi_id", "nyckeltal") & expected.notna() & (df["nyckeltal"].astype(object) != expected), _expected=expected)
    _emit(problems, wrong, header["nyckeltal"], lambda r: (
        f"'{r['nyckeltal']}' är inte namnet på {r['kpi_id']}; kodlistan kolada_nyckeltal ger '{r['_expected']}'"))
    grupp = df["grupp"].astype(object)
    fixed = rows & ok("grupp") & ~bad_id
    _emit(problems, df[fixed & (grupp == "Linköping") & (kid != JAMFORELSE_FOKUS)], header["kommun_id"], lambda r: (
        f"gruppen Linköping har bara kommunen {JAMFORELSE_FOKUS}, inte '{r['kommun_id']}'"))
    r9 = sorted(kolada.r9_ids())
    _emit(problems, df[fixed & (grupp == "R9") & ~kid.isin(r9)], header["kommun_id"], lambda r: (
        f"kommunen '{r['kommun_id']}' ({r['kommun']}) hör inte till R9 enligt kolada_grupper.csv ({', '.join(r9)})"))
    named = df[ok("kommun_id", "kommun") & ~bad_id]
    first = named.groupby("kommun_id", sort=False)[["kommun", "_row"]].transform("first")
    differs = _rows(named, (named["kommun"].astype(object) != first["kommun"]).to_numpy(dtype=bool),
                    _first=first["kommun"], _first_row=first["_row"])
    _emit(problems, differs, header["kommun"], lambda r: (
        f"kommunen '{r['kommun_id']}' heter '{r['_first']}' på rad {int(r['_first_row'])}, inte '{r['kommun']}'"))
    keys = ["kommun_id", "grupp", "kpi_id", "ar"]
    keyed = df[ok(*keys)]
    dup = keyed[keyed.astype({k: object for k in keys}).duplicated(keys, keep=False)]
    if not dup.empty:
        d = dup.astype({k: object for k in keys})
        first_row = d.groupby(keys, sort=False)["_row"].transform("first")
        later = _rows(d, (d["_row"] != first_row).to_numpy(dtype=bool), _first_row=first_row)
        _emit(problems, later, header["ar"], lambda r: (
            f"{r['kommun_id']}, {r['grupp']}, {r['kpi_id']} och {r['ar']} finns redan på rad {int(r['_first_row'])}; "
            "högst en rad per kommun, grupp, nyckeltal och år"))
    this_year = _today().year
    _emit(problems, df[ok("ar") & (df["ar"] > this_year)], header["ar"],
          lambda r: f"året {r['ar']} ligger efter innevarande år ({this_year})")
    return problems


def _four_digits(problems: list[Problem], df: pd.DataFrame, ok: Callable[..., pd.Series], name: str, column: str,
                 example: str = JAMFORELSE_FOKUS) -> pd.Series:
    """A municipality code of four digits (written as text, so that the leading zero is kept);
    returns the rows where it is not."""
    digits = re.compile(r"\d{4}")
    code = np.array([bool(digits.fullmatch(str(v))) for v in df[name].to_numpy(dtype=object)], dtype=bool)
    bad = ok(name) & ~code
    _emit(problems, df[bad], column, lambda r: (
        f"'{r[name]}' är inte en kommunkod med fyra siffror (t.ex. '{example}'; skriv koden som text så att den "
        "inledande nollan finns kvar)"))
    return bad


def _duplicate_keys(problems: list[Problem], df: pd.DataFrame, rows: pd.Series, keys: list[str], column: str,
                    what: Callable[[dict], str], per: str) -> None:
    """One row per ``keys`` (among ``rows``): every later row with the same key is reported, with
    the row that has it first. ``what`` names the key of a row, ``per`` the rule's unit."""
    cols = [df[k].to_numpy(dtype=object) for k in keys]
    first: dict[tuple, int] = {}
    later: list[tuple[int, int]] = []  # (position, position of the first row with the key)
    for i in np.flatnonzero(np.asarray(rows, dtype=bool)):
        key = tuple(c[i] for c in cols)
        if key in first:
            later.append((i, first[key]))
        else:
            first[key] = i
    if later:
        at, seen = zip(*later, strict=True)
        dup = _rows(df.iloc[list(at)], np.ones(len(at), dtype=bool), _first_row=df["_row"].to_numpy()[list(seen)])
        _emit(problems, dup, column, lambda r: (
            f"{what(r)} finns redan på rad {int(r['_first_row'])}; högst en rad per {per}"))


def _not_above(problems: list[Problem], df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str],
               part: str, whole: str, say: Callable[[dict], str]) -> None:
    """``part`` is not larger than ``whole`` (both present and valid); reported at ``part``."""
    rows = ok(part, whole).to_numpy(dtype=bool)
    a = df[part].to_numpy(dtype="float64", na_value=np.nan)
    b = df[whole].to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        _emit(problems, df[rows & (a > b)], header[part], say)


def _plural(values: list[int], one: str, many: str) -> str:
    return f"{one} {values[0]}" if len(values) == 1 else f"{many} {', '.join(map(str, values))}"


def _prognos_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str], year: int) -> list[Problem]:
    """The population forecast (struktur, Prognos): forecast years from the file's year on, one row
    per stadsdel and year, and every stadsdel with the file's year (the starting point) and the
    same forecast years as the others."""
    problems: list[Problem] = []
    column = header["prognosar"]
    early = ok("prognosar") & (df["prognosar"].astype("Int64") < year).fillna(False)
    _emit(problems, df[early], column, lambda r: (
        f"prognosåret {r['prognosar']} ligger före filens år {year}; prognosen börjar med filens år (utgångsläget)"))
    keyed = ok("stadsdel", "prognosar")
    _duplicate_keys(problems, df, keyed, ["stadsdel", "prognosar"], column,
                    lambda r: f"stadsdelen '{r['stadsdel']}' och prognosåret {r['prognosar']}", "stadsdel och prognosår")
    if not keyed.all() or early.any():
        return problems  # a key cell is missing or broken, or a year is early (reported): sets not checked
    first: dict[str, dict] = {}  # stadsdel → its first row
    years: dict[str, set[int]] = {}
    holder: dict[int, dict] = {}  # prognosår → the first row that has it
    for rec in df[["stadsdel", "prognosar", *_META]].to_dict("records"):
        area, ar = str(rec["stadsdel"]), int(rec["prognosar"])
        first.setdefault(area, rec)
        years.setdefault(area, set()).add(ar)
        holder.setdefault(ar, rec)
    every = set(holder)
    for area, rec in first.items():
        have = years[area]
        if year not in have:
            problems.append(Problem(rec["_file"], rec["_sheet"], int(rec["_row"]), column, (
                f"stadsdelen '{rec['stadsdel']}' har ingen rad för filens år {year} (utgångsläget)")))
        missing = sorted(every - have - {year})
        if missing:
            other = holder[missing[0]]
            problems.append(Problem(rec["_file"], rec["_sheet"], int(rec["_row"]), column, (
                f"stadsdelen '{rec['stadsdel']}' saknar {_plural(missing, 'prognosåret', 'prognosåren')}, som andra "
                f"stadsdelar har (t.ex. '{other['stadsdel']}', rad {int(other['_row'])}); alla stadsdelar ska ha "
                "samma prognosår")))
    return problems


def _skolresultat_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str]) -> list[Problem]:
    """School results (struktur, Skolresultat): passed ≤ pupils, one row per school and sex, a
    school in one stadsdel."""
    problems: list[Problem] = []
    _not_above(problems, df, ok, header, "uppnatt", "elever", lambda r: (
        f"{r['uppnatt']} elever har uppnått alla ämnen, fler än de {r['elever']} eleverna i åk 9"))
    _duplicate_keys(problems, df, ok("skola", "kon"), ["skola", "kon"], header["kon"],
                    lambda r: f"skolan '{r['skola']}' och könet '{r['kon']}'", "skola och kön")
    first: dict[str, dict] = {}  # skola → its first row
    for rec in df.loc[ok("skola", "stadsdel").to_numpy(dtype=bool), ["skola", "stadsdel", *_META]].to_dict("records"):
        there = first.setdefault(rec["skola"], rec)
        if rec["stadsdel"] != there["stadsdel"]:
            problems.append(Problem(rec["_file"], rec["_sheet"], int(rec["_row"]), header["stadsdel"], (
                f"skolan '{rec['skola']}' ligger i '{there['stadsdel']}' på rad {int(there['_row'])}, inte i "
                f"'{rec['stadsdel']}'; en skola ligger i en enda stadsdel")))
    return problems


def _psykisk_ohalsa_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str], year: int) -> list[Problem]:
    """The series on mental ill-health (struktur, Psykisk ohälsa): years up to the file's year, one
    row per area, year and measure, count ≤ population, and the municipality not above the county."""
    problems: list[Problem] = []
    late = ok("ar_serie") & (df["ar_serie"].astype("Int64") > year).fillna(False)
    _emit(problems, df[late], header["ar_serie"], lambda r: (
        f"året {r['ar_serie']} ligger efter filens år {year}; serien går till och med filens år"))
    keys = ["omrade", "ar_serie", "matt"]
    keyed = ok(*keys)
    _duplicate_keys(problems, df, keyed, keys, header["ar_serie"],
                    lambda r: f"'{r['omrade']}', året {r['ar_serie']} och måttet '{r['matt']}'", "område, år och mått")
    _not_above(problems, df, ok, header, "antal", "invanare_0_17", lambda r: (
        f"antalet {r['antal']} är större än de {r['invanare_0_17']} invånarna 0–17 år"))
    # Linköping against the county, for the same year and measure (the first row of each key).
    values = {"antal": "antal", "invanare_0_17": "antal invånare 0–17 år"}
    mask = keyed.to_numpy(dtype=bool)
    valid = {v: ok(v).to_numpy(dtype=bool)[mask] for v in values}
    recs = df.loc[mask, [*keys, *values, *_META]].to_dict("records")
    by_area: dict[str, dict[tuple, int]] = {PSYKISK_OHALSA_KOMMUN: {}, PSYKISK_OHALSA_LAN: {}}
    for i, rec in enumerate(recs):
        if rec["omrade"] in by_area:
            by_area[rec["omrade"]].setdefault((rec["ar_serie"], rec["matt"]), i)
    for key, i in by_area[PSYKISK_OHALSA_KOMMUN].items():
        j = by_area[PSYKISK_OHALSA_LAN].get(key)
        if j is None:
            continue
        rec, lan = recs[i], recs[j]
        for v, word in values.items():
            if valid[v][i] and valid[v][j] and rec[v] > lan[v]:
                problems.append(Problem(rec["_file"], rec["_sheet"], int(rec["_row"]), header[v], (
                    f"{PSYKISK_OHALSA_KOMMUN}s {word} ({rec[v]}) är större än {PSYKISK_OHALSA_LAN}s ({lan[v]}, rad "
                    f"{int(lan['_row'])}) för {rec['ar_serie']} och '{rec['matt']}'; kommunen ligger i länet")))
    return problems


def _befolkning_alder_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str]) -> list[Problem]:
    """Population by one-year age (struktur_offentlig, Befolkning): a four-digit region code, one row
    per region, year and age, every age 0–19 in every region and year, and no year missing in the
    middle of a region's series."""
    problems: list[Problem] = []
    bad_id = _four_digits(problems, df, ok, "region_id", header["region_id"])
    keys = ["region_id", "ar", "alder"]
    keyed = ok(*keys) & ~bad_id
    _duplicate_keys(problems, df, keyed, keys, header["alder"],
                    lambda r: f"regionen '{r['region_id']}', året {r['ar']} och åldern {r['alder']}", "region, år och ålder")
    if not keyed.all():
        return problems  # a key cell is missing or broken (reported): the sets of ages and years are not checked
    first: dict[tuple[str, int], dict] = {}  # (region, år) → its first row
    ages: dict[tuple[str, int], set[int]] = {}
    for rec in df[["region_id", "region", "ar", "alder", *_META]].to_dict("records"):
        key = (str(rec["region_id"]), int(rec["ar"]))
        first.setdefault(key, rec)
        ages.setdefault(key, set()).add(int(rec["alder"]))
    for (region, ar), rec in sorted(first.items()):
        missing = sorted(set(BEFOLKNING_ALDRAR) - ages[(region, ar)])
        if missing:
            problems.append(Problem(rec["_file"], rec["_sheet"], int(rec["_row"]), header["alder"], (
                f"{_plural(missing, 'åldern', 'åldrarna')} saknas för regionen '{region}' ({rec['region']}) år {ar}; "
                f"varje region och år ska ha en rad för varje ålder {BEFOLKNING_ALDRAR[0]}–{BEFOLKNING_ALDRAR[-1]}")))
    years: dict[str, list[int]] = {}
    for region, ar in sorted(first):
        years.setdefault(region, []).append(ar)
    for region, present in years.items():
        for before, after in zip(present, present[1:], strict=False):
            if after - before > 1:
                rec = first[(region, after)]
                problems.append(Problem(rec["_file"], rec["_sheet"], int(rec["_row"]), header["ar"], (
                    f"{_plural(list(range(before + 1, after)), 'året', 'åren')} saknas för regionen '{region}' "
                    f"({rec['region']}): regionens år ska vara en obruten följd från {present[0]} till {present[-1]}")))
    return problems


def _befolkning_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str], sheet: Sheet) -> list[Problem]:
    """The population per stadsdel and age group (struktur, Befolkning): one row per stadsdel and
    age group, and every stadsdel in the sheet has every age group of the contract (the rates per
    1 000 are computed from these rows)."""
    problems: list[Problem] = []
    keys = ["stadsdel", "aldersgrupp"]
    rows = ok(*keys)
    _duplicate_keys(problems, df, rows, keys, header["aldersgrupp"],
                    lambda r: f"stadsdelen '{r['stadsdel']}' och åldersgruppen '{r['aldersgrupp']}'",
                    "stadsdel och åldersgrupp")
    groups = list(next(c for c in sheet.columns if c.name == "aldersgrupp").codes)
    first: dict[str, dict] = {}
    present: dict[str, set[str]] = {}
    for rec in df.loc[rows.to_numpy(dtype=bool), ["stadsdel", "aldersgrupp", *_META]].to_dict("records"):
        first.setdefault(str(rec["stadsdel"]), rec)
        present.setdefault(str(rec["stadsdel"]), set()).add(str(rec["aldersgrupp"]))
    for area, rec in first.items():
        missing = [g for g in groups if g not in present[area]]
        if missing:
            problems.append(Problem(rec["_file"], rec["_sheet"], int(rec["_row"]), header["aldersgrupp"], (
                f"stadsdelen '{area}' saknar {'åldersgruppen' if len(missing) == 1 else 'åldersgrupperna'} "
                f"{', '.join(repr(g) for g in missing)}; varje stadsdel i bladet ska ha en rad för varje "
                f"åldersgrupp ({', '.join(groups)})")))
    return problems


def _struktur_nyckeltal_rules(df: pd.DataFrame, ok: Callable[..., pd.Series], header: dict[str, str]) -> list[Problem]:
    """Kolada's key figures for the structural chapter (struktur_offentlig, Nyckeltal): a four-digit
    code, the KPI's short name from ``kolada_struktur`` and one row per code, KPI and year."""
    problems: list[Problem] = []
    bad_id = _four_digits(problems, df, ok, "kommun_id", header["kommun_id"])
    kpis = codes.load("kolada_struktur")
    names = dict(zip(kpis["kpi_id"], kpis["namn"], strict=True))
    expected = df["kpi_id"].astype(object).map(names)
    wrong = _rows(df, ok("kpi_id", "nyckeltal") & expected.notna() & (df["nyckeltal"].astype(object) != expected),
                  _expected=expected)
    _emit(problems, wrong, header["nyckeltal"], lambda r: (
        f"'{r['nyckeltal']}' är inte namnet på {r['kpi_id']}; kodlistan kolada_struktur ger '{r['_expected']}'"))
    keys = ["kommun_id", "kpi_id", "ar"]
    _duplicate_keys(problems, df, ok(*keys) & ~bad_id, keys, header["ar"],
                    lambda r: f"{r['kommun_id']}, {r['kpi_id']} och {r['ar']}", "kommun, nyckeltal och år")
    return problems


# --------------------------------------------------------------------------------------------
# One workbook
# --------------------------------------------------------------------------------------------


def read_extract(
    path: Path, extract: Extract, year: int | None, key: str, *, first_year: int | None = None
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Validate one workbook on its own; return its tidy tables (pseudonymised) and the problems.

    ``first_year`` is the earliest year of the extract in ``data/raw`` (default: this file's year);
    only that year's file of a case extract may hold cases begun earlier. Every sheet that could be
    read is returned, also when some of its cells broke a rule (those cells are blank), so that
    :func:`run` can check the rules across files too; nothing is written unless there is no problem.
    """
    problems: list[Problem] = []
    fname = path.name
    if (why := reading.workbook_problem(path)) is not None:  # not an .xlsx workbook: say what it is
        return {}, [Problem(fname, None, None, None, why)]
    try:
        book = reading.open_book(path)  # opened once for all sheets
    except Exception as exc:  # noqa: BLE001 - any reader failure is a broken file
        return {}, [Problem(fname, None, None, None, f"arbetsboken kan inte läsas: {reading.unreadable(exc)}; "
                            "exportera filen igen eller öppna den i Excel och spara den på nytt")]
    with book:
        return _read_sheets(path, book, extract, year, key, first_year, problems)


def _read_sheets(path: Path, book: pd.ExcelFile, extract: Extract, year: int | None, key: str,
                 first_year: int | None, problems: list[Problem]) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The sheets of one open workbook (:func:`read_extract`)."""
    fname = path.name
    tables: dict[str, pd.DataFrame] = {}
    for sheet in extract.sheets:
        frame = _read_sheet(path, sheet, problems, book)
        if frame is None:
            continue
        invalid: dict[str, set[int]] = {c.name: set() for c in sheet.columns}
        checked = {c.name: _check_column(frame, c, fname, sheet.name, year, problems, invalid[c.name]) for c in sheet.columns}
        df = pd.DataFrame({
            c.name: _typed(checked[c.name], c) if c.kind != "pnr" else checked[c.name].astype("string")
            for c in sheet.columns
        })
        valid = pd.DataFrame({name: ~df.index.isin(list(rows)) for name, rows in invalid.items()}, index=df.index)
        problems += _row_rules(_with_meta(df, fname, sheet.name), valid, sheet, year, first_year)
        for name, rows in invalid.items():  # blank broken cells: the checks across files leave them out
            if rows:
                df.loc[df.index.isin(list(rows)), name] = pd.NA
        for header in extract.pseudonymise:
            colname = next(c.name for c in sheet.columns if c.header == header)
            # the cells hold numbers already normalised (_check_column)
            df[colname] = _pseudonymised(df[colname], lambda v: pnr.pseudonymise_normalised(v, key))
        if year is not None and "ar" not in df.columns:  # a sheet's own year column (Budget: År) wins
            df.insert(0, "ar", pd.array([year] * len(df), dtype="Int64"))
        tables[sheet.table] = df
    return tables, problems


# --------------------------------------------------------------------------------------------
# Rules across files
# --------------------------------------------------------------------------------------------


def _years(years: list[int]) -> str:
    ys = sorted(set(years))
    if not ys:
        return "inga år"
    if ys == list(range(ys[0], ys[-1] + 1)) and len(ys) > 1:
        return f"{ys[0]}–{ys[-1]}"
    return ", ".join(map(str, ys))


def _stack(parts: list[tuple[str, str, pd.DataFrame]]) -> pd.DataFrame:
    """All yearly frames of one table, with the columns of ``_META``; codes as plain objects (the
    category sets differ between files)."""
    frames = [_with_meta(df, fname, sheet) for fname, sheet, df in parts]
    stacked = pd.concat(frames, ignore_index=True)
    cats = [c for c in stacked.columns if isinstance(stacked[c].dtype, pd.CategoricalDtype)]
    return stacked.astype(dict.fromkeys(cats, object)) if cats else stacked


def _where(rec: dict, prefix: str = "t") -> str:
    return f"{rec[prefix + '__file']}, rad {int(rec[prefix + '__row'])}"


def _link(problems: list[Problem], src_table: str, src: pd.DataFrame, dst: pd.DataFrame, *, id_col: str, noun: str,
          dst_name: str, dst_years: list[int], status_col: str, status_ok: set[str], status_word: str,
          date_col: str, date_word: str, status_missing: str | None = None, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Check the references ``src[id_col]`` → ``dst``: the record exists, its ``status_col`` is one
    of ``status_ok``, it concerns the same child and its ``date_col`` is not after ``src``'s
    Startdatum. A blank status is reported as ``status_missing`` (if given; otherwise the blank
    is a broken cell, reported in its own file). Returns the found pairs (``dst``'s columns
    prefixed ``t_``) for further checks."""
    header = _HEADERS[src_table]
    id_header = header[id_col]
    ids = dst[id_col]
    ambiguous = ids[ids.notna() & ids.duplicated()]  # duplicate ids are reported apart; links to them are not checked
    ref = src[src[id_col].notna() & ~src[id_col].isin(ambiguous)]
    cols = [id_col, "person_id", status_col, date_col, "_file", "_row", *extra]
    target = dst.loc[ids.notna() & ~ids.isin(ambiguous), cols]
    target = target.rename(columns={c: f"t_{c}" for c in cols if c != id_col})
    m = ref.merge(target, on=id_col, how="left", indicator=True)
    _emit(problems, m[m["_merge"] == "left_only"], id_header,
          lambda r: f"{noun} '{r[id_col]}' finns inte i {dst_name} ({_years(dst_years)})")
    found = m[m["_merge"] == "both"]
    status = found[f"t_{status_col}"]
    wanted = "' eller '".join(sorted(status_ok))
    _emit(problems, found[status.notna() & ~status.isin(status_ok)], id_header, lambda r: (
        f"{noun} '{r[id_col]}' ({_where(r)}) har {status_word} '{r['t_' + status_col]}', inte '{wanted}'"))
    if status_missing:
        _emit(problems, found[status.isna()], id_header,
              lambda r: f"{noun} '{r[id_col]}' ({_where(r)}) har {status_missing}, inte {status_word} '{wanted}'")
    person = found["person_id"].notna() & found["t_person_id"].notna() & (found["person_id"] != found["t_person_id"])
    _emit(problems, found[person.fillna(False)], header["person_id"],
          lambda r: f"barnet är ett annat än i {noun} '{r[id_col]}' ({_where(r)})")
    before = found["start_datum"].notna() & found[f"t_{date_col}"].notna() & (found["start_datum"] < found[f"t_{date_col}"])
    _emit(problems, found[before], header["start_datum"], lambda r: (
        f"startdatumet {_day(r['start_datum'])} ligger före {date_word} {_day(r['t_' + date_col])} "
        f"för {noun} '{r[id_col]}' ({_where(r)})"))
    return found


def check_across_files(parts: dict[str, list[tuple[str, str, pd.DataFrame]]], complete: set[str],
                       years: dict[str, list[int]]) -> list[Problem]:
    """The rules between files (:data:`CROSS_FILE_RULES`), once every file is read.

    ``parts`` holds, per processed table, (file, sheet, frame) for every file read; ``complete``
    the tables whose files could all be read (only those are checked as the target of a
    reference, see :data:`CROSS_FILE_SCOPE`); ``years`` the years present per table. Problems name
    the file and row of the referring record.
    """
    problems: list[Problem] = []
    stacks: dict[str, pd.DataFrame] = {}

    def stack(table: str) -> pd.DataFrame | None:
        if table not in stacks and parts.get(table):
            stacks[table] = _stack(parts[table])
        return stacks.get(table)

    # Ids unique across the yearly files of an extract (within a file: _check_column).
    for extract in EXTRACTS:
        if not extract.yearly:
            continue
        for sheet in extract.sheets:
            unique = [c for c in sheet.columns if c.unique]
            if not unique or len(parts.get(sheet.table, [])) < 2 or sheet.table in SNAPSHOT_TABLES:
                continue
            df = stack(sheet.table)
            for col in unique:
                s = df[col.name]
                dup = df[s.notna() & s.duplicated(keep=False)]
                if dup.empty:
                    continue
                first = dup.groupby(col.name, sort=False)[["_file", "_row"]].transform("first")
                later = _rows(dup, dup["_file"] != first["_file"], t__file=first["_file"], t__row=first["_row"])
                _emit(problems, later, col.header, lambda r, n=col.name: (
                    f"id '{r[n]}' finns också i {_where(r)}; ett id får bara finnas i en av extraktets årsfiler"))

    utr, akt, ins = stack("utredningar"), stack("aktualiseringar"), stack("insatser")
    utfall = codes.load("utfall")
    if utr is not None:
        ids = utr["aktualisering_id"]
        dup = utr[ids.notna() & ids.duplicated(keep=False)]
        if not dup.empty:
            first = dup.groupby("aktualisering_id", sort=False)[["utredning_id", "_file", "_row"]].transform("first")
            later = _rows(dup, (dup["_file"] != first["_file"]) | (dup["_row"] != first["_row"]),
                          t_utredning_id=first["utredning_id"], t__file=first["_file"], t__row=first["_row"])
            _emit(problems, later, _HEADERS["utredningar"]["aktualisering_id"], lambda r: (
                f"aktualiseringen '{r['aktualisering_id']}' ledde redan till utredningen '{r['t_utredning_id']}' "
                f"({_where(r)}); högst en utredning per aktualisering"))
        if akt is not None and "aktualiseringar" in complete:
            found = _link(problems, "utredningar", utr, akt, id_col="aktualisering_id", noun="aktualiseringen", dst_name="aktualiseringar", dst_years=years.get("aktualiseringar", []),
                          status_col="beslut", status_ok={BESLUT_UTREDNING}, status_word="beslut",
                          date_col="inkom_datum", date_word="inkomstdatum", extra=("aktualiseringstyp",))
            sg, at = codes.load("startgrund"), codes.load("aktualiseringstyper")
            start_typ = dict(zip(sg["startgrund"], sg["typ"], strict=True))
            akt_typ = dict(zip(at["aktualiseringstyp"], at["typ"], strict=True))
            a, b = found["startgrund"].map(start_typ), found["t_aktualiseringstyp"].map(akt_typ)
            _emit(problems, found[a.notna() & b.notna() & (a != b)], _HEADERS["utredningar"]["startgrund"], lambda r: (
                f"startgrunden '{r['startgrund']}' passar inte aktualiseringen '{r['aktualisering_id']}' "
                f"({_where(r)}) av typen '{r['t_aktualiseringstyp']}'"))
    if ins is not None:
        if utr is not None and "utredningar" in complete:
            _link(problems, "insatser", ins, utr, id_col="utredning_id", noun="utredningen",
                  dst_name="utredningar", dst_years=years.get("utredningar", []), status_col="utfall",
                  status_ok=set(utfall.loc[utfall["insats"], "utfall"]), status_word="utfallet",
                  status_missing="inget utfall (utredningen pågår)", date_col="slut_datum", date_word="slutdatum")
        if akt is not None and "aktualiseringar" in complete:
            _link(problems, "insatser", ins, akt, id_col="aktualisering_id", noun="aktualiseringen", dst_name="aktualiseringar", dst_years=years.get("aktualiseringar", []),
                  status_col="beslut", status_ok={BESLUT_SERVICE}, status_word="beslut",
                  date_col="inkom_datum", date_word="inkomstdatum")
        if "insatser" in complete:
            _changes_of_form(problems, ins, years.get("insatser", []))
    dec = stack("placeringar_december")
    if dec is not None and ins is not None and "insatser" in complete:
        _december_links(problems, dec, ins, years.get("insatser", []))
    return problems


def _changes_of_form(problems: list[Problem], ins: pd.DataFrame, ins_years: list[int]) -> None:
    """A placement ended by a change of placement form is followed by a placement of the same child
    under the same lagrum, starting on its Slutdatum or the day after (any year's file). Not checked
    when that day lies after the last year of insatser present (the next placement is then in an
    extract not yet delivered)."""
    header = _HEADERS["insatser"]
    form = ins["insatstyp"].map(_forms())
    byte = ins[(ins["avslutsorsak"] == BYTE_AV_PLACERINGSFORM) & ins["slut_datum"].notna()
               & ins["lagrum"].notna() & ins["person_id"].notna()]
    if ins_years:
        byte = byte[(byte["slut_datum"] + pd.Timedelta(days=1)).dt.year <= max(ins_years)]
    if byte.empty:
        return
    nxt = ins.loc[(form == FORM_PLACERING) & ins["start_datum"].notna(), ["person_id", "lagrum", "start_datum"]]
    nxt = nxt.rename(columns={"start_datum": "n_start"}).rename_axis("n_index").reset_index()
    pairs = byte[["person_id", "lagrum", "slut_datum"]].rename_axis("index").reset_index().merge(nxt, on=["person_id", "lagrum"])
    gap = pairs["n_start"] - pairs["slut_datum"]
    follows = (pairs["n_index"] != pairs["index"]) & (gap >= pd.Timedelta(0)) & (gap <= pd.Timedelta(days=1))
    missing = byte[~byte.index.isin(pairs.loc[follows, "index"])]
    _emit(problems, missing, header["avslutsorsak"], lambda r: (
        f"avslutsorsaken '{BYTE_AV_PLACERINGSFORM}' betyder att placeringen fortsätter i en annan form, men insatser "
        f"({_years(ins_years)}) har ingen placering av samma barn med lagrum '{r['lagrum']}' som börjar "
        f"{_day(r['slut_datum'])} eller dagen efter"))


def _december_links(problems: list[Problem], dec: pd.DataFrame, ins: pd.DataFrame, ins_years: list[int]) -> None:
    """The review of placements on 31 December against insatser: the placement exists, concerns
    the same child, was ongoing on 31 December of the file's year, has the same form (Insatstyp =
    Placeringsform), Registrerad som and Lagrum; Tidigare öppenvård says whether insatser hold an
    open insats of the child that started before the placement."""
    header = _HEADERS["placeringar_december"]
    id_header = header["insats_id"]
    ids = ins["insats_id"]
    ambiguous = ids[ids.notna() & ids.duplicated()]  # duplicate ids are reported apart; links to them are not checked
    ref = dec[dec["insats_id"].notna() & ~dec["insats_id"].isin(ambiguous)]
    cols = ["insats_id", "person_id", "insatstyp", "registrerad_som", "lagrum", "start_datum", "slut_datum", "_file", "_row"]
    target = ins.loc[ids.notna() & ~ids.isin(ambiguous), cols]
    target = target.rename(columns={c: f"t_{c}" for c in cols if c != "insats_id"})
    m = ref.merge(target, on="insats_id", how="left", indicator=True)
    _emit(problems, m[m["_merge"] == "left_only"], id_header,
          lambda r: f"insatsen '{r['insats_id']}' finns inte i insatser ({_years(ins_years)})")
    found = m[m["_merge"] == "both"].reset_index(drop=True)

    person = found["person_id"].notna() & found["t_person_id"].notna() & (found["person_id"] != found["t_person_id"])
    _emit(problems, found[person.fillna(False)], header["person_id"],
          lambda r: f"barnet är ett annat än i insatsen '{r['insats_id']}' ({_where(r)})")

    year_end = pd.to_datetime(found["ar"].astype("int64").astype(str) + "-12-31")
    late = found["t_start_datum"].notna() & (found["t_start_datum"] > year_end)
    _emit(problems, found[late], id_header, lambda r: (
        f"insatsen '{r['insats_id']}' ({_where(r)}) började {_day(r['t_start_datum'])}, efter den 31 december "
        f"{r['ar']}: placeringen pågick inte vid årets slut"))
    ended = found["t_slut_datum"].notna() & (found["t_slut_datum"] <= year_end)
    _emit(problems, found[ended], id_header, lambda r: (
        f"insatsen '{r['insats_id']}' ({_where(r)}) avslutades {_day(r['t_slut_datum'])}: placeringen pågick inte "
        f"efter den 31 december {r['ar']} (slutdatumet ska vara tomt eller senare)"))

    for name, t_name, word in (("placeringsform", "insatstyp", "insatstypen"),
                               ("registrerad_som", "registrerad_som", "registrerad som"),
                               ("lagrum", "lagrum", "lagrum")):
        a, b = found[name].astype(object), found[f"t_{t_name}"].astype(object)
        differs = a.notna() & b.notna() & (a != b)
        _emit(problems, found[differs], header[name], lambda r, n=name, t=t_name, w=word: (
            f"'{r[n]}' stämmer inte med insatsen '{r['insats_id']}' ({_where(r)}), som har {w} '{r['t_' + t]}'"))

    # Tidigare öppenvård: an open insats of the same child that started before the placement.
    form = ins["insatstyp"].map(_forms())
    opened = ins[(form == FORM_OPPEN) & ins["start_datum"].notna() & ins["person_id"].notna()]
    first = opened.sort_values("start_datum", kind="stable").drop_duplicates("person_id").set_index("person_id")
    first_start = pd.to_datetime(found["t_person_id"].map(first["start_datum"]))
    first_id = found["t_person_id"].map(first["insats_id"])
    rows = found["tidigare_oppenvard"].notna() & found["t_start_datum"].notna()
    earlier = (first_start < found["t_start_datum"]).fillna(False).to_numpy(dtype=bool)
    stated = found["tidigare_oppenvard"].fillna(False).to_numpy(dtype=bool)
    column = header["tidigare_oppenvard"]
    _emit(problems, _rows(found, rows & stated & ~earlier), column, lambda r: (
        f"'Ja', men insatser ({_years(ins_years)}) har ingen öppen insats för barnet som började före placeringen "
        f"'{r['insats_id']}' ({_day(r['t_start_datum'])})"))
    _emit(problems, _rows(found, rows & ~stated & earlier, _first_id=first_id, _first_start=first_start), column, lambda r: (
        f"'Nej', men barnet hade den öppna insatsen '{r['_first_id']}' (startdatum {_day(r['_first_start'])}) före "
        f"placeringen '{r['insats_id']}' ({_day(r['t_start_datum'])})"))


# --------------------------------------------------------------------------------------------
# The whole folder
# --------------------------------------------------------------------------------------------


def _case_id_columns() -> dict[str, list[str]]:
    """Per processed table, the case system's id columns that are pseudonymised
    (:attr:`Extract.pseudonymise_ids`)."""
    out: dict[str, list[str]] = {}
    for e in EXTRACTS:
        for s in e.sheets:
            cols = [c.name for c in s.columns if c.header in e.pseudonymise_ids]
            if cols:
                out[s.table] = cols
    return out


def pseudonymise_ids(df: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """``df`` with the case system's ids in ``columns`` replaced by keyed pseudonyms
    (:func:`pnr.pseudonymise_id`).

    Done once every rule has been checked (the messages name the ids as in the workbooks); the same
    id gets the same pseudonym in every table, so the links between extracts still join.
    """
    if not columns:
        return df
    return df.assign(**_pseudonymised_ids(df, key, columns))


def _pseudonymised_ids(df: pd.DataFrame, key: str, columns: list[str]) -> dict[str, pd.Series]:
    """The columns of :func:`pseudonymise_ids`, pseudonymised."""
    return {col: _pseudonymised(df[col], lambda v, col=col: pnr.pseudonymise_id(v, key, col)) for col in columns}


def _pseudonymised(values: pd.Series, pseudonym: Callable[[str], str]) -> pd.Series:
    """``values`` as text, each replaced by ``pseudonym(value)``: computed once per distinct value
    (an HMAC each), then taken by position; blank cells stay blank."""
    codes, distinct = pd.factorize(values)
    table = np.array([pseudonym(v) for v in distinct] + [None], dtype=object)  # code -1 (blank): None
    return pd.Series(table[codes], index=values.index, name=values.name, dtype=object).astype("string")


def _gaps(found: list[tuple[Path, Extract, int | None]]) -> list[Problem]:
    """A year missing inside the series of a yearly extract's files (the rule in
    :data:`CROSS_FILE_SCOPE`): one problem per missing file."""
    years: dict[str, tuple[Extract, set[int]]] = {}
    for _, extract, year in found:
        if year is not None:
            years.setdefault(extract.name, (extract, set()))[1].add(year)
    problems = []
    for extract, present in years.values():
        for missing in sorted(set(range(min(present), max(present) + 1)) - present):
            problems.append(Problem(extract.filename(missing), None, None, None, (
                f"filen saknas: året {missing} saknas i serien av {extract.name} ({_years(sorted(present))} finns); "
                "årsfilerna ska vara en obruten följd av år (ett saknat år skulle räknas som tolv månader utan "
                "ärenden)")))
    return problems


def discover(raw_dir: Path) -> tuple[list[tuple[Path, Extract, int | None]], list[Problem]]:
    """Match the files in ``raw_dir`` to extracts of the contract."""
    by_name = {e.name: e for e in EXTRACTS}
    found: list[tuple[Path, Extract, int | None]] = []
    problems: list[Problem] = []
    for path in sorted(raw_dir.iterdir()):
        if _ignored(path):
            continue
        m = _FILE_RE.match(path.name)
        if not m or m.group("name") not in by_name:
            problems.append(Problem(path.name, None, None, None, "filnamnet motsvarar inget extrakt i datakontraktet (väntat t.ex. aktualiseringar_2020.xlsx)"))
            continue
        extract = by_name[m.group("name")]
        year = int(m.group("year")) if m.group("year") else None
        if extract.yearly != (year is not None):
            problems.append(Problem(path.name, None, None, None, "filnamnet ska " + ("ange år" if extract.yearly else "inte ange år")))
            continue
        found.append((path, extract, year))
    problems += _gaps(found)
    for extract in EXTRACTS:
        if extract.needed_by_demo and not any(e is extract for _, e, _ in found):
            problems.append(Problem(extract.filename(0).replace("_0", "_ÅÅÅÅ"), None, None, None, "extraktet saknas i data/raw"))
    return found, problems


def ingest_code_hash() -> str:
    """Hash of the code and code lists that shape ``data/processed`` (ingest, contract, pnr, codes)."""
    here = Path(__file__).parent
    files = [here / n for n in ("ingest.py", "reading.py", "contract.py", "pnr.py", "codes.py")]
    return hash_files([*files, *(here / "codelists").glob("*.csv")])


def code_version() -> dict[str, object]:
    git = git_info("src")
    return {"helpers": __version__, "ingest_sha256": ingest_code_hash(),
            "commit": git["commit"], "src_dirty": git["dirty"]}


#: ``dc:creator`` that :mod:`helpers.data.synth.generate` writes into every synthetic workbook.
SYNTHETIC_CREATOR = "genomlysning synthetic generator"


def _all_synthetic(inputs: dict[str, dict]) -> bool:
    """Every input that is not public data was written by the generator (and there is one)."""
    public = {e.name for e in EXTRACTS if e.public}
    case = [i for i in inputs.values() if i["extract"] not in public]
    return bool(case) and all(i["synthetic"] for i in case)


def is_synthetic(path: Path) -> bool:
    """True if the workbook was written by the project's synthetic-data generator and not saved
    since by a spreadsheet program (Excel and LibreOffice record who saved it, ``lastModifiedBy``,
    and keep the creator: a demo workbook used as a template for real rows is not synthetic)."""
    try:
        with zipfile.ZipFile(path) as z:
            core = z.read("docProps/core.xml").decode("utf-8", errors="replace")
    except (KeyError, zipfile.BadZipFile, OSError):
        return False
    return f">{SYNTHETIC_CREATOR}<" in core and "lastModifiedBy" not in core


def _ignored(path: Path) -> bool:
    """Files in ``data/raw`` that are not extracts: hidden files, Excel lock files, notes."""
    return path.name.startswith((".", "~$")) or path.suffix.lower() in {".md", ".txt"} or path.is_dir()


def input_hashes(raw_dir: Path) -> dict[str, str]:
    return {p.name: sha256(p) for p in sorted(raw_dir.glob("*.xlsx")) if not _ignored(p)}


def is_current(raw_dir: Path | None = None, processed_dir: Path | None = None) -> bool:
    """True if ``data/processed`` was made from exactly the files now in ``data/raw``, by the
    ingest code and code lists of this checkout, with the pseudonymisation key now set (its
    fingerprint in the manifest: a changed key re-ingests)."""
    raw_dir = raw_dir or PATHS.raw
    processed_dir = processed_dir or PATHS.processed
    manifest = processed_dir / "manifest.json"
    if not manifest.is_file() or not raw_dir.is_dir():
        return False
    data = json.loads(manifest.read_text(encoding="utf-8"))
    if data.get("code", {}).get("ingest_sha256") != ingest_code_hash():
        return False  # the ingest code or a code list changed since
    if data.get("pseudonym_key_fingerprint") != pnr.key_fingerprint(pseudonym_key()[0]):
        return False  # another key (or a manifest from before fingerprints)
    recorded = {k: v["sha256"] for k, v in data["inputs"].items()}
    return recorded == input_hashes(raw_dir)


#: Workbooks are read in parallel processes (:func:`_read_all`) when together they are at least this
#: large (bytes). Reading is most of ingest's time, already for the demo (2,8 MB: 1,6 of 2,2 s of
#: CPU time); a few small workbooks (the tests' own) are read in the process itself. Workers: one
#: per core, at most :data:`MAX_WORKERS`.
PARALLEL_MIN_BYTES = 1_000_000
MAX_WORKERS = 4


_Read = tuple[dict[str, pd.DataFrame], list[Problem], str, bool, dict[str, dict[str, pd.Series]]]


def _read_one(path: Path, extract: Extract, year: int | None, key: str, first_year: int | None) -> _Read:
    """:func:`read_extract` of one workbook, with its hash, whether it is synthetic, and (if it broke
    no rule) its tables' case ids pseudonymised (:func:`pseudonymise_ids`; the rules across files
    still need the ids as written, so :func:`run` puts these in place once they are checked)."""
    with _gc_paused():
        tables, problems = read_extract(path, extract, year, key, first_year=first_year)
        ids = _case_id_columns()
        pseudonyms = {} if problems else {t: _pseudonymised_ids(df, key, ids.get(t, [])) for t, df in tables.items()}
    return tables, problems, sha256(path), is_synthetic(path), pseudonyms


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while one workbook is read: reading makes millions of
    objects (cells, rows), hardly any of them in a cycle, and the collector would go through them
    again and again (about a tenth of ingest's time at ten times the demo volume). What it would
    have collected is collected when it runs again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_all(found: list[tuple[Path, Extract, int | None]], key: str, first_year: dict[str, int]) -> list[_Read]:
    """:func:`_read_one` of every workbook in ``found``, in that order (so the problems come in the
    same order however they were read). Large inputs are read by a pool of forked processes, the
    largest workbooks first (the pool stays busy to the end); each returns its frames and problems.
    Fork, not spawn: a worker starts at once, with the modules the parent has already imported."""
    jobs = [(path, extract, year, key, first_year.get(extract.name)) for path, extract, year in found]
    size = {i: path.stat().st_size for i, (path, _, _) in enumerate(found)}
    workers = min(os.cpu_count() or 1, MAX_WORKERS, len(jobs))
    if workers < 2 or sum(size.values()) < PARALLEL_MIN_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        return [_read_one(*job) for job in jobs]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {i: pool.submit(_read_one, *jobs[i]) for i in sorted(size, key=lambda i: -size[i])}
        return [futures[i].result() for i in range(len(jobs))]


def run(raw_dir: Path | None = None, processed_dir: Path | None = None, *, carry_from: Path | None = None) -> dict:
    """Validate every extract in ``raw_dir`` and write ``processed_dir`` atomically.

    Files in the processed folder that ingest does not write (``README.md``) are carried over from
    ``carry_from`` (default ``processed_dir`` itself; a render that stages new data elsewhere
    carries them from ``data/processed``). Returns the manifest. Raises :class:`RawDataError`
    (and writes nothing) if any rule is broken.
    """
    raw_dir = Path(raw_dir or PATHS.raw)
    processed_dir = Path(processed_dir or PATHS.processed)
    if not raw_dir.is_dir():
        raise RawDataError([Problem(str(raw_dir), None, None, None, "mappen med rådata finns inte")])
    key, key_source = pseudonym_key()
    found, problems = discover(raw_dir)
    real = [(not e.pseudonymise, p.name) for p, e, _ in found if not e.public and not is_synthetic(p)]
    check_key(key, key_source, [name for _, name in sorted(real)])
    first_year: dict[str, int] = {}
    for _, extract, year in found:
        if year is not None:
            first_year[extract.name] = min(year, first_year.get(extract.name, year))
    parts: dict[str, list[tuple[str, str, pd.DataFrame]]] = {}
    unread: set[str] = set()  # tables of which some file could not be read
    years: dict[str, list[int]] = {}
    inputs: dict[str, dict] = {}
    pseudonyms: dict[tuple[str, str], dict[str, pd.Series]] = {}  # (file, table): id columns pseudonymised
    for (path, extract, year), (tables, probs, digest, synthetic, ids) in zip(found, _read_all(found, key, first_year), strict=True):
        problems.extend(probs)
        pseudonyms.update({(path.name, t): cols for t, cols in ids.items()})
        inputs[path.name] = {"sha256": digest, "extract": extract.name, "year": year, "rows": {t: len(df) for t, df in tables.items()}, "synthetic": synthetic}
        for sheet in extract.sheets:
            if sheet.table in tables:
                parts.setdefault(sheet.table, []).append((path.name, sheet.name, tables[sheet.table]))
                if year is not None:
                    years.setdefault(sheet.table, []).append(year)
            else:
                unread.add(sheet.table)
    problems.extend(check_across_files(parts, set(parts) - unread, years))
    if problems:
        raise RawDataError(problems)
    collected = {table: [df.assign(**pseudonyms[(fname, table)]) for fname, _, df in frames]  # as pseudonymise_ids
                 for table, frames in parts.items()}

    processed_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".processed-", dir=processed_dir.parent))
    try:
        outputs = {}
        for table, frames in sorted(collected.items()):
            df = pd.concat(frames, ignore_index=True)
            for c in df.columns:
                if isinstance(frames[0][c].dtype, pd.CategoricalDtype):
                    df[c] = df[c].astype("category")
            target = staging / f"{table}.parquet"
            df.to_parquet(target, index=False)
            outputs[target.name] = {"rows": len(df), "sha256": sha256(target)}
        manifest = {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "code": code_version(),
            "pseudonym_key": key_source,  # "env" or "demo"; never the key itself
            "pseudonym_key_fingerprint": pnr.key_fingerprint(key),
            # True only if every extract of case data comes from the demo generator: the report
            # then says so on every page. Any real case extract makes the whole dataset count as
            # real. Public data (contract.Extract.public: Kolada's figures) do not decide it.
            "synthetic": _all_synthetic(inputs),
            "inputs": inputs,
            "outputs": outputs,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        carry = Path(carry_from or processed_dir)
        if carry.is_dir():
            for keep in carry.iterdir():
                if keep.is_file() and not _owned(keep):
                    shutil.copy2(keep, staging / keep.name)
        swap_dir(staging, processed_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _owned(path: Path) -> bool:
    """Files in ``data/processed`` that ingest writes (and replaces); others, such as
    ``README.md``, are carried over unchanged."""
    return path.suffix == ".parquet" or path.name == "manifest.json"


def load(table: str, processed_dir: Path | None = None) -> pd.DataFrame:
    """Read one processed table (the only way notebooks read data)."""
    processed_dir = Path(processed_dir or PATHS.processed)
    path = processed_dir / f"{table}.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} saknas: kör `make data` (genomlysning ingest) först.")
    return pd.read_parquet(path)


def manifest(processed_dir: Path | None = None) -> dict:
    """The manifest of the processed data (``manifest.json``)."""
    path = Path(processed_dir or PATHS.processed) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} saknas: kör `make data` (eller `genomlysning data`) först")
    return json.loads(path.read_text(encoding="utf-8"))


def fingerprint(processed_dir: Path | None = None, data_manifest: dict | None = None) -> str:
    """A short fingerprint of the input data (from the manifest's input hashes)."""
    inputs = (data_manifest or manifest(processed_dir))["inputs"]
    joined = "".join(f"{k}:{v['sha256']}" for k, v in sorted(inputs.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------
# Command line: python -m helpers.data.ingest
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run ingest; return 0 on success, 2 if the raw data break the contract."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.data.ingest",
        description="Validera rådata mot datakontraktet, pseudonymisera och skriv data/processed.",
    )
    parser.add_argument("--raw", type=Path, default=None, help=f"mapp med Excel-extrakten (standard: {PATHS.raw})")
    parser.add_argument("--processed", type=Path, default=None, help=f"mapp för de bearbetade tabellerna (standard: {PATHS.processed})")
    args = parser.parse_args(argv)
    processed_dir = Path(args.processed or PATHS.processed)
    try:
        manifest = run(args.raw, processed_dir)
    except RawDataError as exc:
        print(exc, file=sys.stderr)
        print(f"Inläsningen avbröts; {processed_dir} har inte ändrats.", file=sys.stderr)
        return EXIT_BAD_KEY if isinstance(exc, PseudonymKeyError) else EXIT_BAD_INPUT
    n_files = len(manifest["inputs"])
    print(f"Inläsningen klar: {n_files} {'fil' if n_files == 1 else 'filer'} validerade och skrivna till {processed_dir}.")
    for name, out in manifest["outputs"].items():
        print(f"  {name}: {out['rows']:,} rader".replace(",", "\u00a0"))
    if manifest["pseudonym_key"] == "demo":
        print(f"Pseudonymiserat med demonyckeln (endast för syntetiska data; sätt {PSEUDONYM_KEY_ENV} för verkliga data).")
    else:
        print(f"Pseudonymiserat med nyckeln i {PSEUDONYM_KEY_ENV} (fingeravtryck {manifest['pseudonym_key_fingerprint']}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

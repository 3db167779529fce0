"""The raw-data contract as a Swedish Markdown document (``data/raw/README.md``).

Everything specific is read from :mod:`helpers.data.contract`, the code lists in ``helpers/codelists``
and the constants of :mod:`helpers.data.ingest` and :mod:`helpers.config`, so the document cannot drift
from what ingest checks. Regenerate it after any change of the contract or the code lists::

    python -m helpers.data.contract_doc            # writes data/raw/README.md
    python -m helpers.data.contract_doc --check    # exit 1 if the file is out of date

``tests/test_contract_doc.py`` fails when the committed file differs from :func:`render_markdown`.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.config import PATHS, PSEUDONYM_KEY_ENV
from helpers.data import codes, ingest
from helpers.data.contract import CASE_EXTRACT_RULE, EXTRACTS, Column, Extract, Sheet

#: Where the document lives (always in the repository, also when the extracts are read elsewhere).
README = PATHS.root / "data" / "raw" / "README.md"

#: Column kinds of the contract: what the workbook may hold, and the type in data/processed.
KINDS: dict[str, tuple[str, str, str]] = {
    "str": ("text", "text", "`string`"),
    "int": ("heltal", "heltal (utan decimaler)", "`Int64`"),
    "float": ("tal", "tal; decimalkomma eller decimalpunkt", "`Float64`"),
    "date": ("datum", "Excel-datum, eller text `ÅÅÅÅ-MM-DD` med högst en tid efter (`ÅÅÅÅ-MM-DD 00:00:00`; tiden "
                      "tas bort); annan text efter datumet godtas inte", "`datetime64`"),
    "pnr": ("personnummer", "personnummer, se *Personnummer* nedan", "`string` (pseudonym)"),
    "code": ("kod", "ett värde ur kodlistan eller de uppräknade värdena", "`category`"),
    "bool": ("ja/nej", "`Ja`/`Nej` (även `true`/`false`, `1`/`0`)", "`boolean`"),
}

#: The report's chapters (notebooks ``NN_<kapitel>.ipynb``).
CHAPTERS: dict[str, str] = {
    "inflode": "Inflöde",
    "utfall": "Utfall",
    "placeringar": "Placeringar",
    "ekonomi": "Ekonomi",
    "struktur": "Strukturella faktorer",
}

#: What each code list is (shown above its table).
CODELIST_INFO: dict[str, str] = {
    "orsakskoder": (
        "BBIC-orsakskoder: orsaken till en aktualisering, utredning eller insats. Kolumnen "
        "`kategori` anger vilken av rapportens sju kategorier (eller `ovrigt`) koden räknas till, "
        "`problemomrade` vilket av de sex problemområdena för serviceinsatser (kodlistan "
        "`problemomraden`) och `bistandsgrupp` vilken orsaksgrupp för öppna biståndsinsatser "
        "(kodlistan `bistandsgrupper`); tomt (–) betyder inget område respektive ingen grupp."
    ),
    "kategorier": (
        "Rapportens sju kategorier av orsaker, plus övrigt, i rapportens ordning. `orsak_hos_barnet` "
        "skiljer orsaker i barnets eget beteende eller mående från orsaker i omsorgen och familjen."
    ),
    "stadsdelar": (
        "Stadsdelar (barnets bostadsområde enligt folkbokföringen). `utsatt_omrade` markerar "
        "de områden som rapporten redovisar som utsatta områden."
    ),
    "aktualiseringstyper": "Hur ärendet aktualiserades, och barnets ålderskategori (0–17 eller 18–20 år).",
    "anmalare": "Anmälarens kategori (bara för anmälningar).",
    "beslut": (
        "Vad aktualiseringen ledde till. `avslutas_utan_atgard` markerar beslut där "
        "aktualiseringen avslutas utan utredning."
    ),
    "startgrund": (
        "Hur en utredning inleddes. `typ` motsvarar `typ` i kodlistan `aktualiseringstyper`: en "
        "utredning som hänvisar till en aktualisering ska ha samma typ som den."
    ),
    "utfall": (
        "Beslutet när en utredning avslutas. `insats` markerar utfall där insats beviljas; bara en "
        f"sådan utredning kan leda till en insats med grund bistånd. Utfallet `{ingest.UTFALL_MED_BEDOMNING}` "
        "kräver en bedömning (kodlistan `bedomning`)."
    ),
    "bedomning": (
        f"Socialsekreterarens bedömning när en utredning avslutas med utfallet `{ingest.UTFALL_MED_BEDOMNING}`. "
        "`behov` markerar bedömningar där barnet anses ha behov av insats."
    ),
    "insatstyper": (
        f"Insatsens form. `form` skiljer öppna insatser (`{ingest.FORM_OPPEN}`, utan lagrum) från placeringar "
        f"(`{ingest.FORM_PLACERING}`, heldygnsvård, med lagrum). Kodlistan gäller också kolumnen `Registrerad som`: "
        f"placeringsformen så som placeringen registrerades; före {ingest.STODBOENDE_SEPARAT_FRAN} registrerades "
        f"`{ingest.STODBOENDE}` som `{ingest.STODBOENDE_REGISTRERAD_FORE}`."
    ),
    "avslutsorsaker": (
        "Varför en insats avslutades. `service` och `bistand` anger om orsaken gäller för öppna insatser "
        f"med grund `Service` respektive `Bistånd`, `{ingest.PLACERING_AVSLUT}` om den gäller för placeringar. "
        f"`{ingest.BYTE_AV_PLACERINGSFORM}` betyder att placeringen fortsätter i en annan form med samma "
        "lagrum: nästa placering börjar samma dag eller dagen efter, och placeringen räknas inte som avslutad "
        "vård (ingen `Situation efter`)."
    ),
    "lagrum": (
        "Lagrummet för en placering: frivillig placering enligt socialtjänstlagen (SoL) eller vård enligt "
        "LVU. `grupp` delar lagrummen i `SoL` och `LVU`; `omsorgssvikt` markerar lagrum som grundas på "
        "brister i hemmiljön (2 § LVU) och `eget_beteende` lagrum som grundas på barnets eget beteende "
        "(3 § LVU)."
    ),
    "placeringsanledning": (
        "Anledningen till en placering i genomgången av placeringar den 31 december (extraktet "
        "`placeringar_december`), i rapportens tre grupper (eget beteende, brist i omsorgen, båda) eller "
        "annan anledning, till exempel ensamkommande barn."
    ),
    "situation_efter": (
        "Barnets situation efter en avslutad placering (kolumnen `Situation efter` i `insatser`). Tom för "
        f"öppna insatser, pågående placeringar och placeringar som avslutades med `{ingest.BYTE_AV_PLACERINGSFORM}`."
    ),
    "problemomraden": (
        "De sex problemområden som rapporten redovisar för serviceinsatser (utförarna väljer det mest "
        "framträdande). Kolumnen `problemomrade` i kodlistan `orsakskoder` anger vilket område en "
        "BBIC-kod räknas till; koder utan område räknas inte till något av de sex."
    ),
    "bistandsgrupper": (
        "De orsaksgrupper som rapporten redovisar för öppna biståndsinsatser. Kolumnen "
        "`bistandsgrupp` i kodlistan `orsakskoder` anger vilken grupp en BBIC-kod räknas till; koder "
        "utan grupp räknas som övriga orsaker."
    ),
    "kolada_nyckeltal": (
        "Koladas nyckeltal i jämförelseextraktet `jamforelse` (kolumnen `KPI-id`) och det korta namn "
        "(`namn`) som extraktets kolumn `Nyckeltal` och kapitlet använder. `genomlysning kolada update` "
        "hämtar just dessa; en rad kan rättas eller läggas till utan att koden ändras. Kolumnen "
        "`kommentar` säger vad id:t betyder i Kolada och hur det kontrollerades. Jämförelsegrupperna "
        "(Linköping, R9 och IFO-liknande med reservlista) står i `src/helpers/data/codelists/kolada_grupper.csv`."
    ),
    "kolada_struktur": (
        "Koladas nyckeltal i extraktet `struktur_offentlig` (bladet `Nyckeltal`) och deras korta namn. "
        "`genomlysning struktur update` hämtar just dessa för kommunen och riket; en rad kan rättas eller "
        "läggas till utan att koden ändras. Kolumnen `kommentar` säger vad id:t betyder i Kolada och hur "
        "det kontrollerades."
    ),
}

HEADER_COMMENT = (
    "<!-- Genererad av `python -m helpers.data.contract_doc` från src/helpers/data/contract.py, "
    "src/helpers/data/ingest.py och src/helpers/data/codelists/. Redigera inte för hand: ändra "
    "kontraktet och kör kommandot igen. -->"
)


# --------------------------------------------------------------------------------------------
# Markdown helpers
# --------------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "ja" if value else "nej"
    text = str(value).replace("|", "\\|").replace("\n", " ").strip()
    return text or "–"


def _table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _codes(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _item(number: int, text: str) -> str:
    """A numbered list item wrapped like the hand-written ones (about 100 characters a line)."""
    return textwrap.fill(f"{number}. {text}", width=100, subsequent_indent=" " * (len(str(number)) + 2))


def _num(x: float) -> str:
    return f"{x:g}"


def _filename(extract: Extract) -> str:
    return f"{extract.name}_ÅÅÅÅ.xlsx" if extract.yearly else extract.filename()


def _chapters(extract: Extract) -> str:
    return ", ".join(CHAPTERS.get(c, c.capitalize()) for c in extract.chapters)


def _rules(col: Column, extract: Extract) -> str:
    rules: list[str] = []
    if isinstance(col.codes, str):
        rules.append(f"kodlista `{col.codes}`")
    elif col.codes is not None:
        rules.append(_codes(col.codes))
    if col.kind == "pnr":
        rules.append("giltigt personnummer")
        if col.header in extract.pseudonymise:
            rules.append("pseudonymiseras")
    if col.unique:
        snapshot = any(s.table in ingest.SNAPSHOT_TABLES for s in extract.sheets)
        rules.append("unikt i alla årsfiler" if extract.yearly and not snapshot else "unikt i filen")
    if col.in_year:
        rules.append("inom extraktets år")
    if col.min is not None and col.max is not None:
        rules.append(f"{_num(col.min)}–{_num(col.max)}")
    elif col.min is not None:
        rules.append(f"≥ {_num(col.min)}")
    elif col.max is not None:
        rules.append(f"≤ {_num(col.max)}")
    return "; ".join(rules)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _intro() -> str:
    required = [e for e in EXTRACTS if e.needed_by_demo]
    example = next(e for e in EXTRACTS if e.yearly)
    fixed = [e for e in EXTRACTS if not e.yearly]
    return f"""# Rådata: datakontraktet

{HEADER_COMMENT}

Den här mappen tar emot **extrakten ur verksamhetssystemet Treserva** (och några kompletterande
uttag) som rapporten *Genomlysning Barn och unga* bygger på. Inläsningen (`make data` eller
`python -m helpers.data.ingest`) kontrollerar varje fil mot datakontraktet nedan, ersätter
personnummer med pseudonymer och skriver prydliga, typade tabeller till `data/processed/`.
Kapitlen läser bara `data/processed/`, aldrig rådata.

Dokumentet är genererat ur kontraktet (`src/helpers/data/contract.py`), inläsningens regler
(`src/helpers/data/ingest.py`) och kodlistorna (`src/helpers/data/codelists/*.csv`) och kan därför
inte glida isär från det som faktiskt kontrolleras. Hur kontrollerna är byggda, och varför, står i
`docs/inlasning.md`.

## Sekretess

**Verkliga uppgifter hamnar aldrig i git.** Allt i `data/raw/` utom den här filen ignoreras av
git (`.gitignore`), liksom `data/processed/`. Med verkliga data: lägg extrakten här eller på en
skyddad lagringsplats som `GENOMLYSNING_DATA_DIR` pekar på. Projektet levererar bara **syntetiska
demodata** (skrivs av `helpers.data.synth`, se `docs/kalibrering.md`) med påhittade personnummer i
Skatteverkets intervall för testpersonnummer.

## Filer

- En Excel-arbetsbok (`.xlsx`) per extrakt och år, med namnet `<extrakt>_<år>.xlsx`, till exempel
  `{example.filename(2020)}`. Extrakt som inte är årsvisa har inget år i namnet
  ({_codes([e.filename() for e in fixed])}). Årtalet i filnamnet är extraktets år.
- Varje tabell ligger i ett eget blad med det namn som anges nedan. Bladets första rad är
  rubrikraden, med rubrikerna exakt som i kontraktet (ordningen spelar ingen roll; extra kolumner
  ignoreras). Därefter en rad per post.
- Extrakt som måste finnas (för minst ett år):
  {_codes([_filename(e) for e in required])}. Övriga extrakt läses om de finns.
- Dolda filer, Excels låsfiler (`~$…`) och anteckningar (`.md`, `.txt`) ignoreras. Alla andra
  filer måste motsvara ett extrakt i kontraktet.
- I `data/processed/` blir varje blad en parquet-tabell. Tabeller från årsvisa extrakt får
  kolumnen `ar` (året från filnamnet) först, om bladet inte redan har en kolumn `ar`, och
  innehåller alla år.

## Kontroller vid inläsning

Inläsningen kontrollerar följande innan något skrivs:

1. Varje filnamn motsvarar ett extrakt; årsvisa extrakt har år i namnet, övriga inte.
2. De obligatoriska extrakten finns.
3. Filen är en läsbar Excel-arbetsbok (`.xlsx`). En lösenordsskyddad arbetsbok, en arbetsbok i det
   gamla formatet `.xls`, en CSV- eller HTML-fil med filändelsen `.xlsx` och en skadad fil (till
   exempel en avbruten kopiering) stoppas med ett meddelande som säger vad filen är och hur den
   rättas: spara utan lösenord, spara som Excel-arbetsbok (`.xlsx`) eller exportera filen igen.
4. Varje obligatoriskt blad finns, har en rubrikrad med alla kontraktets rubriker och minst en
   datarad.
5. Kontraktets kolumner innehåller bara värden: ingen formel, inga sammanfogade celler och inga
   felvärden (`#N/A`, `#REF!`). Extrakten ur verksamhetssystemen har aldrig formler; en formel
   betyder att filen har redigerats för hand, och det som läses är det värde Excel senast räknade
   fram (tomt om filen sparades av ett annat program). Av sammanfogade celler har bara den första
   ett värde, de andra läses som tomma, liksom felvärden. Felet anger cellen och formeln (till
   exempel `C5` och `=A5*2`), felvärdet eller det sammanfogade området (till exempel `B4:B6`), och
   bladet läses inte vidare. Rätta genom att kopiera cellerna och klistra in
   dem som värden (Klistra in special → Värden) och dela upp sammanfogningen. Regeln gäller alla
   extrakt, även de offentliga som projektets egna kommandon skriver (de skrivs utan formler och
   sammanfogningar). Kolumner utanför kontraktet ignoreras, även deras formler.
6. Varje värde har rätt typ (se *Typer*) och obligatoriska kolumner har inga tomma celler.
7. Koder finns i kodlistan eller bland de uppräknade värdena (stora och små bokstäver skiljs åt).
8. Tal ligger inom angivna gränser; datum markerade *inom extraktets år* ligger i filnamnets år.
   Inget datum ligger efter inläsningsdagen (ett datum i framtiden är ett skrivfel).
9. Kolumner markerade *unikt i filen* har inga dubbletter; kolumner markerade *unikt i alla
   årsfiler* har inga dubbletter i extraktets årsfiler tillsammans.
10. Personnummer är giltiga (se *Personnummer*).
11. Regler mellan kolumner håller (anges under respektive blad).
{_item(12, "Regler mellan filer håller (anges under respektive blad): hänvisningar mellan extrakten "
          "(`Aktualiserings-ID`, `Utrednings-ID`, `Insats-ID`) pekar på en post som finns och passar, och id "
          "markerade *unikt i alla årsfiler* har inga dubbletter i extraktets årsfiler tillsammans. " + ingest.CROSS_FILE_SCOPE)}

Vid fel stoppas inläsningen med ett meddelande som för varje fel anger fil, blad, rad (som i
Excel: rubrikraden är rad 1), kolumn och den regel som bryts. Alla fel samlas och redovisas på en
gång (de första {ingest.MAX_REPORTED} visas). Kommandot avslutas med felkod
{ingest.EXIT_BAD_INPUT} och `data/processed/` lämnas helt orörd.

Först när alla filer har godkänts skrivs tabellerna till en tillfällig mapp som sedan byts in i
ett steg, tillsammans med `manifest.json`: SHA-256 för varje indatafil, antal rader per tabell,
kodversion (paketversion och git-commit) och vilken pseudonymiseringsnyckel som användes.

## Personnummer

Personnummer skrivs med 12 eller 10 siffror, med eller utan bindestreck (`ÅÅÅÅMMDD-NNNK`,
`ÅÅMMDD-NNNK`; i tiosiffrig form betyder `+` att personen fyller 100 år under året eller är
äldre). Födelsedatumet ska finnas (för samordningsnummer är dagen ökad med 60), födelsenumret
får inte vara `000` och kontrollsiffran ska stämma (Luhn-algoritmen).

## Pseudonymisering

Personnummer lämnar aldrig inläsningen. De ersätts med en nycklad **HMAC-SHA256** av
personnumret i tolvsiffrig form (de första 20 hexadecimala tecknen). Samma barn får samma pseudonym
i alla extrakt och år, oavsett skrivsätt, så länge nyckeln är densamma. Utan nyckeln går det inte
att räkna tillbaka till personnumret, och inte heller att pröva sig fram genom att hasha alla
tänkbara personnummer.

Ärendesystemets egna id (Aktualiserings-ID, Utrednings-ID och Insats-ID) pseudonymiseras på samma
sätt, efter kontrollerna (felmeddelanden visar id som det står i filen). Samma id får samma
pseudonym i alla extrakt, så länkarna mellan extrakten håller.

Nyckeln läses från miljövariabeln `{PSEUDONYM_KEY_ENV}`. Förvara den utanför repot och
använd samma nyckel varje år. Den ska ha minst {ingest.MIN_KEY_LENGTH} tecken (minst {ingest.MIN_KEY_DISTINCT} olika).
Saknas variabeln används en publicerad **demonyckel**, men bara för syntetiska demodata: för
verkliga uttag vägrar inläsningen demonyckeln och svaga nycklar, och skriver inget.
`manifest.json` anger om nyckeln kom från miljön (`env`) eller var demonyckeln (`demo`) och har
nyckelns fingeravtryck (inte nyckeln); byts nyckeln läses allt in igen.

## Typer

{_table(["Typ", "Godtas i arbetsboken", "Typ i data/processed"], [[name, accepted, processed] for name, accepted, processed in KINDS.values()])}
"""


def _overview() -> str:
    rows = []
    for e in EXTRACTS:
        sheets = ", ".join(f"`{s.name}` → `{s.table}`" for s in e.sheets)
        rows.append([f"`{e.name}`", f"`{_filename(e)}`", "ja" if e.needed_by_demo else "nej", sheets, _chapters(e)])
    return "## Översikt\n\n" + _table(["Extrakt", "Fil", "Obligatoriskt", "Blad → tabell", "Kapitel"], rows) + "\n"


def _cases() -> str:
    """How utredningar and insatser are cut (contract.CASE_EXTRACT_RULE) and linked."""
    names = [e for e in EXTRACTS if e.sheets[0].table in ingest.CASE_TABLES]
    return f"""## Ärendeextrakten: {" och ".join(f"`{e.name}`" for e in names)}

{CASE_EXTRACT_RULE}

Ett ärende hör alltså till det år då det inleddes (`Startdatum`), inte till de år då det pågick
eller avslutades: `Slutdatum` kan ligga efter extraktets år, om ärendet hade avslutats när uttaget
gjordes. Bara det första årets fil (det tidigaste år av extraktet som finns i `data/raw/`) får ha
ärenden med `Startdatum` före året, och de ska ha pågått den 1 januari det året (`Slutdatum` tomt
eller tidigast den 1 januari). Lägger man till ett tidigare år flyttar alltså gränsen.

Ärendena hänger ihop genom id: en utredning hänvisar till aktualiseringen som ledde till den
(`Aktualiserings-ID`), en insats med grund bistånd till utredningen som beviljade den
(`Utrednings-ID`) och en insats med grund service till aktualiseringen som hänvisade till den
(`Aktualiserings-ID`). Hänvisningen är tom när posten den skulle peka på ligger före det första
året i extrakten. En placering som avslutas med `{ingest.BYTE_AV_PLACERINGSFORM}` följs av nästa
placering av samma barn med samma lagrum, och varje rad i genomgången av placeringar den 31 december
(`placeringar_december`) hänvisar till sin placering i `insatser` (`Insats-ID`). Inläsningen
kontrollerar hänvisningarna (se *Regler mellan filer* under respektive blad).
"""


def _sheet(sheet: Sheet, extract: Extract) -> str:
    rows = [
        [f"`{c.header}`", f"`{c.name}`", KINDS[c.kind][0], c.required, _rules(c, extract), c.description]
        for c in sheet.columns
    ]
    status = "Obligatoriskt blad." if sheet.required else "Valfritt blad (läses om det finns)."
    parts = [
        f"### Blad `{sheet.name}` → `{sheet.table}.parquet`",
        f"{sheet.description} {status}",
        _table(["Rubrik", "Kolumn i data/processed", "Typ", "Obligatorisk", "Kodlista/regler", "Beskrivning"], rows),
    ]
    cross = ingest.CROSS_COLUMN_RULES.get(sheet.table)
    if cross:
        parts.append("Regler mellan kolumner:\n\n" + "\n".join(f"- {rule}" for rule in cross))
    across = ingest.CROSS_FILE_RULES.get(sheet.table)
    if across:
        parts.append("Regler mellan filer:\n\n" + "\n".join(f"- {rule}" for rule in across))
    return "\n\n".join(parts) + "\n"


def _extract(extract: Extract) -> str:
    facts = [
        f"- Fil: `{_filename(extract)}`" + (" (en per år)" if extract.yearly else ""),
        "- Obligatoriskt: " + ("ja" if extract.needed_by_demo else "nej (läses om filen finns)"),
        f"- Används i kapitel: {_chapters(extract)}",
    ]
    if extract.pseudonymise:
        names = {c.header: c.name for s in extract.sheets for c in s.columns}
        facts.append("- Pseudonymiseras: " + ", ".join(f"`{h}` → `{names[h]}`" for h in extract.pseudonymise))
    parts = [f"## Extrakt `{extract.name}`", extract.description, "\n".join(facts)]
    parts += [_sheet(s, extract).rstrip("\n") for s in extract.sheets]
    return "\n\n".join(parts) + "\n"


def _codelist_table(df: pd.DataFrame) -> str:
    """All columns; the first (the value written in the workbook) as code."""
    rows = [[f"`{row[0]}`", *row[1:]] for row in df.astype(object).values.tolist()]
    return _table([f"`{c}`" for c in df.columns], rows)


def _codelists() -> str:
    parts = [
        "## Kodlistor",
        "Kodlistorna ligger i `src/helpers/codelists/` (CSV). Värdet i arbetsboken är kodlistans "
        "första kolumn; kapitlen hämtar etiketter och grupperingar härifrån.",
    ]
    orsak = codes.load("orsakskoder")
    etikett = codes.kategori_etikett()
    omrade = codes.problemomrade_etikett()
    grupp = codes.etiketter("bistandsgrupper")

    def labelled(labels: dict[str, str], code: str) -> str:
        return f"{labels[code]} (`{code}`)" if code else "–"

    #: Code lists that group the BBIC codes: the list's code column and the column of orsakskoder.
    groupings = {"kategorier": "kategori", "problemomraden": "problemomrade", "bistandsgrupper": "bistandsgrupp"}
    without = {"problemomrade": "Utan problemområde", "bistandsgrupp": "Övriga orsaker, utan biståndsgrupp"}
    for name in codes.CODELISTS:
        df = codes.load(name)
        parts.append(f"### `{name}`")
        parts.append(CODELIST_INFO.get(name, ""))
        if name == "orsakskoder":
            rows = [
                [f"`{r.kod}`", r.orsak, r.orsak_hos, labelled(etikett, r.kategori), labelled(omrade, r.problemomrade),
                 labelled(grupp, r.bistandsgrupp)]
                for r in orsak.itertuples()
            ]
            parts.append(_table([f"`{c}`" for c in orsak.columns], rows))
        elif name in groupings:
            key = groupings[name]
            df = df.sort_values("ordning", key=lambda s: s.astype(int)) if "ordning" in df.columns else df
            rows = [[f"`{row[key]}`", *(row[c] for c in df.columns if c != key),
                     _codes(orsak.loc[orsak[key] == row[key], "kod"].tolist())]
                    for row in df.to_dict("records")]
            parts.append(_table([f"`{key}`", *(f"`{c}`" for c in df.columns if c != key), "BBIC-orsakskoder"], rows))
            ungrouped = orsak.loc[orsak[key] == "", "kod"].tolist()
            if ungrouped:
                parts.append(f"{without.get(key, 'Utan grupp')} (kolumnen `{key}` tom i `orsakskoder`): {_codes(ungrouped)}.")
        else:
            parts.append(_codelist_table(df))
    return "\n\n".join(p for p in parts if p) + "\n"


def render_markdown() -> str:
    """The whole document, deterministic (no dates, no paths outside the repository)."""
    sections = [_intro().rstrip("\n"), _overview().rstrip("\n"), _cases().rstrip("\n")]
    sections += [_extract(e).rstrip("\n") for e in EXTRACTS]
    sections.append(_codelists().rstrip("\n"))
    return "\n\n".join(sections) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.data.contract_doc", description="Skriv data/raw/README.md ur datakontraktet.")
    parser.add_argument("--output", type=Path, default=README, help=f"målfil (standard: {README})")
    parser.add_argument("--check", action="store_true", help="skriv inget; felkod 1 om filen inte är aktuell")
    args = parser.parse_args(argv)
    text = render_markdown()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
        if current != text:
            print(f"{args.output} är inte aktuell: kör `python -m helpers.data.contract_doc`.", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8", newline="\n")
    print(f"Skrev {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

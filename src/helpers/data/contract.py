"""The raw-data contract: every extract, sheet, column, type and code list.

Extracts are Excel workbooks shaped like exports from the case system Treserva, one workbook per
extract and year (``<extract>_<year>.xlsx``). The contract is read by ingest (validation), by the
synthetic generator (what to write) and by ``data/raw/README.md`` (generated documentation).
Headers are Swedish, as in the source system; processed columns are snake_case.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    header: str  # as in the workbook
    name: str  # in data/processed
    kind: str  # "str" | "int" | "float" | "date" | "pnr" | "code" | "bool"
    description: str
    required: bool = True  # a value must be present in every row
    codes: str | tuple[str, ...] | None = None  # code-list name (helpers.data.codes) or literal values
    unique: bool = False
    in_year: bool = False  # a date that must lie in the extract's year
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Sheet:
    name: str
    description: str
    columns: tuple[Column, ...]
    table: str  # processed table name (parquet file stem)
    required: bool = True


@dataclass(frozen=True)
class Extract:
    name: str
    description: str
    sheets: tuple[Sheet, ...]
    chapters: tuple[str, ...]
    yearly: bool = True
    needed_by_demo: bool = False  # written by the synthetic generator and required by ingest
    pseudonymise: tuple[str, ...] = field(default=())  # pnr columns replaced by pseudonyms
    # The case system's ids (they identify the case), replaced by keyed pseudonyms once every rule
    # is checked; the same id gets the same pseudonym in every extract, so the links still join.
    pseudonymise_ids: tuple[str, ...] = field(default=())
    # Public data (official statistics anyone can fetch, e.g. Kolada): they do not decide whether
    # the report shows synthetic data, and a real copy is kept when the demo data are rewritten.
    public: bool = False

    def filename(self, year: int | None = None) -> str:
        return f"{self.name}_{year}.xlsx" if self.yearly else f"{self.name}.xlsx"


KON = ("Flicka", "Pojke")

#: The first year in which stödboende was registered as a placement form of its own; before it,
#: placements in stödboende were registered as HVB (the 2021 report, p. 12). The column
#: ``Registrerad som`` says which practice a placement was registered under.
STODBOENDE_SEPARAT_FRAN = 2021

AKTUALISERINGAR = Extract(
    name="aktualiseringar",
    description="En rad per inkommen aktualisering (anmälan, ansökan eller på annat sätt) under året.",
    chapters=("inflode", "utfall"),
    needed_by_demo=True,
    pseudonymise=("Personnummer",),
    pseudonymise_ids=("Aktualiserings-ID",),
    sheets=(
        Sheet(
            name="Aktualiseringar",
            table="aktualiseringar",
            description="Aktualiseringar barn och unga 0–20 år.",
            columns=(
                Column("Aktualiserings-ID", "aktualisering_id", "str", "Ärendesystemets id för aktualiseringen.", unique=True),
                Column("Personnummer", "person_id", "pnr", "Barnets personnummer ÅÅÅÅMMDD-NNNN; ersätts med pseudonym vid inläsning."),
                Column("Inkom datum", "inkom_datum", "date", "Datum då uppgiften kom in.", in_year=True),
                Column("Aktualiseringstyp", "aktualiseringstyp", "code", "Typ och ålderskategori, t.ex. 'Anmälan 0-17'.", codes="aktualiseringstyper"),
                Column("Kön", "kon", "code", "Barnets kön enligt personnumret.", codes=KON),
                Column("Ålder", "alder", "int", "Barnets ålder i hela år vid aktualiseringen.", min=0, max=20),
                Column("Orsakskod", "orsakskod", "code", "BBIC-orsakskod (se kodlistan orsakskoder).", codes="orsakskoder"),
                Column("Anmälare", "anmalare", "code", "Anmälarkategori; tom för ansökan och annat sätt.", codes="anmalare", required=False),
                Column("Stadsdel", "stadsdel", "code", "Barnets bostadsområde (folkbokföring).", codes="stadsdelar"),
                Column("Beslut", "beslut", "code", "Vad aktualiseringen ledde till.", codes="beslut"),
            ),
        ),
    ),
)

#: How the yearly case extracts (utredningar, insatser) are cut: one row per case *started* in the
#: extract's year, with its end if it had ended when the extract was taken (blank if ongoing). The
#: first year's extract also holds the cases begun earlier that were still ongoing on 1 January of
#: that year, so that the first year's endings are complete. A case is in exactly one extract.
CASE_EXTRACT_RULE = (
    "En rad per ärende som inleddes under extraktets år, med slutdatum om det hade avslutats när "
    "uttaget gjordes (tomt om det pågick). Det första årets extrakt innehåller också ärenden som "
    "inleddes tidigare och pågick den 1 januari det året. Ett ärende finns i exakt ett extrakt."
)

UTREDNINGAR = Extract(
    name="utredningar",
    description="Utredningar enligt 11 kap. 1 § SoL om barn och unga 0–20 år. " + CASE_EXTRACT_RULE,
    chapters=("utfall",),
    needed_by_demo=True,
    pseudonymise=("Personnummer",),
    pseudonymise_ids=("Utrednings-ID", "Aktualiserings-ID"),
    sheets=(
        Sheet(
            name="Utredningar",
            table="utredningar",
            description="Utredningar barn och unga 0–20 år.",
            columns=(
                Column("Utrednings-ID", "utredning_id", "str", "Ärendesystemets id för utredningen.", unique=True),
                Column("Aktualiserings-ID", "aktualisering_id", "str", "Aktualiseringen som ledde till utredningen "
                       "(tom om den kom in före det första året i aktualiseringsextrakten).", required=False),
                Column("Personnummer", "person_id", "pnr", "Barnets personnummer; ersätts med pseudonym vid inläsning."),
                Column("Kön", "kon", "code", "Barnets kön enligt personnumret.", codes=KON),
                Column("Ålder", "alder", "int", "Barnets ålder i hela år när utredningen inleddes.", min=0, max=20),
                Column("Stadsdel", "stadsdel", "code", "Barnets bostadsområde (folkbokföring) när utredningen inleddes.", codes="stadsdelar"),
                Column("Startgrund", "startgrund", "code", "Hur utredningen inleddes: efter anmälan, ansökan eller på annat sätt.", codes="startgrund"),
                Column("Startdatum", "start_datum", "date", "Datum då utredningen inleddes."),
                Column("Slutdatum", "slut_datum", "date", "Datum då utredningen avslutades; tom om den pågick vid uttaget.", required=False),
                Column("Orsakskod", "orsakskod", "code", "BBIC-orsakskod (huvudorsak).", codes="orsakskoder"),
                Column("Utfall", "utfall", "code", "Beslut när utredningen avslutades; tom om den pågår.", codes="utfall", required=False),
                Column("Bedömning", "bedomning", "code", "Socialsekreterarens bedömning när utredningen avslutas utan insats; "
                       "annars tom.", codes="bedomning", required=False),
            ),
        ),
    ),
)

INSATSER = Extract(
    name="insatser",
    description="Insatser (service och bistånd) för barn och unga 0–20 år. " + CASE_EXTRACT_RULE,
    chapters=("utfall", "placeringar"),
    needed_by_demo=True,
    pseudonymise=("Personnummer",),
    pseudonymise_ids=("Insats-ID", "Utrednings-ID", "Aktualiserings-ID"),
    sheets=(
        Sheet(
            name="Insatser",
            table="insatser",
            description="Insatser barn och unga 0–20 år.",
            columns=(
                Column("Insats-ID", "insats_id", "str", "Ärendesystemets id för insatsen.", unique=True),
                Column("Utrednings-ID", "utredning_id", "str", "Utredningen som ledde till insatsen (bistånd); "
                       "tom för service och för insatser beviljade före det första extraktåret.", required=False),
                Column("Aktualiserings-ID", "aktualisering_id", "str", "Aktualiseringen som hänvisade till insatsen "
                       "(service efter hänvisning); annars tom.", required=False),
                Column("Personnummer", "person_id", "pnr", "Barnets personnummer; ersätts med pseudonym vid inläsning."),
                Column("Kön", "kon", "code", "Barnets kön enligt personnumret.", codes=KON),
                Column("Ålder", "alder", "int", "Barnets ålder i hela år när insatsen började.", min=0, max=20),
                Column("Stadsdel", "stadsdel", "code", "Barnets bostadsområde (folkbokföring) när insatsen började.", codes="stadsdelar"),
                Column("Insatstyp", "insatstyp", "code", "Form av insats (se kodlistan insatstyper).", codes="insatstyper"),
                Column("Grund", "grund", "code", "Service (utan biståndsbeslut) eller bistånd (efter utredning och beslut).", codes=("Service", "Bistånd")),
                Column("Registrerad som", "registrerad_som", "code", "Placeringsformen så som placeringen registrerades i "
                       "ärendesystemet (registreringspraxis, se kodlistan insatstyper); tom för öppna insatser. Före "
                       f"{STODBOENDE_SEPARAT_FRAN} registrerades stödboende som HVB.", codes="insatstyper", required=False),
                Column("Lagrum", "lagrum", "code", "Lagrum för placeringar (kodlistan lagrum); tom för öppna insatser.",
                       codes="lagrum", required=False),
                Column("Orsakskod", "orsakskod", "code", "BBIC-orsakskod: det mest framträdande problemet för insatsen.", codes="orsakskoder"),
                Column("Startdatum", "start_datum", "date", "Insatsens första dag."),
                Column("Slutdatum", "slut_datum", "date", "Insatsens sista dag; tom om den pågick vid uttaget.", required=False),
                Column("Avslutsorsak", "avslutsorsak", "code", "Varför insatsen avslutades (kodlistan avslutsorsaker anger vilka "
                       "som gäller för service och för bistånd); tom om den pågår.", codes="avslutsorsaker", required=False),
                Column("Situation efter", "situation_efter", "code", "Barnets situation efter en avslutad placering "
                       "(kodlistan situation_efter); tom för öppna insatser, pågående placeringar och byte av placeringsform.",
                       required=False, codes="situation_efter"),
                Column("Ensamkommande", "ensamkommande", "bool", "Ensamkommande barn (placeringar; tom för öppna insatser).",
                       required=False),
            ),
        ),
    ),
)

PLACERINGAR_DEC = Extract(
    name="placeringar_december",
    description=("Genomgång av placeringar på HVB och stödboende som pågick den 31 december (som rapportens "
                 "genomgång i december 2020): en rad per placering, med uppgifter ur utredningen och skolans "
                 "konsultationsdokument. Placeringen finns i insatser med samma Insats-ID."),
    chapters=("placeringar",),
    pseudonymise=("Personnummer",),
    pseudonymise_ids=("Insats-ID",),
    sheets=(
        Sheet(
            name="Placeringar",
            table="placeringar_december",
            description="Pågående placeringar på HVB och stödboende den 31 december.",
            columns=(
                Column("Insats-ID", "insats_id", "str", "Placeringen i insatser (samma år eller tidigare).", unique=True),
                Column("Personnummer", "person_id", "pnr", "Barnets personnummer; ersätts med pseudonym vid inläsning.", unique=True),
                Column("Kön", "kon", "code", "Barnets kön enligt personnumret.", codes=KON),
                Column("Ålder", "alder", "int", "Barnets ålder i hela år den 31 december.", min=0, max=20),
                Column("Stadsdel", "stadsdel", "code", "Barnets bostadsområde före placeringen.", codes="stadsdelar"),
                Column("Placeringsform", "placeringsform", "code", "Placeringsformen (HVB eller stödboende).",
                       codes=("HVB", "Stödboende")),
                Column("Registrerad som", "registrerad_som", "code", "Placeringsformen så som den registrerades i "
                       f"ärendesystemet; före {STODBOENDE_SEPARAT_FRAN} registrerades stödboende som HVB.", codes=("HVB", "Stödboende")),
                Column("Lagrum", "lagrum", "code", "Lagrum (kodlistan lagrum).", codes="lagrum"),
                Column("Anledning", "anledning", "code", "Anledning till placeringen i rapportens tre grupper, eller annan "
                       "anledning (kodlistan placeringsanledning).", codes="placeringsanledning"),
                Column("Skolsituation tillgodosedd", "skola_tillgodosedd", "bool", "Skolsituationen före placeringen var "
                       "tillgodosedd enligt skolans konsultationsdokument (närvaro, godkända betyg eller tillräckligt "
                       "underlag); tom om dokumentet saknas.", required=False),
                Column("Tidigare öppenvård", "tidigare_oppenvard", "bool", "Barnet hade en öppen insats (kodlistan "
                       "insatstyper, form öppen) som började före placeringen."),
                Column("Ensamkommande", "ensamkommande", "bool", "Ensamkommande barn."),
            ),
        ),
    ),
)

KOSTNADER = Extract(
    name="kostnader",
    description=("Ekonomisystemets kostnader och vårddygn per månad för barn och unga 0–20 år, efter "
                 "placeringsform och avtalstyp, och årets budget för heldygnsvård."),
    chapters=("ekonomi",),
    needed_by_demo=True,
    sheets=(
        Sheet(
            name="Kostnader",
            table="kostnader",
            description="Kostnad (kr) och vårddygn per månad, placeringsform och avtalstyp.",
            columns=(
                Column("Månad", "manad", "date", "Första dagen i månaden.", in_year=True),
                Column("Placeringsform", "placeringsform", "code", "Placeringsform (familjehem inklusive "
                       "jourhem) eller öppenvård.", codes=("Familjehem", "HVB", "SIS", "Stödboende", "Öppenvård")),
                Column("Avtalstyp", "avtalstyp", "code", "Generellt avtal (ramavtal), särskilt avtal (enskild "
                       "upphandling) eller egen regi.", codes=("Generellt avtal", "Särskilt avtal", "Egen regi")),
                Column("Kostnad kr", "kostnad_kr", "float", "Bruttokostnad i kronor, löpande priser.", min=0),
                Column("Vårddygn", "varddygn", "int", "Antal vårddygn; tomt för öppenvård.", min=0, required=False),
            ),
        ),
        Sheet(
            name="Budget",
            table="budget",
            description="Budget för heldygnsvård barn och unga (kr), med tillskott under året på egen rad.",
            columns=(
                Column("År", "ar", "int", "Budgetår (samma som filens år).", min=2000, max=2100),
                Column("Budgetpost", "budgetpost", "code", "Årets budget eller ett tillskott under året.",
                       codes=("Budget", "Tillskott")),
                Column("Budget kr", "budget_kr", "float", "Belopp i kronor.", min=0),
            ),
        ),
    ),
)

JAMFORELSE = Extract(
    name="jamforelse",
    description=("Offentliga jämförelsedata ur Kolada (RKA): nyckeltal per kommun och år för Linköping, de nio "
                 "R9-kommunerna och Koladas grupp \"Liknande kommuner IFO\" för Linköping. Skrivs av "
                 "`genomlysning kolada update` (nyckeltalen i kodlistan `kolada_nyckeltal`, grupperna i "
                 "`src/helpers/data/codelists/kolada_grupper.csv`); demodata har en syntetisk ögonblicksbild i "
                 "samma form. En rad per kommun, grupp, nyckeltal och år; gruppmedelvärden räknas i projektet "
                 "ur raderna."),
    chapters=("ekonomi",),
    yearly=False,
    public=True,
    sheets=(
        Sheet(
            name="Nyckeltal",
            table="jamforelse",
            description="Koladas värde (totalt för båda könen) per kommun, jämförelsegrupp, nyckeltal och år.",
            columns=(
                Column("Kommun-id", "kommun_id", "str", "Kommunkod med fyra siffror, som i Kolada och hos SCB "
                       "(t.ex. 0580 för Linköping); skriv den som text så att den inledande nollan finns kvar."),
                Column("Kommun", "kommun", "str", "Kommunens namn."),
                Column("Grupp", "grupp", "code", "Jämförelsegrupp: Linköping själv, R9 (där Linköping är medlem) "
                       "eller IFO-liknande (Koladas liknande kommuner för individ- och familjeomsorg).",
                       codes=("Linköping", "R9", "IFO-liknande")),
                Column("KPI-id", "kpi_id", "code", "Koladas id för nyckeltalet (kodlistan kolada_nyckeltal).",
                       codes="kolada_nyckeltal"),
                Column("Nyckeltal", "nyckeltal", "str", "Nyckeltalets korta namn i rapporten (kolumnen namn i "
                       "kodlistan kolada_nyckeltal)."),
                Column("År", "ar", "int", "År som värdet avser.", min=2000, max=2100),
                Column("Värde", "varde", "float", "Koladas värde i nyckeltalets enhet (kr/inv, antal/1000 inv "
                       "0–20 år eller vårddygn per invånare 0–20 år).", min=0),
            ),
        ),
    ),
)

STRUKTUR = Extract(
    name="struktur",
    description=("Kommunens egna strukturdata per stadsdel: befolkning, befolkningsprognos, arbetslöshet, "
                 "långvarigt ekonomiskt bistånd och skolresultat, och serien om psykisk ohälsa bland unga."),
    chapters=("inflode", "struktur"),
    needed_by_demo=True,
    sheets=(
        Sheet(
            name="Befolkning",
            table="befolkning",
            description="Folkmängd 31 december per stadsdel och åldersgrupp.",
            columns=(
                Column("Stadsdel", "stadsdel", "code", "Stadsdel.", codes="stadsdelar"),
                Column("Åldersgrupp", "aldersgrupp", "code", "Åldersgrupp.", codes=("0-5", "6-12", "13-17", "18-20")),
                Column("Antal", "antal", "int", "Folkmängd.", min=0),
            ),
        ),
        Sheet(
            name="Prognos",
            table="befolkningsprognos",
            description=("Kommunens befolkningsprognos 0–18 år per stadsdel, gjord det år filen avser: en rad per "
                         "stadsdel och prognosår, från filens år (utgångsläget) och framåt."),
            required=False,
            columns=(
                Column("Stadsdel", "stadsdel", "code", "Stadsdel.", codes="stadsdelar"),
                Column("Prognosår", "prognosar", "int", "År som prognosen avser (filens år eller senare).",
                       min=2000, max=2100),
                Column("Antal 0-18", "antal_0_18", "int", "Prognostiserad folkmängd 0–18 år 31 december.", min=0),
            ),
        ),
        Sheet(
            name="Arbetslöshet",
            table="arbetsloshet",
            description=("Öppet arbetslösa och personer i program med aktivitetsstöd 18–64 år per stadsdel "
                         "(Arbetsförmedlingen, årsmedeltal), med befolkningen 18–64 år som nämnare."),
            required=False,
            columns=(
                Column("Stadsdel", "stadsdel", "code", "Stadsdel (en rad per stadsdel).", codes="stadsdelar"),
                Column("Invånare 18-64", "invanare_18_64", "int", "Folkmängd 18–64 år.", min=1),
                Column("Arbetslösa 18-64", "arbetslosa_18_64", "int", "Öppet arbetslösa och i program med "
                       "aktivitetsstöd 18–64 år, årsmedeltal avrundat till heltal.", min=0),
            ),
        ),
        Sheet(
            name="Ekonomiskt bistånd",
            table="ekonomiskt_bistand",
            description=("Hushåll med långvarigt ekonomiskt bistånd (minst tio månader under året) per stadsdel, "
                         "och hur många av dem som är barnfamiljer."),
            required=False,
            columns=(
                Column("Stadsdel", "stadsdel", "code", "Stadsdel (en rad per stadsdel).", codes="stadsdelar"),
                Column("Hushåll", "hushall", "int", "Alla hushåll i stadsdelen 31 december.", min=1),
                Column("Hushåll med långvarigt bistånd", "hushall_langvarigt", "int",
                       "Hushåll med ekonomiskt bistånd minst tio av årets tolv månader.", min=0),
                Column("Varav barnfamiljer", "varav_barnfamiljer", "int",
                       "Av dem: hushåll med barn under 18 år.", min=0),
            ),
        ),
        Sheet(
            name="Skolresultat",
            table="skolresultat",
            description=("Elever i årskurs 9 som uppnått kunskapskraven i alla ämnen, per skola och kön, för "
                         "läsåret som slutar i filens år (filen 2019 har läsåret 2018/19). Stadsdel är där "
                         "skolan ligger, inte där eleven bor."),
            required=False,
            columns=(
                Column("Skola", "skola", "str", "Skolans namn."),
                Column("Stadsdel", "stadsdel", "code", "Stadsdel där skolan ligger.", codes="stadsdelar"),
                Column("Kön", "kon", "code", "Elevernas kön.", codes=KON),
                Column("Elever åk 9", "elever", "int", "Elever i årskurs 9 vid läsårets slut.", min=0),
                Column("Uppnått alla ämnen", "uppnatt", "int",
                       "Av dem: elever som uppnått kunskapskraven i alla ämnen.", min=0),
            ),
        ),
        Sheet(
            name="Psykisk ohälsa",
            table="psykisk_ohalsa",
            description=("Barn och unga 0–17 år i psykiatrisk tvångsvård och med besök i barn- och "
                         "ungdomspsykiatrin, i kommunen och länet (Socialstyrelsens patientregister). Serien "
                         "från 2014 till och med filens år; en senare fil ersätter inte en tidigare rapports "
                         "siffror, eftersom rapporten för ett år läser det årets fil."),
            required=False,
            columns=(
                Column("Område", "omrade", "code", "Kommunen eller länet.",
                       codes=("Linköping", "Östergötlands län")),
                Column("År", "ar_serie", "int", "År som värdet avser (högst filens år).", min=2000, max=2100),
                Column("Mått", "matt", "code", "Vad som räknas.",
                       codes=("Psykiatrisk tvångsvård", "Besök i barn- och ungdomspsykiatrin")),
                Column("Antal", "antal", "int", "Antal barn och unga 0–17 år (personer, inte vårdtillfällen).",
                       min=0),
                Column("Invånare 0-17", "invanare_0_17", "int", "Folkmängd 0–17 år i området.", min=1),
            ),
        ),
    ),
)

STRUKTUR_OFFENTLIG = Extract(
    name="struktur_offentlig",
    description=("Offentlig statistik för kapitlet Strukturella faktorer: folkmängd efter ålder ur SCB:s "
                 "statistikdatabas (PxWebAPI 2.0, tabell TAB638) och kommunens nyckeltal ur Kolada "
                 "(skolresultat, långvarigt ekonomiskt bistånd, arbetslöshet; kodlistan `kolada_struktur`). "
                 "Skrivs av `genomlysning struktur update`; demodata har en syntetisk ögonblicksbild i samma "
                 "form."),
    chapters=("struktur",),
    yearly=False,
    public=True,
    sheets=(
        Sheet(
            name="Befolkning",
            table="befolkning_alder",
            description="Folkmängd 31 december efter ettårsklass, för kommunen, per år (SCB).",
            columns=(
                Column("Region-id", "region_id", "str", "Kommunkod med fyra siffror (0580 för Linköping), som text."),
                Column("Region", "region", "str", "Kommunens namn."),
                Column("År", "ar", "int", "År.", min=1968, max=2100),
                Column("Ålder", "alder", "int", "Ålder i hela år.", min=0, max=120),
                Column("Antal", "antal", "int", "Folkmängd.", min=0),
            ),
        ),
        Sheet(
            name="Nyckeltal",
            table="struktur_nyckeltal",
            description="Koladas värde (totalt för båda könen) per område, nyckeltal och år.",
            columns=(
                Column("Kommun-id", "kommun_id", "str", "Koladas id: kommunkod med fyra siffror (0580), eller "
                       "0000 för riket; som text."),
                Column("Kommun", "kommun", "str", "Områdets namn."),
                Column("KPI-id", "kpi_id", "code", "Koladas id för nyckeltalet (kodlistan kolada_struktur).",
                       codes="kolada_struktur"),
                Column("Nyckeltal", "nyckeltal", "str", "Nyckeltalets korta namn (kolumnen namn i kodlistan)."),
                Column("År", "ar", "int", "År som värdet avser (för skolresultat: läsårets slut).",
                       min=2000, max=2100),
                Column("Värde", "varde", "float", "Koladas värde i procent.", min=0, max=100),
            ),
        ),
    ),
)

EXTRACTS: tuple[Extract, ...] = (
    AKTUALISERINGAR,
    UTREDNINGAR,
    INSATSER,
    PLACERINGAR_DEC,
    KOSTNADER,
    JAMFORELSE,
    STRUKTUR,
    STRUKTUR_OFFENTLIG,
)


def extract(name: str) -> Extract:
    for e in EXTRACTS:
        if e.name == name:
            return e
    raise KeyError(name)

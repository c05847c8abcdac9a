"""One spec per raw instrument (data contract §3): headers, value rules, tidy-table field names.

Field names are the column names of ``hbeval_lib.core.schema.TABLES``; names starting with ``_`` and the
header-block helpers are dropped before writing.
"""

from __future__ import annotations

import re

from hbeval_lib.intake import clientid
from hbeval_lib.core.schema import FAMILY_DOMAINS, KYKYVIISARI_DOMAINS, PROVIDERS
from hbeval_lib.intake.instruments.base import (F, F_TOO_FEW_ITEMS, R_CONFLICTING_MARKS, R_DUPLICATE, R_GROUP_MISMATCH, R_INVALID_DATE,
                   R_MISSING_VALUE, R_UNKNOWN_CLIENT, Context, Instrument, RowError, SheetSpec, choices,
                   intake_option, slug)

CLIENT = "Asiakasnumero"


def _client(required: bool = True) -> F:
    return F("client_id", CLIENT, "client", required=required, need=required)


# --- 3.1 roster -------------------------------------------------------------------------------------
def _roster_rule(rec: dict, raw: dict, ctx: Context) -> None:
    cid = rec["client_id"].client_id
    if cid in ctx.roster:
        arm, start = ctx.roster.arm[cid], ctx.roster.start[cid]
        if (arm, start) != (rec["arm"], rec["start_date"]):
            f0, s0, r0 = ctx.roster.where[cid]
            first = f"{f0}" + (f", välilehti {s0!r}" if s0 else "") + f", rivi {r0}"
            ctx.notes.append(("client_profile_conflict", ctx.row, CLIENT,
                              f"sama asiakasnumero on asiakasrekisterissä jo kohdassa {first} eri tiedoin "
                              f"(ryhmä {arm} / {rec['arm']}, alkupäivä {start} / {rec['start_date']}); "
                              "toinen rivi hylättiin (duplicate)"))
        raise RowError(R_DUPLICATE, CLIENT, raw["client_id"])
    if rec.get("end_date") is not None and rec["end_date"] < rec["start_date"]:
        raise RowError(R_INVALID_DATE, "Asiakkuus päättyi", raw["end_date"])
    ctx.roster.arm[cid] = rec["arm"]
    ctx.roster.start[cid] = rec["start_date"]
    ctx.roster.end[cid] = rec.get("end_date")
    ctx.roster.consent[cid] = bool(rec["consent"])
    ctx.roster.where[cid] = (ctx.file, ctx.sheet, ctx.row)


ASIAKKAAT = Instrument("asiakkaat", [SheetSpec("clients", None, [
    _client(),
    F("arm", "Ryhmä", "choice", required=True, need=True, choices=choices(hb="hb", verrokki="verrokki")),
    F("start_date", "Asiakkuus alkoi", "date", required=True, need=True),
    F("end_date", "Asiakkuus päättyi", "date"),
    F("consent", "Suostumus", "choice", required=True, need=True,
      choices=choices(kyllä=True, kylla=True, k=True, ei=False, e=False)),
    F("age", "Ikä", "int", lo=0, hi=120),
    F("gender", "Sukupuoli", "choice", choices=choices("mies", "nainen", "muu")),
    F("family_structure", "Perherakenne", "text"),
    F("labour_status", "Työvoimastatus", "choice",
      choices=choices("ansiotyössä", "työtön", "eläkkeellä", "opiskelija", "muu")),
], link="none", row_rule=_roster_rule)], "asiakasrekisteri")

# --- 3.2 Kykyviisari -------------------------------------------------------------------------------
OCCASION3 = choices(alku="alku", väli="vali", vali="vali", loppu="loppu")
KYKYVIISARI = Instrument("kykyviisari", [SheetSpec("kykyviisari", None, [
    _client(),
    F("date", "Vastauspäivä", "date", required=True, need=True),
    F("occasion", "Mittauskerta", "choice", required=True, need=True, choices=OCCASION3),
    *[F(k, h, "number", required=True, lo=0, hi=10) for k, h in KYKYVIISARI_DOMAINS.items()],
    *[F(k, h, "number", lo=0, hi=10) for k, h in FAMILY_DOMAINS.items()],
], flag_dates="date")])


# --- 3.3 participation test ------------------------------------------------------------------------
def _osallisuus_rule(rec: dict, raw: dict, ctx: Context) -> None:
    items = [rec.get(f"k{i}") for i in range(1, 11)]
    answered = [v for v in items if v is not None]
    rec["n_answered"] = len(answered)
    min_items = int(intake_option(ctx.cfg, "osallisuustesti_min_items"))
    if len(answered) >= min_items:
        rec["score"] = sum(answered) / len(answered)
    else:
        rec["score"] = None
        rec.setdefault("_flags", []).append(("K1–K10", f"{len(answered)} vastattu", F_TOO_FEW_ITEMS))


OSALLISUUSTESTI = Instrument("osallisuustesti", [SheetSpec("osallisuustesti", None, [
    _client(),
    F("date", "Vastauspäivä", "date", required=True, need=True),
    F("occasion", "Mittauskerta", "choice", required=True, need=True, choices=choices("alku", "loppu")),
    *[F(f"k{i}", f"K{i}", "int", required=True, lo=1, hi=5) for i in range(1, 11)],
], flag_dates="date", row_rule=_osallisuus_rule)])


# --- 3.4 client survey ------------------------------------------------------------------------------
_QNUM = re.compile(r"^(\d{1,2}\.\d{1,2})(?:\s|$)")


def _question_canon(header: str) -> str:
    m = _QNUM.match(header)
    return m.group(1) if m else header


def _survey_rule(rec: dict, raw: dict, ctx: Context) -> None:
    rec["client_id"] = clientid.try_parse(raw.get("q1_1"), ctx.cfg)
    rec.pop("q1_1", None)


def _survey_fields() -> list:
    fields = [F("submitted", "Lähetetty", "date"), F("q1_1", "1.1", "text", required=True),
              F("q1_2", "1.2", "int", lo=0, hi=120)]
    for a in range(1, 10):
        for b in range(1, 31):
            if (a, b) not in ((1, 1), (1, 2)):
                fields.append(F(f"q{a}_{b}", f"{a}.{b}", "auto"))
    return fields


def _survey_sheet(form: str, sheet: str | None) -> SheetSpec:
    return SheetSpec("asiakaskysely", sheet, _survey_fields(), link="optional", header_canon=_question_canon,
                     row_rule=_survey_rule, constants={"form": form})


ASIAKASKYSELY = Instrument("asiakaskysely", [_survey_sheet("hb", "HB"), _survey_sheet("verrokki", "Verrokki")])

# --- 3.5 ESF forms -----------------------------------------------------------------------------------
ESR = Instrument("esr", [SheetSpec("esr", None, [
    _client(),
    F("form", "Lomake", "choice", required=True, need=True, choices=choices("aloitus", "lopetus")),
    F("date", "Päivämäärä", "date", required=True, need=True),
    F("labour_market_status", "Työmarkkinatilanne", "choice", required=True, need=True,
      choices=choices("työllinen", "työtön", "pitkäaikaistyötön", "opiskelija", "työvoiman ulkopuolella")),
    F("education", "Koulutus", "text"),
], hb_only=True, flag_dates="date")])

# --- 3.6 worker time use -----------------------------------------------------------------------------
MARKS = (("hb", "HB-asiakkuus"), ("verrokki", "Verrokkiryhmän asiakkuus"), ("muu", "Muu asiakkuus"))


def _tyoaika_rule(rec: dict, raw: dict, ctx: Context) -> None:
    cid = rec.get("client_id")
    rec["source_file_id"] = ctx.file_seq
    rec["client_present"] = bool(rec.get("client_present"))
    marked = [(k, h) for k, h in MARKS if rec.get(f"mark_{k}")]
    if cid is None:
        rec.update(client_kind="yleinen", client_group=None, arm=None)
        return
    if len(marked) > 1:
        raise RowError(R_CONFLICTING_MARKS, "/".join(h for _, h in marked), "useita merkintöjä")
    if not marked:
        raise RowError(R_MISSING_VALUE, "/".join(h for _, h in MARKS), "")
    kind = marked[0][0]
    rec["client_kind"] = kind
    if kind == "muu":
        rec.update(client_id=None, client_group=None, arm=None)
        return
    if cid.client_id not in ctx.roster:
        raise RowError(R_UNKNOWN_CLIENT, CLIENT, raw.get("client_id"))
    if ctx.roster.arm[cid.client_id] != kind:
        raise RowError(R_GROUP_MISMATCH, marked[0][1], raw.get("client_id"))
    rec.update(client_group=cid.client_group, arm=kind)


TYOAIKA = Instrument("tyoaika", [SheetSpec("tyoaika", None, [
    F("date", "Päivämäärä", "date", required=True, need=True),
    F("task", ("Selite/työtehtävä", "Selite / työtehtävä", "Selite"), "text", required=True),
    F("_h", "tuntia", "hours", required=True, pair="minutes", max_hours=23, need=True),
    F("_m", "minuuttia", "minutes", required=True, pair="minutes"),
    F("client_id", CLIENT, "client", required=True),
    F("client_present", "Asiakas mukana", "mark"),
    *[F(f"mark_{k}", h, "mark", required=True) for k, h in MARKS],
], block=[
    F("pilot", "Pilotti", "pilot", need=True),
    F("worker", "Työntekijän tunnus", "int", need=True, lo=1, hi=99),
    F("job_title", "Nimike", "text"),
    F("team", ("Palveluyksikkö/-tiimi", "Palveluyksikkö", "Tiimi"), "text"),
    F("weekly_hours", ("Säännöllinen viikkotyöaika", "Säännöllinen viikkotyöaika (h)"), "number", lo=0, hi=80),
], link="custom", expand=False, flag_dates="date", row_rule=_tyoaika_rule)])


# --- 3.7 client's own time and costs -----------------------------------------------------------------
def _money(name: str, header: str | tuple) -> F:
    return F(name, header, "number", nonneg=True)


ASIAKASKULUT = Instrument("asiakaskulut", [SheetSpec("asiakaskulut", None, [
    F("date", "Päivämäärä", "date", required=True, need=True),
    F("activity", ("Selite (mitä tehtiin)", "Selite"), "text"),
    F("_ah", "Aika tuntia", "hours", required=True, pair="minutes"),
    F("_am", "Aika minuuttia", "minutes", required=True, pair="minutes"),
    F("_wh", "Poissa töistä tuntia", "hours", pair="work_absence_minutes"),
    F("_wm", "Poissa töistä minuuttia", "minutes", pair="work_absence_minutes"),
    F("_th", "Matka-aika tuntia", "hours", pair="travel_minutes"),
    F("_tm", "Matka-aika minuuttia", "minutes", pair="travel_minutes"),
    F("_travel_desc", "Matkan selite", "drop"),
    _money("travel_km", ("Matkan pituus (km)", "Matkan pituus")),
    _money("travel_cost_eur", ("Matkakulut €", "Matkakulut")),
    _money("other_cost_eur", ("Muut kulut €", "Muut kulut")),
    F("other_cost_desc", "Muiden kulujen selite", "text"),
], block=[
    F("_name", "Nimi", "drop"),
    F("client_id", CLIENT, "client", need=True),
    F("labour_status", "Työvoimastatus", "text"),
], flag_dates="date")])


# --- 3.8 assistant's time and costs -------------------------------------------------------------------
def _assistant_rule(rec: dict, raw: dict, ctx: Context) -> None:
    rec["assistant_id"] = ctx.file_seq


AVUSTAJAKULUT = Instrument("avustajakulut", [SheetSpec("avustajakulut", None, [
    F("date", "Päivämäärä", "date", required=True, need=True),
    F("activity", "Selite", "text"),
    F("_ah", "Aika tuntia", "hours", required=True, pair="minutes"),
    F("_am", "Aika minuuttia", "minutes", required=True, pair="minutes"),
    F("_travel_desc", "Matkan selite", "drop"),
    F("_th", "Matka-aika tuntia", "hours", pair="travel_minutes"),
    F("_tm", "Matka-aika minuuttia", "minutes", pair="travel_minutes"),
    _money("travel_km", ("Matkan pituus (km)", "Matkan pituus")),
    _money("travel_cost_eur", ("Matkakulut €", "Matkakulut")),
    _money("other_cost_eur", ("Muut kulut €", "Muut kulut")),
    F("other_cost_desc", "Muiden kulujen selite", "text"),
], block=[
    F("_assistant_name", "HB-avustajan nimi", "drop"),
    F("_client_name", "Avustettavan asiakkaan nimi", "drop"),
    F("client_id", "Avustettavan asiakasnumero", "client", need=True),
    F("relationship", "Läheissuhde", "choice", need=True,
      choices=choices("omainen", "ystävä", "vapaaehtoinen", "kokemusasiantuntija", "opiskelija", "muu")),
    F("_employer", "Työnantaja ja yhteystiedot", "drop"),
    F("assistant_labour_status", "Työvoimastatus", "text"),
    _money("fee_eur", ("Palkkio €", "Palkkio")),
], hb_only=True, flag_dates="date", row_rule=_assistant_rule)])

# --- 3.9 budgets ---------------------------------------------------------------------------------------
BUDJETTI = Instrument("budjetti", [
    SheetSpec("budgets", "Budjetit", [
        _client(),
        F("budget_eur", ("Budjetti €", "Budjetti"), "number", required=True, need=True, nonneg=True),
        F("start_date", "Alkoi", "date", required=True, need=True),
        F("end_date", "Päättyi", "date"),
    ], hb_only=True),
    SheetSpec("budget_use", "Maksusitoumukset", [
        _client(),
        F("date", "Päivämäärä", "date", required=True, need=True),
        F("item", "Palvelu tai hankinta", "text", required=True),
        F("provider", "Tuottaja", "choice", required=True, need=True, choices=choices(**PROVIDERS)),
        F("amount_eur", ("Summa €", "Summa"), "number", required=True, need=True, nonneg=True),
        F("payment_method", "Maksutapa", "choice",
          choices=choices("maksusitoumus", "palveluseteli", "taloudellinen tuki", "maksukortti")),
    ], hb_only=True, flag_dates="date"),
])


# --- 3.10 services ---------------------------------------------------------------------------------------
def _service_rule(rec: dict, raw: dict, ctx: Context) -> None:
    rec["service"] = rec["service"].casefold()
    if rec.get("end_date") is not None and rec["end_date"] < rec["start_date"]:
        raise RowError(R_INVALID_DATE, "Päättyi", raw.get("end_date"))


PALVELUT = Instrument("palvelut", [SheetSpec("services", None, [
    _client(),
    F("service", "Palvelu", "text", required=True, need=True),
    F("unit", "Yksikkö", "choice", required=True, need=True, choices=choices("käynti", "tunti", "vrk", "kk")),
    F("quantity", "Määrä", "number", required=True, need=True, nonneg=True),
    F("start_date", "Alkoi", "date", required=True, need=True),
    F("end_date", "Päättyi", "date"),
], row_rule=_service_rule)])

# --- 3.11 baseline survey ----------------------------------------------------------------------------------
TOPICS3 = ["Palvelut", "Asiakastiedottaminen", "Asiakkaan tuki ja ohjaus", "Henkilöstö", "Asiakasprosessit",
           "Asiakastietojärjestelmät", "Hallinnolliset järjestelmät", "Sosiaaliturvajärjestelmä"]
STATEMENTS = ["4.1", "4.2", "4.3", "4.4", "4.5", "5.1", "5.2", "5.3", "6"]
LAHTOKYSELY = Instrument("lahtokysely", [SheetSpec("lahtokysely", None, [
    F("pilot", "Pilotti", "pilot", required=True, need=True),
    F("respondent_group", "Vastaajaryhmä", "choice", required=True, need=True,
      choices=choices("projektiryhmä", "johtoryhmä")),
    F("job_title", "Ammattinimike", "text"),
    F("_workplace", "Työpaikka", "drop"),
    F("education", "Koulutus", "text"),
    F("experience_years", "Työkokemus", "number", lo=0, hi=70),
    F("o1", "1", "text"), F("o2", "2", "text"),
    *[F(f"o3_{slug(t)}", f"3 {t}", "text") for t in TOPICS3],
    F("o7", "7", "text"), F("o8", "8", "text"), F("o_mittarit", "Mittarit", "text"),
    *[F("s" + s.replace(".", "_"), s, "int", required=True, lo=1, hi=7) for s in STATEMENTS],
], client=None, link="none")])

# --- 3.12 assistant survey -----------------------------------------------------------------------------------
OPEN_ASSISTANT = ["Rekrytointi", "Motivaatio", "Valmennus", "Tehtävät", "Kokemukset", "Kehittäminen", "Ehdotukset"]
AVUSTAJAKYSELY = Instrument("avustajakysely", [SheetSpec("avustajakysely", None, [
    F("pilot", "Pilotti", "pilot", required=True, need=True),
    F("age", "Ikä", "int", lo=10, hi=100),
    F("education", "Koulutus", "text"),
    F("background", "Tausta", "choice", required=True, need=True,
      choices=choices("kokemusasiantuntija", "järjestön vapaaehtoinen", "alan opiskelija", "läheinen tai ystävä",
                      "omainen")),
    *[F(slug(h), h, "text") for h in OPEN_ASSISTANT],
], client=None, link="none")])

# --- 3.14 development process ------------------------------------------------------------------------------------
KEHITTAMISTYO = Instrument("kehittamistyo", [
    SheetSpec("feedback", "Palautteet", [
        F("event", "Tilaisuus", "text", required=True, need=True),
        F("date", "Päivämäärä", "date", required=True, need=True),
        F("pilot", "Pilotti", "pilot"),
        F("rating", "Arvio", "int", required=True, need=True, lo=1, hi=5),
        F("comment", "Avoin palaute", "text"),
        # optional awareness item of the events' feedback survey (plan ch. 4): "Tilaisuus lisäsi tietoani HB:stä"
        F("awareness", "Tietoisuus", "int", lo=1, hi=5),
    ], client=None, link="none"),
    SheetSpec("self_evaluation", "Itsearviointi", [
        F("pilot", "Pilotti", "pilot", required=True, need=True),
        F("period", "Kausi", "text", required=True, need=True, pattern=r"\d{4}\s*/\s*[12]"),
        F("goal", "Tavoite", "text", required=True, need=True),
        F("rating", "Arvio", "int", required=True, need=True, lo=1, hi=5),
        F("rationale", "Perustelu", "text"),
    ], client=None, link="none"),
])

# --- instruments the plan names beyond the contract (issue 21; formats in data/README.md) ----------------------
# They are optional: a missing folder is noted (INFO), not warned about — the plan collects them once
# (the awareness web survey, spring 2019) or as samples (the support network's form).

# awareness of HB (plan ch. 4, "Yleinen tietoisuus HB-toimintatavasta"): the web survey, one row per respondent
RESPONDENT_GROUPS = choices("asiakas", "henkilöstö", "johto", "tilaisuuden osallistuja", "muu", henkilosto="henkilöstö")
TIETOISUUSKYSELY = Instrument("tietoisuuskysely", [SheetSpec("awareness_survey", None, [
    F("date", "Vastauspäivä", "date", required=True, need=True),
    F("respondent_group", "Vastaajaryhmä", "choice", required=True, need=True, choices=RESPONDENT_GROUPS),
    F("pilot", "Pilotti", "pilot"),
    F("knows_hb", "Tunnen HB:n", "choice", required=True, need=True,
      choices=choices(kyllä=True, kylla=True, k=True, x=True, ei=False, e=False)),
    F("source", "Tietolähde", "choice",
      choices=choices("työntekijä", "tilaisuus", "media", "internet", "muu")),
    F("attitude", "Arvio", "int", lo=1, hi=5),
], client=None, link="none")], optional=True)

# media monitoring statistics (plan ch. 4, "mediaseurantatilastot"): one row per month × media type (× pilot)
MEDIA_TYPES = choices("sanomalehti", "verkkomedia", "radio ja tv", "ammattilehti", "sosiaalinen media", "muu")
MEDIASEURANTA = Instrument("mediaseuranta", [SheetSpec("media_monitoring", None, [
    F("month", "Kuukausi", "date", required=True, need=True),
    F("media", "Media", "choice", required=True, need=True, choices=MEDIA_TYPES),
    F("pilot", "Pilotti", "pilot"),
    F("hits", "Osumat", "int", required=True, need=True, lo=0, hi=100000),
    F("reach", "Tavoittavuus", "int", lo=0, hi=100000000),
], client=None, link="none")], optional=True)


# the support network's (relatives') time and costs (plan §7.1, "Ajankäytön ja muiden mahdollisten kustannusten
# seurantalomake", samples): one workbook per relative and client, HB and control clients
def _relative_rule(rec: dict, raw: dict, ctx: Context) -> None:
    rec["relative_id"] = ctx.file_seq


LAHEISKULUT = Instrument("laheiskulut", [SheetSpec("laheiskulut", None, [
    F("date", "Päivämäärä", "date", required=True, need=True),
    F("activity", ("Selite (mitä tehtiin)", "Selite"), "text"),
    F("_ah", "Aika tuntia", "hours", required=True, pair="minutes"),
    F("_am", "Aika minuuttia", "minutes", required=True, pair="minutes"),
    F("_wh", "Poissa töistä tuntia", "hours", pair="work_absence_minutes"),
    F("_wm", "Poissa töistä minuuttia", "minutes", pair="work_absence_minutes"),
    F("_travel_desc", "Matkan selite", "drop"),
    F("_th", "Matka-aika tuntia", "hours", pair="travel_minutes"),
    F("_tm", "Matka-aika minuuttia", "minutes", pair="travel_minutes"),
    _money("travel_km", ("Matkan pituus (km)", "Matkan pituus")),
    _money("travel_cost_eur", ("Matkakulut €", "Matkakulut")),
    _money("other_cost_eur", ("Muut kulut €", "Muut kulut")),
    F("other_cost_desc", "Muiden kulujen selite", "text"),
], block=[
    F("_relative_name", "Läheisen nimi", "drop"),
    F("_client_name", "Asiakkaan nimi", "drop"),
    F("client_id", "Asiakkaan asiakasnumero", "client", need=True),
    F("relationship", "Läheissuhde", "choice", need=True,
      choices=choices("omainen", "ystävä", "naapuri", "vertainen", "muu")),
    F("relative_labour_status", "Työvoimastatus", "text"),
], flag_dates="date", row_rule=_relative_rule)], optional=True)

# Kompassi (Hämeenlinna: the family's situation at the start and the end, "Kompassi vähintään alussa ja lopussa"):
# one row per assessment, the areas 1–10 (higher = better); the areas and their Kykyviisari counterparts are in
# hbeval.yml (kompassi) and data/README.md
KOMPASSI_AREAS = {"arki": "Arjen sujuminen", "vanhemmuus": "Vanhemmuus", "parisuhde": "Parisuhde",
                  "lapset": "Lasten hyvinvointi", "oma_hyvinvointi": "Oma hyvinvointi",
                  "verkostot": "Läheiset ja verkostot", "talous": "Talous"}
KOMPASSI = Instrument("kompassi", [SheetSpec("kompassi", None, [
    _client(),
    F("date", "Arviointipäivä", "date", required=True, need=True),
    F("occasion", "Arviointikerta", "choice", required=True, need=True, choices=OCCASION3),
    *[F(k, h, "number", lo=1, hi=10) for k, h in KOMPASSI_AREAS.items()],
], flag_dates="date")], optional=True)

# the order intake runs them in: the roster first (linkage needs it)
INSTRUMENTS: dict[str, Instrument] = {i.folder: i for i in [
    ASIAKKAAT, KYKYVIISARI, OSALLISUUSTESTI, ASIAKASKYSELY, ESR, TYOAIKA, ASIAKASKULUT, AVUSTAJAKULUT, BUDJETTI,
    PALVELUT, LAHTOKYSELY, AVUSTAJAKYSELY, KEHITTAMISTYO, TIETOISUUSKYSELY, MEDIASEURANTA, LAHEISKULUT, KOMPASSI]}
MARKDOWN_INSTRUMENTS = ("paivakirjat", "tyopajat")
FOLDER_TABLES = {**{k: [s.table for s in v.sheets] for k, v in INSTRUMENTS.items()},
                 "asiakaskysely": ["asiakaskysely"], "paivakirjat": ["qualitative"], "tyopajat": ["qualitative"]}

"""The tidy tables intake writes to ``<processed>/<table>.parquet`` — the one contract between intake and analysis.

Every client-linked table carries the linkage columns ``CLIENT_COLUMNS``: the client number (pseudonymous
key: used only to link tables, never published), its parsed parts and the client's arm and group from the roster.
Direct identifiers (names, addresses, employers, phone numbers, travel descriptions, workplaces) are never
columns. Consent-``ei`` clients are not in any table. Column documentation: ``data/README.md``.

dtypes: ``str`` = pandas string, ``date`` = datetime64[ns] (midnight), ``float``/``Int64``/``bool``.
"""

from __future__ import annotations

# linkage columns of every client-linked table
CLIENT_COLUMNS = {
    "client_id": "str",      # six digits PGWWNN — internal key, never shown
    "pilot": "str",          # pilot key from the configuration (eksote, hameenlinna, …)
    "client_group": "str",   # client group key (lapsiperheet, aikuissosiaalityo, jalkihuolto, vammaispalvelut, omaishoito)
    "worker": "Int64",       # WW, the client's own worker within the pilot
    "seq": "Int64",          # NN
    "arm": "str",            # "hb" or "verrokki" (from the roster)
}

KYKYVIISARI_DOMAINS = {  # key -> contract header
    "yleinen_hyvinvointi": "Yleinen hyvinvointi",
    "osallisuus": "Osallisuus",
    "mielen_hyvinvointi": "Mielen hyvinvointi",
    "arjen_sujuminen": "Arjen sujuminen",
    "taidot": "Taidot",
    "fyysinen_toimintakyky": "Fyysinen toimintakyky",
    "tyo_ja_tulevaisuus": "Työ ja tulevaisuus",
}
FAMILY_DOMAINS = {"vanhemmuus": "Vanhemmuus", "parisuhde": "Parisuhde", "perhe": "Perhe"}
PROVIDERS = {"julkinen": "julkinen", "yksityinen": "yksityinen", "järjestö": "jarjesto",
             "läheisverkosto": "laheisverkosto", "muu": "muu"}  # raw value -> key

TABLES: dict[str, dict[str, str]] = {
    # 3.1 roster — one row per consenting client
    "clients": {**CLIENT_COLUMNS, "start_date": "date", "end_date": "date", "age": "Int64",
                "gender": "str", "family_structure": "str", "labour_status": "str"},
    # 3.2 one row per questionnaire; occasion alku / vali / loppu
    "kykyviisari": {**CLIENT_COLUMNS, "date": "date", "occasion": "str",
                    **{k: "float" for k in KYKYVIISARI_DOMAINS}, **{k: "float" for k in FAMILY_DOMAINS}},
    # 3.3 one row per test; score = mean of answered items when >= 8 answered, else NaN (and flagged)
    "osallisuustesti": {**CLIENT_COLUMNS, "date": "date", "occasion": "str",
                        **{f"k{i}": "Int64" for i in range(1, 11)}, "n_answered": "Int64", "score": "float"},
    # 3.4 one row per response; form = "hb" / "verrokki"; item columns q<number with _ for .>, e.g. q2_2, q5_10
    #     (Likert 1–5 Int64; multiple choice letter str; open text str — never published verbatim).
    #     client linkage columns are filled when item 1.1 holds a valid roster client number, else <NA>.
    "asiakaskysely": {"form": "str", **CLIENT_COLUMNS, "submitted": "date"},  # + q-columns
    # 3.5 ESF forms (HB only); form = aloitus / lopetus
    "esr": {**CLIENT_COLUMNS, "form": "str", "date": "date", "labour_market_status": "str", "education": "str"},
    # 3.6 worker time use; one row per task. client_id <NA> for general work; client_kind hb / verrokki / muu / yleinen.
    #     Linkage columns of a `muu` row are <NA> except client_id-derived pilot (non-evaluation client).
    "tyoaika": {"pilot": "str", "worker": "Int64", "job_title": "str", "team": "str", "weekly_hours": "float",
                "month": "str",  # yyyy-mm of the measured month (from the dates)
                "date": "date", "task": "str", "minutes": "Int64", "client_id": "str", "client_kind": "str",
                "client_present": "bool", "client_group": "str", "arm": "str", "source_file_id": "Int64"},
    # 3.7 client's own time and costs (one row per table row); minutes = hours*60+minutes
    "asiakaskulut": {**CLIENT_COLUMNS, "date": "date", "activity": "str", "minutes": "Int64",
                     "work_absence_minutes": "Int64", "travel_minutes": "Int64", "travel_km": "float",
                     "travel_cost_eur": "float", "other_cost_eur": "float", "other_cost_desc": "str",
                     "labour_status": "str"},
    # 3.8 HB assistant's time and costs; assistant_id = a sequence number per file (not a name)
    "avustajakulut": {**CLIENT_COLUMNS, "assistant_id": "Int64", "relationship": "str",
                      "assistant_labour_status": "str", "fee_eur": "float",  # fee per assistant file (repeated)
                      "date": "date", "activity": "str", "minutes": "Int64", "travel_minutes": "Int64",
                      "travel_km": "float", "travel_cost_eur": "float", "other_cost_eur": "float",
                      "other_cost_desc": "str"},
    # 3.9 budgets (sheet Budjetit) and their use (sheet Maksusitoumukset); provider = key of PROVIDERS
    "budgets": {**CLIENT_COLUMNS, "budget_eur": "float", "start_date": "date", "end_date": "date"},
    "budget_use": {**CLIENT_COLUMNS, "date": "date", "item": "str", "provider": "str", "amount_eur": "float",
                   "payment_method": "str"},
    # 3.10 public service use (register extract)
    "services": {**CLIENT_COLUMNS, "service": "str", "unit": "str", "quantity": "float",
                 "start_date": "date", "end_date": "date"},
    # 3.11 baseline survey of project groups / management; statements s4_1 … s4_5, s5_1 … s5_3, s6 (1–7 Int64);
    #      open answers o1, o2, o3_<topic>, o7, o8, o_mittarit (str; never published verbatim)
    "lahtokysely": {"pilot": "str", "respondent_group": "str", "job_title": "str", "education": "str",
                    "experience_years": "float"},  # + s-/o-columns
    # 3.12 HB assistant survey; open answers as snake-case columns (rekrytointi, motivaatio, …)
    "avustajakysely": {"pilot": "str", "age": "Int64", "education": "str", "background": "str"},  # + open columns
    # 3.13 qualitative material: one row per paragraph (entry_date for diaries), tags = space-separated codes
    "qualitative": {"source": "str",  # paivakirjat / tyopajat
                    "doc_id": "Int64", "pilot": "str", "kind": "str", "stage": "str", "doc_date": "date",
                    "entry_date": "date", "section": "str", "paragraph": "Int64", "text": "str", "tags": "str",
                    "quote_approved": "bool"},
    # 3.14 development-process self-evaluation
    "feedback": {"event": "str", "date": "date", "pilot": "str", "rating": "Int64", "comment": "str",
                 "awareness": "Int64"},
    "self_evaluation": {"pilot": "str", "period": "str", "goal": "str", "rating": "Int64", "rationale": "str"},
    # instruments the plan names beyond the contract (issue 21; formats in data/README.md)
    "awareness_survey": {"date": "date", "respondent_group": "str", "pilot": "str", "knows_hb": "bool",
                         "source": "str", "attitude": "Int64"},
    "media_monitoring": {"month": "date", "media": "str", "pilot": "str", "hits": "Int64", "reach": "Int64"},
    "laheiskulut": {**CLIENT_COLUMNS, "relative_id": "Int64", "relationship": "str",
                    "relative_labour_status": "str", "date": "date", "activity": "str", "minutes": "Int64",
                    "work_absence_minutes": "Int64", "travel_minutes": "Int64", "travel_km": "float",
                    "travel_cost_eur": "float", "other_cost_eur": "float", "other_cost_desc": "str"},
    "kompassi": {**CLIENT_COLUMNS, "date": "date", "occasion": "str", "arki": "float", "vanhemmuus": "float",
                 "parisuhde": "float", "lapset": "float", "oma_hyvinvointi": "float", "verkostot": "float",
                 "talous": "float"},
}

# the date column a phase's cut-off applies to
PHASE_DATE = {
    "clients": "start_date", "kykyviisari": "date", "osallisuustesti": "date", "asiakaskysely": "submitted",
    "esr": "date", "tyoaika": "date", "asiakaskulut": "date", "avustajakulut": "date", "budgets": "start_date",
    "budget_use": "date", "services": "start_date", "feedback": "date", "qualitative": "doc_date",
    "awareness_survey": "date", "media_monitoring": "month", "laheiskulut": "date", "kompassi": "date",
}

# tables dated by a half-year period (``2017/1``, ``2017/2``): a phase sees the periods that ended by its cut-off
PHASE_PERIOD = {"self_evaluation": "period"}

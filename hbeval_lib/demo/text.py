"""Finnish word and sentence pools for the synthetic demo data (:mod:`hbeval_lib.demo.generator`).

Every name, street and company here is invented. The generator combines them into identifiers
(names, addresses, phone numbers, employers) that it records in ``truth.json`` so that tests and the
privacy checker can verify that none of them leaks into processed data or the book.
"""

from __future__ import annotations

FIRST_NAMES = [
    "Aino", "Eino", "Helmi", "Väinö", "Kerttu", "Onni", "Saara", "Toivo", "Iida", "Urho", "Lempi", "Arvo",
    "Siiri", "Veikko", "Elviira", "Reijo", "Ronja", "Taisto", "Oona", "Kalervo", "Pihla", "Unto", "Venla",
    "Jalmari", "Hilja", "Aukusti", "Tyyne", "Ilmari", "Vieno", "Severi",
]
SURNAMES = [
    "Kivirinta", "Haapakoski", "Lumimäki", "Rautavaara", "Peltokangas", "Kuusiniemi", "Vuorenpää",
    "Salmenkylä", "Koivuranta", "Mäntyvaara", "Honkaniemi", "Järvelä", "Kallioharju", "Näreaho", "Ruohomaa",
    "Tervakorpi", "Sammalisto", "Lepikkö", "Ahvenlampi", "Routasalo", "Katajisto", "Pajuniemi", "Kanervala",
    "Hirvisuo", "Otavaara",
]
STREETS = [
    "Haapatie", "Koivukatu", "Pihlajapolku", "Tervahovintie", "Ruukinkuja", "Kanervakaari", "Sammalkuja",
    "Myllärinkatu", "Lepokuja", "Purolantie", "Routakatu", "Käpyläntie", "Nokkoskuja", "Huvilapolku",
]
EMPLOYER_STEMS = [
    "Kaarnapuu", "Kivijalka", "Ahjola", "Virtakivi", "Tuulentupa", "Sarastus", "Pajupilli", "Revontuli",
    "Hopeakuu", "Jäkälä",
]
EMPLOYER_SUFFIXES = ["Oy", "Ky", "ry", "Ay"]

# public places a trip goes to (not identifiers)
DESTINATIONS = ["sosiaalitoimisto", "perheneuvola", "kirjasto", "terveysasema", "palveluntuottajan toimipiste",
                "kaupungintalo", "järjestön kohtaamispaikka"]
VEHICLES = ["bussi", "oma auto", "polkupyörä", "taksi", "HB-avustajan kyydissä", "juna"]

WORKER_TASKS = [
    ("Puhelinkeskustelu asiakkaan kanssa", False),
    ("Palvelutarpeen arviointi", True),
    ("Asiakassuunnitelma ja budjetin määrittäminen", True),
    ("Asiakastietojen kirjaaminen", False),
    ("Kotikäynti", True),
    ("Palveluntuottajien selvittäminen", False),
    ("Maksusitoumuksen laatiminen", False),
    ("Budjetin seurantatapaaminen", True),
    ("Verkostopalaveri", True),
    ("Sähköpostit asiakkaan asioissa", False),
]
GENERAL_TASKS = ["Tiimin palaveri", "Koulutus", "Hankkeen työpaja", "Perehdytys", "Työnohjaus",
                 "Hankkeen kehittämispalaveri"]
JOB_TITLES = ["sosiaaliohjaaja", "sosiaalityöntekijä", "perhetyöntekijä", "palveluohjaaja", "vammaispalveluohjaaja"]
TEAMS = ["aikuissosiaalityön palvelut", "lapsiperhepalvelut", "vammais- ja vanhuspalvelut",
         "lastensuojelun jälkihuolto", "perhepalvelut", "omaishoidon tuki"]

CLIENT_ACTIVITIES = ["Palvelujen etsintä netistä ja vertailu", "Tutustuminen palveluun",
                     "Keskustelu omatyöntekijän kanssa", "Soittelu palveluntuottajille",
                     "Budjetin suunnittelu kotona", "Lomakkeiden täyttäminen", "Tapaaminen HB-avustajan kanssa"]
OTHER_COSTS = [("Puhelinkulut", 5.0), ("Kopiot ja tulosteet", 3.5), ("Pysäköinti", 4.0), ("Lastenhoito", 25.0)]
ASSISTANT_ACTIVITIES = ["Asiakkaan avustaminen sopivan palvelun löytämisessä netistä",
                        "Asiakkaan tukena palveluun tutustumisessa", "Asiakkaan tukena omatyöntekijän tapaamisessa",
                        "Kuitit ja budjetin seuranta yhdessä asiakkaan kanssa", "Asiointi asiakkaan kanssa"]

BUDGET_ITEMS = {
    "julkinen": ["kaupungin kotipalvelu", "uimahallin sarjakortti", "kansalaisopiston kurssi", "päivätoiminta"],
    "yksityinen": ["siivouspalvelu", "yksityinen kotipalvelu", "liikuntapalvelu", "fysioterapia", "lastenhoito"],
    "järjestö": ["vertaistukiryhmä", "järjestön leiri", "harrastusryhmä", "tukihenkilötoiminta"],
    "läheisverkosto": ["läheisen antama lastenhoito", "kuljetusapu", "läheisen palkkio"],
    "muu": ["kuntosalikortti", "harrastusvälineet", "matkakortti", "tietokone"],
}
PAYMENT_METHODS = ["maksusitoumus", "palveluseteli", "taloudellinen tuki", "maksukortti"]

HB_OPEN_EXPECT = ["Toivoin saavani itse päättää palveluista.", "Odotin apua arjen pyörittämiseen.",
                  "Halusin joustavampaa tukea perheelle.", "Odotin, että asiat etenisivät nopeammin."]
HB_OPEN_WHY = ["Sain valita itselle sopivat palvelut.", "Byrokratiaa oli liikaa.", "Tuki tuli oikeaan aikaan.",
               "Budjetin seuranta oli työlästä, mutta hyödyllistä."]
CONTROL_OPEN_WHY = ["En tiennyt vaihtoehdosta tarpeeksi.", "Nykyinen palvelu riitti minulle.",
                    "Budjetin hallinta tuntui liian vaikealta.", "En ehtinyt perehtyä asiaan."]
SURVEY_SHORT = ["Kuitit ja oma taulukko.", "Työntekijä auttoi.", "Läheiseni auttoi paljon.", "En osaa sanoa.",
                "Arjen asioissa ja asioinnissa.", "Palvelujen valinnassa."]

LAHTO_OPEN = {
    "1": ["Asiakkaan valinnanvapauden lisääminen.", "Asiakaslähtöisen toimintamallin kehittäminen.",
          "Uusien palveluntuottajien mukaan saaminen."],
    "2": ["Palvelut kohdentuvat paremmin tarpeisiin.", "Raskaampien palvelujen tarve vähenee.",
          "Asiakkaat osallistuvat palvelujen suunnitteluun."],
    "3": ["Joustavuutta ja uusia toimintatapoja.", "Selkeät ohjeet ja koulutusta.", "Aikaa asiakastyölle.",
          "Tietojärjestelmien muutoksia.", "Yhteistyötä yli organisaatiorajojen."],
    "7": ["Käytännön työkaluja budjetin laskemiseen.", "Vertaistukea muilta piloteilta."],
    "8": ["Tietoa kustannuksista.", "Kokemuksia muista maista.", "Juridista tietoa päätöksenteosta."],
    "Mittarit": ["Asiakastyytyväisyyskysely", "Kykyviisari", "Palvelujen käyttömäärät", "Ei mittareita vielä"],
}
LAHTO_TOPICS = ["Palvelut", "Asiakastiedottaminen", "Asiakkaan tuki ja ohjaus", "Henkilöstö", "Asiakasprosessit",
                "Asiakastietojärjestelmät", "Hallinnolliset järjestelmät", "Sosiaaliturvajärjestelmä"]
LAHTO_TITLES = ["sosiaalityöntekijä", "palvelupäällikkö", "johtava sosiaalityöntekijä",
                "kehittämispäällikkö",
                "perhetyöntekijä", "talouspäällikkö", "vammaispalvelujohtaja"]
EDUCATION = ["perusaste", "toinen aste", "ammattikorkeakoulu", "yliopisto"]
ASSISTANT_OPEN = {
    "Rekrytointi": ["Työntekijä kysyi minua mukaan.", "Järjestön kautta.", "Näin ilmoituksen."],
    "Motivaatio": ["Halusin auttaa läheistäni.", "Opiskeluun liittyvä harjoittelu.", "Oma kokemus auttaa muita."],
    "Valmennus": ["Sain lyhyen perehdytyksen.", "Valmennusta olisi saanut olla enemmän."],
    "Tehtävät": ["Palvelujen etsiminen ja asiointi.", "Budjetin seuranta.", "Kuljettaminen."],
    "Kokemukset": ["Antoisaa mutta aikaa vievää.", "Asiakas rohkaistui tekemään omia valintoja."],
    "Kehittäminen": ["Selkeämmät ohjeet avustajalle.", "Palkkio kaikille avustajille."],
    "Ehdotukset": ["Avustajien vertaistapaamiset.", "Yhteinen tietopankki palveluista."],
}
EVENTS = ["Aloitusseminaari", "Pilottien työpaja", "Verkostopäivä", "Koulutuspäivä: budjetin laskenta",
          "Webinaari: HB-avustajat", "Loppuseminaari"]
EVENT_FEEDBACK = ["Hyödyllinen päivä.", "Liian tiivis ohjelma.", "Hyviä esimerkkejä muilta piloteilta.",
                  "Toivoisin enemmän keskustelua.", ""]
SELF_EVAL_GOALS = ["Asiakkaiden rekrytointi", "Työntekijöiden osaaminen", "Palveluntuottajaverkosto",
                   "Budjetin laskentamalli"]
SELF_EVAL_REASONS = ["Edistynyt suunnitellusti.", "Viivästynyt resurssipulan vuoksi.", "Hyvä vauhti syksyllä.",
                     "Vaatii vielä työtä."]

# qualitative material: sentences per codebook tag
TAG_SENTENCES = {
    "saatavuus": ["Sopivaa palvelua oli vaikea löytää lähialueelta.",
                  "Palveluntuottajia on pienellä paikkakunnalla vähän.",
                  "Jonot kotipalveluun olivat pitkät."],
    "tarpeet": ["Perheen tarpeet muuttuivat syksyn aikana.", "Asiakkaan tarpeet tulivat esiin vasta kotikäynnillä.",
                "Tuen tarve liittyi arjen rytmiin."],
    "itsemaaraaminen": ["Asiakas päätti itse, mihin budjetti käytetään.", "Valinnan mahdollisuus tuntui uudelta.",
                        "Asiakas uskalsi sanoa, mitä haluaa."],
    "lahituki": ["Naapurin apu oli korvaamatonta.", "Lähipiirin tuki kantoi vaikean jakson yli."],
    "edistaa": ["Joustava budjetti helpotti arkea.", "Yhteinen suunnittelu sujui hyvin.",
                "Maksusitoumusten käsittely nopeutui."],
    "estaa": ["Byrokratia hidasti palvelun alkamista.", "Tietojärjestelmä ei tunnistanut budjettia.",
              "Päätöksenteko venyi viikkoja."],
    "kehittaminen": ["Lomakkeita pitäisi yksinkertaistaa.", "Tiimissä mietittiin uutta tapaa kirjata budjetti."],
    "avustaja": ["HB-avustaja auttoi palvelujen vertailussa.", "Avustajan kanssa asiointi oli helpompaa."],
    "laheiset": ["Isovanhemmat olivat mukana suunnittelussa.", "Sisarukset osallistuivat tapaamiseen."],
    "kumppanuus": ["Järjestön kanssa sovittiin yhteistyöstä.", "Yrittäjien kanssa syntyi uusia kumppanuuksia."],
}
UNTAGGED_SENTENCES = ["Sää oli sateinen ja tapaaminen alkoi myöhässä.", "Kirjaan tähän muutaman huomion.",
                      "Seuraava tapaaminen sovittiin kuun loppuun."]
WORKSHOP_THEMES = ["Palvelujen saatavuus", "Asiakkaan tarpeet ja itsemääräämisoikeus", "Lähituki ja läheiset",
                   "Edistävät ja estävät tekijät", "Kehittämisehdotukset"]

# the support network's (relatives') form (issue 21)
RELATIVE_ACTIVITIES = ["Kyyditys palveluun", "Lastenhoito tapaamisen ajaksi", "Palvelujen etsiminen yhdessä",
                       "Mukana tapaamisessa", "Asiointi asiakkaan puolesta", "Budjetin suunnittelu yhdessä"]

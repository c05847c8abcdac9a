"""Readers (data contract §1): Finnish numbers, dates, marks, hours + minutes (property-based with hypothesis),
header matching, header blocks, header-row search and reading .xlsx from two writers and Finnish-locale CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from hbeval_lib.intake.readers import grid as G
from hbeval_lib.intake.readers import values as V

# --- numbers ---------------------------------------------------------------------------------------------
cents = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2)


@given(cents, st.sampled_from([",", "."]), st.sampled_from(["", " €", "€", " km", " h", "\u00a0€"]))
def test_number_text_forms(value, sep, unit):
    text = f"{value:.2f}".replace(".", sep) + unit
    assert V.parse_number(text) == pytest.approx(float(value), abs=1e-9)


@given(st.floats(allow_nan=False, allow_infinity=False, width=64) | st.integers(-10**9, 10**9))
def test_number_cells_pass_through(x):
    assert V.parse_number(x) == float(x)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzäö", min_size=1, max_size=8))
def test_words_are_not_numbers(word):
    with pytest.raises(ValueError):
        V.parse_number(word)


@pytest.mark.parametrize("raw", ["puoli", "1,2,3", "1.234,5", "--1", "12 kg", "€"])
def test_invalid_numbers(raw):
    with pytest.raises(ValueError):
        V.parse_number(raw)


@pytest.mark.parametrize("raw", [None, "", "  ", float("nan")])
def test_empty_number_is_missing(raw):
    assert V.parse_number(raw) is None


# --- dates -----------------------------------------------------------------------------------------------
dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31))


@given(dates, st.sampled_from(["dmy", "ddmmy", "iso", "cell", "datetime", "serial", "dmy_time"]))
def test_date_forms(d, style):
    raw = {"dmy": f"{d.day}.{d.month}.{d.year}", "ddmmy": f"{d.day:02d}.{d.month:02d}.{d.year}",
           "iso": d.isoformat(), "cell": d, "datetime": dt.datetime(d.year, d.month, d.day),
           "serial": (d - dt.date(1899, 12, 30)).days, "dmy_time": f"{d.day}.{d.month}.{d.year} 18:02"}[style]
    assert V.parse_date(raw) == d


@pytest.mark.parametrize("raw", ["31.2.2018", "29.2.2017", "1.13.2018", "2018-02-30", "2.1.17", "tammikuu",
                                 "1/2/2018", 12.5])
def test_invalid_dates(raw):
    with pytest.raises(ValueError):
        V.parse_date(raw)


def test_excel_serial_reference():
    # Excel shows serial 42737 as 2.1.2017 (1900 date system; epoch 1899-12-30 for serials after 60)
    assert V.parse_date(42737) == dt.date(2017, 1, 2)


# --- marks -----------------------------------------------------------------------------------------------
def _cases(words):
    return st.sampled_from(words).flatmap(
        lambda w: st.tuples(st.just(w), st.lists(st.booleans(), min_size=len(w), max_size=len(w)),
                            st.sampled_from(["", " ", "  "])))


@given(_cases(["x", "kyllä", "1"]))
def test_true_marks(case):
    word, upper, pad = case
    text = pad + "".join(c.upper() if u else c for c, u in zip(word, upper)) + pad
    assert V.parse_mark(text) is True


@given(_cases(["ei", "0", ""]))
def test_false_marks(case):
    word, upper, pad = case
    text = pad + "".join(c.upper() if u else c for c, u in zip(word, upper)) + pad
    assert V.parse_mark(text) is False


@given(st.text(alphabet="abcdfghmnopqrsuvwyz", min_size=2, max_size=6).filter(
    lambda s: s.casefold() not in V.TRUE_MARKS | V.FALSE_MARKS))
def test_other_text_is_not_a_mark(text):
    with pytest.raises(ValueError):
        V.parse_mark(text)


def test_mark_cells():
    assert V.parse_mark(1) is True and V.parse_mark(0) is False and V.parse_mark(None) is False
    with pytest.raises(ValueError):
        V.parse_mark(2)


# --- hours and minutes -----------------------------------------------------------------------------------------
@given(st.integers(0, 23), st.integers(0, 59), st.booleans(), st.booleans())
def test_hours_minutes(h, m, h_text, m_text):
    hours = (str(h) if h_text else h) if h else None  # 0 hours written as an empty cell
    minutes = (str(m) if m_text else m) if m else None
    expected = None if not h and not m else h * 60 + m
    assert V.hours_minutes(hours, minutes, max_hours=23) == expected


@given(st.integers(0, 23), st.integers(60, 500))
def test_minutes_over_59_rejected(h, m):
    with pytest.raises(ValueError) as exc:
        V.hours_minutes(h, m)
    assert exc.value.args[1:] == ("minutes", "out_of_range")


def test_hours_minutes_errors():
    with pytest.raises(ValueError) as exc:
        V.hours_minutes("puoli", None)
    assert exc.value.args[1:] == ("hours", "invalid_number")
    with pytest.raises(ValueError) as exc:
        V.hours_minutes(-1, 0)
    assert exc.value.args[1:] == ("hours", "negative_value")
    with pytest.raises(ValueError) as exc:
        V.hours_minutes(24, 0, max_hours=23)
    assert exc.value.args[1:] == ("hours", "out_of_range")
    assert V.hours_minutes("1,5", None) == 90


# --- headers ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,expected", [("Asiakasnumero 6", "asiakasnumero"), ("HB-asiakkuus8", "hb-asiakkuus"),
                                          ("Aika  tuntia 5", "aika tuntia"), ("Päivämäärä (pp.kk.vvvv)", "päivämäärä"),
                                          ("5.10", "5.10"), ("Pilotti:", "pilotti")])
def test_header_footnotes_from_contract(raw, expected):
    assert G.strip_header(G.norm_header(raw)) == expected


def test_header_matched_as_written_first():
    known = {"k1": "k1", "k10": "k10", "matkan pituus (km)": "km", "asiakasnumero": "client"}
    cols = G.match_headers(["K1", "K10", "Matkan pituus (km)", "ASIAKASNUMERO 6", "Ylimääräinen"], known)
    assert cols == {0: "k1", 1: "k10", 2: "km", 3: "client"}


def test_header_row_under_block_and_group_header():
    grid = [("Lomake",), (None,), ("Pilotti:", "Pori"), ("Työntekijän tunnus", None, 3), (None,),
            (None, "Työaika", None, "Asiakkaan tiedot"),
            ("Päivämäärä", "tuntia", "minuuttia", "Asiakasnumero 6"), ("2.1.2017", 1, 5, "410112")]
    known = {"päivämäärä": "date", "tuntia": "h", "minuuttia": "m", "asiakasnumero": "client"}
    idx, cols = G.find_header_row(grid, known, {"date", "h", "m", "client"})
    assert idx == 6 and cols == {0: "date", 1: "h", 2: "m", 3: "client"}
    block = G.read_header_block(grid, idx, {"pilotti": "pilot", "työntekijän tunnus": "worker"})
    assert block == {"pilot": ("Pori", 3), "worker": (3, 4)}


def test_header_row_missing_is_explained():
    grid = [("Päivämäärä", "tuntia", "Selite")]
    with pytest.raises(G.UnreadableFile) as exc:
        G.find_header_row(grid, {"päivämäärä": "date", "tuntia": "h", "minuuttia": "m"}, {"date", "h", "m"})
    msg = str(exc.value)
    assert "minuuttia" in msg and "odotetut otsikot" in msg and "'Selite'" in msg


# --- files ----------------------------------------------------------------------------------------------------
ROWS = [["Asiakasnumero", "Vastauspäivä", "Taidot"], ["410112", dt.datetime(2017, 5, 4), 6.5],
        [410113, "4.5.2017", "6,5"]]


def _write_openpyxl(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Vastaukset"
    ws.append(["Otsikko"])
    ws.append([])
    for r in ROWS:
        ws.append(r)
    wb.save(path)


def _write_xlsxwriter(path):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Vastaukset")
    fmt = wb.add_format({"num_format": "d.m.yyyy"})
    ws.write(0, 0, "Otsikko")
    for i, r in enumerate(ROWS, start=2):
        for j, v in enumerate(r):
            if isinstance(v, dt.datetime):
                ws.write_datetime(i, j, v, fmt)
            else:
                ws.write(i, j, v)
    wb.close()


@pytest.mark.parametrize("writer", [_write_openpyxl, _write_xlsxwriter])
def test_xlsx_from_two_writers(tmp_path, writer):
    path = tmp_path / "k.xlsx"
    writer(path)
    name, grid = G.read_file(path).sheet(None)
    assert name == "Vastaukset"
    assert len(grid) == 5 and G.norm_header(grid[2][0]) == "asiakasnumero"  # row 3 as Excel shows it
    assert V.parse_date(grid[3][1]) == V.parse_date(grid[4][1]) == dt.date(2017, 5, 4)
    assert V.parse_number(grid[3][2]) == V.parse_number(grid[4][2]) == 6.5


@pytest.mark.parametrize("encoding,sep,bom", [("cp1252", ";", b""), ("utf-8", ";", b"\xef\xbb\xbf"),
                                              ("utf-8", ",", b"")])
def test_csv_finnish_locale(tmp_path, encoding, sep, bom):
    dec = "," if sep == ";" else "."
    text = (f"Asiakasnumero{sep}Vastauspäivä{sep}Työ ja tulevaisuus\r\n"
            f"510301{sep}12.4.2017{sep}7{dec}6\r\n\r\n510302{sep}2017-04-20{sep}\r\n")
    path = tmp_path / "k.csv"
    path.write_bytes(bom + text.encode(encoding))
    name, grid = G.read_file(path).sheet(None)
    assert name == G.CSV_SHEET
    assert grid[0][2] == "Työ ja tulevaisuus"  # decoded correctly, BOM stripped from the first header
    assert grid[0][0] == "Asiakasnumero"
    assert V.parse_number(grid[1][2]) == 7.6
    assert all(V.is_empty(c) for c in grid[2])  # line 3 is the empty line: row index = line number - 1
    assert grid[3][0] == "510302" and V.parse_date(grid[3][1]) == dt.date(2017, 4, 20)

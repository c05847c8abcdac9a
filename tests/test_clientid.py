"""Client number PGWWNN (data contract §2): parsing, validity, example rows. Property-based (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hbeval_lib.intake import clientid
from hbeval_lib.config import load_config

CFG = load_config()
PILOTS = [p.code for p in CFG.pilots]
GROUPS = [g.code for g in CFG.client_groups]


def test_contract_example_parts():
    # contract §2: P=4 Pori, G=1 lapsiperheet, WW=01, NN=12
    c = clientid.parse("410112", CFG)
    assert (c.client_id, c.pilot, c.client_group, c.worker, c.seq) == ("410112", "pori", "lapsiperheet", 1, 12)


@pytest.mark.parametrize("raw", ["210 103", 210103, 210103.0, " 210103 ", "210103.0", "21\u00a00103"])
def test_written_forms(raw):
    assert clientid.parse(raw, CFG).client_id == "210103"


@pytest.mark.parametrize("raw", ["12345", "1234567", "710101", "010101", "160101", "100101", "abcdef", "41011x",
                                 "410100", "410012", 410112.5, "", None, "4101 12a"])
def test_invalid(raw):
    with pytest.raises(clientid.InvalidClientNumber):
        clientid.parse(raw, CFG)
    assert clientid.try_parse(raw, CFG) is None


@pytest.mark.parametrize("raw,expected", [("xxxxx1", True), ("XXXXX2", True), ("xxxxxx", True),
                                          ("410112", False), (None, False), ("x1x", False)])
def test_example_rows(raw, expected):
    assert clientid.is_example(raw) is expected


@st.composite
def written_client(draw, pilots=st.sampled_from(PILOTS), groups=st.sampled_from(GROUPS)):
    p, g = draw(pilots), draw(groups)
    ww, nn = draw(st.integers(1, 99)), draw(st.integers(1, 99))
    digits = f"{p}{g}{ww:02d}{nn:02d}"
    style = draw(st.sampled_from(["text", "int", "float", "spaced", "padded"]))
    raw = {"text": digits, "int": int(digits), "float": float(digits), "spaced": f"{digits[:3]} {digits[3:]}",
           "padded": f"  {digits}\t"}[style]
    return raw, (digits, p, g, ww, nn)


@given(written_client())
def test_parse_roundtrip(case):
    raw, (digits, p, g, ww, nn) = case
    c = clientid.parse(raw, CFG)
    assert (c.client_id, c.pilot_code, c.group_code, c.worker, c.seq) == (digits, p, g, ww, nn)
    assert c.pilot == CFG.pilot_by_code(p).key and c.client_group == CFG.group_by_code(g).key


@given(st.integers(0, 9).filter(lambda d: d not in PILOTS), st.sampled_from(GROUPS), st.integers(1, 99),
       st.integers(1, 99))
def test_unknown_pilot_code_is_invalid(p, g, ww, nn):
    with pytest.raises(clientid.InvalidClientNumber):
        clientid.parse(f"{p}{g}{ww:02d}{nn:02d}", CFG)


@given(st.sampled_from(PILOTS), st.integers(0, 9).filter(lambda d: d not in GROUPS), st.integers(1, 99),
       st.integers(1, 99))
def test_unknown_group_code_is_invalid(p, g, ww, nn):
    with pytest.raises(clientid.InvalidClientNumber):
        clientid.parse(f"{p}{g}{ww:02d}{nn:02d}", CFG)


@given(st.text(alphabet="0123456789", min_size=0, max_size=12).filter(lambda s: len(s) != 6))
def test_wrong_length_is_invalid(digits):
    assert clientid.try_parse(digits, CFG) is None

"""Canonical identifiers: one spelling per ID, certificate and licence number."""

import pytest

from registry import canonical, idnumber
from registry.exceptions import (
    InvalidCertificateNumber,
    InvalidIdNumber,
    InvalidLicenceNumber,
)

ASCII_ID = "120103198503041110"
FULL_WIDTH_ID = "１２０１０３１９８５０３０４１１１0"  # the number from issue 18
VALID_X = "11010519491231002X"
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize("spelling", [
    FULL_WIDTH_ID,
    "１２０１０３１９８５０３０４１１１０",        # every digit full-width
    "\u3000120103 19850304 1110\u3000",             # ideographic and ASCII spaces
    "120103\t19850304\n1110",
])
def test_every_spelling_of_one_id_number_parses_to_the_ascii_one(spelling):
    assert idnumber.parse(spelling).value == idnumber.parse(ASCII_ID).value == ASCII_ID


def test_full_width_lower_case_x_is_the_check_character_x():
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    assert idnumber.parse(VALID_X[:17].translate(wide) + "ｘ").value == VALID_X


@pytest.mark.parametrize("table", [ARABIC_INDIC, DEVANAGARI])
def test_lookalike_digits_nfkc_keeps_are_refused(table):
    with pytest.raises(InvalidIdNumber) as err:
        idnumber.parse(ASCII_ID[:17].translate(table) + ASCII_ID[17])  # `\d` took these
    assert err.value.reason == "characters" and err.value.code == "invalid_id_number"


@pytest.mark.parametrize("raw,canon", [
    ("JBZ0000001", "JBZ0000001"),
    ("jbz0000001", "JBZ0000001"),
    ("ＪＢＺ００００００１", "JBZ0000001"),
    (" tj-2026-00501 ", "TJ-2026-00501"),
    ("TJ\u20132026\u201300501", "TJ-2026-00501"),      # en dashes
    ("TJ－2026－00501", "TJ-2026-00501"),              # full-width hyphen-minus
])
def test_certificate_numbers_have_one_spelling(raw, canon):
    assert canonical.certificate_number(raw) == canon


@pytest.mark.parametrize("raw", ["JBZ", "JBZ 0001", "JBZ٠٠٠١", "证号0001", "A" * 65, "",
                                 "JBZ\u200b0001"])
def test_certificate_numbers_outside_the_format_are_refused(raw):
    with pytest.raises(InvalidCertificateNumber) as err:
        canonical.certificate_number(raw)
    assert err.value.code == "invalid_certificate_number"


def test_licence_numbers_keep_chinese_and_lose_width_and_case():
    assert canonical.licence_number("津公保服许字［２０１０］００２号") == "津公保服许字[2010]002号"
    assert canonical.licence_number(" tj-l-1 ") == "TJ-L-1"
    assert canonical.licence_number("ＴＪ－Ｌ－１") == "TJ-L-1"
    assert canonical.licence_number("  ") is None and canonical.licence_number(None) is None


def test_licence_numbers_with_invisible_characters_are_refused():
    with pytest.raises(InvalidLicenceNumber) as err:
        canonical.licence_number("TJ-L\u200b-1")
    assert err.value.code == "invalid_licence_number"

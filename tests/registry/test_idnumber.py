import datetime as dt

import pytest

from registry import idnumber
from registry.exceptions import InvalidIdNumber

# A published example number whose check digit is X (GB 11643 worked example).
VALID_X = "11010519491231002X"


def test_valid_number_is_parsed_with_birth_date_and_gender():
    parsed = idnumber.parse(VALID_X)
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.male is False  # 17th digit 2 is even
    assert parsed.masked == "110105********002X"


def test_lowercase_x_and_spaces_are_normalised():
    assert idnumber.parse(" 11010519491231002x ").value == VALID_X


def test_generated_numbers_validate_and_encode_gender():
    for seq in range(0, 40):
        male = seq % 3 == 0
        number = idnumber.make("120225", dt.date(1990, 2, 28), seq, male=male)
        assert idnumber.parse(number).male is male


@pytest.mark.parametrize("raw,reason", [
    ("110105194912310021", "check_digit"),   # check digit should be X
    ("11010519491331002X", "date"),          # month 13
    ("11010519490230002X", "date"),          # 30 February
    ("11010521491231002X", "date"),          # born in the future
    ("1101051949123100", "length"),
    ("11010519491231002XX", "length"),
    ("", "length"),
    ("11010519491231A02X", "characters"),
])
def test_invalid_numbers_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidIdNumber) as err:
        idnumber.parse(raw)
    assert err.value.reason == reason
    assert err.value.code == "invalid_id_number"


def test_every_wrong_check_digit_is_caught():
    first17 = VALID_X[:17]
    wrong = [c for c in "0123456789X" if c != "X"]
    for c in wrong:
        with pytest.raises(InvalidIdNumber):
            idnumber.parse(first17 + c)

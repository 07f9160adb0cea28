from hypothesis import given
from hypothesis import strategies as st

from portal.distributors import codes

AMBIGUOUS = set("0O1IL")


def test_alphabet_has_no_ambiguous_characters() -> None:
    assert not AMBIGUOUS & set(codes.ALPHABET)
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET)


@given(st.integers(min_value=codes.MIN_LENGTH, max_value=codes.MAX_LENGTH))
def test_generated_codes_are_well_formed(length: int) -> None:
    code = codes.generate(length)
    assert len(code) == length
    assert codes.is_well_formed(code)
    assert codes.normalise(code.lower()) == code


def test_generated_codes_spread_over_the_alphabet() -> None:
    seen = {ch for _ in range(400) for ch in codes.generate()}
    assert seen == set(codes.ALPHABET)


@given(st.text(max_size=12))
def test_well_formed_means_alphabet_and_length(raw: str) -> None:
    ok = codes.is_well_formed(raw)
    assert ok == (
        codes.MIN_LENGTH <= len(raw) <= codes.MAX_LENGTH and set(raw) <= set(codes.ALPHABET)
    )


def test_length_outside_range_is_refused() -> None:
    for bad in (codes.MIN_LENGTH - 1, codes.MAX_LENGTH + 1):
        try:
            codes.generate(bad)
        except ValueError:
            continue
        raise AssertionError(f"length {bad} accepted")

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from bollard.agent_keys import ALPHABET, KEY_LENGTH, PREFIX, generate_key, is_well_formed, key_hash

KEY = generate_key()


def test_generated_keys_are_well_formed_and_never_repeat() -> None:
    made = {generate_key() for _ in range(200)}
    assert len(made) == 200
    assert all(is_well_formed(k) and len(k) == KEY_LENGTH for k in made)
    assert all(k.startswith("bol_") for k in made)


@given(st.integers(min_value=len(PREFIX), max_value=KEY_LENGTH - 1), st.sampled_from(ALPHABET))
def test_a_one_character_typo_anywhere_after_the_prefix_is_caught(index: int, char: str) -> None:
    typo = KEY[:index] + char + KEY[index + 1 :]
    assert is_well_formed(typo) == (typo == KEY)


@given(st.integers(min_value=len(PREFIX), max_value=KEY_LENGTH - 2))
def test_two_swapped_neighbours_are_caught(index: int) -> None:
    swapped = KEY[:index] + KEY[index + 1] + KEY[index] + KEY[index + 2 :]
    assert is_well_formed(swapped) == (swapped == KEY)


@given(st.text(max_size=80))
def test_noise_is_not_a_key(text: str) -> None:
    assert not is_well_formed(text)


def test_wrong_prefix_length_or_alphabet_is_not_a_key() -> None:
    assert not is_well_formed("sk_" + KEY[3:])
    assert not is_well_formed(KEY + "0")
    assert not is_well_formed(KEY[:-1])
    assert not is_well_formed(KEY[:10] + "-" + KEY[11:])
    assert not is_well_formed(KEY.upper()) or KEY.upper() == KEY


def test_the_stored_hash_is_the_hex_sha256_of_the_whole_key() -> None:
    assert key_hash(KEY) == hashlib.sha256(KEY.encode()).hexdigest()
    assert key_hash(KEY) != key_hash(generate_key())

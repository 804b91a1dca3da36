"""The production cost of password hashing (the tests hash at the lowest cost: see
production_password_hasher in tests/conftest.py)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.profiles import RFC_9106_LOW_MEMORY

from foncier.accounts import passwords


def test_production_hashes_with_rfc_9106_low_memory_argon2id(
    production_password_hasher: PasswordHasher,
) -> None:
    assert production_password_hasher.type is Type.ID
    assert (
        production_password_hasher.time_cost,
        production_password_hasher.memory_cost,
        production_password_hasher.parallelism,
    ) == (
        RFC_9106_LOW_MEMORY.time_cost,
        RFC_9106_LOW_MEMORY.memory_cost,
        RFC_9106_LOW_MEMORY.parallelism,
    )
    assert production_password_hasher.hash("une phrase de passe").startswith(
        "$argon2id$v=19$m=65536,t=3,p=4$"
    )


def test_a_hash_made_at_the_production_cost_is_still_checked(
    production_password_hasher: PasswordHasher,
) -> None:
    """The cost is written in each hash: accounts hashed at production cost sign in whatever
    the hasher's own cost."""
    stored = production_password_hasher.hash("une phrase de passe")
    assert passwords.password_matches(stored, "une phrase de passe")
    assert not passwords.password_matches(stored, "une autre phrase")

"""Stable pseudo-random choices: sha256 of a seed and names, never Python's `hash()`
(salted per process) or a random generator (which depends on call order), so the same
seed and names give the same choice on every machine and in any order."""

from __future__ import annotations

import hashlib
from typing import Sequence, TypeVar

T = TypeVar("T")

SEPARATOR = "\x1f"  # cannot occur in a name, so ("a:b", "c") and ("a", "b:c") differ


def seeded_rank(seed: int, *parts: str, sep: str = SEPARATOR, bits: int = 64) -> int:
    """A stable number in [0, 2**bits) for `parts` under `seed`: the first `bits` bits of
    sha256(str(seed), *parts joined by `sep`). Sort by it to shuffle, take it modulo n to
    choose.

    The corpus families use the defaults. The eval builders pass sep=":" (and 32 bits
    to choose, 256 to sort): they were written with that key, and changing it would draw
    different items for every eval suite."""
    key = sep.join([str(seed), *parts]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest(), "big") >> (256 - bits)


def seeded_choice(seed: int, options: Sequence[T], *parts: str, sep: str = SEPARATOR,
                  bits: int = 64) -> T:
    """One of `options`, chosen by `seeded_rank(seed, *parts)`."""
    return options[seeded_rank(seed, *parts, sep=sep, bits=bits) % len(options)]

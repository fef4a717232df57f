"""Stable random streams for the simulated market.

Every draw comes from a numpy Generator seeded by a cryptographic hash of its purpose, never from
Python's ``hash()`` (salted per process), so the same seed, symbol and moment give the same
numbers in every process and on every machine.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_int(*parts: object) -> int:
    """A 128-bit integer that depends only on the text of ``parts``."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "little")


def stable_unit(*parts: object) -> float:
    """A number in [0, 1) that depends only on ``parts`` (a cheap single draw)."""
    return (stable_int(*parts) >> 75) / float(1 << 53)


def rng(*parts: object) -> np.random.Generator:
    """A Generator whose stream depends only on ``parts``."""
    return np.random.default_rng(stable_int(*parts))

"""Errors meant for people: what went wrong, where, and what to do next.

Every error gongmu raises on purpose is a `GongmuError`. The CLI prints its message as
one paragraph and exits non-zero; a traceback is shown only with `--debug`.
"""

from __future__ import annotations


class GongmuError(Exception):
    """An error whose message is written for the person running gongmu."""

    exit_code = 2


class RecipeError(GongmuError):
    """The recipe (or an override) is not valid: a key, type or path is wrong."""


class ArtifactError(GongmuError):
    """A stage folder is missing, incomplete, or does not verify against its manifest."""


class ModelError(GongmuError):
    """A model directory cannot be used (missing, not local, unsafe weights)."""


class DataError(GongmuError):
    """Input data cannot be read or yields nothing usable."""

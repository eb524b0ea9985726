"""Korean text rules shared by the stages: one copy of each, so that the corpus that
trains a model and the eval that scores it write and read Korean the same way.

- `josa`: final consonants (받침) and the particles that follow them.
- `numbers`: Sino-Korean readings of numbers (113560 → 일십일만삼천오백육십).
- `forms`: how a 공문서 writes dates, times, amounts and item markers (the writer's and
  the checker's one vocabulary).
- `excerpt`: cutting text at a line or sentence end.
- `width`: folding full-width ASCII to ASCII.
- `seeded`: stable choices from a seed and names (sha256, never `hash()` or a generator).
- `legal`: the structure of statutes, ordinances and rulings.
- `pii`: finding and redacting personal information.

This package imports only `toolkit.errors`, `toolkit.console` and third-party libraries,
never a stage (`toolkit.corpus`, `train`, `eval`, `export`, `report`).
"""

"""What `results.json` says about contamination, per suite: what this corpus kept out of
training, what it measured, and what nobody can keep out — public law text is in every
vendor's pretraining data."""

from __future__ import annotations

PRETRAINING = (
    "Korean statutes, ordinances and court rulings are public text (저작권법 제7조) published "
    "on law.go.kr and mirrored widely; they are in every vendor's pretraining data. A "
    "held-out split keeps them out of this corpus's fine-tuning data, not out of a base "
    "model: a base or vendor model may have read the very article or ruling an item is "
    "built from, so compare candidates on the same items and read absolute scores as an "
    "upper bound on the skill."
)
_FICTIONAL = ("The items' personal data is fictional, written for gongmu; the documents "
              "around it are not in any training corpus gongmu builds.")


def contamination_statement(suite, corpus_figures: dict | None = None) -> dict:
    """The contamination entry of one suite in `results.json`: `statement` (plain words),
    `held_out` (how the items are kept out of this corpus's training data), `pretraining`
    (always the public-law-text caveat) and, when the corpus stage measured it
    (`corpus_figures`: the corpus manifest's figures), `training_overlap`: how many of
    the suite's items have a reference sharing over 20% of its 13-word or 20-character
    sequences with the training examples."""
    name = suite.name
    if suite.built:
        held_out = ("Items are built from the corpus stage's held-out documents, split by "
                    "cluster (a law with its 시행령 and 시행규칙, near-duplicate documents, "
                    "rulings citing each other, one rule issued by several bodies), and "
                    "training examples overlapping any item were dropped before training.")
    elif getattr(suite.spec.items, "from_corpus", None):
        held_out = "Items are the corpus stage's held-out examples, split by document cluster."
    else:
        held_out = ("Items come from the suite's own file; training examples overlapping them "
                    "are dropped when the corpus recipe lists the suite under "
                    "corpus.decontamination.suites.")
    entry = {"held_out": held_out, "pretraining": PRETRAINING}
    if name == "pii-leak":
        entry["held_out"] += " " + _FICTIONAL
    overlap = ((corpus_figures or {}).get("eval_overlap") or {}).get("by_suite", {}).get(name)
    measured = ""
    if overlap:
        entry["training_overlap"] = {"items": overlap["items"],
                                     "above_20_percent": overlap["above_limit"]}
        measured = (f" Measured by the corpus stage: {overlap['above_limit']} of "
                    f"{overlap['items']} references share over 20% of their 13-word or "
                    f"20-character sequences with the training examples.")
    entry["statement"] = f"{entry['held_out']}{measured} {PRETRAINING}"
    return entry

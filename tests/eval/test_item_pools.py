"""Private item pools (issue 20 §7): with the recipe's item secret, the builder suites draw
other documents' articles, distractors and question wordings, so the items cannot be
rebuilt from public law, public code and the default seed; a candidate that memorised
the public pool's references gains nothing on the private one, and the report says
which pool a verdict rests on."""

from __future__ import annotations

import json

import pytest

from tests.eval.test_builders import held_out_documents
from tests.helpers import REPO
from toolkit.eval.baselines import prompt
from toolkit.eval.floors import suite_floors, text_strategies
from toolkit.eval.metrics import score
from toolkit.eval.suite import item_pool, load_suite, secret_fingerprint

SECRET = "city-of-seoul-2026-procurement-7f3a"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A corpus folder holding the held-out statutes as the corpus stage writes them."""
    folder = tmp_path_factory.mktemp("corpus")
    docs = [d for d in held_out_documents() if d["source"] == "legalize-kr"][:60]
    with open(folder / "heldout_documents.jsonl", "w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return folder


@pytest.fixture(scope="module")
def pools(corpus):
    suite = REPO / "evals" / "regulation-lookup"
    return load_suite(suite, corpus), load_suite(suite, corpus, secret=SECRET)


def test_the_secret_draws_other_items_from_the_same_documents(pools, corpus):
    public, private = pools
    given = {json.loads(line)["id"] for line in (corpus / "heldout_documents.jsonl").open(encoding="utf-8")}
    assert {i["meta"]["doc_id"] for i in private.items} <= given
    assert {i["meta"]["doc_id"] for i in public.items} <= given
    shared = {prompt(i) for i in public.items} & {prompt(i) for i in private.items}
    assert len(shared) / len(private.items) < 0.1, "most private prompts must be new"
    assert public.hash != private.hash
    assert public.pool == {"kind": "public", "seed": 0}
    assert private.pool == {"kind": "private", "secret_fingerprint": secret_fingerprint(SECRET)}
    assert SECRET not in json.dumps(private.pool)


@pytest.mark.slow  # every baseline scored on the private pool
def test_a_candidate_that_memorised_the_public_pool_scores_at_the_floor_on_the_private_one(pools):
    public, private = pools
    memorised = {prompt(i): i["reference"] for i in public.items}
    strategies = text_strategies()
    floors = suite_floors(private)["floors"]
    best = max(floors, key=lambda k: floors[k].get("citation_accuracy", 0))
    fallback = strategies[best]  # what it answers where its memory has nothing

    def memoriser(items):
        return [memorised.get(prompt(i)) or fallback(i, items, k) for k, i in enumerate(items)]

    def mean(outputs, items):
        return sum(score("citation_accuracy", o, i["reference"], i)
                   for o, i in zip(outputs, items)) / len(items)

    assert mean(memoriser(public.items), public.items) == 1.0
    on_private = mean(memoriser(private.items), private.items)
    print(f"memoriser: public 1.000, private {on_private:.3f}; best floor {best} "
          f"{floors[best]['citation_accuracy']:.3f} on {len(private.items)} private items")
    assert on_private <= floors[best]["citation_accuracy"] + 0.1


def test_file_suites_are_as_private_as_their_file():
    from toolkit.eval.suite import SuiteSpec

    spec = SuiteSpec(name="x", items="items.jsonl")
    assert item_pool(spec, SECRET) == {"kind": "file"}


def test_a_named_secret_that_is_not_set_stops_the_run_before_any_work(tmp_path, monkeypatch):
    from tests.eval.recipes import eval_recipe, generation_suite
    from tests.helpers import gongmu

    suite = generation_suite(tmp_path / "gen")
    path = eval_recipe(tmp_path, [suite], [{"name": "api", "kind": "openai", "model": "m",
                                            "base_url": "http://127.0.0.1:9/v1"}],
                       item_secret_env="GONGMU_TEST_ITEM_SECRET")
    monkeypatch.delenv("GONGMU_TEST_ITEM_SECRET", raising=False)
    proc = gongmu("recipe", "validate", str(path))
    assert proc.returncode == 2 and "GONGMU_TEST_ITEM_SECRET, which is not set" in proc.stderr


def test_a_secret_pasted_where_its_variable_name_belongs_is_refused_unrepeated(tmp_path):
    from tests.eval.recipes import eval_recipe, generation_suite
    from toolkit.errors import RecipeError
    from toolkit.recipe import load_recipe

    path = eval_recipe(tmp_path, [generation_suite(tmp_path / "gen")],
                       [{"name": "api", "kind": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}],
                       item_secret_env="sk-live-7f3aB9x2Qw8Zr4Kt")
    with pytest.raises(RecipeError) as caught:
        load_recipe(path)
    assert "sk-live-7f3aB9x2Qw8Zr4Kt" not in str(caught.value) and "item_secret_env" in str(caught.value)

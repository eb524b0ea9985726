"""Endpoints under our rules (issue 20 §8): a reply is cut to the suite's max_new_tokens,
counted by gongmu (with the served model's tokenizer when the candidate names one), the
cut recorded; the endpoint's own usage figures are kept beside gongmu's."""

from __future__ import annotations

from tests.eval.recipes import REFERENCE, endpoint, eval_recipe, generation_suite
from tests.eval.servers import Scripted, completion
from toolkit.artifacts import read_json, read_jsonl
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage

PADDED = REFERENCE + " " + "기관명 수신자 발신 명의 결재 " * 200  # ignores max_tokens, pads


def _run(tmp_path, **candidate):
    suite = generation_suite(tmp_path / "gen", n=3, max_new_tokens=16)
    with Scripted(lambda body, n, server: ("ok", completion(PADDED, completion_tokens=5))) as server:
        recipe = load_recipe(eval_recipe(tmp_path, [suite], [endpoint(server.base_url, **candidate)]))
        run_stage(recipe, "eval")
    folder = recipe.stage_dir("eval")
    return read_jsonl(folder / "outputs" / "gen.api.jsonl"), read_json(folder / "results.json")


def test_a_reply_longer_than_max_new_tokens_is_cut_and_counted_by_gongmu(tmp_path):
    rows, results = _run(tmp_path)
    for row in rows:
        assert len(row["output"]) == 16 * 3 and PADDED.startswith(row["output"])
        assert row["completion_tokens"]["tokens"] == 16
        assert row["completion_tokens"]["cut_from"] > 16
    info = results["candidates"]["api"]
    assert info["replies_cut_to_max_new_tokens"] == 3
    assert info["completion_tokens_counted"] == 48 and info["completion_tokens_counted_with"] == "characters"
    assert info["completion_tokens"] == 15  # the endpoint's own figure, kept beside ours


def test_with_the_served_models_tokenizer_the_cut_is_in_its_tokens(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    rows, results = _run(tmp_path, tokenizer=str(tiny_model))
    tok = AutoTokenizer.from_pretrained(tiny_model, local_files_only=True)
    for row in rows:
        assert len(tok(row["output"], add_special_tokens=False)["input_ids"]) <= 17
        count = row["completion_tokens"]
        assert (count["tokens"], count["counted_with"]) == (16, "tokenizer") and count["cut_from"] > 1000
    assert results["candidates"]["api"]["completion_tokens_counted_with"] == "tokenizer"

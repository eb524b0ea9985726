"""Chat formatting for training: loss on assistant tokens (and their end-of-turn token)
only, and training tokens identical to what the serving side renders."""

from __future__ import annotations

import pytest

from toolkit.errors import DataError
from toolkit.recipe import ModelSection
from toolkit.train.data import IGNORE, check_template_matches_serving, tokenize_chat
from toolkit.tiny_model import END_OF_TURN
from toolkit.models import load_tokenizer

CHAT = [
    {"role": "system", "content": "서울시 행정 비서입니다."},
    {"role": "user", "content": "문서 종류는?"},
    {"role": "assistant", "content": "공문"},
    {"role": "user", "content": "담당부서는?"},
    {"role": "assistant", "content": "행정국 총무과"},
]


@pytest.fixture(scope="module")
def tok(tiny_model):
    return load_tokenizer(ModelSection(path=tiny_model))


def test_labels_cover_exactly_the_assistant_turns_and_their_end_of_turn_token(tok):
    t = tokenize_chat(tok, CHAT, max_len=1024)
    labelled = [i for i, label in enumerate(t.labels) if label != IGNORE]
    assert all(t.labels[i] == t.input_ids[i] for i in labelled)
    text = tok.decode([t.input_ids[i] for i in labelled])
    assert text == f"공문{END_OF_TURN}행정국 총무과{END_OF_TURN}"
    # Nothing of the system or user turns is learned.
    unlabelled = tok.decode([x for x, lab in zip(t.input_ids, t.labels) if lab == IGNORE])
    assert "서울시 행정 비서입니다." in unlabelled and "담당부서는?" in unlabelled
    assert tok.eos_token_id in [t.input_ids[i] for i in labelled]
    assert tok.pad_token_id not in t.input_ids


def test_training_tokens_equal_serving_tokens(tok):
    assert check_template_matches_serving(tok, [{"id": "x", "messages": CHAT}]) == 1


def test_template_without_eos_after_assistant_turns_is_refused(tok):
    tok = tok.__class__.from_pretrained(tok.name_or_path)
    tok.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}assistant: {% endif %}")
    with pytest.raises(DataError, match="never learn to stop"):
        tokenize_chat(tok, CHAT, max_len=1024)


def test_truncation_is_reported(tok):
    t = tokenize_chat(tok, CHAT, max_len=8)
    assert t.truncated and len(t.input_ids) == 8


def test_training_refuses_an_eval_split_that_overlaps_train():
    from toolkit.errors import GongmuError
    from toolkit.train.trainer import refuse_overlap

    rec = {"id": "a#title", "messages": CHAT, "meta": {"doc_id": "docs/a.md"}}
    other = {"id": "b#title", "messages": CHAT[:3], "meta": {"doc_id": "docs/b.md"}}
    refuse_overlap([rec], [other], "corpus")  # disjoint: fine
    with pytest.raises(GongmuError, match="1 documents on both sides.*docs/a.md"):
        refuse_overlap([rec], [dict(rec, id="a#x", messages=CHAT[:3])], "corpus")
    with pytest.raises(GongmuError, match="1 identical examples.*b#copy"):
        refuse_overlap([rec], [dict(rec, id="b#copy", meta={"doc_id": "docs/b.md"})], "corpus")


def test_training_fails_when_too_many_examples_exceed_max_seq_len(tiny_model, tmp_path):
    from tests.helpers import write_recipe
    from toolkit.errors import GongmuError
    from toolkit.recipe import load_recipe
    from toolkit.stages import run_stage

    recipe = load_recipe(write_recipe(tmp_path, tiny_model), ["tracking.enabled=false",
                                                              "train.max_seq_len=64"])
    run_stage(recipe, "corpus")
    with pytest.raises(GongmuError, match=r"longer than train.max_seq_len=64.*max_truncated_fraction"):
        run_stage(recipe, "train")
    assert not recipe.stage_dir("train").exists()

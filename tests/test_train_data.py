"""Chat formatting for training: loss on assistant tokens (and their end-of-turn token)
only, and training tokens identical to what the serving side renders."""

from __future__ import annotations

import pytest

from toolkit.errors import DataError
from toolkit.recipe import ModelSection
from toolkit.train.data import IGNORE, check_template_matches_serving, tokenize_chat
from toolkit.train.model import END_OF_TURN, load_tokenizer

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

"""The chat-template parity check compares what training feeds with what serving
renders (issue 15, item 11): it used to tokenize the same string twice, so it could not
fail. Here a template whose generation prompt ends inside a token (a trailing space that
BPE glues to the answer's first word) passes every other check and is caught."""

from __future__ import annotations

import pytest

from toolkit.errors import DataError
from toolkit.models import load_tokenizer
from toolkit.recipe import ModelSection
from toolkit.train.data import (
    IGNORE,
    assistant_spans,
    check_template_matches_serving,
    serving_mismatch,
    tokenize_chat,
)

CHAT = [
    {"role": "system", "content": "서울시 행정 비서입니다."},
    {"role": "user", "content": "문서 종류는?"},
    {"role": "assistant", "content": "개인정보 보호 지침"},
    {"role": "user", "content": "담당부서는?"},
    {"role": "assistant", "content": "행정국 총무과"},
]
# ChatML whose assistant header ends with a space instead of a newline.
SPACE_HEADER = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}"
    "{% if m['role'] == 'assistant' %} {% else %}\n{% endif %}{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant {% endif %}"
)


@pytest.fixture
def tok(tiny_model):
    return load_tokenizer(ModelSection(path=tiny_model))


def test_the_model_own_template_trains_what_serving_renders(tok):
    assert serving_mismatch(tok, CHAT) is None
    assert check_template_matches_serving(tok, [{"id": "x", "messages": CHAT}]) == 1


def test_a_generation_prompt_ending_inside_a_token_is_caught(tok):
    tok.chat_template = SPACE_HEADER
    assistant_spans(tok, CHAT)  # renders prefix by prefix and ends turns with eos: no help
    t = tokenize_chat(tok, CHAT, max_len=1024)
    # Training reads " 개인정보" as tokens that start before the answer, so the answer's
    # first word is never learned; a server's prompt ends with a lone " " token instead.
    trained = tok.decode([x for x, label in zip(t.input_ids, t.labels) if label != IGNORE])
    assert not trained.lstrip().startswith("개인정보")
    problem = serving_mismatch(tok, CHAT)
    assert problem is not None and problem.startswith("turn 2: the prompt a server tokenizes")
    with pytest.raises(DataError, match=r"Record x: training and serving would see different "
                                        r"tokens: turn 2: the prompt a server tokenizes"):
        check_template_matches_serving(tok, [{"id": "x", "messages": CHAT}])


def test_an_answer_the_template_decorates_is_caught(tok):
    tok.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
        "{% if m['role'] == 'assistant' %} (끝){% endif %}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    assert serving_mismatch(tok, CHAT) == (
        "turn 2: the trained answer reads '개인정보 보호 지침 (끝)', not the record's "
        "'개인정보 보호 지침'")

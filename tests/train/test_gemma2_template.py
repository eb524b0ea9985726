"""Gemma 2's tokenizer eos is <eos>, while its chat template ends turns with
<end_of_turn> (issue 15, item 11). With the model's own template the assistant-span
check refuses to train (the model would never learn to stop); the gemma-2-9b recipes set
model.eos_token and a chat template, and then training ends every answer with
<end_of_turn> and matches what serving renders. The tokenizer is built here, Gemma-style:
a byte-level BPE with Gemma's special tokens and Gemma 2's chat template text."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from tests.helpers import DOCS, REPO
from toolkit.errors import DataError
from toolkit.models import load_tokenizer
from toolkit.recipe import ModelSection, load_recipe
from toolkit.train.data import IGNORE, assistant_spans, serving_mismatch, tokenize_chat

# gemma-2-9b-it's tokenizer_config.json chat_template.
GEMMA2_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not "
    "supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != "
    "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/"
    "user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = "
    "'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + "
    "'\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if "
    "add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
CHAT = [
    {"role": "user", "content": "문서 종류는?"},
    {"role": "assistant", "content": "공문"},
    {"role": "user", "content": "담당부서는?"},
    {"role": "assistant", "content": "행정국 총무과"},
]
SYSTEM = [{"role": "system", "content": "서울시 행정 비서입니다."}]


@pytest.fixture(scope="module")
def gemma2_dir(tmp_path_factory):
    """A folder that loads like gemma-2-9b-it's tokenizer (and passes the model-folder
    checks: a config and a safetensors file; no model is loaded from it here)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("gemma2")
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    texts = [p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))]
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=600, special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<bos>", eos_token="<eos>",
                                  pad_token="<pad>", unk_token="<unk>",
                                  additional_special_tokens=["<start_of_turn>", "<end_of_turn>"])
    tok.chat_template = GEMMA2_TEMPLATE
    tok.save_pretrained(out)
    (out / "config.json").write_text(json.dumps({"model_type": "gemma2"}), encoding="utf-8")
    save_file({"placeholder": torch.zeros(1)}, out / "model.safetensors")
    return out


def test_gemma2_own_template_is_refused_and_says_what_to_set(gemma2_dir):
    tok = load_tokenizer(ModelSection(path=gemma2_dir))
    assert tok.eos_token == "<eos>"
    with pytest.raises(DataError, match=r"does not end assistant turns with the eos token '<eos>'"
                                        r".*Set model.eos_token .*<end_of_turn>"):
        assistant_spans(tok, CHAT)
    with pytest.raises(DataError, match="The chat template refuses a conversation of roles "
                                        "system/user/assistant/user/assistant: System role not "
                                        "supported"):
        tokenize_chat(tok, SYSTEM + CHAT, max_len=1024)


@pytest.mark.parametrize("recipe", ["lora", "qlora"])
def test_the_gemma2_recipes_train_turns_that_end_with_end_of_turn(gemma2_dir, recipe):
    loaded = load_recipe(REPO / "recipes" / "gemma-2-9b" / f"{recipe}.yaml",
                         [f"model.path={gemma2_dir}"])
    tok = load_tokenizer(loaded.model)
    assert tok.eos_token == "<end_of_turn>" and tok.pad_token == "<pad>"
    for messages in (CHAT, SYSTEM + CHAT):
        t = tokenize_chat(tok, messages, max_len=1024)
        trained = tok.decode([x for x, label in zip(t.input_ids, t.labels) if label != IGNORE])
        assert trained == "공문<end_of_turn>행정국 총무과<end_of_turn>"
        assert serving_mismatch(tok, messages) is None
    # The system prompt opens the first user turn; without one, the template is Gemma 2's own.
    text = tok.apply_chat_template(SYSTEM + CHAT, tokenize=False)
    assert text.startswith("<bos><start_of_turn>user\n서울시 행정 비서입니다.\n\n문서 종류는?<end_of_turn>\n")
    own = load_tokenizer(ModelSection(path=gemma2_dir))
    assert tok.apply_chat_template(CHAT, tokenize=False) == own.apply_chat_template(CHAT, tokenize=False)
    assert (tok.apply_chat_template(CHAT[:1], tokenize=False, add_generation_prompt=True)
            == own.apply_chat_template(CHAT[:1], tokenize=False, add_generation_prompt=True))

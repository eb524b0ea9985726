"""An `openai` eval candidate: an OpenAI-compatible endpoint (vLLM, `transformers serve`,
a vendor API), asked through `toolkit.endpoints`.

Requests, per item:

- generation: POST {base_url}/chat/completions {"model", "messages", "max_tokens",
  "temperature": 0, "stop"?} + `extra_body`; the reply is cut at the suite's stop
  strings and trimmed, as a local candidate's output is.
- multiple choice, `logprobs`: POST {base_url}/completions {"model", "prompt": the
  prompt text (rendered with the candidate's `tokenizer`) + the choice, "echo": true,
  "logprobs": 1, "max_tokens": 1, "temperature": 0}; the choice's log-likelihood is the
  sum of the echoed log-probabilities of the tokens that start at or after the prompt's
  end (vLLM offers these; so do OpenAI's legacy completions).
- multiple choice, `letter`: the item's messages with the choices listed as A., B., ...
  and a request for the letter alone. Its accuracies are flagged in results.json
  (`choice_scoring: letter`): they are not comparable with log-likelihood accuracies.

Each reply is cached in `<output_dir>/<name>/eval-cache/<candidate>.jsonl` under the
sha256 of the candidate's name, URL and request body, as soon as it arrives: a killed
eval resumes without asking again. Items that never get an answer are failed with their
reason, counted per suite, and scored as the worst. Each request must end within
`timeout` (the whole request) and its reply stay under `max_reply_bytes`; each suite's
requests within `suite_timeout`, after which its unsent items fail as `endpoint_down`.
The API key is read from `api_key_env`, other headers from the variables `headers_env`
names, at request time; their values are never written, logged or put in an error, and
a server that echoes one gets it stored as ‹key›.

Before anything is sent, a candidate that is not on this machine (`endpoints.is_local`)
gets no item holding personal data that `scan-pii` finds in anything the requests carry
(system prompt, few-shot turns, the prompt, multiple-choice `choices`, `extra_body`
strings), unless the candidate says `allow_remote_pii: true` (values an item declares as
its fictional `context_pii`, as the pii suites do, are not counted). Every request body is
checked again as it is built, so nothing new slips past the first check.
"""

from __future__ import annotations

import hashlib
import os
import re
import statistics
import time
import unicodedata
from collections import Counter

from toolkit.endpoints import (
    AskPolicy,
    EndpointFailure,
    ReplyCache,
    ask_all,
    chat_text,
    is_local,
    request_key,
    strings_in,
)
from toolkit.errors import DataError, RecipeError
from toolkit.eval.candidates import Scored, messages_hash
from toolkit.recipe import Recipe

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LETTER_MAX_TOKENS = 8
CACHE_FOLDER = "eval-cache"
# Without the served model's tokenizer, replies are cut at this many characters a token:
# Korean tokenizers give one to two syllables a token, so the bound is generous.
CHARS_PER_TOKEN = 3
_LETTER = re.compile(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])")


def cache_path(recipe: Recipe, name: str):
    return recipe.run_dir / CACHE_FOLDER / f"{name}.jsonl"


# --------------------------------------------------------------------------- before sending


def api_key(recipe: Recipe, candidate, index: int) -> str | None:
    """The candidate's key from its environment variable; RecipeError when the variable
    is named but not set (never the key itself in any message)."""
    if candidate.api_key_env is None:
        return None
    return _from_env(recipe, candidate, index, ("api_key_env",), candidate.api_key_env, "API key")


def header_values(recipe: Recipe, candidate, index: int) -> dict[str, str]:
    """The candidate's `headers_env` headers with their values read from the environment;
    RecipeError naming the variable (never its value) when one is not set."""
    return {name: _from_env(recipe, candidate, index, ("headers_env", name), variable,
                            f"{name} header")
            for name, variable in candidate.headers_env.items()}


def _from_env(recipe: Recipe, candidate, index: int, key: tuple, variable: str, what: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise RecipeError(
            f"{recipe.where('eval', 'candidates', index, *key)}: candidate "
            f"'{candidate.name}' reads its {what} from the environment variable "
            f"{variable}, which is not set. Export it before running gongmu eval.")
    if any(c in value for c in "\r\n\0"):
        raise RecipeError(
            f"{recipe.where('eval', 'candidates', index, *key)}: the environment variable "
            f"{variable} (candidate '{candidate.name}''s {what}) holds a line break; set it "
            f"to the value alone, on one line.")
    return value


def _pii_key(text: str) -> str:
    return re.sub(r"[\s\-.()]", "", unicodedata.normalize("NFC", text)).casefold()


def personal_data_in(item: dict, texts) -> list[str]:
    """Types of the personal data `scan-pii` finds in `texts` (strings sent for `item`),
    leaving out the values the item declares as its fictional context (`context_pii`)."""
    from toolkit.korean.pii import find_pii

    declared = [_pii_key(v) for v in item.get("context_pii") or [] if _pii_key(v)]
    found = []
    for text in texts:
        for f in find_pii(unicodedata.normalize("NFC", text)):
            key = _pii_key(f.text)
            if not any(key and key in d for d in declared):
                found.append(f.type)
    return found


def personal_data(suite, item: dict, messages: list[dict]) -> list[str]:
    """Types of the personal data `scan-pii` finds in the prompt of `item` (its messages
    and its multiple-choice `choices`), leaving out its declared `context_pii`."""
    return personal_data_in(item, [*(m["content"] for m in messages),
                                   *strings_in(item.get("choices") or [])])


def refuse_remote_pii(recipe: Recipe, candidate, index: int, suites) -> None:
    """DataError, before any request, when a non-local candidate would be sent personal
    data (in an item's prompt, few-shot turns, system prompt or choices, or in the
    candidate's extra_body) and the recipe does not allow it."""
    from toolkit.eval.scoring import prompt_messages

    if is_local(candidate.base_url) or candidate.allow_remote_pii:
        return
    hits = []
    extra = personal_data_in({}, strings_in(candidate.extra_body))
    if extra:
        hits.append(f"extra_body ({', '.join(sorted(set(extra)))})")
    for suite in suites:
        for item in suite.items:
            types = personal_data(suite, item, prompt_messages(suite, item))
            if types:
                hits.append(f"{suite.name}/{item['id']} ({', '.join(sorted(set(types)))})")
    if hits:
        raise _remote_pii_error(recipe, candidate, index, hits)


def _remote_pii_error(recipe: Recipe, candidate, index: int, hits: list[str]) -> DataError:
    return DataError(
        f"{recipe.where('eval', 'candidates', index)}: candidate '{candidate.name}' is not on "
        f"this machine ({candidate.base_url}), and {len(hits)} item(s) hold personal data: "
        f"{'; '.join(hits[:5])}{' …' if len(hits) > 5 else ''}. Nothing was sent. Remove "
        f"those items (gongmu corpus scan-pii finds them), evaluate that suite on local "
        f"candidates only, or set allow_remote_pii: true on the candidate if sending them "
        f"there is allowed.")


# --------------------------------------------------------------------------- requests


def _fatal(failure: EndpointFailure, answered: bool) -> bool:
    # A refused key never gets better; a 404 before any answer is a wrong path or model.
    return failure.status in (401, 403) or (failure.status == 404 and not answered)


def _fatal_error(recipe: Recipe, candidate, index: int, failure: EndpointFailure) -> DataError:
    where = f"{recipe.where('eval', 'candidates', index)}: candidate '{candidate.name}'"
    if failure.status in (401, 403):
        key = (f"Set {candidate.api_key_env} to a key the server accepts" if candidate.api_key_env
               else "Name the environment variable holding the key in api_key_env")
        return DataError(f"{where}: {candidate.base_url} refused the request ({failure.detail}). "
                         f"{key}.")
    return DataError(
        f"{where}: {candidate.base_url} answered {failure.detail}: the path or the model is "
        f"wrong. Check that base_url ends in /v1 and that model '{candidate.model}' is served "
        f"(GET {candidate.base_url.rstrip('/')}/models lists them).")


class _Asker:
    """One candidate's requests: policy, cache, key and the accounting of what it got."""

    def __init__(self, recipe: Recipe, candidate, index: int, bar):
        self.recipe, self.c, self.index, self.bar = recipe, candidate, index, bar
        self.url = candidate.base_url.rstrip("/")
        self.key = api_key(recipe, candidate, index)
        headers = header_values(recipe, candidate, index)
        self.cache = ReplyCache(cache_path(recipe, candidate.name))
        self.policy = AskPolicy(max_concurrency=candidate.max_concurrency,
                                requests_per_minute=candidate.requests_per_minute,
                                timeout_s=candidate.timeout, retries=candidate.retries,
                                backoff_s=candidate.backoff_s, fatal=_fatal,
                                headers=headers, max_reply_bytes=candidate.max_reply_bytes)
        self.guard_pii = not (is_local(candidate.base_url) or candidate.allow_remote_pii)
        self.count = Counter()
        self.latencies: list[float] = []
        self._tokenizer = None
        self.deadline_passed: list[str] = []

    def start_suite(self, suite) -> None:
        """The suite's overall deadline starts now (`suite_timeout`)."""
        self.suite = suite.name
        if self.c.suite_timeout is None:
            self.policy.deadline = None
            return
        self.policy.deadline = time.monotonic() + self.c.suite_timeout
        self.policy.deadline_reason = (
            f"suite {suite.name}'s deadline (suite_timeout={self.c.suite_timeout:g} s) "
            f"passed; the endpoint counts as down for it")

    def ask(self, path: str, bodies: list[dict], task, check=None, items=None):
        """Answers for `bodies`; `items[k]` is the suite item body k is about (its declared
        context_pii may go to a remote endpoint, nothing else that scan-pii finds)."""
        if self.guard_pii:
            for body, item in zip(bodies, items or [{}] * len(bodies)):
                found = personal_data_in(item, strings_in(body))
                if found:
                    raise _remote_pii_error(self.recipe, self.c, self.index, [
                        f"{item.get('id', 'a request')} ({', '.join(sorted(set(found)))})"])
        keys = [request_key({"candidate": self.c.name, "url": self.url + path, "body": b})
                for b in bodies]

        def on_answer(i, answer):
            self.count["attempts"] += answer.attempts
            if answer.cached:
                self.count["cache_hits"] += 1
            elif answer.reply is not None:
                self.count["answered"] += 1
                self.latencies.append(answer.latency_s)
            usage = (answer.reply or {}).get("usage") or {}
            for name in ("prompt_tokens", "completion_tokens"):
                if isinstance(usage.get(name), int):
                    self.count[name] += usage[name]
                    if not answer.cached:
                        self.count[f"{name}_this_run"] += usage[name]
            if task is not None:
                self.bar.advance(task, 1)

        try:
            answers = ask_all(self.url + path, bodies, keys, policy=self.policy,
                              cache=self.cache, api_key=self.key, check=check,
                              on_answer=on_answer)
        except EndpointFailure as failure:
            raise _fatal_error(self.recipe, self.c, self.index, failure) from None
        if (self.policy.deadline is not None and time.monotonic() >= self.policy.deadline
                and self.suite not in self.deadline_passed):
            self.deadline_passed.append(self.suite)
        return answers

    def cut(self, text: str, limit: int) -> tuple[str, dict]:
        """`text` cut to `limit` tokens, counted by gongmu, not by the endpoint: with the
        candidate's `tokenizer` (the served model's) when it has one, else at
        CHARS_PER_TOKEN characters a token, a bound no Korean tokenizer undercuts. An
        endpoint that ignores max_tokens gains nothing from a longer answer."""
        if self.c.tokenizer is not None:
            if self._tokenizer is None:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(self.c.tokenizer,
                                                                local_files_only=True)
            ids = self._tokenizer(text, add_special_tokens=False)["input_ids"]
            count = {"tokens": min(len(ids), limit), "counted_with": "tokenizer"}
            if len(ids) > limit:
                text = self._tokenizer.decode(ids[:limit], skip_special_tokens=True)
                count["cut_from"] = len(ids)
        else:
            chars = limit * CHARS_PER_TOKEN
            count = {"tokens": -(-min(len(text), chars) // CHARS_PER_TOKEN),
                     "counted_with": "characters"}
            if len(text) > chars:
                count["cut_from"] = -(-len(text) // CHARS_PER_TOKEN)
                text = text[:chars]
        self.count["completion_tokens_counted"] += count["tokens"]
        self.count["cut_replies"] += "cut_from" in count
        return text, count

    def body(self, **keys) -> dict:
        return {"model": self.c.model, **keys, **self.c.extra_body,
                **{k: v for k, v in keys.items() if k in ("model", "messages", "prompt")}}

    def record(self) -> dict:
        c = self.c
        prompt, completion = self.count["prompt_tokens"], self.count["completion_tokens"]
        cost = cost_now = None
        if c.price_per_1k_input_tokens is not None or c.price_per_1k_output_tokens is not None:
            price_in, price_out = c.price_per_1k_input_tokens or 0.0, c.price_per_1k_output_tokens or 0.0
            cost = round((prompt * price_in + completion * price_out) / 1000, 6)
            cost_now = round((self.count["prompt_tokens_this_run"] * price_in
                              + self.count["completion_tokens_this_run"] * price_out) / 1000, 6)
        lat = sorted(self.latencies)
        return {
            "kind": "openai", "base_url": c.base_url, "model": c.model,
            "local": is_local(c.base_url), "api_key_env": c.api_key_env,
            "headers_env": dict(c.headers_env),  # variable names only, never values
            "timeout": c.timeout, "suite_timeout": c.suite_timeout,
            "max_reply_bytes": c.max_reply_bytes,
            "suite_deadline_passed": list(self.deadline_passed),
            "max_concurrency": c.max_concurrency, "requests_per_minute": c.requests_per_minute,
            "requests_sent": self.count["attempts"], "answered_this_run": self.count["answered"],
            "cache_hits": self.count["cache_hits"],
            "prompt_tokens": prompt, "completion_tokens": completion,  # the endpoint's own
            "completion_tokens_counted": self.count["completion_tokens_counted"],  # gongmu's
            "completion_tokens_counted_with": "tokenizer" if c.tokenizer else "characters",
            "replies_cut_to_max_new_tokens": self.count["cut_replies"],
            "latency_s": {"mean": round(statistics.fmean(lat), 4),
                          "p50": round(lat[len(lat) // 2], 4),
                          "p95": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 4),
                          "max": round(lat[-1], 4)} if lat else None,
            "cost": cost, "cost_this_run": cost_now,
            "cache": str(self.cache.path),
        }


def _failure_reason(answer) -> str:
    return answer.failure.reason() if answer.failure else "no reply"


# --------------------------------------------------------------------------- scoring


def score_endpoint(recipe: Recipe, candidate, suites, bar) -> Scored:
    """Every suite's rows for the endpoint `candidate`, and its record (requests, cache
    hits, tokens, latency, cost, how multiple choice was scored)."""
    from toolkit.eval.scoring import prompt_messages, score_answers

    index = [c.name for c in recipe.eval.candidates].index(candidate.name)
    asker = _Asker(recipe, candidate, index, bar)
    scored = Scored()
    mode, why = _choice_mode(candidate)
    started = time.monotonic()
    try:
        for suite in suites:
            asker.start_suite(suite)
            messages = [prompt_messages(suite, item) for item in suite.items]
            hashes = [messages_hash(m) for m in messages]
            failed: list[str | None] = [None] * len(messages)
            outputs = logprobs = picks = None
            counts = None
            if suite.text_metrics:
                outputs, failed, counts = _generate(asker, suite, messages,
                                                    recipe.eval.max_new_tokens)
            if suite.choice_metrics:
                if mode != "letter":
                    logprobs, lp_failed, unsupported = _choice_logprobs(asker, suite, messages)
                    if unsupported and candidate.choice_scoring == "auto":
                        mode, why, logprobs = "letter", unsupported, None
                    elif unsupported:
                        raise DataError(
                            f"{recipe.where('eval', 'candidates', index, 'choice_scoring')}: "
                            f"candidate '{candidate.name}' asks for choice_scoring: logprobs, but "
                            f"{unsupported}. Use choice_scoring: letter (or auto).")
                    else:
                        mode = "logprobs"
                        failed = [a or b for a, b in zip(failed, lp_failed)]
                if mode == "letter":
                    picks, replies, lt_failed = _letters(asker, suite, messages)
                    failed = [a or b for a, b in zip(failed, lt_failed)]
            rows = score_answers(suite, hashes, outputs=outputs, choice_logprobs=logprobs,
                                 letter_picks=picks, failed=failed)
            if picks is not None:
                for row, reply in zip(rows, replies):
                    if reply is not None:
                        row["letter_reply"] = reply
            for row, count in zip(rows, counts or []):
                if count is not None:  # gongmu's own count, and the cut when there was one
                    row["completion_tokens"] = count

            scored.rows[suite.name] = rows
            scored.per_suite[suite.name] = {
                "prompts_hash": hashlib.sha256("\n".join(hashes).encode()).hexdigest(),
                "chat_template_sha256": None,  # the server renders the messages
                **({"choice_scoring": mode} if suite.choice_metrics else {}),
            }
    finally:
        asker.cache.close()
    scored.info = {**asker.record(), "seconds": round(time.monotonic() - started, 3)}
    if any(s.choice_metrics for s in suites):
        scored.info["choice_scoring"] = mode
        if why:
            scored.info["choice_scoring_reason"] = why
    answered = scored.info["answered_this_run"] + scored.info["cache_hits"]
    if answered == 0 and scored.info["requests_sent"]:
        first = next(r["failed"] for rows in scored.rows.values() for r in rows if r.get("failed"))
        raise DataError(
            f"{recipe.where('eval', 'candidates', index)}: candidate '{candidate.name}' "
            f"({candidate.base_url}) answered no request ({first}). Check that the server is up "
            f"and that base_url is right, then run gongmu eval again (answers already received "
            f"are cached).")
    return scored


def _choice_mode(candidate) -> tuple[str, str | None]:
    if candidate.choice_scoring == "letter":
        return "letter", None
    if candidate.tokenizer is None:
        if candidate.choice_scoring == "logprobs":
            return "logprobs", None  # refused below with the reason
        return "letter", "no tokenizer is set to render the prompt text for /completions"
    return candidate.choice_scoring, None


def _generate(asker: _Asker, suite, messages, max_new_tokens: int):
    from toolkit.generation import cut_at_stop

    params = {"max_tokens": suite.spec.max_new_tokens or max_new_tokens, "temperature": 0}
    if suite.spec.stop:
        params["stop"] = list(suite.spec.stop)
    bodies = [asker.body(messages=m, **params) for m in messages]
    task = asker.bar.add_task(f"{suite.name} · {asker.c.name}", total=len(bodies), info="")
    answers = asker.ask("/chat/completions", bodies, task, check=chat_text, items=suite.items)
    limit = params["max_tokens"]
    outputs, failed, counts = [], [], []
    for answer in answers:
        if answer.reply is None:
            outputs.append(None)
            failed.append(_failure_reason(answer))
            counts.append(None)
        else:
            text, count = asker.cut(cut_at_stop(chat_text(answer.reply), suite.spec.stop), limit)
            outputs.append(text)
            failed.append(None)
            counts.append(count)
    return outputs, failed, counts


def _echoed(reply: dict) -> dict:
    try:
        lp = reply["choices"][0]["logprobs"]
        if not (isinstance(lp["token_logprobs"], list) and isinstance(lp["text_offset"], list)):
            raise TypeError
        return lp
    except (KeyError, IndexError, TypeError):
        raise EndpointFailure("no_logprobs", "the reply has no echoed token log-probabilities "
                              "(choices[0].logprobs.token_logprobs and text_offset)") from None


def _choice_logprobs(asker: _Asker, suite, messages):
    """(log-likelihood of each choice per item, failure per item, why logprobs are not
    offered or None)."""
    from transformers import AutoTokenizer

    from toolkit.generation import render_prompt

    tok = AutoTokenizer.from_pretrained(asker.c.tokenizer, local_files_only=True)
    prompts = [render_prompt(tok, m) for m in messages]
    pairs = [(i, c) for i, item in enumerate(suite.items) for c in range(len(item["choices"]))]
    bodies = [asker.body(prompt=prompts[i] + suite.items[i]["choices"][c], max_tokens=1,
                         temperature=0, echo=True, logprobs=1) for i, c in pairs]
    # One request first: whether the endpoint offers echoed log-probabilities at all.
    sent_for = [suite.items[i] for i, _ in pairs]
    probe = asker.ask("/completions", bodies[:1], None, items=sent_for[:1])[0]
    if probe.reply is None and probe.failure.status in (400, 404, 405, 422, 501):
        return None, None, f"{asker.c.base_url}/completions refused echo with logprobs ({probe.failure.detail})"
    if probe.reply is not None:
        try:
            _echoed(probe.reply)
        except EndpointFailure:
            return None, None, (f"{asker.c.base_url}/completions replied without echoed token "
                                f"log-probabilities")
    task = asker.bar.add_task(f"{suite.name} · {asker.c.name}", total=len(bodies), info="")
    answers = asker.ask("/completions", bodies, task, check=_echoed, items=sent_for)
    values = [[0.0] * len(item["choices"]) for item in suite.items]
    failed: list[str | None] = [None] * len(suite.items)
    for (i, c), answer in zip(pairs, answers):
        if answer.reply is None:
            failed[i] = failed[i] or _failure_reason(answer)
            continue
        lp = _echoed(answer.reply)
        start, end = len(prompts[i]), len(prompts[i]) + len(suite.items[i]["choices"][c])
        values[i][c] = float(sum(v for v, off in zip(lp["token_logprobs"], lp["text_offset"])
                                 if v is not None and start <= off < end))
    return [None if f else v for v, f in zip(values, failed)], failed, None


def letter_messages(messages: list[dict], choices: list[str]) -> list[dict]:
    """The item's messages with its choices listed as A., B., ... and a request for the
    letter alone."""
    listed = "\n".join(f"{LETTERS[k]}. {c}" for k, c in enumerate(choices))
    last = messages[-1]
    ask = (f"{last['content']}\n\n선택지:\n{listed}\n\n정답의 기호"
           f"({', '.join(LETTERS[:len(choices)])}) 하나만 쓰십시오.")
    return [*messages[:-1], {**last, "content": ask}]


def read_letter(reply: str, n_choices: int) -> int | None:
    """The choice a reply names by its letter (the first standalone capital), or None."""
    for m in _LETTER.finditer(reply):
        k = LETTERS.index(m.group(1))
        if k < n_choices:
            return k
    return None


def _letters(asker: _Asker, suite, messages):
    bodies = [asker.body(messages=letter_messages(m, item["choices"]),
                         max_tokens=LETTER_MAX_TOKENS, temperature=0)
              for m, item in zip(messages, suite.items)]
    task = asker.bar.add_task(f"{suite.name} · {asker.c.name} (letters)", total=len(bodies),
                              info="")
    answers = asker.ask("/chat/completions", bodies, task, check=chat_text, items=suite.items)
    picks, replies, failed = [], [], []
    for answer, item in zip(answers, suite.items):
        if answer.reply is None:
            picks.append(None)
            replies.append(None)
            failed.append(_failure_reason(answer))
        else:
            text = chat_text(answer.reply).strip()
            picks.append(read_letter(text, len(item["choices"])))
            replies.append(text)
            failed.append(None)
    return picks, replies, failed

"""OpenAI-compatible servers on 127.0.0.1 for the eval tests: a scripted one that
misbehaves on cue (429, 500, timeouts, malformed JSON, cut replies) and counts what it
answered, and one that runs the tiny model (chat completions, and /completions with
echoed log-probabilities as vLLM gives them). Both bounded: every wait has a timeout."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prompt_of(body: dict) -> str:
    """A request's prompt as one string (its messages, or its /completions prompt)."""
    if "messages" in body:
        return json.dumps(body["messages"], ensure_ascii=False, sort_keys=True)
    return body.get("prompt", "")


def completion(text: str, prompt_tokens: int = 10, completion_tokens: int = 3) -> dict:
    return {"object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


class Scripted:
    """A threaded http.server whose reply to each POST is `script(body, n, server)`: n is
    how many times this prompt was asked before (0 the first time). A script returns
    one of ("ok", payload), ("status", code, payload, headers), ("sleep", seconds, then),
    ("malformed",), ("truncated",), ("reset",), ("hold", event) (answer nothing until the
    event is set or 30 s pass), ("trickle", seconds) (a whole reply, status line included,
    one byte every `seconds`, 60 bytes at most), ("huge", n_bytes, declared) (a 200 reply
    of n_bytes of JSON string, its Content-Length declared or not: then the connection's
    end delimits it). The server counts requests, answers (200 replies fully written) per
    prompt, bytes written by "huge" replies (`huge_sent`), and the largest number of
    requests in flight at once."""

    def __init__(self, script: Callable):
        self.script = script
        self.lock = threading.Lock()
        self.asked: Counter = Counter()  # prompt sha -> requests received
        self.answered: Counter = Counter()  # prompt sha -> 200 replies fully written
        self.headers: list[dict] = []
        self.bodies: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.huge_sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                key = hashlib.sha256(prompt_of(body).encode()).hexdigest()
                with outer.lock:
                    n = outer.asked[key]
                    outer.asked[key] += 1
                    outer.headers.append(dict(self.headers))
                    outer.bodies.append(body)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    self._act(outer.script(body, n, outer), key)
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

            def _act(self, action, key):
                kind = action[0]
                if kind == "sleep":
                    time.sleep(action[1])
                    return self._act(action[2], key)
                if kind == "hold":
                    action[1].wait(timeout=30)
                    return self._act(("status", 503, {"error": "held"}, {}), key)
                if kind == "trickle":
                    data = json.dumps(completion("늦은 답")).encode()
                    raw = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(data)}\r\n\r\n").encode() + data
                    self.close_connection = True
                    for k in range(min(len(raw), 60)):
                        self.wfile.write(raw[k:k + 1])
                        self.wfile.flush()
                        time.sleep(action[1])
                    return
                if kind == "huge":
                    n, declared = action[1], action[2]
                    self.close_connection = True
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     + (f"Content-Length: {n}\r\n".encode() if declared else b"")
                                     + b"Connection: close\r\n\r\n\"")
                    block = b"x" * (1 << 16)
                    for _ in range(n // len(block)):
                        self.wfile.write(block)
                        with outer.lock:
                            outer.huge_sent += len(block)
                    return
                if kind == "reset":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if kind == "ok":
                    data, status, headers = json.dumps(action[1], ensure_ascii=False).encode(), 200, {}
                elif kind == "status":
                    data, status, headers = json.dumps(action[2]).encode(), action[1], action[3]
                elif kind == "malformed":
                    data, status, headers = b'{"choices": [{"message": {"content": "cut', 200, {}
                elif kind == "truncated":
                    data = json.dumps(completion("끝까지 오지 않는 답")).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                else:
                    raise ValueError(kind)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                if status == 200:
                    with outer.lock:
                        outer.answered[key] += 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A client that gave up (timeout) leaves a broken pipe behind: not worth a traceback.
        self.server.handle_error = lambda request, address: None
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class TinyModelServer(Scripted):
    """The tiny model behind /v1/chat/completions (greedy, the model's chat template, as
    `transformers serve` does) and /v1/completions with `echo` and `logprobs` (the
    log-probability of every prompt token and its character offset, as vLLM gives them)."""

    def __init__(self, model_dir: Path, logprobs: bool = True):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True,
                                                          dtype=torch.float32).eval()
        self.model_lock = threading.Lock()
        self.offers_logprobs = logprobs
        super().__init__(self._answer)

    def _answer(self, body: dict, n: int, server) -> tuple:
        from toolkit.generation import generate, render_prompt

        with self.model_lock:
            if "messages" in body:
                prompt = render_prompt(self.tok, body["messages"])
                text = generate(self.model, self.tok, [prompt], 1, body.get("max_tokens", 16),
                                stop=body.get("stop") or ())[0]
                ids = self.tok(prompt, add_special_tokens=False)["input_ids"]
                return ("ok", completion(text, len(ids), len(self.tok(text)["input_ids"])))
            if not self.offers_logprobs:
                return ("ok", {"object": "text_completion", "choices": [{"index": 0, "text": "x"}]})
            return ("ok", self._echo(body["prompt"]))

    def _echo(self, prompt: str) -> dict:
        import torch

        enc = self.tok(prompt, add_special_tokens=False, return_offsets_mapping=True)
        ids = torch.tensor([enc["input_ids"]])
        with torch.no_grad():
            logits = self.model(input_ids=ids).logits[0].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        token_logprobs = [None] + [logprobs[k - 1, t].item() for k, t in enumerate(enc["input_ids"]) if k]
        return {"object": "text_completion", "choices": [{"index": 0, "text": "", "logprobs": {
            "tokens": self.tok.convert_ids_to_tokens(enc["input_ids"]),
            "token_logprobs": token_logprobs,
            "text_offset": [a for a, _ in enc["offset_mapping"]],
        }}], "usage": {"prompt_tokens": len(enc["input_ids"]), "completion_tokens": 0}}


@contextmanager
def transformers_serve(model_dir: Path, log: Path):
    """A real `transformers serve` of `model_dir` on 127.0.0.1; yields its base URL."""
    port = free_port()
    exe = Path(sys.executable).parent / "transformers"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [str(exe), "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port),
             "--device", "cpu", "--log-level", "info"],  # info: one access-log line per request
            stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"transformers serve did not start:\n{log.read_text()}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)

"""Endpoint candidates: concurrent requests (max_concurrency 8) against one at a time, to
the same local OpenAI-compatible server, in one run.

    .venv/bin/python scripts/bench/endpoint_concurrency.py [--items 64] [--concurrency 8]
        [--server stub|transformers-serve] [--latency-ms 200] [--rounds 2] [--out bench.json]

Both modes send the eval stage's chat-completions requests (`toolkit.endpoints.ask_all`,
the asker of `kind: openai` candidates; no cache, so every item is asked) for the same
items and must get the same answers. Servers:

- `stub` (default): a threaded http.server on 127.0.0.1 that answers each request after
  `--latency-ms`, as a remote API or a GPU server under light load does: the time is the
  server's, not the client's, which is what concurrency overlaps.
- `transformers-serve`: a real `transformers serve` of a tiny Llama built here, on this
  machine's CPU: the model's compute is the bottleneck, so the ratio shows what
  concurrency gains when the server itself has no spare capacity (little, on 2 cores).

Reports items/s of each mode and their ratio, from the fastest of `--rounds` alternating
rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def stub_server(latency_s: float):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(latency_s)
            text = f"답변: {body['messages'][-1]['content'][:20]}"
            data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
                               "usage": {"prompt_tokens": 20, "completion_tokens": 8}},
                              ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def bodies(n: int, model: str, max_tokens: int) -> list[dict]:
    docs = sorted((REPO / "recipes" / "quickstart" / "documents").glob("*.md"))
    lines = [ln.strip() for p in docs for ln in p.read_text(encoding="utf-8").splitlines()
             if len(ln.strip()) > 10]
    return [{"model": model, "max_tokens": max_tokens, "temperature": 0,
             "messages": [{"role": "user", "content": f"[{k}] {lines[k % len(lines)]}\n\n요약하십시오."}]}
            for k in range(n)]


def timed(url: str, requests: list[dict], concurrency: int) -> tuple[float, list]:
    from toolkit.endpoints import AskPolicy, ask_all, chat_text, request_key

    policy = AskPolicy(max_concurrency=concurrency, timeout_s=300, retries=2, backoff_s=0.5)
    started = time.perf_counter()
    answers = ask_all(url + "/chat/completions", requests, [request_key(b) for b in requests],
                      policy=policy, check=chat_text)
    took = time.perf_counter() - started
    failed = [a.failure.reason() for a in answers if a.reply is None]
    if failed:
        raise SystemExit(f"{len(failed)} requests failed, e.g. {failed[0]}")
    return took, [chat_text(a.reply) for a in answers]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--server", choices=("stub", "transformers-serve"), default="stub")
    ap.add_argument("--latency-ms", type=float, default=200.0, help="stub server's time per request")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    import toolkit  # noqa: F401  (offline environment)

    with tempfile.TemporaryDirectory() as tmp:
        if args.server == "stub":
            server, url = stub_server(args.latency_ms / 1000)
            model, stop = "stub", server.shutdown
        else:
            from tests.eval.servers import transformers_serve
            from toolkit.tiny_model import build_tiny_model

            model = str(Path(tmp) / "tiny")
            build_tiny_model(REPO / "recipes" / "quickstart" / "documents", Path(model),
                             hidden_size=256, layers=4)
            serving = transformers_serve(Path(model), Path(tmp) / "serve.log")
            url, stop = serving.__enter__(), lambda: serving.__exit__(None, None, None)
        try:
            requests = bodies(args.items, model, args.max_tokens)
            timed(url, requests[:4], 1)  # warm-up (the model loads on its first request)
            best = {1: float("inf"), args.concurrency: float("inf")}
            outputs = {}
            for _ in range(args.rounds):
                for c in (1, args.concurrency):
                    took, outputs[c] = timed(url, requests, c)
                    best[c] = min(best[c], took)
        finally:
            stop()
    same = outputs[1] == outputs[args.concurrency]
    result = {
        "server": args.server, "items": args.items, "max_tokens": args.max_tokens,
        "latency_ms": args.latency_ms if args.server == "stub" else None,
        "sequential_items_per_s": round(args.items / best[1], 2),
        f"concurrency_{args.concurrency}_items_per_s": round(args.items / best[args.concurrency], 2),
        "ratio": round(best[1] / best[args.concurrency], 2),
        "same_answers": same,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if not same:
        raise SystemExit("the two modes got different answers")


if __name__ == "__main__":
    main()

"""OpenAI-compatible endpoints, for every stage that asks one (the corpus teacher, eval
candidates): one POST with honest failure kinds, the on-disk reply cache, and a
concurrent, rate-limited, retrying asker.

- `post_json(url, body, ...)` sends one request (stdlib urllib, no redirects followed).
  A failure is an `EndpointFailure` whose `kind` says what happened: `http_error` (with
  `status`; a redirect is one too), `timeout`, `unreachable` (refused, reset),
  `truncated` (the reply was cut short), `too_large` (the reply passed
  `max_reply_bytes`) or `bad_reply` (not JSON, or not the shape asked for).
- `timeout_s` is a deadline for the whole request, connect to last byte, not for each
  socket read: a watchdog shuts the socket when it passes, so a server that sends one
  byte a second, or nothing at all, costs `timeout_s` and no more. A reply is read in
  chunks and refused once it passes `max_reply_bytes` (default 1 MiB), never buffered
  whole; a Content-Length above the cap is refused before the body is read.
- Locality is parsed, never guessed from a prefix (`is_local`): only `localhost` and
  literal loopback addresses are this machine. Requests to this machine never use a
  proxy, whatever http_proxy / https_proxy / all_proxy say; a request elsewhere uses the
  proxy those variables name (no_proxy honoured), and the console says so once per
  proxy, naming its host.
- Keys and header values are read from environment variables by the caller and go only
  into request headers. `scrubbed` replaces each of them with ‹key› in every string of a
  reply (before it is cached or scored) and in every error text (a server may echo them).
- `ReplyCache` is a JSONL file of replies keyed by `request_key`: appended and flushed
  after each reply, so a process killed at any point keeps every answer it received; a
  line cut short by the kill is skipped on reading.
- `ask_all` sends many requests with at most `max_concurrency` in flight, spaced to
  `requests_per_minute`, retrying 408/429/5xx, timeouts, dropped connections, cut and
  malformed replies with exponential backoff (Retry-After honoured), within an optional
  overall deadline after which nothing more is sent. A request that never gets an answer
  comes back as its last failure: the caller records it, never scores it as empty.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import logging
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
RETRIED_KINDS = frozenset({"timeout", "unreachable", "truncated", "bad_reply"})
MAX_BACKOFF_S = 60.0
MAX_REPLY_BYTES = 1 << 20
SCRUBBED = "‹key›"
# Shorter "keys" (vLLM's conventional EMPTY aside) are placeholders, not secrets; replacing
# every occurrence of two letters would garble the answers being scored.
MIN_SCRUBBED_LEN = 4
_CHUNK = 64 * 1024
_THINKING = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)


class EndpointFailure(Exception):
    """One request that got no usable reply."""

    def __init__(self, kind: str, detail: str, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(detail)
        self.kind, self.detail, self.status, self.retry_after = kind, detail, status, retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRIED_KINDS or self.status in RETRIED_STATUSES

    def reason(self) -> str:
        """`kind: detail`, one line: what a failed item records."""
        return f"{self.kind}: {self.detail}"


# --------------------------------------------------------------------------- secrets


def _secrets(secrets: Iterable[str | None]) -> list[str]:
    # Longest first, so a key that contains another is replaced whole.
    return sorted({s for s in secrets if s and len(s) >= MIN_SCRUBBED_LEN}, key=len, reverse=True)


def scrubbed(value: Any, secrets: Iterable[str | None]) -> Any:
    """`value` (a string, or JSON made of dicts, lists and strings) with every secret
    replaced by ‹key›, in keys and values alike."""
    found = _secrets(secrets)
    if not found:
        return value

    def walk(v):
        if isinstance(v, str):
            for secret in found:
                v = v.replace(secret, SCRUBBED)
            return v
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def redacted(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced by ‹key› (kept for callers of the old name)."""
    return scrubbed(text, secrets)


def strings_in(value: Any) -> Iterable[str]:
    """Every string in JSON-like `value` (dict keys and values, list items), in order."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(k)
            yield from strings_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings_in(v)


# --------------------------------------------------------------------------- where to


def _host(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return ""


def is_local(base_url: str) -> bool:
    """Whether `base_url` points at this machine, so data sent there stays here: its host
    is `localhost` (exactly: not `localhost.`, not `localhost.example`) or a literal IP
    address that `ipaddress` calls loopback (127.0.0.0/8, ::1). Everything else is remote:
    names that merely start with 127. (`127.0.0.1.nip.io`), userinfo
    (`http://127.0.0.1@vendor.io` goes to vendor.io), shorthand numbers (`0x7f.1`,
    which resolvers read differently) and IPv4-mapped IPv6 (`[::ffff:127.0.0.1]`: a
    translating network may route it elsewhere; Python 3.13 calls it loopback, we don't)."""
    host = _host(base_url)
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and (address.ipv4_mapped or address.scope_id):
        return False
    return address.is_loopback


_warned_proxies: set[str] = set()
_warned_lock = threading.Lock()


def proxy_for(url: str) -> str | None:
    """The proxy a request to `url` goes through: None for this machine (proxy variables
    ignored) or where no_proxy exempts the host; else the scheme's proxy variable, or
    all_proxy."""
    if is_local(url):
        return None
    host = _host(url)
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(host):
        return None
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    return proxies.get(scheme) or proxies.get("all")


def _say_proxy_once(url: str, proxy: str) -> None:
    proxy_host = _host(proxy if "://" in proxy else f"http://{proxy}") or proxy
    with _warned_lock:
        if proxy_host in _warned_proxies:
            return
        _warned_proxies.add(proxy_host)
    log.warning("Requests to %s go through the proxy %s (from the http_proxy/https_proxy/"
                "all_proxy variables): that proxy sees what is sent. Set no_proxy=%s to go "
                "direct.", _host(url), proxy_host, _host(url))


def request_key(body: dict) -> str:
    """sha256 of a request body as canonical JSON: the cache key of its reply."""
    return hashlib.sha256(
        json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    ).hexdigest()


def _retry_after(headers) -> float | None:
    try:
        value = float(headers.get("Retry-After")) if headers else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and value >= 0 else None


# --------------------------------------------------------------------------- one request


class _Deadline:
    """Shuts every socket of one request when its deadline passes, so that no read,
    however slowly the server trickles, outlives it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.expired
        if late:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _opener(deadline: _Deadline, proxy: str | None) -> urllib.request.OpenerDirector:
    """urllib with exactly the handlers wanted: the given proxy or none (never the
    environment's for this machine), connections the deadline watches, HTTP errors and
    redirects raised as HTTPError (a redirect is not followed: it could carry the key
    elsewhere)."""

    class Watched(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            deadline.watch(self.sock)

    class WatchedTLS(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            deadline.watch(self.sock)

    class Plain(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(Watched, req)

    class TLS(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(WatchedTLS, req, context=self._context)

    opener = urllib.request.OpenerDirector()
    proxies = {"http": proxy, "https": proxy} if proxy else {}
    for handler in (urllib.request.ProxyHandler(proxies), Plain(), TLS(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def post_json(url: str, body: dict, *, timeout_s: float, api_key: str | None = None,
              headers: Mapping[str, str] | None = None,
              max_reply_bytes: int = MAX_REPLY_BYTES) -> dict:
    """POST `body` as JSON to `url` and return the reply's JSON object, or raise
    EndpointFailure. The whole request (connect, send, every byte of the reply) must end
    within `timeout_s`; a reply over `max_reply_bytes` is refused (`too_large`) without
    reading the rest. The key goes only into the Authorization header as a Bearer token,
    `headers` (e.g. from a candidate's headers_env) are added as given; both are scrubbed
    to ‹key› from the reply and from every error text."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if api_key:
        sent["Authorization"] = f"Bearer {api_key}"
    secrets = [api_key, *(headers or {}).values()]
    for name, value in sent.items():
        if any(c in value for c in "\r\n\0"):  # never echoed: it is a key
            raise EndpointFailure("bad_request", f"the value of header {name} holds a line "
                                  f"break or NUL; set the variable it comes from to one line")
    request = urllib.request.Request(
        url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), headers=sent,
        method="POST",
    )
    proxy = proxy_for(url)
    if proxy:
        _say_proxy_once(url, proxy)
    late = EndpointFailure("timeout", f"no complete reply within {timeout_s:g} s")
    with _Deadline(timeout_s) as deadline:
        try:
            raw = _read(_opener(deadline, proxy), request, timeout_s, max_reply_bytes, deadline)
        except EndpointFailure:
            raise
        except urllib.error.HTTPError as e:
            if deadline.expired:
                raise late from None
            try:
                detail = e.read(300).decode("utf-8", "replace").strip()
            except (OSError, http.client.HTTPException):
                detail = ""
            detail = redacted(" ".join((detail or str(e.reason)).split()), secrets)
            raise EndpointFailure("http_error", f"HTTP {e.code}: {detail}", e.code,
                                  _retry_after(e.headers)) from None
        except urllib.error.URLError as e:
            if deadline.expired or isinstance(e.reason, TimeoutError):
                raise late from None
            raise EndpointFailure("unreachable", redacted(str(e.reason), secrets)) from None
        except TimeoutError:
            raise late from None
        except http.client.IncompleteRead as e:
            if deadline.expired:
                raise late from None
            raise EndpointFailure("truncated", f"the reply was cut after {len(e.partial)} bytes") from None
        except (http.client.HTTPException, OSError, ValueError) as e:
            # reset, closed mid-reply, bad status line; a header value with a newline
            if deadline.expired:
                raise late from None
            raise EndpointFailure("unreachable", redacted(f"{type(e).__name__}: {e}", secrets)) from None
    try:
        reply = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EndpointFailure("bad_reply", redacted(f"not JSON: {raw[:120]!r}", secrets)) from None
    if not isinstance(reply, dict):
        raise EndpointFailure("bad_reply", redacted(f"not a JSON object: {raw[:120]!r}", secrets))
    return scrubbed(reply, secrets)


def _read(opener, request, timeout_s: float, cap: int, deadline: _Deadline) -> bytes:
    with opener.open(request, timeout=timeout_s) as response:
        length = response.headers.get("Content-Length")
        if length and length.strip().isdigit() and int(length) > cap:
            raise EndpointFailure("too_large", f"the reply would be {int(length):,} bytes, over "
                                  f"the {cap:,}-byte cap (max_reply_bytes)")
        chunks, size = [], 0
        while True:
            chunk = response.read(min(_CHUNK, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                raise EndpointFailure("too_large", f"the reply passed the {cap:,}-byte cap "
                                      f"(max_reply_bytes); the rest was not read")
        if deadline.expired:
            raise EndpointFailure("timeout", f"no complete reply within {timeout_s:g} s")
        if length and length.strip().isdigit() and size < int(length):
            raise EndpointFailure("truncated", f"the reply was cut after {size} of {int(length)} bytes")
        return b"".join(chunks)


def chat_text(reply: dict) -> str:
    """The assistant text of a chat-completions reply, a leading <think> block removed;
    EndpointFailure("bad_reply") when the reply has no message."""
    try:
        content = reply["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise EndpointFailure("bad_reply", f"not a chat completion: {json.dumps(reply)[:160]}") from None
    return _THINKING.sub("", content) if isinstance(content, str) else ""


# --------------------------------------------------------------------------- cache


class ReplyCache:
    """Replies on disk, one JSON object per line with its `key`; thread-safe appends,
    flushed at once (a killed process loses at most the line it was writing)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path.is_file():
            bad = 0
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                        self.rows[row["key"]] = row
                    except (ValueError, KeyError, TypeError):
                        bad += 1  # a line cut short by a kill: asked again
            if bad:
                log.warning("%s: skipped %d unreadable lines; those requests will be sent again.",
                            self.path, bad)
        self._file = None

    def get(self, key: str) -> dict | None:
        return self.rows.get(key)

    def put(self, row: dict) -> None:
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self.rows[row["key"]] = row
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


# --------------------------------------------------------------------------- asking many


@dataclass
class AskPolicy:
    """How `ask_all` treats one endpoint."""

    max_concurrency: int = 4
    requests_per_minute: float | None = None
    timeout_s: float = 120.0
    retries: int = 4
    backoff_s: float = 1.0
    give_up_after: int = 10  # failed items in a row before the endpoint is taken as down
    max_reply_bytes: int = MAX_REPLY_BYTES
    headers: Mapping[str, str] = field(default_factory=dict)  # besides the Bearer key
    deadline: float | None = None  # time.monotonic() after which nothing more is sent
    deadline_reason: str = "the overall deadline passed"
    fatal: Callable[[EndpointFailure, bool], bool] = lambda failure, answered: False


@dataclass
class Answer:
    """What `ask_all` got for one request: the reply (or None) and the accounting."""

    reply: dict | None = None
    failure: EndpointFailure | None = None
    attempts: int = 0
    latency_s: float | None = None
    cached: bool = False


def _left(policy: AskPolicy) -> float:
    """Seconds left before the policy's overall deadline (infinite without one)."""
    return float("inf") if policy.deadline is None else policy.deadline - time.monotonic()


class _Spacing:
    """Request starts at least 60/rpm seconds apart (across threads)."""

    def __init__(self, per_minute: float | None):
        self.gap = 60.0 / per_minute if per_minute else 0.0
        self.next = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.gap:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.gap
        if start > now:
            time.sleep(start - now)


@dataclass
class _State:
    answered: bool = False
    failed_in_a_row: int = 0
    fatal: EndpointFailure | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def ask_all(url: str, bodies: Sequence[dict], keys: Sequence[str], *, policy: AskPolicy,
            cache: ReplyCache | None = None, api_key: str | None = None,
            check: Callable[[dict], None] | None = None,
            on_answer: Callable[[int, Answer], None] | None = None) -> list[Answer]:
    """Send `bodies` to `url` (at most `policy.max_concurrency` at once) and return one
    Answer per body, in order. A body whose key is in `cache` is not sent; a new reply is
    cached (`{"key", "reply", "latency_s"}`) as soon as it arrives. `check(reply)` may
    raise EndpointFailure("bad_reply") to have a reply retried. `policy.fatal(failure,
    answered)` says when a failure must stop everything (a refused key): ask_all then
    raises it. After `give_up_after` failed items in a row the rest are failed as
    `endpoint_down` without being sent; so is every item not sent by `policy.deadline`
    (a request in flight then is cut at it: its timeout never runs past the deadline).
    `policy.headers` go with every request besides the Bearer `api_key`."""
    answers: list[Answer] = [Answer() for _ in bodies]
    secrets = [api_key, *policy.headers.values()]
    state = _State()
    spacing = _Spacing(policy.requests_per_minute)

    def one(i: int) -> None:
        answer = answers[i]
        hit = cache.get(keys[i]) if cache is not None else None
        if hit is not None:  # scrubbed again: a cache written before may hold a key
            answer.reply, answer.cached, answer.latency_s = (
                scrubbed(hit["reply"], secrets), True, hit.get("latency_s"))
            return _report(i)
        with state.lock:
            down = state.fatal is not None or state.failed_in_a_row >= policy.give_up_after
        if down:
            answer.failure = EndpointFailure(
                "endpoint_down", f"not sent: {policy.give_up_after} items in a row got no answer")
            return _report(i)
        for attempt in range(policy.retries + 1):
            spacing.wait()
            left = _left(policy)
            if left <= 0:
                if answer.failure is None:  # else its last failure stands
                    answer.failure = EndpointFailure("endpoint_down",
                                                     f"not sent: {policy.deadline_reason}")
                break
            answer.attempts += 1
            started = time.monotonic()
            try:
                reply = post_json(url, bodies[i], timeout_s=min(policy.timeout_s, left),
                                  api_key=api_key, headers=policy.headers,
                                  max_reply_bytes=policy.max_reply_bytes)
                if check is not None:
                    check(reply)
            except EndpointFailure as failure:
                answer.failure = failure
                with state.lock:
                    fatal = policy.fatal(failure, state.answered)
                    if fatal and state.fatal is None:
                        state.fatal = failure
                if fatal or not failure.retryable or attempt == policy.retries:
                    break
                pause = min(MAX_BACKOFF_S, policy.backoff_s * 2 ** attempt)
                if failure.retry_after is not None:
                    pause = min(MAX_BACKOFF_S, max(pause, failure.retry_after))
                time.sleep(max(0.0, min(pause * (1 + 0.25 * random.random()), _left(policy))))
                continue
            answer.reply, answer.failure = reply, None
            answer.latency_s = time.monotonic() - started
            if cache is not None:
                cache.put({"key": keys[i], "reply": reply, "latency_s": answer.latency_s})
            break
        with state.lock:
            if answer.reply is not None:
                state.answered, state.failed_in_a_row = True, 0
            else:
                state.failed_in_a_row += 1
        _report(i)

    def _report(i: int) -> None:
        if on_answer is not None:
            on_answer(i, answers[i])

    with ThreadPoolExecutor(max_workers=max(1, policy.max_concurrency),
                            thread_name_prefix="endpoint") as pool:
        for future in [pool.submit(one, i) for i in range(len(bodies))]:
            future.result()
    if state.fatal is not None:
        raise state.fatal
    return answers

"""The chat client: the official `openai` package with our own retries (backoff, jitter, Retry-After), true per-reply deadlines, bounded concurrency, cache and usage accounting."""

from __future__ import annotations

import email.utils
import json
import random
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from collections.abc import Callable

from ..errors import IncompleteRun
from .cache import ResponseCache, request_key
from .config import LLMConfig
import contextlib


RETRY_AFTER_MAX = 600.0  # seconds: a longer Retry-After is cut to this (and to the run's time left)
TIMEOUT_RETRIES = 1  # a reply that missed its deadline is asked again at most this often (no pile-up)

# LLMError.kind: what the failure means for the run
FATAL = "fatal"  # 401/403/404: no resume can fix it (key, model name, base URL)
REJECTED = "rejected"  # another 4xx (context overflow, content filter): this request only; go on
UNAVAILABLE = "unavailable"  # still failing after the last retry: the endpoint is down; resume later
DEADLINE = "deadline"  # the run's --deadline passed

FATAL_HINTS = {
    401: "the API key was refused: check OPENAI_API_KEY",
    403: "the API key may not use this model or endpoint: check OPENAI_API_KEY and --model",
    404: "unknown model or wrong URL: check --model / VDSL_MODEL and OPENAI_BASE_URL (it should end in /v1)",
}


class LLMError(IncompleteRun):
    """A request that failed for good: not retryable, or still failing after the last try. `kind` says
    whether the run can go on (REJECTED), resume later (UNAVAILABLE, DEADLINE) or must change (FATAL)."""

    def __init__(
        self,
        message: str,
        attempts: int = 1,
        status: int | None = None,
        kind: str = UNAVAILABLE,
        retries: list | None = None,
    ):
        super().__init__(message)
        self.attempts, self.status, self.kind = attempts, status, kind
        self.retries: list[dict] = retries or []


@dataclass
class Completion:
    """One reply and what it cost."""

    text: str
    model: str
    finish_reason: str | None
    usage: dict[str, int]  # prompt_tokens, completion_tokens, total_tokens (as the server reports)
    latency_s: float  # of the successful request (for a cache hit: of the original one)
    attempts: int  # requests made for it now (0 for a cache hit)
    cached: bool
    key: str  # the cache key of the request
    retries: list = field(default_factory=list)  # {"attempt", "reason", "delay_s"} for each retry now

    def to_dict(self) -> dict:
        return asdict(self)


def cache_record(comp: Completion) -> dict:
    """What the response cache keeps of a reply."""
    return {
        "text": comp.text,
        "model": comp.model,
        "finish_reason": comp.finish_reason,
        "usage": comp.usage,
        "latency_s": comp.latency_s,
    }


@dataclass
class Stats:
    """Running totals for one client (thread-safe through the client's lock)."""

    calls: int = 0
    requests: int = 0  # HTTP requests actually sent
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    retry_reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["latency_s"] = round(self.latency_s, 3)
        return d


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, status: int | None = None):
        super().__init__(reason)
        self.reason, self.retry_after, self.status = reason, retry_after, status


def retry_after_seconds(headers: Any) -> float | None:
    """Retry-After (seconds or an HTTP date) or retry-after-ms, as seconds; None when absent or unreadable."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        ra = headers.get("retry-after")
    except Exception:
        return None
    if ra is None:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(ra)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


class _Timeout(Exception):
    """The reply missed its deadline (headers, body and all)."""


class _Watch:
    """One request's watchdog: at the deadline it shuts the request's socket (bound once the connection is
    open; bound after the deadline, it is shut at once), which ends any blocking read at that moment."""

    def __init__(self, seconds: float):
        self.fired = threading.Event()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._cut)
        self._timer.daemon = True
        self._timer.start()

    @staticmethod
    def _shut(sock) -> None:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _cut(self) -> None:
        with self._lock:
            self.fired.set()
            sock = self._sock
        self._shut(sock)

    def bind(self, sock) -> None:
        with self._lock:
            self._sock = sock
            late = self.fired.is_set()
        if late:
            self._shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _classify(e: Exception) -> Exception:
    """An openai exception as _Retryable (429, 5xx, 408/409, timeouts, connection errors, malformed bodies) or LLMError."""
    import openai

    if isinstance(e, (openai.APITimeoutError, _Timeout)):
        return _Retryable("timeout")
    if isinstance(e, openai.APIConnectionError):
        return _Retryable(f"connection error ({e.__cause__ or e})")
    if isinstance(e, openai.APIStatusError):
        status = e.status_code
        if status == 429 or status >= 500 or status in (408, 409):
            return _Retryable(f"HTTP {status}", retry_after_seconds(e.response.headers), status)
        if status in FATAL_HINTS:
            return LLMError(
                f"HTTP {status} from the endpoint: {e.message}; {FATAL_HINTS[status]}. "
                "Resuming will not help until that is changed",
                status=status,
                kind=FATAL,
            )
        return LLMError(f"HTTP {status} from the endpoint: {e.message}", status=status, kind=REJECTED)
    if isinstance(e, (openai.APIResponseValidationError, ValueError)):  # JSONDecodeError is a ValueError
        return _Retryable(f"malformed response ({type(e).__name__}: {e})")
    if isinstance(e, openai.OpenAIError):
        return LLMError(f"{type(e).__name__}: {e}")
    return e


class LLMClient:
    """complete(messages) -> Completion. Thread-safe; at most config.concurrency requests in flight."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        cache: ResponseCache | None | str = "auto",
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        log: Callable[[str], None] | None = None,
    ):
        import openai

        self.config = config
        if cache == "auto":
            cache = ResponseCache(config.cache_dir) if config.cache_dir is not None else None
        self.cache: ResponseCache | None = cache  # type: ignore[assignment]
        import httpx2

        self._local = threading.local()  # the watchdog of the request this thread is sending
        # A fresh connection per request (no keep-alive): its socket is known from the moment it opens,
        # so one watchdog bounds connect, headers and body together; negligible next to a generation.
        http = openai.DefaultHttpxClient(
            limits=httpx2.Limits(max_connections=max(1, config.concurrency) * 2, max_keepalive_connections=0),
            event_hooks={"request": [self._arm]},
        )
        self._openai = openai.OpenAI(
            api_key=config.api_key, base_url=config.base_url, timeout=config.timeout, max_retries=0, http_client=http
        )
        self._sem = threading.BoundedSemaphore(max(1, config.concurrency))
        self._lock = threading.Lock()
        self._sleep = sleep
        self._log = log if log is not None else (lambda line: print(line, file=sys.stderr, flush=True))
        self._rng = rng or random.Random()
        self._token_param = "max_tokens"
        self._constrain: str | None = None if config.constrain in (None, "auto") else config.constrain
        self.stats = Stats()

    # ------------------------------------------------------------------ public
    def request(
        self,
        messages: list[dict],
        *,
        sample: Any = 0,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
    ) -> dict:
        """The full request the cache is keyed by (with the grammar's mode and hash when decoding is constrained)."""
        req = {
            "model": model or self.config.model,
            "messages": messages,
            "temperature": self.config.temperature if temperature is None else temperature,
            "max_tokens": self.config.max_tokens if max_tokens is None else max_tokens,
            "sample": sample,
        }
        mode = self.constrain_mode()
        if mode is not None:
            from .grammar_export import grammar_sha

            req["constrain"] = f"{mode}:{grammar_sha('gbnf')[:16]}"
        return req

    def constrain_mode(self) -> str | None:
        """How the grammar goes with each request ("gbnf", "vllm", "vllm-legacy"), or None when decoding is not
        constrained. "auto" asks the endpoint's /models once: vLLM names itself there (owned_by "vllm"); any
        other server gets llama.cpp's `grammar` field."""
        if self.config.constrain != "auto" or self._constrain is not None:
            return self._constrain
        mode = "gbnf"
        try:
            models = self._openai.models.list(timeout=min(self.config.timeout, 30.0))
            if any(str(getattr(m, "owned_by", "")).lower() == "vllm" for m in models.data):
                mode = "vllm"
        except Exception as e:  # the probe is a convenience: say what was assumed
            self._log(f"--constrain auto: could not list the endpoint's models ({type(e).__name__}); sending `grammar`")
        with self._lock:
            self._constrain = self._constrain or mode
        return self._constrain

    def complete(
        self,
        messages: list[dict],
        *,
        sample: Any = 0,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
        use_cache: bool = True,
        deadline: float | None = None,
    ) -> Completion:
        """One chat completion. `sample` tells apart requests that are otherwise identical (the
        k-th program for a concept, a refine round and step); it goes into the cache key, not to the server.
        `deadline` (time.monotonic() value) is the run's end: no request or wait goes past it."""
        req = self.request(messages, sample=sample, temperature=temperature, max_tokens=max_tokens, model=model)
        key = self.key(req)
        self.count_call()
        if use_cache:
            hit = self.lookup(key, req)
            if hit is not None:
                return hit
        comp = self._send(req, key, deadline)
        self.store(key, req["model"], comp)
        return comp

    def count_call(self) -> None:
        """One more complete() call in the stats (answered from the cache or not)."""
        with self._lock:
            self.stats.calls += 1

    def key(self, req: dict) -> str:
        """The cache key of a request: the same model name on another endpoint is another model."""
        return request_key({**req, "endpoint": self.config.describe()["base_url"]})

    def lookup(self, key: str, req: dict) -> Completion | None:
        """The cached reply for this key (counted as a cache hit), or None."""
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is None:
            return None
        with self._lock:
            self.stats.cache_hits += 1
        return Completion(
            hit["text"],
            hit.get("model", req["model"]),
            hit.get("finish_reason"),
            hit.get("usage", {}),
            hit.get("latency_s", 0.0),
            0,
            True,
            key,
        )

    def store(self, key: str, model: str, comp: Completion) -> None:
        """Keep a reply in the cache (no-op without one)."""
        if self.cache is not None:
            self.cache.put(key, model, cache_record(comp))

    def body(self, req: dict) -> dict:
        """The chat-completions request body as sent (the cache key's request less `sample`)."""
        body = {k: v for k, v in req.items() if k not in ("sample", "constrain")}
        body[self._token_param] = body.pop("max_tokens")
        if req.get("constrain"):  # the grammar itself, in the form the endpoint takes (its hash is in the key)
            from .grammar_export import request_fields

            body.update(request_fields(req["constrain"].split(":", 1)[0]))
        return body

    @staticmethod
    def parse(data: Any, req: dict, key: str, latency: float = 0.0, attempt: int = 0) -> Completion:
        """A Completion from a chat.completion JSON object; raises ValueError when it has no reply."""
        try:
            return LLMClient._parse(data, req, key, latency, attempt)
        except _Retryable as e:
            raise ValueError(e.reason) from None

    def close(self) -> None:
        try:
            self._openai.close()
        finally:
            if self.cache is not None:
                self.cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------- private
    def backoff_delay(self, retry: int, retry_after: float | None) -> float:
        """Retry-After when the server gives one (up to RETRY_AFTER_MAX), else base·2^(retry-1) with
        ±50 % jitter, capped at config.backoff_max."""
        cfg = self.config
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_MAX)
        base = cfg.backoff * (2 ** (retry - 1))
        return min(cfg.backoff_max, base * (0.5 + self._rng.random()))

    def _send(self, req: dict, key: str, deadline: float | None = None) -> Completion:
        cfg = self.config
        tries = cfg.retries + 1
        last = "no attempt"
        retries: list[dict] = []
        timeouts = 0
        for attempt in range(1, tries + 1):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0.05:
                raise LLMError(
                    f"the run's deadline passed before the request could be {'re' if retries else ''}sent"
                    + (f" (last error: {last})" if retries else ""),
                    attempts=attempt - 1,
                    kind=DEADLINE,
                    retries=retries,
                )
            budget = cfg.timeout if left is None else min(cfg.timeout, left)
            try:
                with self._sem:
                    with self._lock:
                        self.stats.requests += 1
                    t0 = time.monotonic()
                    data = self._create(req, budget)
                    latency = time.monotonic() - t0
                comp = self._parse(data, req, key, latency, attempt)
            except Exception as e:
                err = e if isinstance(e, _Retryable) else _classify(e)
                if isinstance(err, LLMError):
                    err.attempts, err.retries = attempt, retries
                    with self._lock:
                        self.stats.failures += 1
                    raise err from e
                if not isinstance(err, _Retryable):
                    raise
                last = err.reason
                if last == "timeout":
                    last = f"timeout (no complete reply within {budget:.3g} s)"
                    timeouts += 1
                left = None if deadline is None else deadline - time.monotonic()
                why = None
                if attempt == tries:
                    why = f"failed {tries} time{'s' if tries > 1 else ''} in a row"
                elif timeouts > TIMEOUT_RETRIES:
                    why = f"timed out {timeouts} times (not asked again, so abandoned replies do not pile up)"
                delay = self.backoff_delay(attempt, err.retry_after)
                if why is None and left is not None and delay >= left:
                    why = (
                        f"asked to wait {delay:.3g} s, more than the {max(left, 0):.3g} s left before the "
                        "run's deadline"
                    )
                if why is not None:
                    with self._lock:
                        self.stats.failures += 1
                    kind = DEADLINE if "deadline" in why else UNAVAILABLE
                    raise LLMError(
                        f"the endpoint {cfg.base_url or 'api.openai.com'} {why} (model {req['model']}); "
                        f"last error: {last}",
                        attempts=attempt,
                        status=err.status,
                        kind=kind,
                        retries=retries,
                    ) from e
                retries.append({"attempt": attempt, "reason": last, "delay_s": round(delay, 3)})
                with self._lock:
                    self.stats.retries += 1
                    self.stats.retry_reasons.append(err.reason)
                self._log(f"retry {attempt}/{tries - 1} in {delay:.1f} s: {last} (model {req['model']})")
                self._sleep(delay)
                continue
            comp.retries = retries
            with self._lock:
                self.stats.prompt_tokens += comp.usage.get("prompt_tokens", 0) or 0
                self.stats.completion_tokens += comp.usage.get("completion_tokens", 0) or 0
                self.stats.latency_s += latency
            return comp
        raise AssertionError("unreachable")

    def _create(self, req: dict, budget: float) -> dict:
        import openai

        try:
            return self._fetch(req, budget)
        except openai.BadRequestError as e:
            # Newer OpenAI models refuse max_tokens and want max_completion_tokens: switch once.
            if self._token_param == "max_tokens" and "max_completion_tokens" in str(e):
                self._token_param = "max_completion_tokens"
                return self._fetch(req, budget)
            raise

    def _arm(self, request) -> None:
        """httpx request hook: have httpcore tell us the socket of the connection it opens for it."""
        if getattr(self._local, "watch", None) is not None:
            request.extensions["trace"] = self._trace

    def _trace(self, name: str, info: dict) -> None:
        watch = getattr(self._local, "watch", None)
        if watch is not None and name == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            watch.bind(stream.get_extra_info("socket") if stream is not None else None)

    def _fetch(self, req: dict, budget: float) -> dict:
        """POST the request and read the whole reply within `budget` seconds in all (connect, headers and
        body): a watchdog shuts the connection's socket at the deadline, so a server trickling bytes cannot
        hold us past it, and it sees the connection close (so it can stop generating)."""
        import httpx2

        end = time.monotonic() + budget
        timeout = httpx2.Timeout(budget, connect=min(budget, 30.0))
        body = self.body(req)
        model, messages = body.pop("model"), body.pop("messages")
        watch = _Watch(budget)
        self._local.watch = watch
        chunks = []
        try:
            with self._openai.chat.completions.with_streaming_response.create(
                model=model, messages=messages, timeout=timeout, extra_body=body
            ) as raw:
                for chunk in raw.http_response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > end:
                        raise _Timeout()
        except Exception as e:
            import openai

            if watch.fired.is_set() or time.monotonic() > end or isinstance(e, httpx2.TimeoutException):
                raise _Timeout() from None
            if isinstance(e, httpx2.TransportError):  # the body broke off: as openai reports it
                raise _Retryable(f"connection error ({e})") from None
            if isinstance(e, openai.APIConnectionError) and watch.fired.is_set():
                raise _Timeout() from None
            raise
        finally:
            watch.cancel()
            self._local.watch = None
        try:
            return json.loads(b"".join(chunks))
        except ValueError as e:
            raise _Retryable(f"malformed response ({type(e).__name__}: {e})") from None

    @staticmethod
    def _parse(data: Any, req: dict, key: str, latency: float, attempt: int) -> Completion:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise _Retryable("malformed response (no choices)")
        msg = choices[0].get("message") or {}
        text = msg.get("content") if isinstance(msg, dict) else None
        if text is None:
            text = ""
        if not isinstance(text, str):  # some servers send content parts
            text = (
                "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in text)
                if isinstance(text, list)
                else json.dumps(text)
            )
        u = data.get("usage") or {}
        usage = {
            k: u[k]
            for k in ("prompt_tokens", "completion_tokens", "total_tokens")
            if isinstance(u, dict) and isinstance(u.get(k), int)
        }
        model = data.get("model") if isinstance(data.get("model"), str) and data.get("model") else req["model"]
        return Completion(text, model, choices[0].get("finish_reason"), usage, round(latency, 4), attempt, False, key)

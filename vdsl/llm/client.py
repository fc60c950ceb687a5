"""The chat client: the official `openai` package with our own retries (backoff, jitter, Retry-After), bounded concurrency, cache and usage accounting."""
from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from ..errors import IncompleteRun
from .cache import ResponseCache, request_key
from .config import LLMConfig


RETRY_AFTER_MAX = 600.0   # seconds: a longer Retry-After is cut to this


class LLMError(IncompleteRun):
    """A request that failed for good: not retryable, or still failing after the last try."""

    def __init__(self, message: str, attempts: int = 1, status: int | None = None):
        super().__init__(message)
        self.attempts, self.status = attempts, status


@dataclass
class Completion:
    """One reply and what it cost."""
    text: str
    model: str
    finish_reason: str | None
    usage: dict[str, int]       # prompt_tokens, completion_tokens, total_tokens (as the server reports)
    latency_s: float            # of the successful request (for a cache hit: of the original one)
    attempts: int               # requests made for it now (0 for a cache hit)
    cached: bool
    key: str                    # the cache key of the request

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Stats:
    """Running totals for one client (thread-safe through the client's lock)."""
    calls: int = 0
    requests: int = 0           # HTTP requests actually sent
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


def _classify(e: Exception) -> Exception:
    """An openai exception as _Retryable (429, 5xx, 408/409, timeouts, connection errors, malformed bodies) or LLMError."""
    import openai
    if isinstance(e, openai.APITimeoutError):
        return _Retryable("timeout")
    if isinstance(e, openai.APIConnectionError):
        return _Retryable(f"connection error ({e.__cause__ or e})")
    if isinstance(e, openai.APIStatusError):
        status = e.status_code
        if status == 429 or status >= 500 or status in (408, 409):
            return _Retryable(f"HTTP {status}", retry_after_seconds(e.response.headers), status)
        return LLMError(f"HTTP {status} from the endpoint: {e.message}", status=status)
    if isinstance(e, (openai.APIResponseValidationError, ValueError)):   # JSONDecodeError is a ValueError
        return _Retryable(f"malformed response ({type(e).__name__}: {e})")
    if isinstance(e, openai.OpenAIError):
        return LLMError(f"{type(e).__name__}: {e}")
    return e


class LLMClient:
    """complete(messages) -> Completion. Thread-safe; at most config.concurrency requests in flight."""

    def __init__(self, config: LLMConfig, *, cache: ResponseCache | None | str = "auto",
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        import openai
        self.config = config
        if cache == "auto":
            cache = ResponseCache(config.cache_dir) if config.cache_dir is not None else None
        self.cache: ResponseCache | None = cache  # type: ignore[assignment]
        self._openai = openai.OpenAI(api_key=config.api_key, base_url=config.base_url,
                                     timeout=config.timeout, max_retries=0)
        self._sem = threading.BoundedSemaphore(max(1, config.concurrency))
        self._lock = threading.Lock()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._token_param = "max_tokens"
        self.stats = Stats()

    # ------------------------------------------------------------------ public
    def request(self, messages: list[dict], *, sample: Any = 0, temperature: float | None = None,
                max_tokens: int | None = None) -> dict:
        """The full request the cache is keyed by."""
        return {"model": self.config.model, "messages": messages,
                "temperature": self.config.temperature if temperature is None else temperature,
                "max_tokens": self.config.max_tokens if max_tokens is None else max_tokens,
                "sample": sample}

    def complete(self, messages: list[dict], *, sample: Any = 0, temperature: float | None = None,
                 max_tokens: int | None = None, use_cache: bool = True) -> Completion:
        """One chat completion. `sample` tells apart requests that are otherwise identical (the
        k-th program for a concept, a refine round); it goes into the cache key, not to the server."""
        req = self.request(messages, sample=sample, temperature=temperature, max_tokens=max_tokens)
        # The same model name on another endpoint is another model: the endpoint is part of the key.
        key = request_key({**req, "endpoint": self.config.describe()["base_url"]})
        with self._lock:
            self.stats.calls += 1
        if use_cache and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                with self._lock:
                    self.stats.cache_hits += 1
                return Completion(hit["text"], hit.get("model", req["model"]), hit.get("finish_reason"),
                                  hit.get("usage", {}), hit.get("latency_s", 0.0), 0, True, key)
        comp = self._send(req, key)
        if self.cache is not None:
            self.cache.put(key, req["model"], {"text": comp.text, "model": comp.model,
                                               "finish_reason": comp.finish_reason, "usage": comp.usage,
                                               "latency_s": comp.latency_s})
        return comp

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

    def _send(self, req: dict, key: str) -> Completion:
        cfg = self.config
        tries = cfg.retries + 1
        last = "no attempt"
        for attempt in range(1, tries + 1):
            try:
                with self._sem:
                    with self._lock:
                        self.stats.requests += 1
                    t0 = time.monotonic()
                    resp = self._create(req)
                    latency = time.monotonic() - t0
                comp = self._parse(resp, req, key, latency, attempt)
            except Exception as e:   # noqa: BLE001 - classified right below
                err = e if isinstance(e, _Retryable) else _classify(e)
                if isinstance(err, LLMError):
                    err.attempts = attempt
                    with self._lock:
                        self.stats.failures += 1
                    raise err from e
                if not isinstance(err, _Retryable):
                    raise
                last = err.reason
                if attempt == tries:
                    with self._lock:
                        self.stats.failures += 1
                    raise LLMError(f"the endpoint {cfg.base_url or 'api.openai.com'} failed {tries} "
                                   f"time{'s' if tries > 1 else ''} in a row (model {cfg.model}); "
                                   f"last error: {last}", attempts=attempt, status=err.status) from e
                with self._lock:
                    self.stats.retries += 1
                    self.stats.retry_reasons.append(last)
                self._sleep(self.backoff_delay(attempt, err.retry_after))
                continue
            with self._lock:
                self.stats.prompt_tokens += comp.usage.get("prompt_tokens", 0) or 0
                self.stats.completion_tokens += comp.usage.get("completion_tokens", 0) or 0
                self.stats.latency_s += latency
            return comp
        raise AssertionError("unreachable")

    def _create(self, req: dict):
        import openai
        kw = {self._token_param: req["max_tokens"]}
        try:
            return self._openai.chat.completions.create(model=req["model"], messages=req["messages"],
                                                        temperature=req["temperature"], **kw)
        except openai.BadRequestError as e:
            # Newer OpenAI models refuse max_tokens and want max_completion_tokens: switch once.
            if self._token_param == "max_tokens" and "max_completion_tokens" in str(e):
                self._token_param = "max_completion_tokens"
                return self._openai.chat.completions.create(
                    model=req["model"], messages=req["messages"], temperature=req["temperature"],
                    max_completion_tokens=req["max_tokens"])
            raise

    @staticmethod
    def _parse(resp, req: dict, key: str, latency: float, attempt: int) -> Completion:
        choices = getattr(resp, "choices", None)
        if not choices:
            raise _Retryable("malformed response (no choices)")
        msg = choices[0].message
        text = getattr(msg, "content", None)
        if text is None:
            text = ""
        if not isinstance(text, str):   # some servers send content parts
            text = json.dumps(text) if not isinstance(text, list) else "".join(
                p.get("text", "") if isinstance(p, dict) else str(p) for p in text)
        u = getattr(resp, "usage", None)
        usage = {}
        if u is not None:
            for k in ("prompt_tokens", "completion_tokens", "total_tokens"):
                v = getattr(u, k, None)
                if isinstance(v, int):
                    usage[k] = v
        return Completion(text, getattr(resp, "model", None) or req["model"], choices[0].finish_reason,
                          usage, round(latency, 4), attempt, False, key)

"""The LLM client against a real HTTP server: retries, Retry-After, timeouts, broken bodies, cache, concurrency, config."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time

import pytest

from fake_openai_server import FakeOpenAI, bad_json, reply, sleep, status, truncated
from vdsl.llm import EndpointNotConfigured, LLMClient, LLMConfig, LLMError, ResponseCache, config_from_env, request_key
from vdsl.llm.client import retry_after_seconds

MSGS = [{"role": "system", "content": "sys"}, {"role": "user", "content": "draw a cat"}]


def make(srv, tmp_path=None, **kw):
    delays = []
    kw.setdefault("backoff", 0.001)
    cfg = LLMConfig(
        model="fake-model",
        base_url=srv.base_url,
        api_key="test-key",
        cache_dir=(tmp_path / "cache") if tmp_path is not None else None,
        **kw,
    )
    client = LLMClient(cfg, sleep=delays.append, rng=random.Random(0))
    return client, delays


def test_success_records_usage_latency_and_sends_the_request():
    with FakeOpenAI([reply("hello", prompt_tokens=12, completion_tokens=3)]) as srv:
        client, delays = make(srv, temperature=0.3, max_tokens=77)
        c = client.complete(MSGS)
    assert c.text == "hello" and not c.cached and c.attempts == 1
    assert c.usage == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert c.latency_s >= 0 and c.finish_reason == "stop"
    assert srv.count == 1 and delays == []
    body = srv.requests[0]
    assert body["model"] == "fake-model" and body["messages"] == MSGS
    assert body["temperature"] == 0.3 and body["max_tokens"] == 77
    assert "sample" not in body  # the sample index is for the cache key only
    assert srv.headers[0].get("authorization") == "Bearer test-key"
    assert client.stats.requests == 1 and client.stats.prompt_tokens == 12


def test_429_with_retry_after_zero_is_retried_honouring_the_header():
    with FakeOpenAI([status(429, retry_after="0"), reply("ok")]) as srv:
        client, delays = make(srv, backoff=5.0)  # backoff would say ~5 s; Retry-After says 0
        assert client.complete(MSGS).text == "ok"
    assert srv.count == 2
    assert delays == [0.0]
    assert client.stats.retries == 1 and client.stats.retry_reasons == ["HTTP 429"]


def test_retry_after_wins_over_a_short_backoff():
    with FakeOpenAI([status(503, retry_after="3"), reply("ok")]) as srv:
        client, delays = make(srv, backoff=0.001)
        assert client.complete(MSGS).text == "ok"
    assert delays == [3.0]  # the injected sleep records it; nothing waits for real


def test_5xx_are_retried_with_exponential_backoff_and_jitter():
    with FakeOpenAI([status(500), status(502), status(503), reply("ok")]) as srv:
        client, delays = make(srv, backoff=0.01)
        c = client.complete(MSGS)
    assert c.text == "ok" and c.attempts == 4 and srv.count == 4
    # every retry is ours: the openai package's own retries are off
    assert [h.get("x-stainless-retry-count", "0") for h in srv.headers] == ["0"] * 4
    assert len(delays) == 3
    for i, d in enumerate(delays):  # base·2^i with ±50 % jitter
        assert 0.01 * 2**i * 0.5 <= d <= 0.01 * 2**i * 1.5


def test_clear_error_after_the_last_try():
    with FakeOpenAI(default=status(500, message="boom")) as srv:
        client, delays = make(srv, retries=2)
        with pytest.raises(LLMError) as ei:
            client.complete(MSGS)
    assert srv.count == 3 and len(delays) == 2
    msg = str(ei.value)
    assert "failed 3 times" in msg and "HTTP 500" in msg and "fake-model" in msg
    assert ei.value.attempts == 3 and ei.value.status == 500


def test_client_errors_are_not_retried():
    with FakeOpenAI(default=status(400, message="bad model")) as srv:
        client, delays = make(srv)
        with pytest.raises(LLMError, match="HTTP 400"):
            client.complete(MSGS)
    assert srv.count == 1 and delays == []


def test_timeout_is_retried():
    with FakeOpenAI([sleep(3.0, reply("late")), reply("on time")]) as srv:
        client, delays = make(srv, timeout=0.4)
        c = client.complete(MSGS)
    assert c.text == "on time" and srv.count == 2
    assert client.stats.retry_reasons == ["timeout"]


def test_truncated_body_is_retried():
    with FakeOpenAI([truncated(), reply("whole")]) as srv:
        client, _ = make(srv)
        assert client.complete(MSGS).text == "whole"
    assert srv.count == 2 and client.stats.retry_reasons[0].startswith("connection error")


def test_malformed_json_body_is_retried():
    with FakeOpenAI([bad_json(), reply("fine")]) as srv:
        client, _ = make(srv)
        assert client.complete(MSGS).text == "fine"
    assert srv.count == 2 and client.stats.retry_reasons[0].startswith("malformed response")


def test_connection_refused_is_retried_then_reported():
    srv = FakeOpenAI().start()
    url = srv.base_url
    srv.stop()  # nothing listens there any more
    delays = []
    cfg = LLMConfig(model="m", base_url=url, retries=2, backoff=0.001, timeout=2)
    client = LLMClient(cfg, sleep=delays.append)
    with pytest.raises(LLMError, match="connection error"):
        client.complete(MSGS)
    assert len(delays) == 2 and client.stats.requests == 3


def test_max_completion_tokens_fallback():
    def needs_new_param(body):
        if "max_tokens" in body:
            return status(400, message="Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens' instead.")
        return reply("ok")

    with FakeOpenAI(default=needs_new_param) as srv:
        client, _ = make(srv)
        assert client.complete(MSGS).text == "ok"
        assert client.complete(MSGS + [{"role": "user", "content": "again"}]).text == "ok"
    assert srv.count == 3  # one refusal, then the new parameter for good
    assert srv.requests[-1]["max_completion_tokens"] == 4096


def test_cache_hits_cost_no_requests_and_the_key_is_the_full_request(tmp_path):
    with FakeOpenAI(default=lambda body: reply(f"reply {len(srv.requests)}")) as srv:
        client, _ = make(srv, tmp_path)
        a = client.complete(MSGS)
        b = client.complete(MSGS)
        assert srv.count == 1 and b.cached and b.text == a.text and b.attempts == 0
        client.complete(MSGS, sample=1)  # another sample
        client.complete(MSGS, temperature=0.1)  # another temperature
        client.complete(MSGS[:1] + [{"role": "user", "content": "draw a dog"}])  # other messages
        assert srv.count == 4
        client.close()
        # a rerun: a new client on the same cache folder makes no request at all
        again, _ = make(srv, tmp_path)
        for kw in ({}, {"sample": 1}, {"temperature": 0.1}):
            assert again.complete(MSGS, **kw).cached
        assert srv.count == 4 and again.stats.requests == 0 and again.stats.cache_hits == 3
        # no cache: every call is a request
        nocache, _ = make(srv)
        nocache.complete(MSGS)
        nocache.complete(MSGS)
        assert srv.count == 6
        other_model = LLMClient(LLMConfig(model="other", base_url=srv.base_url, cache_dir=tmp_path / "cache"))
        assert not other_model.complete(MSGS).cached
        assert srv.count == 7
    # the same model name behind another endpoint is not served from this cache
    with FakeOpenAI(default=reply("from elsewhere")) as elsewhere:
        moved, _ = make(elsewhere, tmp_path)
        c = moved.complete(MSGS)
        assert not c.cached and c.text == "from elsewhere" and elsewhere.count == 1


def test_failures_are_not_cached(tmp_path):
    with FakeOpenAI([status(500), status(500)], default=reply("ok")) as srv:
        client, _ = make(srv, tmp_path, retries=1)
        with pytest.raises(LLMError):
            client.complete(MSGS)
        assert client.complete(MSGS).text == "ok"
        assert srv.count == 3


def test_bounded_concurrency():
    inflight, peak, lock = [0], [0], threading.Lock()

    def slow(body):
        with lock:
            inflight[0] += 1
            peak[0] = max(peak[0], inflight[0])
        time.sleep(0.15)
        with lock:
            inflight[0] -= 1
        return reply("ok")

    with FakeOpenAI(default=slow) as srv:
        client, _ = make(srv, concurrency=2)
        threads = [
            threading.Thread(target=client.complete, args=([{"role": "user", "content": str(i)}],)) for i in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert srv.count == 6
    assert peak[0] <= 2


def _writer(path, start, n):
    cache = ResponseCache(path)
    for i in range(start, start + n):
        cache.put(request_key({"i": i}), "m", {"text": str(i)})
        assert cache.get(request_key({"i": i}))["text"] == str(i)
    cache.close()


def test_cache_survives_concurrent_writers(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(tmp_path, k * 200, 200)) for k in range(3)]
    threads = [threading.Thread(target=_writer, args=(tmp_path, 1000 + k * 100, 100)) for k in range(3)]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for p in procs:
        p.join()
    for t in threads:
        t.join()
    assert all(p.exitcode == 0 for p in procs)
    cache = ResponseCache(tmp_path)
    assert len(cache) == 900
    assert cache.get(request_key({"i": 399}))["text"] == "399"
    mode = cache._conn().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode.lower() == "wal"


def test_config_from_env():
    with pytest.raises(EndpointNotConfigured, match="OPENAI_BASE_URL"):
        config_from_env("m", env={})
    with pytest.raises(EndpointNotConfigured, match="VDSL_MODEL"):
        config_from_env(None, env={"OPENAI_BASE_URL": "http://localhost:8000/v1"})
    c = config_from_env(None, env={"OPENAI_BASE_URL": "http://localhost:8000/v1", "VDSL_MODEL": "qwen"})
    assert c.model == "qwen" and c.api_key == "EMPTY" and c.base_url == "http://localhost:8000/v1"
    c = config_from_env("gpt", env={"OPENAI_API_KEY": "sk-x"}, temperature=0.2)
    assert c.base_url is None and c.api_key == "sk-x" and c.temperature == 0.2
    assert "sk-x" not in str(c.describe())


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after": "2.5"}) == 2.5
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None

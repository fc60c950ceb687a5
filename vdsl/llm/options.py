"""Click options shared by the commands that talk to a model, and building a client from them (exit 2 when no endpoint is set)."""
from __future__ import annotations

from pathlib import Path

import click

from .config import EndpointNotConfigured, LLMConfig, config_from_env, default_cache_dir


class EndpointMissing(click.ClickException):
    """No endpoint or model configured: one plain message, exit 2, nothing attempted."""
    exit_code = 2


def llm_options(f):
    """--model, sampling, retry, concurrency and cache options."""
    opts = [
        click.option("--model", envvar="VDSL_MODEL", show_envvar=True,
                     help="Model name as the endpoint knows it (endpoint: OPENAI_BASE_URL, OPENAI_API_KEY)."),
        click.option("--temperature", type=click.FloatRange(0, 2), default=0.7, show_default=True),
        click.option("--max-tokens", type=click.IntRange(1, 1_000_000), default=4096, show_default=True,
                     help="Most tokens in one reply."),
        click.option("--timeout", type=click.FloatRange(0.01, 3600), default=120.0, show_default=True,
                     help="Seconds to wait for one reply."),
        click.option("--retries", type=click.IntRange(0, 50), default=6, show_default=True,
                     help="Tries after the first on 429, 5xx, timeouts and connection errors."),
        click.option("--backoff", type=click.FloatRange(0, 600), default=1.0, show_default=True,
                     help="First retry delay in seconds (doubled each retry, jittered; Retry-After wins)."),
        click.option("--concurrency", type=click.IntRange(1, 256), default=4, show_default=True,
                     help="Most requests in flight at once."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache."),
        click.option("--cache-dir", type=click.Path(file_okay=False), envvar="VDSL_CACHE_DIR", show_envvar=True,
                     help="Response cache folder [default: ~/.cache/vdsl]."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


LLM_OPTION_NAMES = ("model", "temperature", "max_tokens", "timeout", "retries", "backoff", "concurrency",
                    "no_cache", "cache_dir")


def pop_llm_options(kwargs: dict) -> dict:
    return {k: kwargs.pop(k) for k in LLM_OPTION_NAMES}


def config_from_options(model=None, temperature=0.7, max_tokens=4096, timeout=120.0, retries=6, backoff=1.0,
                        concurrency=4, no_cache=False, cache_dir=None) -> LLMConfig:
    """The config for these option values; raises EndpointMissing (exit 2) when there is no endpoint."""
    try:
        return config_from_env(model, temperature=temperature, max_tokens=max_tokens, timeout=timeout,
                               retries=retries, backoff=backoff, concurrency=concurrency,
                               cache_dir=None if no_cache else Path(cache_dir) if cache_dir else default_cache_dir())
    except EndpointNotConfigured as e:
        raise EndpointMissing(str(e)) from None


def make_client(config: LLMConfig):
    from .client import LLMClient
    try:
        return LLMClient(config)
    except ImportError as e:   # pragma: no cover - openai is a declared extra
        raise EndpointMissing(f"the `openai` package is needed for this command ({e}); "
                              "install it with: pip install 'vdsl[llm]'") from None

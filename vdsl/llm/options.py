"""LLM settings from command-line values: the endpoint config (UsageError, exit 2, when none is set) and the client."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from .config import LLMConfig, config_from_env, default_cache_dir

LLM_OPTION_NAMES = (
    "model",
    "temperature",
    "max_tokens",
    "timeout",
    "retries",
    "backoff",
    "concurrency",
    "no_cache",
    "cache_dir",
    "constrain",
)

PROMPT_CHOICES = ("full", "compact", "minimal")  # vdsl.llm.prompt.PROMPT_VARIANTS
CONSTRAIN_CHOICES = ("auto", "gbnf", "vllm", "vllm-legacy")  # vdsl.llm.grammar_export.CONSTRAIN_MODES + auto


def pop_llm_options(kwargs: dict) -> dict:
    """Take the LLM settings out of a command's keyword arguments (those the command has)."""
    return {k: kwargs.pop(k) for k in LLM_OPTION_NAMES if k in kwargs}


def config_from_options(
    model=None,
    temperature=0.7,
    max_tokens=4096,
    timeout=120.0,
    retries=6,
    backoff=1.0,
    concurrency=4,
    no_cache=False,
    cache_dir=None,
    constrain=None,
) -> LLMConfig:
    """The config for these option values; raises EndpointNotConfigured (exit 2) when there is no endpoint."""
    return config_from_env(
        model,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        concurrency=concurrency,
        cache_dir=None if no_cache else Path(cache_dir) if cache_dir else default_cache_dir(),
        constrain=constrain,
    )


def make_client(config: LLMConfig):
    from .client import LLMClient

    try:
        return LLMClient(config)
    except ImportError as e:  # pragma: no cover - openai is a declared extra
        raise UsageError(
            f"the `openai` package is needed for this command ({e}); install it with: pip install 'vdsl[llm]'"
        ) from None

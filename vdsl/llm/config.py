"""Endpoint settings: base URL, key and model from the environment or options, plus sampling, retry and cache knobs."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Mapping

from ..errors import UsageError

NO_ENDPOINT = (
    "no LLM endpoint configured: set OPENAI_BASE_URL (any OpenAI-compatible chat endpoint) "
    "and/or OPENAI_API_KEY, and the model with --model or VDSL_MODEL. For example, a local vLLM server:\n"
    "  export OPENAI_BASE_URL=http://localhost:8000/v1 OPENAI_API_KEY=EMPTY "
    "VDSL_MODEL=Qwen/Qwen2.5-Coder-7B-Instruct\n"
    "(Ollama: http://localhost:11434/v1, llama.cpp server: http://localhost:8080/v1; "
    "OpenAI itself: OPENAI_API_KEY only.)"
)

NO_MODEL = (
    "no model given: pass --model or set VDSL_MODEL (e.g. VDSL_MODEL=gpt-4o-mini, or the name "
    "your local server serves, such as Qwen/Qwen2.5-Coder-7B-Instruct for vLLM or llama3.1 for Ollama)."
)


class EndpointNotConfigured(UsageError):
    """No endpoint or no model: commands stop with exit 2 and this plain message, nothing attempted."""


def default_cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    """VDSL_CACHE_DIR, else ~/.cache/vdsl (or $XDG_CACHE_HOME/vdsl)."""
    if env.get("VDSL_CACHE_DIR"):
        return Path(env["VDSL_CACHE_DIR"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "vdsl"


@dataclass(frozen=True)
class LLMConfig:
    model: str
    base_url: str | None = None  # None: the openai package's default (api.openai.com)
    api_key: str = "EMPTY"  # local servers accept any key
    temperature: float = 0.7
    max_tokens: int = 4096
    timeout: float = 120.0  # seconds per request
    retries: int = 6  # tries after the first one
    backoff: float = 1.0  # first backoff delay in seconds, doubled each retry, with jitter
    backoff_max: float = 60.0  # cap for one backoff delay (a Retry-After is honoured up to 10 min)
    concurrency: int = 4  # requests in flight at once, per client
    cache_dir: Path | None = None  # None: no on-disk cache
    constrain: str | None = None  # grammar-constrained decoding: "gbnf", "vllm", "vllm-legacy", "auto"; None: off

    def with_(self, **kw) -> "LLMConfig":
        return replace(self, **kw)

    def describe(self) -> dict:
        """What a transcript records about the endpoint (never the key)."""
        return {
            "model": self.model,
            "base_url": self.base_url or "https://api.openai.com/v1",
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            **({"constrain": self.constrain} if self.constrain else {}),
        }


def config_from_env(model: str | None = None, env: Mapping[str, str] = os.environ, **kw) -> LLMConfig:
    """The endpoint from OPENAI_BASE_URL / OPENAI_API_KEY and the model from `model` or VDSL_MODEL.

    Raises EndpointNotConfigured when neither variable is set or no model is named."""
    base_url = (env.get("OPENAI_BASE_URL") or "").strip() or None
    api_key = (env.get("OPENAI_API_KEY") or "").strip() or None
    if base_url is None and api_key is None:
        raise EndpointNotConfigured(NO_ENDPOINT)
    model = (model or env.get("VDSL_MODEL") or "").strip()
    if not model:
        raise EndpointNotConfigured(NO_MODEL)
    kw = {k: v for k, v in kw.items() if v is not None}
    return LLMConfig(model=model, base_url=base_url, api_key=api_key or "EMPTY", **kw)

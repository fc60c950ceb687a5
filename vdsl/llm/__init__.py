"""The LLM layer: endpoint config, the retrying cached client, the generated system prompt and reply parsing."""

from __future__ import annotations

from .cache import ResponseCache, request_key
from .client import Completion, LLMClient, LLMError, Stats
from .config import EndpointNotConfigured, LLMConfig, config_from_env, default_cache_dir
from .extract import Extracted, extract_program, parse_choice, strip_comments, strip_meta
from .prompt import (
    DEFAULT_FEEDBACK,
    draw_messages,
    improve_messages,
    recognize_messages,
    repair_messages,
    system_prompt,
)

__all__ = [
    "Completion",
    "DEFAULT_FEEDBACK",
    "EndpointNotConfigured",
    "Extracted",
    "LLMClient",
    "LLMConfig",
    "LLMError",
    "ResponseCache",
    "Stats",
    "config_from_env",
    "default_cache_dir",
    "draw_messages",
    "extract_program",
    "improve_messages",
    "parse_choice",
    "recognize_messages",
    "repair_messages",
    "request_key",
    "strip_comments",
    "strip_meta",
    "system_prompt",
]

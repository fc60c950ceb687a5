"""The check-up's recognition question: a model is shown one of its own programs (never the picture) and picks the concept it draws."""

from __future__ import annotations


def ask(client, program: str, concept: str, choices: list[str], *, sample=0) -> dict:
    """One multiple-choice question; returns what results.json keeps: choices, answer, its letter position,
    whether it is right, the reply, usage and whether it came from the cache. LLMError propagates."""
    from ..llm.recognize import recognize_source

    r = recognize_source(client, program, choices, sample=["checkup", sample])
    return {
        "choices": list(choices),
        "answer": r.choice,
        "position": r.index,
        "correct": r.choice is not None and r.choice.lower() == concept.lower(),
        "reply": r.reply,
        "cached": r.cached,
        "usage": r.usage,
        "error": r.error,
    }

"""`vdsl recognize`: show a model a program (never its picture) and ask which concept it draws — one file, or a folder scored for accuracy."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .extract import parse_choice, strip_comments, strip_meta
from .prompt import recognize_messages


@dataclass
class Recognition:
    choices: list[str]
    index: int | None  # the choice the answer names; None when it names none
    reply: str
    cached: bool
    usage: dict
    error: str | None = None  # the endpoint rejected this request (e.g. the program overflows the context)

    @property
    def choice(self) -> str | None:
        return None if self.index is None else self.choices[self.index]


def shown_source(source: str, keep_comments: bool = False) -> str:
    """What the model sees: the program without its `// key: value` header (and, by default, comments)."""
    text = strip_meta(source)
    return text if keep_comments else strip_comments(text)


def recognize_source(
    client, source: str, choices: list[str], *, keep_comments: bool = False, sample=0, prompt: str = "minimal"
) -> Recognition:
    """Ask which of `choices` the program draws, from its text only. `prompt` "minimal" (the default) gives the
    model the short description of vdsl only; "compact" or "full" add that prompt's language reference."""
    messages = recognize_messages(shown_source(source, keep_comments), choices)
    if prompt != "minimal":
        from .prompt import language_reference

        messages[0] = {
            "role": "system",
            "content": messages[0]["content"] + "\n\nThe language reference:\n\n" + language_reference(prompt),
        }
    comp = client.complete(messages, sample=sample)
    return Recognition(list(choices), parse_choice(comp.text, choices), comp.text, comp.cached, comp.usage)


def split_choices(text: str) -> list[str]:
    out, seen = [], set()
    for c in text.split(","):
        c = " ".join(c.split())
        if c and c.lower() not in seen:
            seen.add(c.lower())
            out.append(c)
    return out


def collect_programs(folder: Path) -> tuple[list[tuple[Path, str, str]], int]:
    """[(path, source, concept)] for every .vd under folder with a `// concept:` header; and how many had none."""
    from ..api import read_meta

    out, skipped = [], 0
    for p in sorted(folder.rglob("*.vd")):
        try:
            src = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            skipped += 1
            continue
        concept = read_meta(src).get("concept", "").strip()
        if concept:
            out.append((p, src, concept))
        else:
            skipped += 1
    return out, skipped


def choices_for(rel: str, concept: str, pool: list[str], k: int, seed: int) -> list[str]:
    """The true concept and k distractors from the pool (other concepts), shuffled; seeded per program."""
    rng = random.Random(f"{seed}:{rel}")
    others = sorted({c for c in pool if c.lower() != concept.lower()}, key=str.lower)
    picked = rng.sample(others, min(k, len(others)))
    choices = picked + [concept]
    rng.shuffle(choices)
    return choices


@dataclass
class Scored:
    """One program of a scored folder: its true concept, the choices shown and the model's answer."""

    file: str
    concept: str
    choices: list[str]
    answer: Recognition

    @property
    def correct(self) -> bool:
        return self.answer.choice is not None and self.answer.choice.lower() == self.concept.lower()

    def to_dict(self) -> dict:
        r = self.answer
        return {
            "file": self.file,
            "concept": self.concept,
            "choices": self.choices,
            "answer": r.choice,
            "correct": self.correct,
            "reply": r.reply,
            "cached": r.cached,
            "usage": r.usage,
            "error": r.error,
        }


def recognize_folder(
    client,
    root: Path,
    *,
    distractors: int = 4,
    seed: int = 0,
    limit: int | None = None,
    keep_comments: bool = False,
    prompt: str = "minimal",
) -> tuple[list[Scored], int]:
    """Ask about every program under root with a `// concept:` header (with seeded distractors drawn from
    the other programs' concepts); returns the scored items and how many files were skipped."""
    from ..errors import UsageError

    items, skipped = collect_programs(root)
    if limit:
        items = items[:limit]
    pool = sorted({c for _, _, c in items}, key=str.lower)
    if len({c.lower() for c in pool}) < 2:
        raise UsageError(
            f"{root} needs programs of at least two different concepts (`// concept: NAME` headers); found {len(pool)}"
        )
    jobs = []
    for p, src, concept in items:
        rel = p.relative_to(root).as_posix()
        jobs.append((rel, src, concept, choices_for(rel, concept, pool, distractors, seed)))

    from .client import REJECTED, LLMError

    def ask(job):
        rel, src, concept, opts = job
        try:
            answer = recognize_source(client, src, opts, keep_comments=keep_comments, prompt=prompt)
        except LLMError as e:
            if e.kind != REJECTED:  # the endpoint is down or refuses us: stop
                raise
            answer = Recognition(list(opts), None, "", False, {}, str(e))  # this program only: go on
        return Scored(rel, concept, opts, answer)

    with ThreadPoolExecutor(max_workers=client.config.concurrency) as ex:
        return list(ex.map(ask, jobs)), skipped

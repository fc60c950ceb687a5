"""`vdsl recognize`: show a model a program (never its picture) and ask which concept it draws — one file, a
folder or the corpus scored for accuracy against chance, or a model's own drawings (for `vdsl checkup`)."""

from __future__ import annotations

import json
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .extract import _norm, parse_choice, strip_comments, strip_meta
from .prompt import letter, recognize_messages


@dataclass
class Recognition:
    choices: list[str]
    index: int | None  # the choice the answer names; None when it names none (or letter and name disagree)
    reply: str
    cached: bool
    usage: dict
    error: str | None = None  # the endpoint rejected this request (e.g. the program overflows the context)
    flag: str | None = None  # why the reply was not scored as a choice (letter and name disagree)
    letter_index: int | None = None  # the choice its letter names, if any
    name_index: int | None = None  # the choice its name names, if any

    @property
    def choice(self) -> str | None:
        return None if self.index is None else self.choices[self.index]


# ------------------------------------------------------------------ what the model is shown
def shown_source(source: str, keep_comments: bool = False, anonymize: bool = False) -> str:
    """What the model sees: the program without its `// key: value` header (and, by default, comments);
    with anonymize, identifiers, labels and strings renamed (the program still compiles)."""
    text = strip_meta(source)
    text = text if keep_comments else strip_comments(text)
    if anonymize:
        from .anonymize import anonymize_source

        text = anonymize_source(text)
    return text


# ------------------------------------------------------------------ reading the answer
_LETTER_PATTERNS = [
    r"^[\s*_`]*\(?([A-Z])\)?[\s*_`]*$",  # the whole reply is a letter
    r"(?:answer|choice|option)\s*(?:is|would be|:)?\s*[*_`(\[]*\s*([A-Z])(?=\s*(?:$|[).,:;!*_`\]]))",
    r"^[\s*_`]*\(?([A-Z])[).:](?:\s|$)",
    r"\*\*\(?([A-Z])\)?\*\*",
    r"\(([A-Z])\)",
    r"(?:^|\s)([A-Z])\)",
]


def _letter_named(text: str, n: int) -> int | None:
    letters = {letter(i): i for i in range(min(n, 26))}
    for pat in _LETTER_PATTERNS:
        flags = re.M | (re.I if pat.startswith("(?:answer") else 0)
        for m in re.finditer(pat, text, flags):
            tok = m.group(1).upper()
            if tok in letters:
                return letters[tok]
    return None


def _name_named(text: str, choices: list[str]) -> int | None:
    """The one choice whose name the reply contains (the longest when names overlap); None for none or several."""
    low = _norm(text)
    hits = [i for i, c in enumerate(choices) if re.search(r"(?<!\w)" + re.escape(_norm(c)) + r"(?!\w)", low)]
    keep = [i for i in hits if not any(j != i and _norm(choices[i]) in _norm(choices[j]) for j in hits)]
    return keep[0] if len(keep) == 1 else None


def read_answer(reply: str, choices: list[str]) -> tuple[int | None, int | None, int | None, str | None]:
    """(index, letter's choice, name's choice, flag). A letter and a name that disagree give no index and
    a flag; either alone decides; neither falls back to parse_choice (numbers, prose)."""
    text = (reply or "").strip()
    li = _letter_named(text, len(choices))
    ni = _name_named(text, choices)
    if li is not None and ni is not None and li != ni:
        return None, li, ni, f"letter {letter(li)} is {choices[li]!r} but the reply names {choices[ni]!r}"
    if li is not None:
        return li, li, ni, None
    if ni is not None:
        return ni, li, ni, None
    return parse_choice(text, choices), li, ni, None


def recognize_source(
    client,
    source: str,
    choices: list[str],
    *,
    keep_comments: bool = False,
    anonymize: bool = False,
    sample=0,
    deadline: float | None = None,
    prompt: str = "minimal",
) -> Recognition:
    """Ask which of `choices` the program draws, from its text only. `prompt` "minimal" (the default) gives the
    model the short description of vdsl only; "compact" or "full" add that prompt's language reference."""
    shown = shown_source(source, keep_comments, anonymize)
    messages = recognize_messages(shown, choices)
    if prompt != "minimal":
        from .prompt import language_reference

        messages[0] = {
            "role": "system",
            "content": messages[0]["content"] + "\n\nThe language reference:\n\n" + language_reference(prompt),
        }
    comp = client.complete(messages, sample=sample, deadline=deadline)
    index, li, ni, flag = read_answer(comp.text, choices)
    return Recognition(list(choices), index, comp.text, comp.cached, comp.usage, None, flag, li, ni)


def split_choices(text: str) -> list[str]:
    out, seen = [], set()
    for c in text.split(","):
        c = " ".join(c.split())
        if c and c.lower() not in seen:
            seen.add(c.lower())
            out.append(c)
    return out


# ------------------------------------------------------------------ items and distractors
@dataclass(frozen=True)
class Item:
    """One program to recognise: an id (a path, or a run/concept/sample), its source, true concept and tier."""

    key: str
    source: str
    concept: str
    tier: str = ""


def collect_programs(folder: Path) -> tuple[list[tuple[Path, str, str]], int]:
    """[(path, source, concept)] for every .vd under folder with a `// concept:` header; and how many had none."""
    items, skipped = collect_items(folder)
    return [(folder / it.key, it.source, it.concept) for it in items], skipped


def collect_items(folder: Path) -> tuple[list[Item], int]:
    """An Item for every .vd under folder with a `// concept:` header (tier from `// tier:`, else "");
    and how many files had no concept header."""
    from ..api import read_meta

    out, skipped = [], 0
    for p in sorted(folder.rglob("*.vd")):
        try:
            src = p.read_text(encoding="utf-8", errors="replace")
        except OSError:
            skipped += 1
            continue
        meta = read_meta(src)
        concept = meta.get("concept", "").strip()
        if concept:
            out.append(Item(p.relative_to(folder).as_posix(), src, concept, meta.get("tier", "").strip()))
        else:
            skipped += 1
    return out, skipped


def pool_by_tier(items: Sequence[Item], extra: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """Every concept per tier, from all the items (before any limit) and `extra` (e.g. the tier's concept
    list), deduplicated case-insensitively and sorted."""
    pool: dict[str, dict[str, str]] = {}
    for it in items:
        pool.setdefault(it.tier, {}).setdefault(it.concept.lower(), it.concept)
    for tier, names in (extra or {}).items():
        for c in names:
            pool.setdefault(tier, {}).setdefault(c.lower(), c)
    return {t: sorted(d.values(), key=str.lower) for t, d in pool.items()}


def choices_for(rel: str, concept: str, pool: list[str], k: int, seed: int) -> list[str]:
    """The true concept and k distractors from the pool (other concepts), shuffled; seeded per program."""
    rng = random.Random(f"{seed}:{rel}")
    others = sorted({c for c in pool if c.lower() != concept.lower()}, key=str.lower)
    picked = rng.sample(others, min(k, len(others)))
    choices = picked + [concept]
    rng.shuffle(choices)
    return choices


# ------------------------------------------------------------------ scoring
@dataclass
class Scored:
    """One program: its true concept (and tier), the choices shown and the model's answer."""

    file: str
    concept: str
    choices: list[str]
    answer: Recognition
    tier: str = ""

    @property
    def correct(self) -> bool:
        return self.answer.choice is not None and self.answer.choice.lower() == self.concept.lower()

    @property
    def truth_letter(self) -> str:
        low = [c.lower() for c in self.choices]
        return letter(low.index(self.concept.lower())) if self.concept.lower() in low else ""

    def to_dict(self) -> dict:
        r = self.answer
        return {
            "file": self.file,
            "concept": self.concept,
            "tier": self.tier,
            "choices": self.choices,
            "truth_letter": self.truth_letter,
            "answer": r.choice,
            "answer_letter": None if r.index is None else letter(r.index),
            "correct": self.correct,
            "flag": r.flag,
            "reply": r.reply,
            "cached": r.cached,
            "usage": r.usage,
            "error": r.error,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Scored":
        choices = list(d["choices"])
        idx = None
        if d.get("answer") is not None:
            low = [c.lower() for c in choices]
            idx = low.index(d["answer"].lower()) if d["answer"].lower() in low else None
        r = Recognition(choices, idx, d.get("reply", ""), True, d.get("usage") or {}, d.get("error"), d.get("flag"))
        return cls(d["file"], d["concept"], choices, r, d.get("tier", ""))


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials (95% by default); (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def summarize(scored: Sequence[Scored]) -> dict:
    """Accuracy with its 95% Wilson interval, the chance level (mean 1/choices), the answers by letter
    position (and where the truth was), flagged/unparsed/rejected counts, and the same per tier."""

    def one(group: Sequence[Scored]) -> dict:
        n = len(group)
        k = sum(s.correct for s in group)
        lo, hi = wilson(k, n)
        answers: dict[str, int] = {}
        truths: dict[str, int] = {}
        for s in group:
            if s.answer.index is not None:
                answers[letter(s.answer.index)] = answers.get(letter(s.answer.index), 0) + 1
            if s.truth_letter:
                truths[s.truth_letter] = truths.get(s.truth_letter, 0) + 1
        rejected = sum(s.answer.error is not None for s in group)
        flagged = sum(s.answer.flag is not None for s in group)
        return {
            "n": n,
            "correct": k,
            "accuracy": k / n if n else None,
            "ci95": [lo, hi],
            "chance": sum(1 / len(s.choices) for s in group) / n if n else None,
            "answers_by_letter": dict(sorted(answers.items())),
            "truth_by_letter": dict(sorted(truths.items())),
            "flagged": flagged,
            "unparsed": sum(s.answer.index is None for s in group) - rejected - flagged,
            "rejected": rejected,
        }

    out = one(scored)
    tiers = sorted({s.tier for s in scored})
    out["by_tier"] = {t: one([s for s in scored if s.tier == t]) for t in tiers} if tiers != [""] else {}
    return out


@dataclass
class Journal:
    """Scored items appended as JSON lines as they finish (so a failure keeps what was done); on resume
    the items already there are not asked again."""

    path: Path | None
    done: dict[str, dict] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        if self.path is not None and self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines()
            for line in lines:
                try:
                    d = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash
                if isinstance(d, dict) and "file" in d and "choices" in d:
                    self.done[d["file"]] = d  # an item asked again (after an error): its last answer
            if len(lines) != len(self.done):  # compact: one line per item, no cut lines
                from ..atomic import atomic_write

                atomic_write(self.path, "".join(json.dumps(d) + "\n" for d in self.done.values()))

    def add(self, s: Scored) -> None:
        if self.path is None:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(s.to_dict()) + "\n")
                f.flush()


class RecognitionStopped(Exception):
    """The run stopped early (endpoint down, deadline, Ctrl-C): `scored` holds what finished (already in the
    journal), `cause` the error that stopped it."""

    def __init__(self, scored: list[Scored], cause: BaseException):
        super().__init__(str(cause))
        self.scored, self.cause = scored, cause


def recognize_items(
    client,
    items: Sequence[Item],
    *,
    pool: Mapping[str, Sequence[str]] | None = None,
    distractors: int = 4,
    seed: int = 0,
    anonymize: bool = True,
    keep_comments: bool = False,
    journal: Path | None = None,
    progress: Callable[[int, int, Scored], None] | None = None,
    deadline: float | None = None,
    prompt: str = "minimal",
) -> list[Scored]:
    """Ask about every item with `distractors` wrong choices drawn (seeded, per item) from the concepts of its
    own tier in `pool` (default: the items' own concepts by tier). Scored items are appended to `journal`
    as they finish; items already there are reused. A rejected request scores that item as an error and
    goes on; an endpoint down for good, the deadline or Ctrl-C raises with the journal consistent."""
    from ..errors import UsageError
    from .client import DEADLINE, REJECTED, LLMError

    pools = pool_by_tier(items, None) if pool is None else {t: list(v) for t, v in pool.items()}
    for it in items:
        if len({c.lower() for c in pools.get(it.tier, [])} | {it.concept.lower()}) < 2:
            raise UsageError(
                f"tier {it.tier or '(none)'!r} has only one concept ({it.concept!r}): no distractors to draw"
            )
    book = Journal(journal)
    for it in items:  # a resumed journal must hold the same questions (seed, distractors, pool)
        prev = book.done.get(it.key)
        if prev is not None and prev.get("choices") != choices_for(
            it.key, it.concept, pools.get(it.tier, []), distractors, seed
        ):
            raise UsageError(
                f"{journal} holds answers to other questions for {it.key} (another --seed, --distractors or set of "
                "programs): continue with the settings it was started with, or write to another file"
            )
    total, done_n = len(items), 0
    lock = threading.Lock()
    out: list[Scored | None] = [None] * total

    def ask(i: int) -> None:
        nonlocal done_n
        it = items[i]
        prev = book.done.get(it.key)
        if prev is not None and prev.get("error") is None:
            s = Scored.from_dict(prev)
        else:
            if deadline is not None and time.monotonic() >= deadline:
                raise LLMError("the run's --deadline passed", kind=DEADLINE)
            opts = choices_for(it.key, it.concept, pools.get(it.tier, []), distractors, seed)
            try:
                answer = recognize_source(
                    client,
                    it.source,
                    opts,
                    keep_comments=keep_comments,
                    anonymize=anonymize,
                    deadline=deadline,
                    prompt=prompt,
                )
            except LLMError as e:
                if e.kind != REJECTED:  # the endpoint is down or refuses us: stop (the journal keeps the rest)
                    raise
                answer = Recognition(list(opts), None, "", False, {}, str(e))  # this program only: go on
            s = Scored(it.key, it.concept, opts, answer, it.tier)
            book.add(s)
        out[i] = s
        with lock:
            done_n += 1
            if progress is not None:
                progress(done_n, total, s)

    workers = max(1, getattr(getattr(client, "config", None), "concurrency", 1))
    stop, finished = threading.Event(), threading.Event()
    todo: queue.Queue[int] = queue.Queue()
    for i in range(total):
        todo.put(i)
    left, errors = [total], []

    def worker() -> None:  # daemon threads: Ctrl-C returns at once, a request in flight is abandoned
        while not stop.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                ask(i)
            except BaseException as e:
                with lock:
                    errors.append(e)
                stop.set()
                finished.set()
                return
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    finished.set()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(workers, total))]
    for t in threads:
        t.start()
    try:
        if total:
            finished.wait()
    except BaseException as e:  # Ctrl-C, or SIGTERM (raised by the CLI as a BaseException)
        stop.set()
        raise RecognitionStopped([s for s in out if s is not None], e) from e
    if errors:  # an error: the requests in flight finish into the journal, then stop
        for t in threads:
            t.join()
        raise RecognitionStopped([s for s in out if s is not None], errors[0]) from errors[0]
    return [s for s in out if s is not None]


def recognize_drawings(
    client,
    drawings: Sequence[tuple[str, str, str]],
    *,
    pool: Mapping[str, Sequence[str]] | None = None,
    distractors: int = 4,
    seed: int = 0,
    anonymize: bool = True,
    journal: Path | None = None,
    progress: Callable[[int, int, Scored], None] | None = None,
    deadline: float | None = None,
    prompt: str = "minimal",
) -> list[Scored]:
    """Does the model recognise what it drew? `drawings` are (source, true concept, tier); each is keyed
    `tier/concept/#i` in order. `pool` maps a tier to its candidate concepts (default: the drawings' own
    concepts and every shipped concept of their tier)."""
    items = [Item(f"{tier}/{concept}/#{i}", src, concept, tier) for i, (src, concept, tier) in enumerate(drawings)]
    return recognize_items(
        client,
        items,
        pool=tier_pool(items) if pool is None else pool,
        distractors=distractors,
        seed=seed,
        anonymize=anonymize,
        journal=journal,
        progress=progress,
        deadline=deadline,
        prompt=prompt,
    )


@dataclass
class Questions:
    """What a folder asks: the items (after --limit), the candidate concepts per tier (from every item,
    before --limit) and how many files or runs were skipped."""

    items: list[Item]
    pools: dict[str, list[str]]
    skipped: int


def folder_questions(root: Path, *, runs: bool = False, limit: int | None = None, seed: int = 0) -> Questions:
    """The programs under root with a `// concept:` header (or, with runs, the refine runs under it: the
    model's own drawings, with every shipped concept of their tier as candidates). A tier with one concept
    borrows from every tier; UsageError when there are fewer than two concepts in all."""
    from ..errors import UsageError

    items, skipped = collect_runs(root) if runs else collect_items(root)
    pools = tier_pool(items) if runs else pool_by_tier(items)
    if len({c.lower() for names in pools.values() for c in names}) < 2:
        raise UsageError(
            f"{root} needs programs of at least two different concepts"
            + (" (refine runs with a working round)" if runs else " (`// concept: NAME` headers)")
            + f"; found {sum(len(v) for v in pools.values())}"
        )
    for tier, names in list(pools.items()):
        if len(names) < 2:
            pools[tier] = sorted({c for v in pools.values() for c in v}, key=str.lower)
    chosen = stratified_limit(items, limit, seed) if limit else list(items)
    return Questions(chosen, pools, skipped)


def recognize_folder(
    client,
    root: Path,
    *,
    distractors: int = 4,
    seed: int = 0,
    limit: int | None = None,
    keep_comments: bool = False,
    anonymize: bool = True,
    journal: Path | None = None,
    progress: Callable[[int, int, Scored], None] | None = None,
    deadline: float | None = None,
    prompt: str = "minimal",
) -> tuple[list[Scored], int]:
    """Ask about every program under root with a `// concept:` header; distractors come from the other
    programs' concepts of the same tier, all of them, before `limit` picks N programs across the tiers.
    Returns the scored items and how many files were skipped."""
    q = folder_questions(root, limit=limit, seed=seed)
    scored = recognize_items(
        client,
        q.items,
        pool=q.pools,
        distractors=distractors,
        seed=seed,
        anonymize=anonymize,
        keep_comments=keep_comments,
        journal=journal,
        progress=progress,
        deadline=deadline,
        prompt=prompt,
    )
    return scored, q.skipped


def stratified_limit(items: Sequence[Item], limit: int, seed: int) -> list[Item]:
    """`limit` items taken round-robin across tiers (each tier's items in a seeded order), kept in path order."""
    by: dict[str, list[Item]] = {}
    for it in items:
        by.setdefault(it.tier, []).append(it)
    for t, v in by.items():
        random.Random(f"{seed}:limit:{t}").shuffle(v)
    picked: list[Item] = []
    queues = [by[t] for t in sorted(by)]
    while len(picked) < limit and any(queues):
        for q in queues:
            if q and len(picked) < limit:
                picked.append(q.pop(0))
    keep = {id(it) for it in picked}
    return [it for it in items if id(it) in keep]


def collect_runs(root: Path) -> tuple[list[Item], int]:
    """The model's own drawings: an Item for every refine run under root (a folder with transcript.jsonl),
    holding its last round that compiled (`round_K.vd`), its concept (from the run's start event) and tier
    (the start event's, else the shipped concept list's, else ""); and how many runs had no working round."""
    from ..concepts import lookup
    from .files import read_jsonl
    from .report import TRANSCRIPT

    out, skipped = [], 0
    for t in sorted(root.rglob(TRANSCRIPT)):
        d = t.parent
        start = next((e for e in read_jsonl(t) if e.get("event") == "start"), None)
        rounds = sorted(
            (int(m.group(1)), p) for p in d.glob("round_*.vd") if (m := re.fullmatch(r"round_(\d+)\.vd", p.name))
        )
        concept = (start or {}).get("concept") or ""
        if not concept or not rounds:
            skipped += 1
            continue
        tier = (start or {}).get("tier") or ""
        if not tier:
            known = lookup(concept)
            tier = known.tier if known is not None else ""
        k, path = rounds[-1]
        key = (d.relative_to(root).as_posix() if d != root else d.name) + f"/round_{k}.vd"
        out.append(Item(key, path.read_text(encoding="utf-8", errors="replace"), concept, tier))
    return out, skipped


def tier_pool(items: Sequence[Item]) -> dict[str, list[str]]:
    """The items' concepts by tier, plus every shipped concept of each shipped tier they use (so the
    distractors of a model's own drawings come from the whole tier, not only what it drew)."""
    from ..concepts import TIERS, load_concepts

    extra = {t: [c.name for c in load_concepts(t)] for t in {it.tier for it in items} if t in TIERS}
    return pool_by_tier(items, extra)

"""`vdsl recognize`: show a model a program (never its picture) and ask which concept it draws — one file, or a folder scored for accuracy."""
from __future__ import annotations

import json
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click

from .llm.extract import parse_choice, strip_comments, strip_meta
from .llm.options import config_from_options, llm_options, make_client, pop_llm_options
from .llm.prompt import letter, recognize_messages


@dataclass
class Recognition:
    choices: list[str]
    index: int | None          # the choice the answer names; None when it names none
    reply: str
    cached: bool
    usage: dict

    @property
    def choice(self) -> str | None:
        return None if self.index is None else self.choices[self.index]


def shown_source(source: str, keep_comments: bool = False) -> str:
    """What the model sees: the program without its `// key: value` header (and, by default, comments)."""
    text = strip_meta(source)
    return text if keep_comments else strip_comments(text)


def recognize_source(client, source: str, choices: list[str], *, keep_comments: bool = False,
                     sample=0) -> Recognition:
    """Ask which of `choices` the program draws, from its text only."""
    comp = client.complete(recognize_messages(shown_source(source, keep_comments), choices), sample=sample)
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
    from .api import read_meta
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


@click.command("recognize")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--choices", help='Comma-separated concepts to choose from, e.g. "sky,lake,terrace".')
@click.option("--programs", type=click.Path(exists=True, file_okay=False),
              help="A folder of programs whose `// concept:` headers are known: score accuracy.")
@click.option("--distractors", type=click.IntRange(1, 25), default=4, show_default=True,
              help="Wrong choices per program, drawn from the other programs' concepts.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for drawing distractors and order.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N programs (sorted by path).")
@click.option("--keep-comments", is_flag=True, help="Show comments too (the concept header is always removed).")
@click.option("--results", type=click.Path(dir_okay=False), help="Write one JSON line per program here.")
@llm_options
def recognize_cmd(file, choices, programs, distractors, seed, limit, keep_comments, results, **kw):
    """Ask a model which concept a program draws, from the program text alone.

    \b
    vdsl recognize scene.vd --choices "sky,lake,terrace,traffic light,sandy beach"
    vdsl recognize --programs examples/ --distractors 4

    The image is never shown. The program's `// concept:` header is removed, and comments too unless
    --keep-comments. With --programs, prints each answer and the accuracy (and chance level).
    """
    llm = pop_llm_options(kw)
    if bool(file) == bool(programs):
        raise click.UsageError("give a program FILE with --choices, or --programs DIR")
    if file:
        opts = split_choices(choices or "")
        if len(opts) < 2:
            raise click.UsageError("--choices needs at least two comma-separated concepts")
        source = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8", errors="replace")
        client = make_client(config_from_options(**llm))
        try:
            r = recognize_source(client, source, opts, keep_comments=keep_comments)
        except Exception as e:
            _fail(e)
        finally:
            client.close()
        if r.index is None:
            click.echo(f"could not tell which choice the answer names; the reply was:\n{r.reply}", err=True)
            sys.exit(1)
        click.echo(r.choice)
        return
    items, skipped = collect_programs(Path(programs))
    if limit:
        items = items[:limit]
    pool = sorted({c for _, _, c in items}, key=str.lower)
    if len({c.lower() for c in pool}) < 2:
        raise click.UsageError(f"{programs} needs programs of at least two different concepts "
                               f"(`// concept: NAME` headers); found {len(pool)}")
    client = make_client(config_from_options(**llm))
    root = Path(programs)
    jobs = []
    for p, src, concept in items:
        rel = p.relative_to(root).as_posix()
        jobs.append((rel, src, concept, choices_for(rel, concept, pool, distractors, seed)))

    def ask(job):
        rel, src, concept, opts = job
        return recognize_source(client, src, opts, keep_comments=keep_comments)

    try:
        with ThreadPoolExecutor(max_workers=client.config.concurrency) as ex:
            answers = list(ex.map(ask, jobs))
    except Exception as e:
        _fail(e)
    finally:
        client.close()
    correct = unparsed = 0
    lines = []
    for (rel, src, concept, opts), r in zip(jobs, answers):
        ok = r.choice is not None and r.choice.lower() == concept.lower()
        correct += ok
        unparsed += r.index is None
        mark = "ok  " if ok else ("??  " if r.index is None else "miss")
        click.echo(f"{mark} {rel}: {concept} -> {r.choice if r.choice is not None else '(no choice)'}"
                   f"   [{', '.join(f'{letter(i)}) {c}' for i, c in enumerate(opts))}]")
        lines.append(json.dumps({"file": rel, "concept": concept, "choices": opts, "answer": r.choice,
                                 "correct": ok, "reply": r.reply, "cached": r.cached, "usage": r.usage}))
    n = len(jobs)
    chance = sum(1 / len(j[3]) for j in jobs) / n if n else 0.0
    click.echo(f"accuracy: {correct}/{n} = {100 * correct / n:.1f}% (chance {100 * chance:.1f}%)"
               + (f"; {unparsed} answer(s) named no choice" if unparsed else "")
               + (f"; {skipped} file(s) without a concept header skipped" if skipped else ""))
    if results:
        from .llm.files import atomic_write
        atomic_write(Path(results), "\n".join(lines) + "\n")


def _fail(e: Exception):
    from .llm.client import LLMError
    if isinstance(e, LLMError):
        raise click.ClickException(str(e)) from None
    raise e

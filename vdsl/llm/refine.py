"""`vdsl refine`: a model draws a concept, repairs its program from the compiler's diagnostics, then improves it round after round (text or vision feedback)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Callable

from ..concepts import load_concepts, slugify
from ..diagnostics import Diagnostic, format_compact, has_errors
from ..errors import IncompleteRun, Interrupted, UsageError
from ..version import __version__
from .extract import extract_program
from ..atomic import atomic_write
from .files import Transcript, read_jsonl
from .prompt import DEFAULT_FEEDBACK, draw_messages, estimate_tokens, fit_prompt, improve_messages, repair_messages
from .batches import Deferred
from .report import TRANSCRIPT, rounds_of, summarize, write_report

MAX_SIDE = 1024  # round_K.png is the program's canvas, scaled down to fit this if larger
VISION_SIDE = 512  # the picture sent back with --feedback vision


class RefineAborted(IncompleteRun):
    """The endpoint failed for good (down, or the run's deadline passed). The folder is consistent; --resume continues it."""


class EndpointFatal(UsageError):
    """The endpoint refuses the key, the model or the URL (401/403/404): no resume can fix it; the message says what to change."""


class SettingsChanged(UsageError):
    """--resume with other sampling settings than the run started with, without --allow-changed-settings."""


SAMPLING_KEYS = ("model", "temperature", "max_tokens")  # restored on resume; a change is refused or recorded


class RunExists(UsageError):
    """The output folder already holds a run and --resume was not given."""


@dataclass
class RefineSettings:
    concept: str
    rounds: int = 5  # in all, round 0 included
    max_repairs: int = 3  # repair requests per round after the first reply
    feedback: str = "text"  # "text" or "vision"
    feedback_text: str = DEFAULT_FEEDBACK
    sample: int = 0  # a different sample asks afresh (it is part of the cache key)
    seed: int = 0  # the seed programs are evaluated and rendered at
    stdlib: str = "all"  # the stdlib shown in the prompt and accepted by the checker (all, shapes, none)
    prompt: str = "full"  # the system prompt variant: full, compact or minimal (vdsl.llm.prompt.PROMPT_VARIANTS)


@dataclass
class ReplyCheck:
    """What compiling, evaluating and rendering one reply gave."""

    program: str | None
    how: str
    diagnostics: list[Diagnostic]
    png: bytes | None

    @property
    def ok(self) -> bool:
        return self.png is not None and not has_errors(self.diagnostics)


def check_reply(reply: str, file: str, seed: int = 0, stdlib: str = "all") -> ReplyCheck:
    """Extract the program, then compile (`use` limited by the `stdlib` policy: E219), run it at `seed`
    and render it in the sandbox (a worker process under the time limit and memory cap, as dataset
    workers run); every failure is a diagnostic."""
    from ..sandbox import run as run_sandboxed

    ex = extract_program(reply)
    if ex.program is None:
        return ReplyCheck(None, ex.how, [], None)
    r = run_sandboxed(ex.program, seed=seed, fmt="png", max_side=MAX_SIDE, file=file, stdlib=stdlib)
    if not r.ok or has_errors(r.diagnostics):
        return ReplyCheck(ex.program, ex.how, list(r.diagnostics), None)
    return ReplyCheck(ex.program, ex.how, list(r.diagnostics), r.value)


def vision_url(png: bytes, side: int = VISION_SIDE) -> str:
    """The picture as a PNG data URL, scaled down to fit side x side."""
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    if max(img.size) > side:
        img.thumbnail((side, side), Image.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, "PNG")
        png = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _loggable(messages: list[dict], image_name: str | None) -> list[dict]:
    """Messages for the transcript: the system prompt (stored once, in the start event) and images by file name."""
    out = []
    for m in messages:
        if m.get("role") == "system":
            out.append({"role": "system", "content": "<system prompt: see the start event>"})
        elif isinstance(m.get("content"), list):
            parts = [
                {"type": "image_url", "image_url": {"url": image_name or "<image>"}}
                if p.get("type") == "image_url"
                else p
                for p in m["content"]
            ]
            out.append({"role": m["role"], "content": parts})
        else:
            out.append(m)
    return out


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def resumed_sampling(start: dict, current: dict, explicit: set | None) -> tuple[dict, dict]:
    """(the sampling settings to use, {key: [started with, now]} for explicit changes): a setting not given
    explicitly (`explicit` None: every setting counts as given) is restored from the start event."""
    old = start.get("endpoint") or {}
    use, changed = {k: current.get(k) for k in SAMPLING_KEYS}, {}
    for k in SAMPLING_KEYS:
        if k not in old or old[k] == current.get(k):
            continue
        if explicit is not None and k not in explicit:
            use[k] = old[k]
        else:
            changed[k] = [old[k], current.get(k)]
    return use, changed


def refine(
    client,
    out_dir: str | Path,
    settings: RefineSettings,
    *,
    resume: bool = False,
    stop: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
    overrides: dict | None = None,
    deadline: float | None = None,
    explicit: set | None = None,
    allow_changed: bool = False,
    price: tuple[float, float] | None = None,
) -> dict:
    """Run (or, with resume, continue) a refine loop into out_dir; returns the run's summary.

    `deadline` is a time.monotonic() value the run stops at (RefineAborted, resumable). On resume the
    model, temperature and max_tokens come from the start event unless named in `explicit` (None: all
    are); an explicit change raises SettingsChanged unless allow_changed, which records it.
    A request the endpoint rejects (context overflow, content filter) fails its round and the run goes
    on; a cut reply is named in the repair request.

    Raises RunExists, SettingsChanged, EndpointFatal (key/model/URL refused), RefineAborted (endpoint down
    for good, deadline) or Interrupted / KeyboardInterrupt; in every case the folder is left consistent:
    files replaced atomically, the transcript appended line by line, the report rewritten after every round."""
    from .client import DEADLINE, FATAL, REJECTED, LLMError

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tpath = out / TRANSCRIPT
    events = read_jsonl(tpath)
    start = next((e for e in events if e.get("event") == "start"), None)
    if start is not None and not resume:
        raise RunExists(f"{out} already holds a refine run; pass --resume to continue it or choose another --out")
    current = client.config.describe()
    sampling = {k: current[k] for k in SAMPLING_KEYS}
    if start is not None:
        sampling, changed = resumed_sampling(start, current, explicit)
        if changed and not allow_changed:
            raise SettingsChanged(
                f"{out} was started with other settings: "
                + ", ".join(f"{k} {a!r} (now {b!r})" for k, (a, b) in changed.items())
                + "; resume without them to keep the run's settings, or pass --allow-changed-settings to "
                "change them (the change is recorded)"
            )
    tr = Transcript(tpath)
    if start is None:
        system = fit_prompt(None, settings.prompt, settings.stdlib)[0]
        start = {
            "event": "start",
            "time": _now(),
            **asdict(settings),
            "endpoint": current,
            "system_prompt": system,
            "system_prompt_tokens_estimate": estimate_tokens(system),
            "system_prompt_sha256": hashlib.sha256(system.encode("utf-8")).hexdigest(),
            "vdsl_version": __version__,
            "price_per_1m": list(price) if price else None,
        }
        tr.append(start)
        events = [start]
    else:
        if settings.concept and settings.concept != start.get("concept"):
            raise UsageError(f"{out} holds a run for {start.get('concept')!r}, not {settings.concept!r}")
        kept = {
            k: start[k]
            for k in (
                "concept",
                "rounds",
                "max_repairs",
                "feedback",
                "feedback_text",
                "sample",
                "seed",
                "stdlib",
                "prompt",
            )
            if k in start
        }
        kept.update(overrides or {})
        settings = RefineSettings(**kept)
        # the same prompt: same requests, cache hits
        system = start.get("system_prompt") or fit_prompt(None, settings.prompt, settings.stdlib)[0]
        ev = {
            "event": "resume",
            "time": _now(),
            **asdict(settings),
            "endpoint": {**current, **sampling},
            "vdsl_version": __version__,
        }
        if changed:
            ev["changed_settings"] = changed
        old_url = (start.get("endpoint") or {}).get("base_url")
        if old_url and old_url != current["base_url"]:
            ev["changed_endpoint"] = [old_url, current["base_url"]]
            print(
                f"warning: {out} was started against {old_url}; resuming against {current['base_url']}", file=sys.stderr
            )
        if price:
            ev["price_per_1m"] = list(price)
        tr.append(ev)
        events.append(ev)
    done = rounds_of(events)
    good = [(k, r) for k, r in done.items() if r.get("status") == "ok"]
    last_k, last_program = (good[-1][0], good[-1][1]["program"]) if good else (None, None)
    if on_progress and done:
        on_progress(min(len(done), settings.rounds))
    next_k = max(done) + 1 if done else 0

    def emit(e: dict) -> None:
        tr.append(e)
        events.append(e)

    try:
        for k in range(next_k, settings.rounds):
            if last_program is None:
                kind, base = "draw", draw_messages(settings.concept, system)
            else:
                kind = "improve"
                img = None
                if settings.feedback == "vision":
                    f = out / f"round_{last_k}.png"
                    img = vision_url(f.read_bytes()) if f.is_file() else None
                base = improve_messages(settings.concept, last_program, settings.feedback_text, img, system)
            image_name = f"round_{last_k}.png" if kind == "improve" else None
            messages, result, repairs, first_ok, failure = base, None, 0, False, None
            for step in range(settings.max_repairs + 1):
                if stop is not None and stop.is_set():
                    raise Interrupted()
                step_kind = kind if step == 0 else "repair"
                try:
                    # the step is part of the key: a repeated repair request is sampled, never replayed
                    comp = client.complete(messages, sample=[settings.sample, k, step], deadline=deadline, **sampling)
                except LLMError as e:
                    emit(
                        {
                            "event": "error",
                            "time": _now(),
                            "round": k,
                            "step": step,
                            "kind": step_kind,
                            "error": str(e),
                            "error_kind": e.kind,
                            "attempts": e.attempts,
                            "status": e.status,
                            "retries": e.retries,
                        }
                    )
                    if e.kind == REJECTED:  # this request only (context overflow, content filter): go on
                        failure = f"the endpoint rejected the {step_kind} request: {e}"
                        break
                    if e.kind == FATAL:
                        raise EndpointFatal(str(e)) from e
                    if e.kind == DEADLINE:
                        emit({"event": "deadline", "time": _now(), "round": k, "step": step})
                    raise RefineAborted(str(e)) from e
                result = check_reply(comp.text, f"round_{k}.vd", settings.seed, settings.stdlib)
                compact = format_compact(result.diagnostics)
                cut = comp.finish_reason == "length"
                emit(
                    {
                        "event": "call",
                        "time": _now(),
                        "round": k,
                        "step": step,
                        "kind": step_kind,
                        "messages": _loggable(messages, image_name),
                        "reply": comp.text,
                        "model": comp.model,
                        "finish_reason": comp.finish_reason,
                        "cut": cut,
                        "usage": comp.usage,
                        "latency_s": comp.latency_s,
                        "attempts": comp.attempts,
                        "retries": comp.retries,
                        "cached": comp.cached,
                        "key": comp.key,
                        "extracted": result.how,
                        "program": result.program,
                        "ok": result.ok,
                        "diagnostics": [d.to_dict() for d in result.diagnostics],
                    }
                )
                if result.ok:
                    first_ok = step == 0
                    break
                if step == settings.max_repairs:
                    if cut:
                        failure = f"the reply was cut off at max_tokens={sampling['max_tokens']}"
                    break
                repairs += 1
                messages = repair_messages(
                    base,
                    comp.text,
                    compact if result.program is not None else None,
                    sampling["max_tokens"] if cut else None,
                    program=result.program,  # the code is echoed, not the prose around it
                )
            rec = {
                "event": "round",
                "time": _now(),
                "round": k,
                "kind": kind,
                "from_round": last_k,
                "repairs": repairs,
                "first_try": first_ok,
                "seed": settings.seed,
                "program": result.program if result else None,
                "diagnostics": [d.to_dict() for d in result.diagnostics] if result else [],
            }
            if failure:
                rec["reason"] = failure
            if result is not None and result.ok:
                atomic_write(out / f"round_{k}.vd", result.program, fsync=True)
                atomic_write(out / f"round_{k}.png", result.png, fsync=True)
                rec.update(status="ok", file=f"round_{k}.vd", image=f"round_{k}.png")
                last_k, last_program = k, result.program
            else:
                has_program = result is not None and result.program is not None
                if has_program:
                    atomic_write(out / f"round_{k}.failed.vd", result.program, fsync=True)
                rec.update(status="failed", file=f"round_{k}.failed.vd" if has_program else None, image=None)
            emit(rec)
            write_report(out, events)
            if on_progress:
                on_progress(1)
        emit({"event": "end", "time": _now(), "summary": summarize(events)})
    except (RefineAborted, EndpointFatal, Deferred):
        _safe_report(out, events)
        raise
    except BaseException as e:  # Ctrl-C, SIGTERM (the CLI raises it as a BaseException), Interrupted
        if (
            isinstance(e, (SystemExit, GeneratorExit))
            or not isinstance(e, (Interrupted, KeyboardInterrupt))
            and isinstance(e, Exception)
        ):
            raise
        emit(
            {
                "event": "interrupted",
                "time": _now(),
                "signal": "SIGTERM"
                if type(e).__name__ == "_Terminated"
                else "SIGINT"
                if isinstance(e, KeyboardInterrupt)
                else None,
            }
        )
        _safe_report(out, events)
        raise
    write_report(out, events)
    return summarize(events)


def _safe_report(out: Path, events: list[dict]) -> None:
    try:
        write_report(out, events)
    except Exception as e:
        print(f"warning: could not write the report: {e}", file=sys.stderr)


# ------------------------------------------------------------------ batch
def load_concept_list(spec: str, limit: int | None = None) -> list[tuple[str, str]]:
    """(folder name, concept) pairs from a file (one concept a line, # comments) or a concept tier."""
    p = Path(spec)
    if p.is_file():
        names = [l.strip() for l in p.read_text(encoding="utf-8").splitlines()]
        items = [(slugify(n, 60), n) for n in names if n and not n.startswith("#")]
    else:
        try:
            entries = list(load_concepts(spec))
        except (KeyError, ValueError, FileNotFoundError) as e:
            raise UsageError(f"{spec!r} is neither a file nor a concept tier: {e}") from None
        items = [(slugify(str(getattr(e, "id", "") or e.name), 60), str(e.name)) for e in entries]
    if limit is not None:
        items = items[:limit]
    seen: dict[str, int] = {}
    out = []
    for name, concept in items:
        n = seen.get(name, 0)
        seen[name] = n + 1
        out.append((name if n == 0 else f"{name}-{n + 1}", concept))
    return out


SUMMARY_COLUMNS = [
    ("concept", "concept"),
    ("folder", "folder"),
    ("status", "status"),
    ("compiled_first_try", "compiled first try"),
    ("repairs", "repairs needed"),
    ("rounds", "rounds completed"),
    ("rounds_failed", "rounds failed"),
    ("final_round", "final round"),
    ("requests", "requests"),
    ("tokens", "tokens"),
]


def _summary_row(folder: str, concept: str, s: dict | None, status: str) -> dict:
    s = s or {}
    return {
        "concept": concept,
        "folder": folder,
        "status": status,
        "compiled_first_try": "yes" if s.get("compiled_first_try") else "no",
        "repairs": s.get("repairs", 0),
        "rounds": f"{s.get('rounds_ok', 0)}/{s.get('rounds_planned', 0)}",
        "rounds_failed": s.get("rounds_failed", 0),
        "final_round": "" if s.get("final_round") is None else s["final_round"],
        "requests": s.get("requests", 0),
        "tokens": s.get("prompt_tokens", 0) + s.get("completion_tokens", 0),
    }


def write_summary(out_root: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([k for k, _ in SUMMARY_COLUMNS])
    for r in rows:
        w.writerow([r[k] for k, _ in SUMMARY_COLUMNS])
    atomic_write(out_root / "summary.csv", buf.getvalue(), fsync=True)
    first = sum(r["compiled_first_try"] == "yes" for r in rows)
    md = ["| " + " | ".join(t for _, t in SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
    md += ["| " + " | ".join(str(r[k]).replace("|", "\\|") for k, _ in SUMMARY_COLUMNS) + " |" for r in rows]
    md += [
        "",
        f"{len(rows)} concepts; compiled first try: {first}/{len(rows)}; "
        f"repairs needed: {sum(int(r['repairs']) for r in rows)}; "
        f"complete: {sum(r['status'] == 'complete' for r in rows)}/{len(rows)}",
    ]
    atomic_write(out_root / "summary.md", "\n".join(md) + "\n", fsync=True)
    from .compare import batch_index_html

    atomic_write(out_root / "index.html", batch_index_html(out_root, rows), fsync=True)


def refine_many(
    client,
    items: list[tuple[str, str]],
    out_root: Path,
    settings: RefineSettings,
    *,
    resume: bool,
    jobs: int,
    overrides: dict | None = None,
    progress: bool = True,
    **run_kw,
) -> tuple[list[dict], str, str | None]:
    """Refine many concepts, `jobs` at a time, one folder each; returns summary rows, the overall outcome
    ("ok", "aborted" when the endpoint failed for good or the deadline passed, "fatal" when it refuses the
    key/model/URL, "interrupted") and the error behind it (for SIGTERM: the exception, to raise again once
    the summary is written). One concept's failure never stops the others; `run_kw` goes to refine."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    stop = threading.Event()
    outcome = {"aborted": None, "fatal": None}
    rows: dict[str, dict] = {}
    lock = threading.Lock()

    def one(folder: str, concept: str, advance: Callable[[int], None]) -> None:
        d = out_root / folder
        if stop.is_set():
            rows[folder] = _summary_row(folder, concept, summarize(read_jsonl(d / TRANSCRIPT)), "not started")
            return
        st = RefineSettings(**{**asdict(settings), "concept": concept})
        try:
            s = refine(client, d, st, resume=resume, stop=stop, on_progress=advance, overrides=overrides, **run_kw)
            status = "complete" if s["final_round"] is not None else "no program"
        except EndpointFatal as e:  # every concept would get the same answer
            with lock:
                outcome["fatal"] = outcome["fatal"] or str(e)
            stop.set()
            s, status = None, "endpoint refused"
        except SettingsChanged as e:
            s, status = None, f"not resumed: {e}"
        except Deferred:  # a batch pass: this concept goes on once its request is ingested
            s, status = None, "waiting for batch"
        except RefineAborted as e:
            with lock:
                outcome["aborted"] = outcome["aborted"] or str(e)
            stop.set()  # the endpoint is down: the others stop after their current request
            s, status = None, "endpoint error"
        except Interrupted:
            s, status = None, "interrupted"
        except Exception as e:
            s, status = None, f"error: {type(e).__name__}: {e}"
        rows[folder] = _summary_row(folder, concept, s or summarize(read_jsonl(d / TRANSCRIPT)), status)

    console = Console(stderr=True)
    interrupted, signal_exc = False, None
    with Progress(
        TextColumn("[bold]refine"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rounds"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=False,
    ) as bar:
        task = bar.add_task("refine", total=len(items) * settings.rounds)

        def advance(n: int) -> None:
            bar.advance(task, n)

        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        futures = [pool.submit(one, folder, concept, advance) for folder, concept in items]
        try:
            for f in futures:
                f.result()
        except BaseException as e:  # Ctrl-C, or SIGTERM (raised by the CLI as a BaseException)
            if isinstance(e, (SystemExit, GeneratorExit, Exception)):
                raise
            interrupted = True
            signal_exc = None if isinstance(e, KeyboardInterrupt) else e
            stop.set()
            for f in futures:
                f.cancel()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    ordered = [
        rows.get(folder)
        or _summary_row(folder, concept, summarize(read_jsonl(out_root / folder / TRANSCRIPT)), "not started")
        for folder, concept in items
    ]
    result = (
        "interrupted" if interrupted else "fatal" if outcome["fatal"] else "aborted" if outcome["aborted"] else "ok"
    )
    return ordered, result, signal_exc or outcome["fatal"] or outcome["aborted"]


def print_summary(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="refine summary")
    for _, title in SUMMARY_COLUMNS:
        t.add_column(title)
    for r in rows:
        t.add_row(*[str(r[k]) for k, _ in SUMMARY_COLUMNS])
    Console(width=160).print(t)

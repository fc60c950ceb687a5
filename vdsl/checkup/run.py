"""`vdsl checkup`: for each model, draw (the refine loop), improve, recognise and diversify over concept tiers, resumably, then score and report."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic import atomic_write
from ..concepts import TIERS, load_concepts, sample_concepts, slugify
from ..errors import IncompleteRun, Interrupted, UsageError
from ..version import __version__

CONFIG = "checkup.json"
RECOGNITION = "recognition.jsonl"
# lm-evaluation-harness style task names, one per measure and tier
MEASURES = ("draw", "improve", "recognize", "diversity")


class CheckupExists(UsageError):
    """The output folder already holds a check-up and --resume was not given (or its settings differ)."""


@dataclass
class ModelSpec:
    """One model under test: its name as the endpoint knows it, and the endpoint (None: OPENAI_BASE_URL)."""

    name: str
    endpoint: str | None = None
    price: tuple[float, float] | None = None  # per 1M prompt, completion tokens

    @property
    def slug(self) -> str:
        return slugify(self.name, 60)


@dataclass
class CheckupConfig:
    """Everything that decides what a check-up asks; written to checkup.json and results.json."""

    models: list[ModelSpec]
    tiers: list[str] = field(default_factory=lambda: ["shapes", "objects", "scenes"])
    concepts_per_tier: int = 5
    samples: int = 2
    rounds: int = 3
    max_repairs: int = 3
    scorer: str = "pixel"
    stdlib: str = "none"  # the paper's setting: primitives only
    seed: int = 0  # concept sampling, candidates, distractors, render seed
    limit: int | None = None  # at most this many concepts per tier (the candidate pool stays whole)
    candidates: int = 16  # concepts per tier the scorer ranks the true one among (at least the drawn ones)
    distractors: int = 4  # wrong choices per recognition question
    temperature: float = 0.7
    max_tokens: int = 4096
    feedback: str = "text"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["models"] = [{**asdict(m), "price": list(m.price) if m.price else None} for m in self.models]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CheckupConfig":
        d = dict(d)
        models = [
            ModelSpec(m["name"], m.get("endpoint"), tuple(m["price"]) if m.get("price") else None)  # type: ignore[arg-type]
            for m in d.pop("models")
        ]
        known = {f for f in cls.__dataclass_fields__}
        return cls(models=models, **{k: v for k, v in d.items() if k in known})

    # the settings a resume must share with the start: what decides the questions asked (endpoints,
    # prices and the scorer may change: a finished run can be scored again with another scorer)
    def identity(self) -> dict:
        d = self.to_dict()
        d["models"] = [m["name"] for m in d["models"]]
        d.pop("scorer", None)
        return d


@dataclass(frozen=True)
class Item:
    """One concept of one tier, drawn as sample `sample` by every model."""

    tier: str
    concept: str
    folder: str  # the concept's folder name inside its tier
    sample: int

    def path(self, root: Path, model: ModelSpec) -> Path:
        return root / "runs" / model.slug / self.tier / self.folder / f"s{self.sample}"

    @property
    def key(self) -> str:
        return f"{self.tier}/{self.folder}/s{self.sample}"


@dataclass
class Plan:
    """The concepts a check-up draws, per tier, and the pools its questions draw candidates from."""

    items: list[Item]
    pools: dict[str, list[str]]  # tier -> every concept of the tier (distractors come from here)
    candidates: dict[str, list[str]]  # tier -> the concepts the scorer ranks (drawn ones + seeded others)
    notes: list[str]  # e.g. an empty tier, said in the report


def tier_concepts(spec: str) -> tuple[str, list[str]]:
    """(tier name, concept names) for a shipped tier or a concept file; UsageError for neither."""
    p = Path(spec)
    if spec in TIERS:
        return spec, [c.name for c in load_concepts(spec)]
    if p.is_file():
        try:
            return slugify(p.stem, 40), [c.name for c in load_concepts(str(p))]
        except ValueError as e:
            raise UsageError(f"--tiers: {e}") from None
    raise UsageError(f"--tiers: {spec!r} is neither a concept tier ({', '.join(TIERS)}) nor a concept file")


def plan(cfg: CheckupConfig) -> Plan:
    """Seeded concept choice per tier (then --limit); candidates and pools from the whole tier."""
    items, pools, cands, notes = [], {}, {}, []
    for spec in cfg.tiers:
        tier, names = tier_concepts(spec)
        names = list(dict.fromkeys(names))
        if not names:
            notes.append(f"tier {tier}: no concepts (empty tier) — skipped")
            continue
        pools[tier] = names
        from ..concepts import Concept

        chosen = [
            c.name
            for c in sample_concepts(
                [Concept(f"{tier}/{slugify(x)}", x, tier) for x in names], cfg.concepts_per_tier, cfg.seed
            )
        ]
        if cfg.limit is not None:
            chosen = chosen[: cfg.limit]
        rng = random.Random(f"vdsl-checkup-candidates:{cfg.seed}:{tier}")
        others = [x for x in names if x not in chosen]
        extra = rng.sample(others, max(0, min(len(others), cfg.candidates - len(chosen))))
        cands[tier] = sorted(chosen + extra, key=str.lower)
        seen: dict[str, int] = {}
        for c in chosen:
            folder = slugify(c, 60)
            seen[folder] = seen.get(folder, 0) + 1
            folder = folder if seen[folder] == 1 else f"{folder}-{seen[folder]}"
            items += [Item(tier, c, folder, k) for k in range(cfg.samples)]
        if len(names) < 2:
            notes.append(f"tier {tier}: one concept only — recognition and fidelity ranks need two or more")
    return Plan(items, pools, cands, notes)


# ------------------------------------------------------------------ the run
def model_client(cfg: CheckupConfig, model: ModelSpec, llm: dict):
    """A client for one model: its own --endpoint (else OPENAI_BASE_URL), the shared cache and limits."""
    from ..llm.config import LLMConfig, default_cache_dir
    from ..llm.options import config_from_options, make_client

    if model.endpoint:
        conf = LLMConfig(
            model=model.name,
            base_url=model.endpoint,
            api_key=(os.environ.get("OPENAI_API_KEY") or "").strip() or "EMPTY",
            **{k: llm[k] for k in ("timeout", "retries", "backoff", "concurrency") if llm.get(k) is not None},
            cache_dir=None
            if llm.get("no_cache")
            else Path(llm["cache_dir"])
            if llm.get("cache_dir")
            else default_cache_dir(),
        )
    else:
        conf = config_from_options(**{**llm, "model": model.name})
    return make_client(conf.with_(temperature=cfg.temperature, max_tokens=cfg.max_tokens))


@dataclass
class ModelOutcome:
    """How one model's run went: "ok", "endpoint failed" (resumable), "endpoint refused", "interrupted"."""

    status: str = "ok"
    message: str | None = None
    items_done: int = 0
    recognition_done: int = 0


def load_or_start(out: Path, cfg: CheckupConfig, resume: bool) -> CheckupConfig:
    """Write checkup.json for a new run; on --resume, check the settings match and return the stored ones
    (with this run's endpoints and prices)."""
    f = out / CONFIG
    if f.is_file():
        if not resume:
            raise CheckupExists(f"{out} already holds a check-up; pass --resume to continue it or choose another -o")
        try:
            old = CheckupConfig.from_dict(json.loads(f.read_text(encoding="utf-8"))["config"])
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(f"{f} is not a check-up config ({e}); choose another -o") from None
        a, b = old.identity(), cfg.identity()
        diff = [k for k in a if a[k] != b.get(k)]
        if diff:
            raise CheckupExists(
                f"{out} was started with other settings ("
                + "; ".join(f"{k}: {a[k]!r}, now {b.get(k)!r}" for k in diff)
                + "): resume with the same ones, or choose another -o"
            )
        return cfg
    if resume and out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} holds no check-up to resume ({CONFIG} is missing)")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(
        f,
        json.dumps({"config": cfg.to_dict(), "vdsl_version": __version__, "started": _now()}, indent=2) + "\n",
        fsync=True,
    )
    return cfg


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _read_recognitions(path: Path) -> dict[str, dict]:
    """item key (tier/concept/sample) -> its last journal line (vdsl.llm.recognize.Journal's format)."""
    from ..llm.files import read_jsonl

    out = {}
    for r in read_jsonl(path):
        if isinstance(r, dict) and isinstance(r.get("file"), str) and r.get("error") is None:
            out[r["file"].split("@")[0]] = r
    return out


def final_program(folder: Path) -> tuple[int | None, str | None]:
    """(round, program) of the last round that compiled in a refine folder, or (None, None)."""
    from ..llm.files import read_jsonl
    from ..llm.report import TRANSCRIPT, rounds_of

    good = [(k, r) for k, r in rounds_of(read_jsonl(folder / TRANSCRIPT)).items() if r.get("status") == "ok"]
    return (good[-1][0], good[-1][1].get("program")) if good else (None, None)


def run_checkup(
    cfg: CheckupConfig,
    out: Path,
    llm: dict,
    *,
    resume: bool = False,
    progress: bool = True,
    deadline: float | None = None,
    scorer=None,
) -> dict:
    """Run (or continue) the check-up into `out`, then score and write the report. Returns the results.

    Every model runs in parallel, `llm["concurrency"]` refine runs at a time each. One model's endpoint
    failing stops that model only (the report says so; --resume continues); Ctrl-C stops all, writes the
    report of what is done and raises Interrupted. Raises IncompleteRun when a model did not finish."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .report import write_report
    from .scorers import make_scorer

    scorer = scorer or make_scorer(cfg.scorer)  # a missing weight file: UsageError before anything is asked
    pl = plan(cfg)
    if not pl.items:
        raise UsageError("nothing to check: " + ("; ".join(pl.notes) or "no tiers given"))
    clients = {}
    outcomes = {m.name: ModelOutcome() for m in cfg.models}
    try:
        for m in cfg.models:  # no endpoint configured: EndpointNotConfigured (exit 2) before anything is written
            clients[m.name] = model_client(cfg, m, llm)
        cfg = load_or_start(out, cfg, resume)
        stop_all = threading.Event()
        stops = {m.name: threading.Event() for m in cfg.models}
        lock = threading.Lock()
        jobs = max(1, int(llm.get("concurrency") or 4))
        interrupted: BaseException | None = None
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not progress,
        ) as bar:
            tasks = {m.name: bar.add_task(f"{m.name}: draw", total=len(pl.items) * cfg.rounds) for m in cfg.models}
            rtasks = {m.name: bar.add_task(f"{m.name}: recognise", total=len(pl.items)) for m in cfg.models}
            pool = ThreadPoolExecutor(max_workers=jobs * len(cfg.models))
            futures = []
            for m in cfg.models:
                for it in pl.items:
                    futures.append(
                        pool.submit(
                            _draw_one,
                            cfg,
                            out,
                            m,
                            it,
                            clients[m.name],
                            stops[m.name],
                            stop_all,
                            outcomes,
                            lock,
                            lambda n, _t=tasks[m.name]: bar.advance(_t, n),
                            resume,
                            deadline,
                        )
                    )
            try:
                for f in futures:
                    f.result()
                rec_futures = [
                    pool.submit(
                        _recognise_model,
                        cfg,
                        out,
                        m,
                        pl,
                        clients[m.name],
                        stops[m.name],
                        stop_all,
                        outcomes,
                        lock,
                        lambda n, _t=rtasks[m.name]: bar.advance(_t, n),
                        deadline,
                    )
                    for m in cfg.models
                ]
                for f in rec_futures:
                    f.result()
            except BaseException as e:  # Ctrl-C or SIGTERM: stop every model, keep what is done
                if isinstance(e, (SystemExit, GeneratorExit)) or (
                    isinstance(e, Exception) and not isinstance(e, Interrupted)
                ):
                    raise
                interrupted = e
                stop_all.set()
                for f in futures:
                    f.cancel()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        for c in clients.values():
            c.close()
    if interrupted is not None:
        for o in outcomes.values():
            if o.status == "ok":
                o.status, o.message = "interrupted", "stopped by Ctrl-C or SIGTERM; rerun with --resume"
    results = write_report(out, cfg, pl, scorer, outcomes)
    if interrupted is not None:
        if not isinstance(interrupted, (KeyboardInterrupt, Interrupted)):
            raise interrupted  # SIGTERM: the command group maps it to exit 143
        raise Interrupted(f"the report in {out} covers what is done; rerun with --resume to continue")
    unfinished = [f"{name}: {o.message}" for name, o in outcomes.items() if o.status != "ok"]
    if unfinished:
        raise IncompleteRun(
            "not every model finished:\n  "
            + "\n  ".join(unfinished)
            + f"\nthe report in {out} covers what is done; rerun with --resume to continue"
        )
    return results


def _draw_one(cfg, out, model, item, client, stop, stop_all, outcomes, lock, advance, resume, deadline) -> None:
    """One refine run (draw, repair, improve) for one model, concept and sample; failures go to outcomes."""
    from ..llm.files import read_jsonl
    from ..llm.refine import EndpointFatal, RefineAborted, RefineSettings, SettingsChanged, refine
    from ..llm.report import TRANSCRIPT, rounds_of

    if stop.is_set() or stop_all.is_set():
        return
    folder = item.path(out, model)
    started = (folder / TRANSCRIPT).is_file()
    if started:
        events = read_jsonl(folder / TRANSCRIPT)
        if any(e.get("event") == "end" for e in events) and len(rounds_of(events)) >= cfg.rounds:
            advance(cfg.rounds)
            with lock:
                outcomes[model.name].items_done += 1
            return
    settings = RefineSettings(
        concept=item.concept,
        rounds=cfg.rounds,
        max_repairs=cfg.max_repairs,
        feedback=cfg.feedback,
        sample=item.sample,
        seed=cfg.seed,
        stdlib=cfg.stdlib,
    )
    stopper = _Either(stop, stop_all)
    try:
        refine(
            client,
            folder,
            settings,
            resume=started,
            stop=stopper,  # type: ignore[arg-type]
            on_progress=advance,
            deadline=deadline,
            explicit=set(),
            price=model.price,
        )
        with lock:
            outcomes[model.name].items_done += 1
    except (EndpointFatal, RefineAborted, SettingsChanged) as e:
        with lock:
            o = outcomes[model.name]
            if o.status == "ok":
                o.status = "endpoint refused" if isinstance(e, EndpointFatal) else "endpoint failed"
                o.message = f"{o.status}: {e}"
        stop.set()
    except Interrupted:
        pass


class _Either:
    """Looks like a threading.Event to refine(): set when either event is."""

    def __init__(self, a: threading.Event, b: threading.Event):
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()


def _advance_or_stop(advance, stop: threading.Event, stop_all: threading.Event) -> None:
    """Count one answer; once the run is stopping, end the recognition (its journal keeps every answer)."""
    advance(1)
    if stop.is_set() or stop_all.is_set():
        raise Interrupted()


def _recognise_model(cfg, out, model, pl: Plan, client, stop, stop_all, outcomes, lock, advance, deadline=None) -> None:
    """Ask the model which concept each of its own final programs draws (anonymised; distractors seeded
    from the whole tier) through vdsl.llm.recognize; one journal line per item in
    runs/<model>/recognition.jsonl, so a resume asks only what is missing."""
    from ..llm.client import LLMError
    from ..llm.recognize import Item as RecItem
    from ..llm.recognize import RecognitionStopped, recognize_items

    items = []
    for it in pl.items:
        _, program = final_program(it.path(out, model))
        if program is None:
            advance(1)  # nothing to recognise: the report counts it as not asked
            continue
        digest = hashlib.sha256(program.encode("utf-8")).hexdigest()[:16]
        items.append(RecItem(f"{it.key}@{digest}", program, it.concept, it.tier))
    if not items or stop.is_set() or stop_all.is_set():
        return
    try:
        recognize_items(
            client,
            items,
            pool=pl.pools,
            distractors=cfg.distractors,
            seed=cfg.seed,
            anonymize=True,
            journal=out / "runs" / model.slug / RECOGNITION,
            progress=lambda done, total, s: _advance_or_stop(advance, stop, stop_all),
            deadline=deadline,
        )
        with lock:
            outcomes[model.name].recognition_done += len(items)
    except (LLMError, UsageError, RecognitionStopped) as e:  # the endpoint down for good, a one-concept tier
        if isinstance(e, RecognitionStopped) and not isinstance(e.cause, Exception):
            raise e.cause from None  # Ctrl-C or SIGTERM
        if isinstance(e, RecognitionStopped) and isinstance(e.cause, Interrupted):
            return  # the run was stopped (Ctrl-C in the main thread): the answers so far are in the journal
        with lock:
            o = outcomes[model.name]
            if o.status == "ok":
                o.status, o.message = "endpoint failed", f"recognition stopped: {e}"
        stop.set()

"""Scorers for rendered drawings: a pixel baseline (no weights), CLIP (open_clip) and a vision-language judge."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError

if TYPE_CHECKING:
    from PIL import Image

PIXEL_SIDE = 32  # renders are compared at PIXEL_SIDE x PIXEL_SIDE
CLIP_DEFAULT_MODEL = "ViT-B-32"
CLIP_DEFAULT_PRETRAINED = "laion2b_s34b_b79k"
CLIP_TEMPLATE = "a drawing of {}"
WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


@dataclass(frozen=True)
class Fidelity:
    """One image scored against the tier's candidate concepts."""

    rank: int  # 1 = the true concept ranked first among the candidates
    chosen: str  # the candidate the scorer ranks first ("" when it named none)
    score: float | None  # e.g. CLIP score of the true concept; None when the scorer has none


class Scorer(Protocol):
    name: str  # machine name: "pixel", "clip:ViT-B-32:laion2b_s34b_b79k", "judge:gpt-4o-mini"
    label: str  # what a report prints next to its numbers

    def fidelity(self, images: list[Image.Image], truths: list[str], candidates: list[str]) -> list[Fidelity] | None:
        """One Fidelity per image (its true concept among `candidates`); None: this scorer cannot judge fidelity."""
        ...

    def diversity(self, images: list[Image.Image]) -> float | None:
        """How different the images are from each other (mean pairwise distance); None for fewer than two."""
        ...


# ------------------------------------------------------------------ maths (plain lists, no numpy needed)
def mean_pairwise(vectors: Sequence[Sequence[float]], distance) -> float | None:
    """The mean of distance(a, b) over all unordered pairs; None for fewer than two vectors."""
    pairs = list(combinations(range(len(vectors)), 2))
    if not pairs:
        return None
    return sum(distance(vectors[i], vectors[j]) for i, j in pairs) / len(pairs)


def rms_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Root-mean-square difference of two equal-length vectors (pixels in [0, 1] give a value in [0, 1])."""
    return (sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / max(1, len(a))) ** 0.5


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    na = sum(x * x for x in a) ** 0.5
    nb = sum(y * y for y in b) ** 0.5
    if na == 0 or nb == 0:
        return 0.0
    return sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)


def cosine_distance(a: Sequence[float], b: Sequence[float]) -> float:
    return 1.0 - cosine(a, b)


def rank_of(truth: str, candidates: Sequence[str], sims: Sequence[float]) -> tuple[int, str]:
    """(1-based rank of truth among candidates by similarity, the candidate ranked first). Ties rank the
    truth below its equals (no credit for a tie); a truth not among the candidates ranks last + 1."""
    best = max(range(len(candidates)), key=lambda i: (sims[i], -i))
    key = truth.strip().lower()
    idx = [i for i, c in enumerate(candidates) if c.strip().lower() == key]
    if not idx:
        return len(candidates) + 1, candidates[best]
    t = sims[idx[0]]
    better_or_equal = sum(1 for i, s in enumerate(sims) if i != idx[0] and s >= t)
    return 1 + better_or_equal, candidates[best]


def _check_truths(images: list, truths: list[str], candidates: list[str]) -> None:
    if len(images) != len(truths):
        raise ValueError(f"{len(images)} images but {len(truths)} truths")
    if not candidates:
        raise ValueError("no candidate concepts to rank")


# ------------------------------------------------------------------ pixel baseline
def pixel_vector(img: Image.Image, side: int = PIXEL_SIDE) -> list[float]:
    """The render on white, downsampled to side x side RGB, as floats in [0, 1]."""
    from PIL import Image as PILImage

    im = img.convert("RGBA")
    flat = PILImage.new("RGBA", im.size, (255, 255, 255, 255))
    flat.alpha_composite(im)
    small = flat.convert("RGB").resize((side, side), PILImage.Resampling.BILINEAR)
    return [v / 255.0 for v in small.tobytes()]


class PixelScorer:
    """The baseline that needs nothing: diversity is the mean pairwise RMS distance of 32x32 renders
    (0 = identical, 1 = black vs white); it cannot judge fidelity."""

    name = "pixel"
    label = "pixel baseline (no model: diversity only, 32x32 RMS distance)"

    def fidelity(self, images, truths, candidates):
        return None

    def diversity(self, images):
        return mean_pairwise([pixel_vector(im) for im in images], rms_distance)


# ------------------------------------------------------------------ CLIP
def _looks_like_path(s: str) -> bool:
    return os.sep in s or "/" in s or s.endswith(WEIGHT_SUFFIXES) or s.startswith(("~", "."))


class ClipScorer:
    """open_clip: fidelity = rank of the true concept among the candidates by image-text cosine similarity
    (rank 1 = retrieved) and the CLIP score 100*max(cos, 0) of the true concept; diversity = mean pairwise
    cosine distance of the image embeddings."""

    def __init__(
        self,
        model: str = CLIP_DEFAULT_MODEL,
        pretrained: str | None = CLIP_DEFAULT_PRETRAINED,
        *,
        model_config: str | os.PathLike | None = None,
        device: str = "auto",
        template: str = CLIP_TEMPLATE,
        cache_dir: str | None = None,
    ):
        try:
            import open_clip
            import torch
        except ImportError as e:
            raise UsageError(
                f"the CLIP scorer needs open_clip and torch ({e.name} is missing): pip install 'vdsl[checkup]'"
            ) from None
        self._torch = torch
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if model_config is not None:
            cfg = Path(model_config).expanduser()
            if not cfg.is_file():
                raise UsageError(f"CLIP model config {cfg} does not exist (a JSON file named MODEL.json)")
            open_clip.add_model_config(cfg)
            if cfg.stem != model and model == CLIP_DEFAULT_MODEL:
                model = cfg.stem
        if open_clip.get_model_config(model) is None and not model.startswith(("hf-hub:", "local-dir:")):
            known = ", ".join(sorted(open_clip.list_models())[:12])
            raise UsageError(f"open_clip knows no model {model!r} (e.g. {known}, ...; see open_clip.list_models())")
        if pretrained and _looks_like_path(pretrained):
            p = Path(pretrained).expanduser()
            if not p.is_file():
                raise UsageError(f"CLIP weight file {p} does not exist: give the path of a downloaded checkpoint")
            pretrained = str(p)
        elif pretrained:
            tags = [t for m, t in open_clip.list_pretrained() if m == model]
            if tags and pretrained not in tags:
                raise UsageError(f"open_clip has no weights {pretrained!r} for {model} (it has: {', '.join(tags)})")
        try:
            if pretrained and not _looks_like_path(pretrained):
                # fetch (or find in the cache) the checkpoint before building a large model for nothing
                from open_clip.pretrained import download_pretrained, get_pretrained_cfg

                download_pretrained(get_pretrained_cfg(model, pretrained), cache_dir=cache_dir)
            net, _, preprocess = open_clip.create_model_and_transforms(
                model, pretrained=pretrained or None, device=device, cache_dir=cache_dir
            )
        except Exception as e:  # a download that cannot happen offline, a corrupt or mismatched checkpoint
            where = f"file {pretrained}" if pretrained and _looks_like_path(pretrained) else f"tag {pretrained!r}"
            raise UsageError(
                f"could not load CLIP weights for {model} ({where}): {type(e).__name__}: {str(e)[:300]}\n"
                "Weights come from open_clip's cache (~/.cache/huggingface) or a local file: "
                "--scorer clip:MODEL:/path/to/open_clip_model.safetensors"
            ) from None
        net.eval()
        self.model, self.pretrained = model, pretrained
        self._net, self._preprocess = net, preprocess
        self._tokenizer = open_clip.get_tokenizer(model)
        self._device, self._template = device, template
        self.name = f"clip:{model}:{pretrained or 'random'}"
        self.label = f"CLIP {model} ({pretrained or 'random weights: plumbing only, scores meaningless'})"

    # embeddings, L2-normalised, as plain lists
    def embed_images(self, images: list[Image.Image]) -> list[list[float]]:
        torch = self._torch
        if not images:
            return []
        batch = torch.stack([self._preprocess(im.convert("RGB")) for im in images]).to(self._device)
        with torch.no_grad():
            f = self._net.encode_image(batch)
            f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return f.float().cpu().tolist()

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        torch = self._torch
        tokens = self._tokenizer([self._template.format(t) for t in texts]).to(self._device)
        with torch.no_grad():
            f = self._net.encode_text(tokens)
            f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return f.float().cpu().tolist()

    def fidelity(self, images, truths, candidates):
        _check_truths(images, truths, candidates)
        return fidelity_from_embeddings(self.embed_images(images), truths, candidates, self.embed_texts(candidates))

    def diversity(self, images):
        if len(images) < 2:
            return None
        return mean_pairwise(self.embed_images(images), cosine_distance)


def clip_score(cos: float) -> float:
    """CLIPScore without its 2.5 weight: 100 * max(cos, 0)."""
    return 100.0 * max(cos, 0.0)


def fidelity_from_embeddings(
    image_emb: Sequence[Sequence[float]], truths: Sequence[str], candidates: Sequence[str], text_emb
) -> list[Fidelity]:
    """Rank each image's truth among the candidates by cosine similarity of the embeddings."""
    out = []
    low = [c.strip().lower() for c in candidates]
    for img, truth in zip(image_emb, truths, strict=True):
        sims = [cosine(img, t) for t in text_emb]
        rank, chosen = rank_of(truth, candidates, sims)
        k = low.index(truth.strip().lower()) if truth.strip().lower() in low else None
        out.append(Fidelity(rank, chosen, None if k is None else round(clip_score(sims[k]), 4)))
    return out


# ------------------------------------------------------------------ VLM judge
JUDGE_SYSTEM = (
    "You look at a simple drawing and say which concept it shows. You answer with the name of exactly "
    "one of the candidate concepts, copied as written, and nothing else."
)


def judge_messages(image_url: str, candidates: list[str]) -> list[dict]:
    """The render and the candidates (in the order given: shuffle them first); no letters, so no position is primed."""
    listed = "\n".join(f"- {c}" for c in candidates)
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": image_url}},
                {
                    "type": "text",
                    "text": f"Which of these concepts does the drawing show?\n{listed}\n\n"
                    "Reply with the concept's name only.",
                },
            ],
        },
    ]


def shuffled_candidates(candidates: list[str], seed: int, key: str) -> list[str]:
    """The candidates in a seeded order, per image (so the true concept's position is not fixed)."""
    out = sorted(candidates, key=str.lower)
    random.Random(f"{seed}:{key}").shuffle(out)
    return out


class JudgeScorer:
    """A vision-language model on any OpenAI-compatible endpoint, shown the render and the shuffled
    candidates; it names one. rank is 1 when it names the true concept, else 2 (a judge names only its first
    choice); chosen is "" when its reply names no candidate or the endpoint rejected the request."""

    def __init__(self, client, seed: int = 0, owns_client: bool = False):
        self._client, self._owns = client, owns_client
        self.seed = seed
        self.model = client.config.model
        self.name = f"judge:{self.model}"
        self.label = f"VLM judge {self.model} (picks one of the tier's concepts)"
        self.replies: list[dict] = []  # {"truth", "candidates", "reply", "chosen", "error"} per image judged

    def fidelity(self, images, truths, candidates):
        import hashlib
        import io
        from concurrent.futures import ThreadPoolExecutor

        from ..llm.client import REJECTED, LLMError
        from ..llm.extract import parse_choice
        from ..llm.refine import vision_url

        _check_truths(images, truths, candidates)

        def judge(pair) -> dict:
            im, truth = pair
            buf = io.BytesIO()
            im.save(buf, "PNG")
            png = buf.getvalue()
            opts = shuffled_candidates(list(candidates), self.seed, f"{truth}:{hashlib.sha256(png).hexdigest()[:16]}")
            error, reply, chosen = None, "", ""
            try:  # the request holds the image and the order: the same question is answered from the cache
                comp = self._client.complete(judge_messages(vision_url(png), opts), sample="judge", temperature=0)
                reply = comp.text
                k = parse_choice(reply, opts)
                chosen = "" if k is None else opts[k]
            except LLMError as e:
                if e.kind != REJECTED:  # the endpoint is down or refuses us: the caller decides
                    raise
                error = str(e)  # this image only (e.g. too large): go on
            return {"truth": truth, "candidates": opts, "reply": reply, "chosen": chosen, "error": error}

        workers = max(1, getattr(self._client.config, "concurrency", 1))
        with ThreadPoolExecutor(max_workers=workers) as ex:
            judged = list(ex.map(judge, zip(images, truths, strict=True)))
        self.replies.extend(judged)
        return [
            Fidelity(1 if j["chosen"] and j["chosen"].lower() == j["truth"].strip().lower() else 2, j["chosen"], None)
            for j in judged
        ]

    def diversity(self, images):
        return None

    def close(self) -> None:
        """Close the endpoint client when make_scorer made it (a client passed in stays open)."""
        if self._owns:
            self._client.close()


# ------------------------------------------------------------------ factory
SPEC_HELP = "pixel | clip[:MODEL[:PRETRAINED_TAG_OR_PATH]] | judge:MODEL"


def make_scorer(spec: str, **options: Any) -> Scorer:
    """A scorer from its spec; raises UsageError with a clear message. Options (others are ignored, so one
    set can be passed to every scorer): for clip, model_config (a JSON config to register), device ("auto":
    cuda when there is one), clip_cache_dir (open_clip's download cache), random_weights (no weights:
    plumbing tests only); for judge, client (an LLMClient, its model replaced) or base_url / api_key / env /
    cache_dir (the response cache) / timeout / retries / concurrency / max_tokens, and seed."""
    spec = (spec or "").strip()
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "pixel" and not rest:
        return PixelScorer()
    if kind == "clip":
        model, _, pretrained = rest.partition(":")
        model = model or CLIP_DEFAULT_MODEL
        if options.pop("random_weights", False):
            pre: str | None = None
        else:
            pre = pretrained or (CLIP_DEFAULT_PRETRAINED if model == CLIP_DEFAULT_MODEL else None)
            if pre is None:
                raise UsageError(
                    f"clip:{model} needs weights: clip:{model}:PRETRAINED_TAG or clip:{model}:/path/to/file"
                )
        kw = {k: options[k] for k in ("model_config", "device", "template") if options.get(k) is not None}
        return ClipScorer(model, pre, cache_dir=options.get("clip_cache_dir"), **kw)
    if kind == "judge":
        if not rest:
            raise UsageError("judge needs a model: judge:MODEL (a vision model on an OpenAI-compatible endpoint)")
        seed = int(options.get("seed", 0))
        client = options.get("client")
        if client is None:
            from ..llm.client import LLMClient
            from ..llm.config import LLMConfig, config_from_env

            env: Mapping[str, str] = options.get("env") or os.environ
            knobs = {k: options[k] for k in ("timeout", "retries", "concurrency") if options.get(k) is not None}
            if options.get("cache_dir") is not None:
                knobs["cache_dir"] = Path(options["cache_dir"])
            if options.get("base_url"):
                cfg = LLMConfig(
                    model=rest,
                    base_url=options["base_url"],
                    api_key=options.get("api_key") or env.get("OPENAI_API_KEY") or "EMPTY",
                    **knobs,
                )
            else:
                cfg = config_from_env(rest, env, **knobs)
            cfg = cfg.with_(temperature=0.0, max_tokens=int(options.get("max_tokens", 64)))
            return JudgeScorer(LLMClient(cfg), seed=seed, owns_client=True)
        if client.config.model != rest:  # the same endpoint and cache, another model
            return JudgeScorer(type(client)(client.config.with_(model=rest), cache=client.cache), seed=seed)
        return JudgeScorer(client, seed=seed)
    raise UsageError(f"unknown scorer {spec!r}: {SPEC_HELP}")

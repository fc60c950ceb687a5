"""Concept lists: load the shipped tiers (or a text file) as Concept entries with stable ids, and generate more per seed."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

TIERS: tuple[str, ...] = ("shapes", "objects", "scenes", "compositions")
SOURCES: tuple[str, ...] = ("ade20k", "cifar10", "stl10", "imagenette")
_LIST_KEYS = ("aliases", "sources", "tags", "parts")
_TEXT_KEYS = ("plural",)


@dataclass(frozen=True)
class Concept:
    """One thing to draw. `id` is "<tier>/<slug of name>", stable across releases and list order."""

    id: str
    name: str
    tier: str
    aliases: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()  # the concepts a composition (or attribute shape) combines
    plural: str = ""
    attributes: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # generator choices

    @property
    def slug(self) -> str:
        return self.id.split("/", 1)[1]

    def names(self) -> tuple[str, ...]:
        """The name and its aliases."""
        return (self.name,) + self.aliases

    def to_dict(self) -> dict:
        d: dict = {"id": self.id, "name": self.name, "tier": self.tier}
        for k in _LIST_KEYS:
            if getattr(self, k):
                d[k] = list(getattr(self, k))
        if self.plural:
            d["plural"] = self.plural
        if self.attributes:
            d["attributes"] = dict(self.attributes)
        return d


def slugify(name: str, max_len: int = 120) -> str:
    """A lowercase ASCII slug ("English springer" -> "english-springer"), at most max_len characters; a
    hash for names with no ASCII letters. The one slug of the package: folders, concept ids, file names."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    if not s:
        s = "c-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]
    return s[:max_len].strip("-")


def parse_concepts(text: str, tier: str, origin: str = "<text>") -> list[Concept]:
    """Parse a concept list: one concept per line, `NAME | key=v1,v2 | ...`, `#` comment lines.

    Keys: aliases, sources, tags, parts (comma lists), plural. A plain list of names also works.
    Raises ValueError (with line numbers) on an unknown key or two lines with the same id."""
    out: list[Concept] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        name, *fields = [f.strip() for f in line.split("|")]
        name = " ".join(name.split())
        if not name:
            raise ValueError(f"{origin}:{lineno}: empty concept name")
        kw: dict = {}
        for f in fields:
            if not f:
                continue
            key, sep, value = f.partition("=")
            key = key.strip()
            if not sep or key not in _LIST_KEYS + _TEXT_KEYS:
                raise ValueError(
                    f"{origin}:{lineno}: expected key=value with key one of "
                    f"{', '.join(_LIST_KEYS + _TEXT_KEYS)}, got {f!r}"
                )
            if key in _LIST_KEYS:
                kw[key] = tuple(v.strip() for v in value.split(",") if v.strip())
            else:
                kw[key] = value.strip()
        cid = f"{tier}/{slugify(name)}"
        if cid in seen:
            raise ValueError(f"{origin}:{lineno}: duplicate concept {name!r} ({cid}), first on line {seen[cid]}")
        seen[cid] = lineno
        out.append(Concept(cid, name, tier, **kw))
    return out


@functools.cache
def _packaged(tier: str) -> tuple[Concept, ...]:
    text = resources.files("vdsl.concepts").joinpath(f"{tier}.txt").read_text(encoding="utf-8")
    return tuple(parse_concepts(text, tier, f"vdsl/concepts/{tier}.txt"))


@functools.lru_cache(maxsize=1)
def vocabulary() -> dict:
    """The generators' word lists (attributes.json): colours, sizes, textures, counts, arrangements, ..."""
    return json.loads(resources.files("vdsl.concepts").joinpath("attributes.json").read_text(encoding="utf-8"))


def load_concepts(name: str = "all", tier: str | None = None) -> list[Concept]:
    """A shipped tier ("shapes", "objects", "scenes", "compositions", or "all" of them),
    or the path of a text file with one concept per line (its tier: `tier`, else the file's stem)."""
    if name == "all":
        return [c for t in TIERS for c in _packaged(t)]
    if name in TIERS:
        return list(_packaged(name))
    p = Path(name)
    if not p.is_file():
        raise ValueError(
            f"unknown concept list {name!r}: expected one of {', '.join(TIERS + ('all',))} "
            f"or the path of a text file with one concept per line"
        )
    text = p.read_text(encoding="utf-8", errors="replace")
    return parse_concepts(text, slugify(tier or p.stem), str(p))


def lookup(query: str, tier: str | None = None) -> Concept | None:
    """The shipped concept whose id, name or alias is `query` (case-insensitive), or None."""
    q = " ".join(query.split()).lower()
    for c in load_concepts(tier or "all"):
        if q == c.id or q in (n.lower() for n in c.names()):
            return c
    return None


def sample_concepts(concepts: list[Concept], n: int, seed: int = 0) -> list[Concept]:
    """n distinct concepts drawn deterministically per seed (all of them, shuffled, when n >= len)."""
    rng = random.Random(f"vdsl-sample:{seed}")
    return rng.sample(list(concepts), min(max(n, 0), len(concepts)))


# -- generators --------------------------------------------------------------

_IRREGULAR = {
    "person": "people",
    "fish": "fish",
    "sheep": "sheep",
    "deer": "deer",
    "tench": "tench",
    "mouse": "mice",
    "knife": "knives",
    "leaf": "leaves",
    "shelf": "shelves",
    "torus": "tori",
    "skis": "skis",
    "scissors": "scissors",
    "headphones": "headphones",
    "eyeglasses": "eyeglasses",
    "grapes": "grapes",
    "stairs": "stairs",
    "cactus": "cacti",
    "goose": "geese",
    "wolf": "wolves",
    "broccoli": "broccoli",
    "food": "food",
    "apparel": "apparel",
    "water": "water",
    "sand": "sand",
}


def pluralize(name: str) -> str:
    """English plural of a concept name, by its last word ("chest of drawers" -> "chests of drawers")."""
    if " of " in name:
        head, tail = name.split(" of ", 1)
        return f"{pluralize(head)} of {tail}"
    words = name.split(" ")
    w = words[-1]
    low = w.lower()
    if low in _IRREGULAR:
        p = _IRREGULAR[low]
    elif low.endswith(("s", "x", "z", "ch", "sh")):
        p = w + "es"
    elif low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        p = w[:-1] + "ies"
    else:
        p = w + "s"
    return " ".join(words[:-1] + [p])


def with_article(phrase: str) -> str:
    """'a cat', 'an owl', 'an English springer'."""
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _base_shapes() -> list[Concept]:
    return [c for c in _packaged("shapes") if "base" in c.tags]


def _shape_phrase(
    rng: random.Random, shape: Concept, voc: dict, k_attrs: int, attrs: dict[str, str], role: str = ""
) -> str:
    """'a small striped red square' with k_attrs of size / texture / colour chosen at random."""
    kinds = rng.sample(["size", "texture", "color"], k_attrs)
    words = []
    for kind in ("size", "texture", "color"):  # English adjective order
        if kind in kinds:
            word = rng.choice(voc[{"size": "sizes", "texture": "textures", "color": "colors"}[kind]])
            attrs[role + kind] = word
            words.append(word)
    return with_article(" ".join(words + [shape.name]))


def generate_shape_concepts(n: int, seed: int = 0) -> list[Concept]:
    """n distinct attribute compositions of the base shapes ("three green tori in a row",
    "a dotted square above a pink cone"): colour, size, position, texture, count, arrangement.
    Deterministic per seed; different seeds give different lists."""
    rng = random.Random(f"vdsl-shapes:{seed}")
    voc = vocabulary()
    shapes = _base_shapes()
    out: list[Concept] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < n and attempts < 50 * max(n, 1) + 100:
        attempts += 1
        attrs: dict[str, str] = {}
        kind = rng.choice(["single", "single", "count", "count", "relation", "relation"])
        a = rng.choice(shapes)
        parts = [a.name]
        if kind == "single":
            name = _shape_phrase(rng, a, voc, rng.randint(1, 3), attrs)
            if rng.random() < 0.6:
                attrs["position"] = rng.choice(voc["positions"])
                name += " " + attrs["position"]
        elif kind == "count":
            attrs["count"] = rng.choice(voc["counts"])
            words = [attrs["count"]]
            if rng.random() < 0.75:
                attrs["color"] = rng.choice(voc["colors"])
                words.append(attrs["color"])
            attrs["arrangement"] = rng.choice(voc["arrangements"])
            name = " ".join(words + [a.plural or pluralize(a.name), attrs["arrangement"]])
        else:
            b = rng.choice([s for s in shapes if s.name != a.name])
            parts.append(b.name)
            attrs["relation"] = rng.choice(voc["relations"])
            name = (
                _shape_phrase(rng, a, voc, rng.randint(1, 2), attrs, "a_")
                + " "
                + attrs["relation"]
                + " "
                + _shape_phrase(rng, b, voc, rng.randint(0, 2), attrs, "b_")
            )
        cid = f"shapes/{slugify(name)}"
        if cid in seen:
            continue
        seen.add(cid)
        attrs["kind"] = kind
        out.append(
            Concept(
                cid,
                name,
                "shapes",
                tags=("generated", "attributes"),
                parts=tuple(parts),
                attributes=tuple(sorted(attrs.items())),
            )
        )
    return out


def composable_objects() -> list[Concept]:
    """Objects the composition generator pairs: countable things (no `stuff` or `vague` tags)."""
    return [c for c in _packaged("objects") if not {"stuff", "vague"} & set(c.tags)]


def generate_compositions(n: int, seed: int = 0) -> list[Concept]:
    """n distinct random pairings of two concepts ("a car-shaped cake", "a cat made of clouds",
    "a fish inside a light bulb"). Deterministic per seed; different seeds give different lists."""
    rng = random.Random(f"vdsl-compositions:{seed}")
    voc = vocabulary()
    objects = composable_objects()
    shapes = [s for s in _base_shapes() if "2d" in s.tags]
    out: list[Concept] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < n and attempts < 50 * max(n, 1) + 100:
        attempts += 1
        template = rng.choice(voc["composition_templates"])
        a = rng.choice(shapes if "-shaped" in template and rng.random() < 0.3 else objects)
        b = rng.choice([o for o in objects if o.name != a.name])
        material = rng.choice(voc["materials"])
        part = rng.choice(voc["composition_part_words"])
        name = template.format(
            A=a.name,
            B=b.name,
            a_A=with_article(a.name),
            a_B=with_article(b.name),
            Bs=pluralize(b.name),
            material=material,
            part=part,
        )
        parts = (a.name,) if "{material}" in template else (a.name, b.name)
        cid = f"compositions/{slugify(name)}"
        if cid in seen:
            continue
        seen.add(cid)
        attrs = {"template": template}
        if "{material}" in template:
            attrs["material"] = material
        if "{part}" in template:
            attrs["part"] = part
        out.append(
            Concept(
                cid, name, "compositions", tags=("generated",), parts=parts, attributes=tuple(sorted(attrs.items()))
            )
        )
    return out

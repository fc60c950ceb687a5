"""Tests for the concept corpus: shipped lists, stable ids, class coverage, generators, `vdsl concepts`, and its example programs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import vdsl
from vdsl.cli import main
from vdsl.concepts import (
    TIERS,
    Concept,
    generate_compositions,
    generate_shape_concepts,
    load_concepts,
    lookup,
    parse_concepts,
    pluralize,
    sample_concepts,
    slugify,
    vocabulary,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "concepts"
# The class lists, written out so the test runs without ../shared (they are checked against it when present).
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STL10 = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
IMAGENETTE = [
    "tench",
    "English springer",
    "cassette player",
    "chain saw",
    "church",
    "French horn",
    "garbage truck",
    "gas pump",
    "golf ball",
    "parachute",
]
ROOT = Path(__file__).resolve().parents[1]


def _names(concepts) -> dict[str, Concept]:
    return {n.lower(): c for c in concepts for n in c.names()}


# -- the shipped lists ----------------------------------------------------------------------------


@pytest.mark.parametrize("tier,minimum", [("shapes", 30), ("objects", 200), ("scenes", 100), ("compositions", 4)])
def test_tiers_load_with_minimum_counts(tier, minimum):
    items = load_concepts(tier)
    assert len(items) >= minimum
    assert all(isinstance(c, Concept) and c.tier == tier for c in items)


def test_at_least_30_base_shapes_including_pseudo_3d():
    base = {c.name for c in load_concepts("shapes") if "base" in c.tags}
    assert len(base) >= 30
    for name in [
        "line",
        "dotted line",
        "square",
        "rectangle",
        "circle",
        "ellipse",
        "triangle",
        "trapezoid",
        "parallelogram",
        "rhombus",
        "pentagon",
        "hexagon",
        "octagon",
        "star",
        "heart",
        "arrow",
        "cross",
        "crescent",
        "ring",
        "spiral",
        "zigzag",
        "wave",
        "cube",
        "cylinder",
        "cone",
        "torus",
        "pyramid",
        "sphere",
        "prism",
    ]:
        assert name in base, name


def test_ids_are_unique_slugs_prefixed_by_tier():
    items = load_concepts("all")
    ids = [c.id for c in items]
    assert len(ids) == len(set(ids))
    for c in items:
        assert c.id == f"{c.tier}/{slugify(c.name)}"
        assert c.slug and all(ch.isalnum() or ch == "-" for ch in c.slug)


def test_ids_are_stable():
    # Ids are a contract with datasets built earlier: these must never change.
    objects = {c.name: c.id for c in load_concepts("objects")}
    assert objects["car"] == "objects/car"
    assert objects["English springer"] == "objects/english-springer"
    assert objects["chest of drawers"] == "objects/chest-of-drawers"
    assert {c.id for c in load_concepts("shapes")} >= {
        "shapes/torus",
        "shapes/three-green-tori-in-a-row",
        "shapes/dotted-line",
    }
    assert "compositions/a-car-shaped-cake" in {c.id for c in load_concepts("compositions")}
    # ... and do not depend on the order of the file
    a = parse_concepts("cat\ndog\n", "t")
    b = parse_concepts("dog\ncat\n", "t")
    assert {c.name: c.id for c in a} == {c.name: c.id for c in b}


def test_names_and_aliases_do_not_collide_across_objects():
    seen: dict[str, str] = {}
    for c in load_concepts("objects"):
        for n in c.names():
            assert n.lower() not in seen, f"{n!r} is both in {seen.get(n.lower())} and {c.id}"
            seen[n.lower()] = c.id


@pytest.mark.parametrize("source,classes", [("cifar10", CIFAR10), ("stl10", STL10), ("imagenette", IMAGENETTE)])
def test_benchmark_classes_are_objects_with_source_tags(source, classes):
    by_name = _names(load_concepts("objects"))
    for cls in classes:
        assert cls.lower() in by_name, cls
        assert source in by_name[cls.lower()].sources, (cls, by_name[cls.lower()].sources)
    # one concept per class (cifar's "automobile" is the car's alias, not a second concept)
    assert sum(source in c.sources for c in load_concepts("objects")) == len(classes)


def test_all_150_ade20k_classes_present():
    ade = [c for c in load_concepts("objects") if "ade20k" in c.sources]
    assert len(ade) == 150
    if (SHARED / "ade20k-150.txt").is_file():
        names = [n.strip() for n in (SHARED / "ade20k-150.txt").read_text().splitlines() if n.strip()]
        assert [c.name for c in ade] == names  # all of them, in the benchmark's order


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/concepts is not here")
@pytest.mark.parametrize(
    "fname,source", [("cifar10.txt", "cifar10"), ("stl10.txt", "stl10"), ("imagenette.txt", "imagenette")]
)
def test_shared_class_files_all_resolve(fname, source):
    for name in (SHARED / fname).read_text().split("\n"):
        if name.strip():
            c = lookup(name.strip(), "objects")
            assert c is not None and source in c.sources, name


def test_automobile_is_an_alias_of_car():
    car = lookup("automobile")
    assert car is not None and car.id == "objects/car" and "automobile" in car.aliases
    assert set(car.sources) == {"ade20k", "cifar10", "stl10"}
    assert lookup("AUTOMOBILE").id == "objects/car"
    assert lookup("no such thing at all") is None


def test_scenes_are_distinct_captions():
    scenes = load_concepts("scenes")
    names = [c.name for c in scenes]
    assert len(set(n.lower() for n in names)) == len(names)
    assert all(3 <= len(n.split()) <= 16 for n in names)
    assert "a row of bicycles parked on a sidewalk" in names


def test_composition_parts_name_known_concepts():
    known = _names(load_concepts("objects")) | _names(load_concepts("shapes"))
    for c in load_concepts("compositions"):
        assert len(c.parts) == 2, c
        for p in c.parts:
            assert p.lower() in known, (c.name, p)


def test_curated_shape_parts_are_base_shapes():
    base = {c.name for c in load_concepts("shapes") if "base" in c.tags}
    for c in load_concepts("shapes"):
        if "attributes" in c.tags:
            assert c.parts and set(c.parts) <= base, c


def test_all_concatenates_the_tiers():
    assert len(load_concepts("all")) == sum(len(load_concepts(t)) for t in TIERS)
    assert load_concepts() == load_concepts("all")


# -- files and parsing ----------------------------------------------------------------------------


def test_load_from_a_text_file(tmp_path):
    f = tmp_path / "My Birds.txt"
    f.write_text("# a comment\n\nrobin\n  blue   jay  \nkingfisher | aliases=halcyon | tags=water\n", encoding="utf-8")
    items = load_concepts(str(f))
    assert [c.name for c in items] == ["robin", "blue jay", "kingfisher"]
    assert [c.id for c in items] == ["my-birds/robin", "my-birds/blue-jay", "my-birds/kingfisher"]
    assert items[2].aliases == ("halcyon",) and items[2].tags == ("water",)
    assert load_concepts(str(f), tier="birds")[0].id == "birds/robin"


def test_file_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown concept list"):
        load_concepts("definitely-not-a-tier")
    f = tmp_path / "dup.txt"
    f.write_text("cat\nCat\n")
    with pytest.raises(ValueError, match=r"dup.txt:2: duplicate concept 'Cat'"):
        load_concepts(str(f))
    f.write_text("cat | colour=red\n")
    with pytest.raises(ValueError, match="expected key=value"):
        load_concepts(str(f))


def test_slugify_handles_unicode_and_punctuation():
    assert slugify("Café au lait!") == "cafe-au-lait"
    assert slugify("a car-shaped cake") == "a-car-shaped-cake"
    assert slugify("猫").startswith("c-") and slugify("猫") != slugify("犬")


def test_pluralize():
    assert [pluralize(w) for w in ["torus", "cross", "cherry", "knife", "bus", "chest of drawers", "sheep", "key"]] == [
        "tori",
        "crosses",
        "cherries",
        "knives",
        "buses",
        "chests of drawers",
        "sheep",
        "keys",
    ]


def test_sample_is_deterministic_and_distinct():
    objs = load_concepts("objects")
    a, b = sample_concepts(objs, 20, seed=1), sample_concepts(objs, 20, seed=1)
    assert a == b and len({c.id for c in a}) == 20
    assert sample_concepts(objs, 20, seed=2) != a
    assert len(sample_concepts(objs, 10_000, seed=0)) == len(objs)


# -- generators -----------------------------------------------------------------------------------


@pytest.mark.parametrize("gen", [generate_shape_concepts, generate_compositions])
def test_generators_are_deterministic_per_seed_and_differ_across_seeds(gen):
    a = gen(60, seed=7)
    assert [c.id for c in a] == [c.id for c in gen(60, seed=7)]
    assert len(a) == 60 and len({c.id for c in a}) == 60
    b = gen(60, seed=8)
    assert [c.name for c in a] != [c.name for c in b]
    assert len({c.name for c in a} & {c.name for c in b}) < 30
    assert gen(0, seed=1) == []
    # a longer list begins with the shorter one: asking for more never reshuffles
    assert [c.id for c in gen(80, seed=7)][:60] == [c.id for c in a]


def test_generated_shapes_use_the_vocabulary():
    voc = vocabulary()
    base = {c.name for c in load_concepts("shapes") if "base" in c.tags}
    items = generate_shape_concepts(300, seed=0)
    kinds = {dict(c.attributes)["kind"] for c in items}
    assert kinds == {"single", "count", "relation"}
    for c in items:
        assert c.tier == "shapes" and c.id == f"shapes/{slugify(c.name)}"
        assert set(c.parts) <= base
        attrs = dict(c.attributes)
        for key, words in [
            ("color", "colors"),
            ("count", "counts"),
            ("arrangement", "arrangements"),
            ("position", "positions"),
            ("relation", "relations"),
        ]:
            if key in attrs:
                assert attrs[key] in voc[words] and attrs[key] in c.name
    counted = [c for c in items if dict(c.attributes)["kind"] == "count"]
    assert any(c.name.split()[0] in voc["counts"] for c in counted)
    # every attribute family shows up somewhere
    text = " ".join(c.name for c in items)
    for family in ["colors", "sizes", "textures", "counts", "arrangements", "positions", "relations"]:
        assert any(w in text for w in voc[family]), family


def test_generated_compositions_pair_two_different_concepts():
    objects = {c.name for c in load_concepts("objects")}
    shapes = {c.name for c in load_concepts("shapes")}
    for c in generate_compositions(200, seed=3):
        assert c.tier == "compositions" and 1 <= len(c.parts) <= 2
        assert len(set(c.parts)) == len(c.parts)
        assert set(c.parts) <= objects | shapes
        assert "stuff" not in (lookup(c.parts[-1], "objects").tags if c.parts[-1] in objects else ())
        assert c.name.split()[0] in ("a", "an", "half")


# -- the command ----------------------------------------------------------------------------------


def test_cli_concepts_text_and_json():
    r = CliRunner().invoke(main, ["concepts", "objects"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == len(load_concepts("objects"))
    assert any(line.startswith("objects/car\tcar\t") and "automobile" in line for line in lines)
    r = CliRunner().invoke(main, ["concepts", "scenes", "--sample", "5", "--seed", "4", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert len(data) == 5 and all(d["tier"] == "scenes" and d["id"].startswith("scenes/") for d in data)
    assert data == json.loads(
        CliRunner().invoke(main, ["concepts", "scenes", "--sample", "5", "--seed", "4", "--format", "json"]).output
    )


def test_cli_concepts_all_generate_names_and_files(tmp_path):
    r = CliRunner().invoke(main, ["concepts"])
    assert r.exit_code == 0 and len(r.output.strip().splitlines()) == len(load_concepts("all"))
    r = CliRunner().invoke(main, ["concepts", "compositions", "--generate", "7", "--seed", "2", "--format", "names"])
    assert r.exit_code == 0
    names = r.output.strip().splitlines()
    assert names[-7:] == [c.name for c in generate_compositions(7, seed=2)]
    f = tmp_path / "mine.txt"
    f.write_text("\n".join(names) + "\n")
    r = CliRunner().invoke(main, ["concepts", str(f), "--format", "json"])
    assert r.exit_code == 0 and [d["name"] for d in json.loads(r.output)] == names


def test_cli_concepts_errors():
    r = CliRunner().invoke(main, ["concepts", "nonsense"])
    assert r.exit_code == 2 and "unknown concept list" in r.output
    r = CliRunner().invoke(main, ["concepts", "objects", "--generate", "3"])
    assert r.exit_code == 2 and "generators" in r.output


def test_packaged_data_files_are_declared_in_pyproject():
    import fnmatch
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "vdsl.concepts" in cfg["packages"]
    data = cfg.get("package-data", {})
    patterns = [p for p in data.get("vdsl.concepts", [])] + [
        p.removeprefix("concepts/") for p in data.get("vdsl", []) if p.startswith("concepts/")
    ]
    files = sorted(p.name for p in (ROOT / "vdsl" / "concepts").iterdir() if p.suffix in (".txt", ".json"))
    assert {f"{t}.txt" for t in TIERS} | {"attributes.json"} <= set(files)
    for name in files:  # every data file ships in the wheel
        assert any(fnmatch.fnmatch(name, pat) for pat in patterns), name


# -- the example programs drawn from the shapes and compositions tiers ----------------------------

SHAPE_EXAMPLES = sorted((ROOT / "examples").glob("shapes_*.vd"))
COMPOSITION_EXAMPLES = sorted((ROOT / "examples").glob("composition_*.vd"))


def test_there_are_enough_examples():
    assert len(SHAPE_EXAMPLES) >= 24
    assert len(COMPOSITION_EXAMPLES) >= 4
    concepts = {vdsl.compile(p.read_text(), str(p)).meta.get("concept") for p in SHAPE_EXAMPLES}
    assert {"cube", "cylinder", "cone", "torus", "pyramid", "sphere", "three green tori in a row"} <= concepts


@pytest.mark.parametrize("path", SHAPE_EXAMPLES + COMPOSITION_EXAMPLES, ids=lambda p: p.stem)
def test_example_compiles_renders_and_varies_with_the_seed(path):
    prog = vdsl.compile(path.read_text(encoding="utf-8"), str(path))
    assert prog.ok, [d.compact() for d in prog.diagnostics]
    tier = "shapes" if path.name.startswith("shapes_") else "compositions"
    assert prog.meta.get("tier") == tier
    assert prog.meta.get("concept") in {c.name for c in load_concepts(tier)}, prog.meta.get("concept")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[2].startswith("// ") and len(lines[2]) > 20  # a one-line description
    assert not any(line.lstrip().startswith("use ") for line in lines)  # builtins and own defs only
    assert prog.params, "an example must have `param`s so seeds differ"
    a = prog.render(0, size=(128, 128)).astype(int)
    b = prog.render(1, size=(128, 128)).astype(int)
    background = a[0, 0]
    assert np.mean(np.any(np.abs(a - background) > 24, axis=-1)) > 0.005, "blank at seed 0"
    assert a.std() > 5
    assert np.mean(np.any(np.abs(a - b) > 24, axis=-1)) > 0.01, "seeds 0 and 1 look the same"

"""Instance labels: masks and boxes against hand-computed scenes (occlusion, transforms, clips, opacity), COCO files that pycocotools loads, `render --labels`, `dataset build --labels`, boxes in previews."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vdsl import ir
from vdsl.api import compile
from vdsl.backends import labels as lb
from vdsl.backends.labels import LabelError, label_scene
from vdsl.cli import main

pycocotools = pytest.importorskip("pycocotools")
from pycocotools import mask as cmask  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402

HEAD = "canvas(width=64, height=48, background=white)\n"


def scene_of(body: str, seed: int = 0) -> ir.Scene:
    prog = compile((HEAD + body).encode(), "t.vd")
    assert prog.ok, prog.diagnostics
    scene, diags = prog.evaluate(seed)
    assert scene is not None, diags
    return scene


def box(x0: int, y0: int, x1: int, y1: int, w: int = 64, h: int = 48) -> np.ndarray:
    """The pixels whose centres lie in [x0, x1) x [y0, y1)."""
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def by_label(labels) -> dict:
    out = {i.label: i for i in labels.instances}
    assert len(out) == len(labels.instances), "labels repeat in this test scene"
    return out


def test_two_overlapping_rects_the_later_one_hides_the_earlier():
    L = by_label(
        label_scene(
            scene_of(
                'rect(x=10, y=10, w=20, h=20, fill=red, label="a")\nrect(x=20, y=15, w=20, h=10, fill=blue, label="b")'
            )
        )
    )
    a, b = L["a"], L["b"]
    assert np.array_equal(b.mask, box(20, 15, 40, 25))
    assert np.array_equal(a.mask, box(10, 10, 30, 30) & ~box(20, 15, 40, 25))
    assert (a.bbox, a.area) == ((10, 10, 20, 20), 400 - 100)  # the 10x10 overlap belongs to b
    assert (b.bbox, b.area) == ((20, 15, 20, 10), 200)


def test_masks_match_the_rendered_pixels():
    """Labels use the raster backend's pixel grid: an opaque red rect's mask is exactly its red pixels."""
    from vdsl.backends import render_array

    sc = scene_of(
        'rect(x=3, y=4, w=17, h=9, fill=#ff0000, label="r")\ncircle(center=(40, 30), r=9, fill=#0000ff, label="c")'
    )
    for scale in (1.0, 2.0):
        rgba = render_array(sc, scale)
        L = by_label(label_scene(sc, scale))
        red = (rgba[..., 0] == 255) & (rgba[..., 1] == 0)
        assert np.array_equal(L["r"].mask, red)
        blue = (rgba[..., 2] > 128) & (rgba[..., 0] < 128)  # antialiased edge pixels round either way
        assert (L["c"].mask & ~blue).sum() <= 0.1 * L["c"].area and (blue & ~L["c"].mask).sum() <= 0.1 * L["c"].area
        assert L["r"].bbox == tuple(int(v * scale) for v in (3, 4, 17, 9))


def test_rotated_group_and_nested_def_labels():
    sc = scene_of(
        "def car(x: number) {\n"
        "  rect(x=x, y=10, w=20, h=6, fill=gray)\n"
        '  rect(x=x + 2, y=16, w=4, h=4, fill=black, label="wheel")\n'
        "}\n"
        "group(rotate=90, origin=(32, 24)) { car(x=22) }\n"
    )
    L = label_scene(sc)
    car, wheel = L.instances
    assert (car.label, wheel.label) == ("car", "wheel")
    assert wheel.parent == car.id and car.parent is None and wheel.path == ("car", "wheel")
    # rotate 90 degrees clockwise about (32, 24): (x, y) -> (32 - (y - 24), 24 + (x - 32))
    assert np.array_equal(wheel.mask, box(36, 16, 40, 20))  # from x 24..28, y 16..20
    assert np.array_equal(car.mask, box(40, 14, 46, 34) | box(36, 16, 40, 20))  # body: x 22..42, y 10..16
    assert car.bbox == (36, 14, 10, 20)
    # the instance map names the innermost instance on top
    assert set(np.unique(L.instance_map[wheel.mask])) == {wheel.id}
    assert set(np.unique(L.instance_map[car.mask & ~wheel.mask])) == {car.id}
    assert (L.instance_map == 0).sum() == 64 * 48 - car.area


def test_clipped_shape_keeps_only_the_pixels_inside_the_clip():
    L = by_label(
        label_scene(
            scene_of(
                'clip_rect(x=50, y=0, w=5, h=5) { circle(center=(50, 0), r=20, fill=red, label="c") }\n'
                'clip_circle(center=(10, 10), r=100) { rect(x=-10, y=-10, w=30, h=30, fill=red, label="off") }'
            )
        )
    )
    assert np.array_equal(L["c"].mask, box(50, 0, 55, 5))
    assert np.array_equal(L["off"].mask, box(0, 0, 20, 20))  # off the canvas: cut at its edge


def _square(x0: float, y0: float, x1: float, y1: float) -> tuple:
    return (("M", x0, y0), ("L", x1, y0), ("L", x1, y1), ("L", x0, y1), ("Z",))


def test_even_odd_clip_and_path_holes_have_no_mask_pixels():
    """Clips with holes (what cutouts and clips to drawn shapes become: an even-odd clip path) and
    paths with even-odd holes leave the hole out of the mask."""
    ring = ir.PathGeom(_square(0, 0, 20, 20) + _square(5, 5, 15, 15), "evenodd")
    red = ir.Solid((1.0, 0.0, 0.0, 1.0))
    clipped = ir.Group((ir.Shape(ir.RectGeom(0, 0, 30, 30), red, label="clipped"),), clip=ring)
    holed = ir.Shape(ir.PathGeom(_square(30, 0, 50, 20) + _square(35, 5, 45, 15), "evenodd"), red, label="holed")
    L = by_label(label_scene(ir.Scene(64, 48, None, ir.Group((clipped, holed)))))
    assert np.array_equal(L["clipped"].mask, box(0, 0, 20, 20) & ~box(5, 5, 15, 15))
    assert np.array_equal(L["holed"].mask, box(30, 0, 50, 20) & ~box(35, 5, 45, 15))


def test_half_transparent_shapes_show_but_hide_nothing():
    L = by_label(
        label_scene(
            scene_of(
                'rect(x=0, y=0, w=20, h=20, fill=red, label="under")\n'
                'rect(x=10, y=0, w=20, h=20, fill=blue, opacity=0.5, label="ghost")\n'
                'rect(x=0, y=30, w=20, h=10, fill=red, label="under2")\n'
                'rect(x=10, y=30, w=20, h=10, fill=blue, opacity=0.8, label="mostly")\n'
                'rect(x=40, y=0, w=10, h=10, fill=red, label="under3")\n'
                'rect(x=40, y=0, w=10, h=10, fill=with_alpha(blue, 0), label="invisible")\n'
                'rect(x=40, y=30, w=10, h=10, fill=red, opacity=0, label="gone")\n'
                'group(opacity=0.5) { rect(x=45, y=5, w=10, h=10, fill=black, label="in_half_group") }\n'
            )
        )
    )
    assert np.array_equal(L["under"].mask, box(0, 0, 20, 20))  # seen through the 0.5 shape
    assert np.array_equal(L["ghost"].mask, box(10, 0, 30, 20))
    assert np.array_equal(L["under2"].mask, box(0, 30, 10, 40))  # 0.8 > 0.5: hidden where covered
    assert np.array_equal(L["mostly"].mask, box(10, 30, 30, 40))
    assert np.array_equal(L["under3"].mask, box(40, 0, 50, 10))  # a fully transparent shape hides nothing
    assert "invisible" not in L and "gone" not in L  # ... and has no mask
    assert np.array_equal(L["in_half_group"].mask, box(45, 5, 55, 15))  # group opacity counts too
    assert np.array_equal(L["under3"].mask, box(40, 0, 50, 10))  # 1.0 x 0.5 group: not opaque enough


def test_opacity_threshold_and_blend_modes():
    L = by_label(
        label_scene(
            scene_of(
                'rect(x=0, y=0, w=10, h=10, fill=red, label="a")\n'
                'rect(x=5, y=0, w=10, h=10, fill=blue, opacity=0.51, label="b")\n'
                'rect(x=30, y=0, w=10, h=10, fill=red, label="c")\n'
                'rect(x=35, y=0, w=10, h=10, fill=blue, blend="multiply", label="d")\n'
            )
        )
    )
    assert L["a"].area == 50 and L["b"].area == 100
    assert L["c"].area == 100 and L["d"].area == 100  # a multiplied shape mixes: it hides nothing


def test_hidden_object_gets_no_annotation_and_strokes_count():
    L = by_label(
        label_scene(
            scene_of(
                'rect(x=5, y=5, w=4, h=4, fill=red, label="hidden")\n'
                'rect(x=0, y=0, w=20, h=20, fill=none, stroke=black, stroke_width=2, label="frame")\n'
                'rect(x=2, y=2, w=16, h=16, fill=white, label="cover")\n'
            )
        )
    )
    assert "hidden" not in L
    # a 2 px stroke centred on the edges 0 and 20: the ring from -1 to 21, less the cover inside
    assert np.array_equal(L["frame"].mask, box(0, 0, 21, 21) & ~box(1, 1, 19, 19))


def test_unknown_ir_is_a_clear_error_not_a_wrong_mask(monkeypatch):
    class Hole:
        node = "hole"
        label = None

    sc = ir.Scene(8, 8, None, ir.Group((Hole(),)))  # type: ignore[arg-type]
    with pytest.raises(LabelError, match="node kind 'hole'"):
        label_scene(sc)
    # a group field labels do not know: an error when it is used, nothing when it keeps its default
    monkeypatch.setitem(lb._KNOWN, ir.Group, lb._KNOWN[ir.Group] - {"effects"})
    shape = ir.Shape(ir.RectGeom(0, 0, 4, 4), ir.Solid((0, 0, 0, 1)), label="x")
    assert len(label_scene(ir.Scene(8, 8, None, ir.Group((shape,)))).instances) == 1
    with pytest.raises(LabelError, match="field `effects`"):
        label_scene(ir.Scene(8, 8, None, ir.Group((shape,), effects=(ir.Effect("blur", 2.0),))))


# ----------------------------------------------------------------------------- COCO files
SCENE = (
    HEAD
    + 'rect(x=10, y=10, w=20, h=20, fill=red, label="a")\n'
    + 'rect(x=20, y=15, w=20, h=10, fill=blue, label="b")\n'
    + 'group(label="pair") { circle(center=(50, 30), r=5, fill=green, label="a") }\n'
)


def test_render_labels_writes_coco_that_pycocotools_loads(tmp_path):
    (tmp_path / "s.vd").write_text(SCENE)
    r = CliRunner().invoke(main, ["render", str(tmp_path / "s.vd"), "-o", str(tmp_path / "s.png"), "--labels"])
    assert r.exit_code == 0, r.output
    coco = COCO(str(tmp_path / "s.coco.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["a", "b", "pair"]
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert [(a["bbox"], a["area"], a["iscrowd"]) for a in anns] == [
        ([10, 10, 20, 20], 300, 0),
        ([20, 15, 20, 10], 200, 0),
        ([45, 25, 10, 10], 80, 0),  # the pair group: pixel centres (50 +- a, 30 +- b), a, b in .5..4.5,
        ([45, 25, 10, 10], 80, 0),  # a^2 + b^2 <= 25: 5 + 5 + 4 + 4 + 2 per quadrant; the circle inside it
    ]
    assert [a["parent_id"] for a in anns] == [None, None, None, 3]
    assert anns[3]["label_path"] == "pair/a"
    m = coco.annToMask(anns[0]).astype(bool)
    assert np.array_equal(m, box(10, 10, 30, 30) & ~box(20, 15, 40, 25))
    assert np.array_equal(cmask.decode(anns[1]["segmentation"]).astype(bool), box(20, 15, 40, 25))
    ids = np.array(Image.open(tmp_path / "s.instances.png"))
    assert ids.shape == (48, 64) and sorted(np.unique(ids)) == [0, 1, 2, 4]  # the circle's innermost id is 4


def test_missing_pycocotools_is_a_clear_usage_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pycocotools.mask", None)
    (tmp_path / "s.vd").write_text(SCENE)
    r = CliRunner().invoke(main, ["render", str(tmp_path / "s.vd"), "-o", str(tmp_path / "s.png"), "--labels"])
    assert r.exit_code == 2 and "pip install 'vdsl[labels]'" in r.output
    assert not (tmp_path / "s.png").exists()
    r = CliRunner().invoke(
        main, ["dataset", "build", "--programs", str(tmp_path), "--labels", "-o", str(tmp_path / "d")]
    )
    assert r.exit_code == 2 and "pycocotools" in r.output


def _dataset(tmp_path: Path, extra: list[str] = ()) -> Path:
    progs = tmp_path / "progs"
    progs.mkdir(exist_ok=True)
    (progs / "pair.vd").write_text("// concept: pair\n" + SCENE.replace("w=20, h=20", "w=rand(10, 20), h=20"))
    (progs / "dot.vd").write_text(
        "// concept: dot\n" + HEAD + 'circle(center=(rand(10, 50), 20), r=8, fill=red, label="dot")\n'
    )
    out = tmp_path / "ds"
    args = ["dataset", "build", "--programs", str(progs), "--variants", "3", "--size", "32", "--workers", "2"]
    r = CliRunner().invoke(main, [*args, "--no-progress", "--labels", "-o", str(out), *extra])
    assert r.exit_code == 0, r.output
    return out


def test_dataset_build_labels_each_image_and_the_dataset(tmp_path):
    out = _dataset(tmp_path)
    rows = [json.loads(l) for l in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all((out / r["labels_file"]).is_file() for r in rows)
    coco = COCO(str(out / "annotations.coco.json"))
    assert [i["file_name"] for i in coco.loadImgs(coco.getImgIds())] == [r["file_name"] for r in rows]
    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == ["a", "b", "dot", "pair"]
    per_image = 0
    for k, r in enumerate(rows, 1):
        one = json.loads((out / r["labels_file"]).read_text())
        per_image += len(one["annotations"])
        for a, b in zip(one["annotations"], coco.loadAnns(coco.getAnnIds(imgIds=[k]))):
            assert a["bbox"] == b["bbox"] and a["segmentation"] == b["segmentation"]
            assert coco.loadCats([b["category_id"]])[0]["name"] == one["categories"][a["category_id"] - 1]["name"]
        # the box is the mask's box, at the dataset's size
        for b in coco.loadAnns(coco.getAnnIds(imgIds=[k])):
            m = coco.annToMask(b)
            assert m.shape == (32, 32) and m.sum() == b["area"] > 0
            ys, xs = np.nonzero(m)
            assert b["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    assert per_image == len(coco.getAnnIds())
    stats = json.loads((out / "stats.json").read_text())
    assert stats["labels"]["annotations"] == per_image and stats["config"]["labels"] is True


def test_dataset_labels_resume_rewrites_a_missing_labels_file(tmp_path):
    out = _dataset(tmp_path)
    before = (out / "annotations.coco.json").read_bytes()
    rows = [json.loads(l) for l in (out / "metadata.jsonl").read_text().splitlines()]
    (out / rows[2]["labels_file"]).unlink()
    out = _dataset(tmp_path)
    assert (out / rows[2]["labels_file"]).is_file()
    assert (out / "annotations.coco.json").read_bytes() == before
    # a folder built with labels is not resumed without them (and the other way round)
    r = CliRunner().invoke(
        main,
        ["dataset", "build", "--programs", str(tmp_path / "progs"), "--variants", "3", "--size", "32", "-o", str(out)],
    )
    assert r.exit_code == 2 and "labels" in r.output


def test_preview_and_gallery_draw_boxes(tmp_path):
    out = _dataset(tmp_path)
    grids = {}
    for flag in ([], ["--boxes"]):
        p = tmp_path / f"p{len(flag)}.png"
        r = CliRunner().invoke(main, ["dataset", "preview", str(out), "-o", str(p), "--cell", "64", *flag])
        assert r.exit_code == 0, r.output
        grids[len(flag)] = np.asarray(Image.open(p).convert("RGB")).astype(int)
    assert grids[0].shape == grids[1].shape and (np.abs(grids[0] - grids[1]).sum(axis=2) > 0).sum() > 50

    r = CliRunner().invoke(main, ["gallery", str(tmp_path / "progs"), "-o", str(tmp_path / "g.png"), "--boxes"])
    assert r.exit_code == 0, r.output
    from vdsl.gallery import render_cells

    cells = render_cells([tmp_path / "progs" / "dot.vd"], seeds=1, size=64, boxes=True)
    ((x, y, w, h, label),) = cells[0].boxes
    # 64x48 fitted to 64x64: moved down 8 px; the r=8 circle at y=20 covers rows 20..35 (x is random)
    assert (y, h, label) == (20, 16, "dot") and 15 <= w <= 17 and 0 <= x <= 64 - w


def test_preview_boxes_of_a_dataset_without_labels(tmp_path):
    progs = tmp_path / "p"
    progs.mkdir()
    (progs / "dot.vd").write_text("// concept: dot\n" + HEAD + 'circle(center=(20, 20), r=8, fill=red, label="dot")\n')
    r = CliRunner().invoke(
        main,
        ["dataset", "build", "--programs", str(progs), "--variants", "1", "--no-progress", "-o", str(tmp_path / "d")],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["dataset", "preview", str(tmp_path / "d"), "-o", str(tmp_path / "x.png"), "--boxes"])
    assert r.exit_code == 2 and "without --labels" in r.output


def test_sharded_labelled_builds_merge_into_the_unsharded_annotations(tmp_path):
    whole = _dataset(tmp_path)
    progs = tmp_path / "progs"
    parts = []
    for i in range(2):
        out = tmp_path / f"part{i}"
        args = ["dataset", "build", "--programs", str(progs), "--variants", "3", "--size", "32", "--labels"]
        r = CliRunner().invoke(main, [*args, "--shard", f"{i}/2", "--no-progress", "-o", str(out)])
        assert r.exit_code == 0, r.output
        parts.append(str(out))
    r = CliRunner().invoke(main, ["dataset", "merge", *parts, "-o", str(tmp_path / "merged")])
    assert r.exit_code == 0, r.output
    merged = tmp_path / "merged"
    assert (merged / "annotations.coco.json").read_bytes() == (whole / "annotations.coco.json").read_bytes()
    rows = [json.loads(l) for l in (merged / "metadata.jsonl").read_text().splitlines()]
    assert rows and all((merged / r["labels_file"]).is_file() for r in rows)


def test_text_masks_follow_the_drawn_glyphs():
    from vdsl.backends import render_array

    sc = scene_of('text("Hi", at=(32, 36), size=30, anchor="middle", fill=#000000, label="t")')
    rgba = render_array(sc)
    ink = rgba[..., 0] < 64  # pixels mostly covered by the glyphs
    (t,) = label_scene(sc).instances
    assert t.label == "t" and t.area > 50
    assert (ink & ~t.mask).sum() <= 0.05 * ink.sum()  # the solid ink is in the mask
    assert (t.mask & (rgba[..., 0] == 255)).sum() <= 0.05 * t.area  # the mask is not on untouched pixels

"""`vdsl dataset preview`: a labelled grid of random samples (Pillow, labels in the bundled Roboto font, never a system font)."""

from __future__ import annotations

import io
import math
import os
import random
from pathlib import Path

from ..atomic import atomic_write
from ..fonts import fit_text, pil_font
from ..gallery import draw_boxes
from . import manifest as mf
from .filters import order_key

PAD = 6


def _images(root: Path, rows: list[dict]):
    """row -> what Image.open takes: the file (files format) or the PNG bytes read from its shard."""
    if not any(r.get("shard") for r in rows):
        return lambda r: root / r["file_name"]
    from .readers import ShardSet

    shards = ShardSet(root)
    by_key = {s.key: s for s in shards.samples}

    def read(r: dict):
        if r.get("key") not in by_key:
            raise OSError(f"{r.get('key')} is in none of the shards")
        return io.BytesIO(shards.image_bytes(by_key[r["key"]]))

    return read


def _boxes(path: Path) -> list:
    """(x, y, w, h, label) of every annotation of a per-image COCO file ([] when it cannot be read)."""
    doc = mf.read_json(path) or {}
    names = {c.get("id"): c.get("name") for c in doc.get("categories", [])}
    return [(*a["bbox"], names.get(a.get("category_id"), "?")) for a in doc.get("annotations", []) if "bbox" in a]


def preview(
    root: str | os.PathLike,
    output: str | os.PathLike,
    n: int = 16,
    cols: int | None = None,
    cell: int = 128,
    seed: int = 0,
    concept: str | None = None,
    boxes: bool = False,
) -> int:
    """Write a grid of n random images of the dataset at root, each labelled with its concept and
    program_seed, to output (.png, .jpg or .webp); boxes: outline each image's labelled objects (a
    dataset built with --labels). Returns the number of images shown."""
    from PIL import Image, ImageDraw

    root = Path(root)
    rows = mf.read_jsonl(root / mf.METADATA)
    if concept:
        q = concept.lower()
        rows = [r for r in rows if q in (str(r.get("concept", "")).lower(), str(r.get("concept_id", "")).lower())]
    if not rows:
        raise FileNotFoundError(
            f"{root}: no images" + (f" of concept {concept!r}" if concept else "") + f" listed in {mf.METADATA}"
        )
    if boxes and not any(r.get("labels_file") for r in rows):
        raise ValueError(f"{root}: built without --labels, so there are no boxes to show")
    picks = sorted(random.Random(seed).sample(rows, min(max(1, n), len(rows))), key=order_key)
    k = len(picks)
    cols = max(1, min(cols or math.ceil(math.sqrt(k)), k))
    nrows = math.ceil(k / cols)
    big = max(10, cell // 9)
    small = max(9, cell // 12)
    label_h = big + small + 6
    W = cols * (cell + PAD) + PAD
    H = nrows * (cell + label_h + PAD) + PAD
    sheet = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    f_big, f_small = pil_font(big), pil_font(small)
    image_of = _images(root, picks)
    for i, r in enumerate(picks):
        x = PAD + (i % cols) * (cell + PAD)
        y = PAD + (i // cols) * (cell + label_h + PAD)
        ox = oy = None
        try:
            with Image.open(image_of(r)) as im:
                im = im.convert("RGBA")
                im.thumbnail((cell, cell), Image.LANCZOS)
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                bg.alpha_composite(im)
                ox, oy = x + (cell - im.width) // 2, y + (cell - im.height) // 2
                sheet.paste(bg.convert("RGB"), (ox, oy))
            if boxes and r.get("labels_file") and ox is not None:
                draw_boxes(
                    draw, _boxes(root / r["labels_file"]), ox, oy, im.width / max(1, r.get("width") or 1), f_small
                )
        except OSError:
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], outline=(200, 0, 0))
        draw.rectangle([x - 1, y - 1, x + cell, y + cell], outline=(210, 210, 210))
        draw.text(
            (x, y + cell + 2), fit_text(draw, str(r.get("concept", "")), f_big, cell), fill=(20, 20, 20), font=f_big
        )
        draw.text(
            (x, y + cell + 3 + big),
            fit_text(draw, f"{r.get('program')} · seed {r.get('seed')}", f_small, cell),
            fill=(110, 110, 110),
            font=f_small,
        )
    out = Path(output)
    fmt = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}.get(out.suffix.lower().lstrip("."))
    if fmt is None:
        raise ValueError(f"cannot tell the image format from {out.name!r}; use .png, .jpg or .webp")
    buf = io.BytesIO()
    sheet.save(buf, format=fmt)
    if str(out.parent):
        out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, buf.getvalue())
    return k

"""COCO annotations from the scene's instance labels: RLE masks (pycocotools), boxes and areas, per image and for a whole dataset."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic import atomic_write
from ..errors import UsageError

SUFFIX = ".coco.json"  # beside each image: a COCO file of that one image
INSTANCES_SUFFIX = ".instances.png"  # `vdsl render --labels`: 16-bit map of instance ids


class LabelsUnavailable(UsageError):
    """--labels was asked for but pycocotools is not installed: exit 2."""


def require() -> None:
    """Raise LabelsUnavailable with the install command unless pycocotools imports."""
    try:
        import pycocotools.mask  # noqa: F401
    except ImportError:
        raise LabelsUnavailable(
            "--labels needs pycocotools to encode masks: pip install 'vdsl[labels]' (or pip install pycocotools)"
        ) from None


def labels_file(image_file: str) -> str:
    """images/x/a_0.png -> images/x/a_0.coco.json"""
    return os.path.splitext(image_file)[0] + SUFFIX


def annotations(labels) -> list[dict]:
    """One COCO annotation per instance (ids, image_id and category_id are filled in by coco_document):
    bbox [x, y, w, h] in pixels, area in pixels, the mask as compressed RLE, iscrowd 0, and vdsl's
    extras: `label`, `label_path` (enclosing labels, outermost first, joined by /) and `parent`
    (the enclosing instance's index in this list, or null)."""
    import numpy as np
    from pycocotools import mask as cmask

    out = []
    for inst in labels.instances:
        rle = cmask.encode(np.asfortranarray(inst.mask.astype(np.uint8)))
        out.append(
            {
                "label": inst.label,
                "label_path": "/".join(inst.path),
                "parent": None if inst.parent is None else inst.parent - 1,
                "bbox": list(inst.bbox),
                "area": inst.area,
                "segmentation": {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")},
                "iscrowd": 0,
            }
        )
    return out


def coco_document(images: list[tuple[str, int, int, list[dict]]]) -> dict:
    """A COCO dict from (file_name, width, height, annotations()) per image: image ids 1.., categories
    = the labels sorted by name (ids 1..), annotation ids 1.. in image order; `parent` becomes the
    enclosing annotation's id."""
    names = sorted({a["label"] for _, _, _, anns in images for a in anns})
    cat = {n: i for i, n in enumerate(names, 1)}
    imgs, anns = [], []
    for image_id, (file_name, w, h, items) in enumerate(images, 1):
        imgs.append({"id": image_id, "file_name": file_name, "width": w, "height": h})
        base = len(anns) + 1
        for j, a in enumerate(items):
            row = {"id": base + j, "image_id": image_id, "category_id": cat[a["label"]]}
            row.update({k: v for k, v in a.items() if k not in ("parent", "label")})
            row["parent_id"] = None if a.get("parent") is None else base + a["parent"]
            anns.append(row)
    return {
        "info": {"description": "instance labels of vdsl drawings (category = the program's label)"},
        "images": imgs,
        "annotations": anns,
        "categories": [{"id": i, "name": n, "supercategory": "object"} for n, i in cat.items()],
    }


def image_document(file_name: str, labels) -> dict:
    """The COCO file of one image."""
    return coco_document([(file_name, labels.width, labels.height, annotations(labels))])


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_image_labels(scene, image_path: str | os.PathLike, scale: float = 1.0, instances_png: bool = True) -> Path:
    """Label scene at scale and write IMAGE.coco.json (and IMAGE.instances.png) beside image_path."""
    from ..backends.labels import label_scene

    image_path = Path(image_path)
    labels = label_scene(scene, scale)
    out = image_path.with_name(image_path.stem + SUFFIX)
    atomic_write(out, dumps(image_document(image_path.name, labels)))
    if instances_png:
        atomic_write(image_path.with_name(image_path.stem + INSTANCES_SUFFIX), instance_png(labels))
    return out


def instance_png(labels) -> bytes:
    """The instance map as a 16-bit greyscale PNG (pixel = annotation id of the innermost instance, 0 none)."""
    import io

    import numpy as np
    from PIL import Image

    if len(labels.instances) > 65535:
        raise ValueError("more than 65535 instances do not fit a 16-bit instance map")
    buf = io.BytesIO()
    Image.fromarray(labels.instance_map.astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def merge_documents(root: Path, rows: list[dict]) -> dict:
    """The dataset's COCO file from the per-image files named by rows' labels_file (file_name as in metadata)."""
    images = []
    for r in rows:
        doc = json.loads((root / r["labels_file"]).read_text(encoding="utf-8"))
        cats = {c["id"]: c["name"] for c in doc["categories"]}
        ids = {a["id"]: j for j, a in enumerate(doc["annotations"])}
        items = []
        for a in doc["annotations"]:
            item = {k: v for k, v in a.items() if k not in ("id", "image_id", "category_id", "parent_id")}
            item["label"] = cats[a["category_id"]]
            item["parent"] = None if a.get("parent_id") is None else ids[a["parent_id"]]
            items.append(item)
        img = doc["images"][0]
        images.append((r["file_name"], img["width"], img["height"], items))
    return coco_document(images)

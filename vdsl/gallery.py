"""Contact sheets: render every program in a folder at several seeds into one labelled PNG grid."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .fonts import fit_text, pil_font

GAP = 6  # pixels between cells and around the sheet
BACKGROUND = (236, 236, 236)
FAIL_FILL = (204, 40, 40)
MAX_CELLS = 10_000


@dataclass
class Cell:
    """One rendered (program, seed) cell: its label and, for a failure, the error code and message."""

    file: str
    label: str
    seed: int
    image: np.ndarray | None = None  # size x size x 4 uint8, None when it failed
    code: str = ""
    message: str = ""
    boxes: list = field(default_factory=list)  # (x, y, w, h, label) of labelled objects, with boxes=True

    @property
    def ok(self) -> bool:
        return self.image is not None


def label_height(size: int) -> int:
    """Height of the two-line label strip under each cell (the label, then the seed or error)."""
    return 2 * math.ceil(_font_px(size) * 1.3) + 4


def sheet_size(cells: int, columns: int, size: int) -> tuple[int, int]:
    """(width, height) of a sheet of `cells` cells of size x size in `columns` columns."""
    cols = max(1, min(columns, cells)) if cells else 1
    rows = max(1, math.ceil(cells / cols))
    return (cols * (size + GAP) + GAP, rows * (size + label_height(size) + GAP) + GAP)


def default_columns(seeds: int) -> int:
    """Whole programs per row: each row holds a multiple of `seeds` cells, about 8 wide."""
    return seeds * max(1, 8 // seeds) if seeds < 8 else seeds


def _font_px(size: int) -> int:
    return max(9, round(size * 0.085))


BOX_COLORS = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240))


def draw_boxes(draw, boxes, x0: float, y0: float, scale: float, font) -> None:
    """Outline each (x, y, w, h, label) box, scaled by scale and moved to (x0, y0), with its label;
    a label keeps its colour everywhere."""
    for bx, by, bw, bh, label in boxes:
        col = BOX_COLORS[zlib.crc32(str(label).encode()) % len(BOX_COLORS)]
        l, t = x0 + bx * scale, y0 + by * scale
        r, b = l + max(1.0, bw * scale) - 1, t + max(1.0, bh * scale) - 1
        draw.rectangle([l, t, r, b], outline=col)
        draw.text((l + 1, t), str(label), font=font, fill=col)


def label_boxes(scene) -> list:
    """(x, y, w, h, label) of every labelled object of a scene ([] when it holds IR labels cannot read)."""
    from .backends.labels import LabelError, label_scene

    try:
        return [(*i.bbox, i.label) for i in label_scene(scene).instances]
    except LabelError:
        return []


def render_cells(
    paths: list[Path], seeds: int = 3, size: int = 128, first_seed: int = 0, boxes: bool = False
) -> list[Cell]:
    """Render each program at seeds first_seed.. first_seed+seeds-1. Never raises for a bad
    program: a compile error, run-time error or budget overrun becomes a failed Cell with its code.
    boxes: also find the boxes of the labelled objects (backends.labels)."""
    from .api import compile_file
    from .errors import DiagnosticsError

    cells: list[Cell] = []
    for path in paths:
        prog = compile_file(path)
        label = prog.meta.get("concept") or Path(path).stem
        errors = [d for d in prog.diagnostics if d.is_error]
        for s in range(first_seed, first_seed + seeds):
            cell = Cell(str(path), label, s)
            if errors or not prog.ok:
                cell.code = errors[0].code if errors else "E100"
                cell.message = errors[0].message if errors else "does not compile"
            else:
                try:
                    cell.image = prog.render(s, size=(size, size))
                    if boxes:
                        cell.boxes = label_boxes(prog.scene(s, size=(size, size)))
                except DiagnosticsError as e:
                    err = [d for d in e.diagnostics if d.is_error] or e.diagnostics
                    cell.code = err[0].code if err else "E300"
                    cell.message = err[0].message if err else "render failed"
                except Exception as e:  # a bug below the language must not stop the sheet
                    cell.code, cell.message = "internal", f"{type(e).__name__}: {e}"
            cells.append(cell)
    return cells


def contact_sheet(cells: list[Cell], size: int = 128, columns: int = 8) -> Image.Image:
    """Lay cells out in a grid, each with its label, seed (or error code) underneath; failures red."""
    w, h = sheet_size(len(cells), columns, size)
    cols = max(1, min(columns, len(cells))) if cells else 1
    sheet = Image.new("RGB", (w, h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    px = _font_px(size)
    f_label, f_small = pil_font(px, "medium"), pil_font(max(8, px - 1))
    f_code = pil_font(max(12, size // 5), "bold")
    line = math.ceil(px * 1.3)
    for i, cell in enumerate(cells):
        x = GAP + (i % cols) * (size + GAP)
        y = GAP + (i // cols) * (size + label_height(size) + GAP)
        if cell.ok:
            img = Image.fromarray(np.ascontiguousarray(cell.image), "RGBA")
            tile = Image.new("RGBA", img.size, (255, 255, 255, 255))
            tile.alpha_composite(img)
            sheet.paste(tile.convert("RGB"), (x, y))
            draw_boxes(draw, cell.boxes, x, y, 1.0, f_small)
            sub, sub_fill = f"seed {cell.seed}", (90, 90, 90)
        else:
            draw.rectangle([x, y, x + size - 1, y + size - 1], fill=FAIL_FILL)
            code = cell.code or "error"
            draw.text(
                (x + size / 2, y + size / 2),
                fit_text(draw, code, f_code, size - 8),
                font=f_code,
                fill=(255, 255, 255),
                anchor="mm",
            )
            sub, sub_fill = f"seed {cell.seed}: {cell.message}", FAIL_FILL
        ty = y + size + 2
        draw.text((x, ty), fit_text(draw, cell.label, f_label, size), font=f_label, fill=(20, 20, 20))
        draw.text((x, ty + line), fit_text(draw, sub, f_small, size), font=f_small, fill=sub_fill)
    return sheet


def find_programs(folder: str | Path) -> list[Path]:
    """The .vd files directly in a folder, sorted by name."""
    return sorted(p for p in Path(folder).glob("*.vd") if p.is_file())


def gallery(
    folder: str | Path,
    output: str | Path,
    seeds: int = 3,
    size: int = 128,
    columns: int | None = None,
    boxes: bool = False,
) -> list[Cell]:
    """Render every .vd in `folder` at `seeds` seeds into a contact sheet saved at `output`
    (boxes: outline every labelled object)."""
    if seeds < 1 or size < 16 or size > 2048:
        raise ValueError("need seeds >= 1 and size in 16..2048")
    paths = find_programs(folder)
    if not paths:
        raise ValueError(f"no .vd files in {folder}")
    if len(paths) * seeds > MAX_CELLS:
        raise ValueError(f"{len(paths)} files x {seeds} seeds is over {MAX_CELLS} cells")
    cells = render_cells(paths, seeds, size, boxes=boxes)
    sheet = contact_sheet(cells, size, columns or default_columns(seeds))
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return cells

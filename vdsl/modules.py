"""Module resolution for `use`: stdlib modules by name, and (only when allowed) files under the program's folder."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class ModuleSource:
    name: str       # as written after `use`
    file: str       # shown in diagnostics
    text: str


def stdlib_names() -> list[str]:
    root = resources.files("vdsl.stdlib")
    return sorted(p.name[:-3] for p in root.iterdir() if p.name.endswith(".vd"))


def stdlib_source(name: str) -> ModuleSource | None:
    if not name.replace("_", "").isalnum():
        return None
    f = resources.files("vdsl.stdlib").joinpath(name + ".vd")
    if not f.is_file():
        return None
    return ModuleSource(name, f"stdlib/{name}.vd", f.read_text(encoding="utf-8"))


def module_header(text: str) -> list[str]:
    """A module's description: the leading block of `//` lines, comment markers removed."""
    head = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        head.append(line[2:].strip())
    return head


class FileAccessDenied(Exception):
    pass


def file_source(rel: str, base_dir: str | None) -> ModuleSource | None:
    """A program-relative module file. Absolute paths and `..` escapes are refused."""
    if base_dir is None:
        raise FileAccessDenied("file modules are not allowed here (pass --allow-files to enable them)")
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or rel.startswith(("/", "\\")) or ":" in rel:
        raise FileAccessDenied("module paths must stay inside the program's folder (no absolute paths or `..`)")
    base = Path(base_dir).resolve()
    target = (base / p).resolve()
    if base not in target.parents:
        raise FileAccessDenied("module paths must stay inside the program's folder")
    if target.suffix != ".vd" or not target.is_file():
        return None
    return ModuleSource(rel, str(target), target.read_text(encoding="utf-8", errors="replace"))

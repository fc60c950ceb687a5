"""The README is the front door: its program compiles and renders, and every command it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

import vdsl
from vdsl.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_readme_program_compiles_and_renders():
    programs = re.findall(r"```\n(// concept:.*?)```", README, re.S)
    assert programs, "the README shows a vdsl program"
    for src in programs:
        prog = vdsl.compile(src, "README.md")
        assert prog.ok, prog.diagnostics
        img = prog.render(seed=0, size=(64, 64))
        assert img[..., :3].std() > 5


def test_every_command_the_readme_shows_exists():
    shell = "\n".join(re.findall(r"```bash\n(.*?)```", README, re.S))
    shown = set(re.findall(r"^vdsl ([a-z]+(?: [a-z]+)?)", shell, re.M))
    assert {"render", "check", "fmt", "doc", "refine", "recognize", "prompt", "concepts", "gallery"} <= {
        s.split()[0] for s in shown
    }
    runner = CliRunner()
    for cmd in sorted(shown):
        words = cmd.split()
        if words[0] == "dataset" and len(words) == 1:
            continue
        if words[0] != "dataset":
            words = words[:1]
        result = runner.invoke(main, words + ["--help"])
        assert result.exit_code == 0, (cmd, result.output)


def test_the_readme_budget_table_matches_the_defaults():
    """Every budget has a row, and each row's default and cap are the code's."""
    from dataclasses import fields

    from vdsl.budgets import CAPS, DEFAULT

    rows = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"^  \| `(\w+)`: [^|]+\| ([\d,.]+) \| ([\d,.]+) \|", README, re.M)
    }
    assert set(rows) == {f.name for f in fields(DEFAULT)}
    for name, (default, cap) in rows.items():
        assert float(default.replace(",", "")) == getattr(DEFAULT, name), name
        assert float(cap.replace(",", "")) == CAPS[name], name


def test_the_readme_fuel_table_is_the_declared_costs():
    """The README's fuel table is `vdsl doc`'s, generated from each builtin's declared Cost."""
    from vdsl.docs import cost_markdown

    rows = [line for line in cost_markdown().splitlines() if line.startswith("|")]
    assert len(rows) > 10
    for row in rows:
        assert "  " + row in README, row

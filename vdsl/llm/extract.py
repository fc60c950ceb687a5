"""Reading model replies: the program inside a reply (fenced or bare, prose around it tolerated) and the choice in a multiple-choice answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.#-]*)[^\n]*$", re.M)
_CODE_START = re.compile(
    r"^\s*(//|/\*|canvas\s*\(|use\s+[\w\"]|let\s+\w|param\s+\w|def\s+\w|for\s+\w|if\s|[A-Za-z_]\w*\s*\(|\})"
)
_CODE_END = re.compile(r"[)}\]]\s*;?\s*(//.*)?$|^\s*//")
_LANGS = {"vdsl", "vd"}


@dataclass(frozen=True)
class Extracted:
    program: str | None  # None: the reply holds no program
    how: str  # "fenced", "unclosed-fence", "bare", "trimmed" or "none"


def _fenced_blocks(text: str) -> list[tuple[str, str, bool]]:
    """(language, body, closed) for each fenced block, in order."""
    out = []
    pos = 0
    while True:
        m = _FENCE.search(text, pos)
        if m is None:
            return out
        fence, lang = m.group(1), m.group(2).lower()
        body_start = m.end() + 1
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.M)
        c = close.search(text, body_start)
        if c is None:
            out.append((lang, text[body_start:], False))
            return out
        out.append((lang, text[body_start : c.start()], True))
        pos = c.end()


def extract_program(reply: str) -> Extracted:
    """The program in a model's reply.

    A ```vdsl block wins, then the longest other fenced block (an unclosed fence, as from a reply cut
    off at max_tokens, runs to the end); with no fence, the reply itself, trimmed of prose lines before
    the first line that looks like code and after the last one."""
    text = (reply or "").replace("\r\n", "\n").strip("\ufeff")
    blocks = _fenced_blocks(text)
    if blocks:
        tagged = [b for b in blocks if b[0] in _LANGS]
        lang, body, closed = max(tagged or blocks, key=lambda b: len(b[1].strip()))
        body = body.strip("\n")
        if body.strip():
            return Extracted(body + "\n", "fenced" if closed else "unclosed-fence")
    lines = text.strip().split("\n")
    starts = [i for i, l in enumerate(lines) if _CODE_START.match(l)]
    if not starts:
        return Extracted(None, "none")
    first = starts[0]
    ends = [i for i, l in enumerate(lines) if i >= first and _CODE_END.search(l.rstrip())]
    last = ends[-1] if ends else len(lines) - 1
    body = "\n".join(lines[first : last + 1]).strip("\n")
    if not body.strip():
        return Extracted(None, "none")
    how = "bare" if (first == 0 and last == len(lines) - 1) else "trimmed"
    return Extracted(body + "\n", how)


def strip_comments(source: str) -> str:
    """The source without // and /* */ comments (string literals kept intact); blank runs collapsed."""
    out = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == '"':
            j = i + 1
            while j < n and source[j] != '"' and source[j] != "\n":
                j += 2 if source[j] == "\\" else 1
            out.append(source[i : j + 1])
            i = j + 1
        elif source.startswith("//", i):
            j = source.find("\n", i)
            i = n if j < 0 else j
        elif source.startswith("/*", i):
            j = source.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    lines = [l.rstrip() for l in "".join(out).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return text + "\n"


def strip_meta(source: str) -> str:
    """The source without its leading `// key: value` header lines (the concept must not leak)."""
    lines = source.split("\n")
    i = 0
    while i < len(lines) and (not lines[i].strip() or re.match(r"^\s*//\s*[\w-]+\s*:", lines[i])):
        i += 1
    return "\n".join(lines[i:])


def _norm(s: str) -> str:
    return re.sub(r"[\s_-]+", " ", s.lower()).strip()


def parse_choice(answer: str, choices: list[str]) -> int | None:
    """Index of the choice an answer names: a letter (A-Z), a number (1-based) or the choice's name,
    case-insensitive, also inside prose ("The answer is **B) lake**."). None when it names none, or
    several with nothing to tell them apart."""
    from .prompt import letter

    n = len(choices)
    text = (answer or "").strip()
    if not text or n == 0:
        return None
    letters = {letter(i): i for i in range(min(n, 26))}
    bare = re.sub(r"[*_`'\"().:\[\]\s]+", " ", text).strip()
    # 1. the whole answer is a letter or a number ("B", "(b)", "3.")
    if bare.upper() in letters and (len(bare) == 1):
        return letters[bare.upper()]
    if bare.isdigit() and 1 <= int(bare) <= n:
        return int(bare) - 1
    # 2. a letter or number the way answers mark one: "B)", "(B)", "**B**", "answer: B", "option 3"
    marked = [
        r"(?:answer|choice|option)\s*(?:is|would be|:)?\s*[*_`(\[]*\s*([A-Za-z]|\d+)(?=\s*(?:$|[).,:;!*_`\]]))",
        r"^[\s*_`]*\(?([A-Za-z]|\d+)[).:](?:\s|$)",
        r"\*\*\(?([A-Za-z]|\d+)\)?\*\*",
        r"\(([A-Z]|\d+)\)",
        r"(?:^|\s)([A-Z])\)",
    ]
    for pat in marked:
        for m in re.finditer(pat, text, re.I | re.M if pat.startswith(("(?:answer", "^")) else re.M):
            tok = m.group(1)
            if tok.isdigit():
                if 1 <= int(tok) <= n:
                    return int(tok) - 1
            elif tok.upper() in letters and (tok.isupper() or pat.startswith("(?:answer")):
                return letters[tok.upper()]
    # 3. choice names: after the last "answer", else anywhere; the longest name wins overlaps
    low = _norm(text)

    def found(hay: str) -> list[int]:
        hits = [(i, c) for i, c in enumerate(choices) if re.search(r"(?<!\w)" + re.escape(_norm(c)) + r"(?!\w)", hay)]
        keep = [i for i, c in hits if not any(_norm(c) != _norm(o) and _norm(c) in _norm(o) for _, o in hits)]
        return keep

    k = low.rfind("answer")
    if k >= 0:
        hits = found(low[k:])
        if len(hits) == 1:
            return hits[0]
        if hits:  # several named after "answer": the first one mentioned
            return min(hits, key=lambda i: low[k:].find(_norm(choices[i])))
    hits = found(low)
    if len(hits) == 1:
        return hits[0]
    return None

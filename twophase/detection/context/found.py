"""What the per-area rules share: the regexes that open a value and the `Found` collector.

Invariant: `Found.add` keeps a PERSON span's title outside it and trims non-name edges.
"""

from __future__ import annotations

import re

from twophase.detection.context.lexicon import fold
from twophase.detection.context.tokens import Tok, looks_like_job, scan_name
from twophase.spans import Span
from twophase.titles import leading_title

TITLE_AT = re.compile(
    r"(?<![\w.])(?:M\.|MM\.|Mme|Mmes|Mlle|Mlles|Mr|Dr|Me|Pr|MME|MLLE|DR"
    r"|[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|[Dd]octeur|[Mm]a[îi]tre|[Pp]rofesseur"
    r"|MONSIEUR|MADAME|MADEMOISELLE|DOCTEUR|MA[ÎI]TRE)\.?[ \u00a0]+"
)
SPEAKER_END = re.compile(r"[ \t\u00a0]*:(?![/\d])")
FIELD = re.compile(
    r"[ \t>*•\-]*(?P<label>[^\W\d_][\w'’ \-]{0,40}?)[ \t\u00a0]*(?:\*\*)?[ \t\u00a0]*:"
    r"(?![/\d])(?:\*\*)?[ \t\u00a0]*"
)
HEADER = re.compile(
    r"[ \t>]*(?P<label>De|From|[ÀA]|To|Cc|CC|Cci|CCI|Bcc|BCC|R[ée]pondre [àa]|Reply-To)"
    r"[ \t\u00a0]*:[ \t\u00a0]*"
)
GREETING_AT = re.compile(
    r"(?<!\w)(?:[Bb]onjour|[Bb]onsoir|[Ss]alut|[Cc]oucou|[Mm]erci|[Cc]h[eè]re?s?|[Hh]ello"
    r"|[Hh]i|[Dd]ear|[Bb]ravo)(?: beaucoup| encore)?[ \u00a0]*,?[ \u00a0]+"
)
VALUE_END = re.compile(r"[ \t\u00a0]*(?:$|[,;()<>\[\]|]|[–—]|\s-\s)")
WORD = re.compile(r"[^\W\d_][^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*")


def label_key(label: str) -> str:
    return re.sub(r"[\s\-]+", "-", fold(label).strip().rstrip("*").strip())


class Found:
    """Spans proposed by the rules, with the evidence they leave for other decisions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans: list[Span] = []

    def add(self, start: int, end: int, label: str = "PERSON") -> None:
        text = self.text
        if label == "PERSON":
            start += leading_title(text[start:end])[0]
        while start < end and not (text[start].isalnum()):
            start += 1
        while end > start and not (text[end - 1].isalnum() or text[end - 1] == "."):
            end -= 1
        if end - start >= 2:
            self.spans.append(Span(start, end, label, text[start:end]))

    def add_toks(self, toks: list[Tok], label: str = "PERSON") -> None:
        if toks:
            self.add(toks[0].start, toks[-1].end, label)


def value_name(text: str, pos: int, limit: int, *, comma: bool = True) -> list[Tok]:
    """A name at `pos`, also in the "Family, Given" order, ending before a separator."""
    end, toks = scan_name(text, pos, limit)
    if not toks:
        return []
    if comma and text.startswith(", ", end):
        end2, given = scan_name(text, end + 2, limit, max_words=3)
        # "GAUTHIER Pierre-Yves, Chargé de Mission": a role after the comma, not a given name.
        if given and VALUE_END.match(text, end2, limit) and not looks_like_job(given):
            return toks + given
    if not VALUE_END.match(text, end, limit) and not text.startswith(" ", end):
        return []
    return toks

"""Deterministic synthetic inputs for the benchmarks: French prose and distinct names.

The prose is made of runs of lines sampled from examples/corpus (minutes, contracts,
interviews, e-mails, field notes), with the example people's names replaced by names drawn
from a batch-wide population, so names recur across documents as they do in a real batch.
Invariant: the same arguments give the same bytes, on any machine (no WikiNEuRal text).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from twophase.assignment import names

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "corpus"

# The example corpus's people (examples/README.md); every form of them is substituted.
_PEOPLE = [
    ("Marie", "Dubois"),
    ("Marc", "Dubois"),
    ("Jean-Pierre", "Martin"),
    ("Anne", "de La Fontaine"),
    ("Pierre", "Le Goff"),
    ("Sophie", "Nguyen-Lambert"),
    ("Karim", "Benali"),
    ("Thomas", "Girard"),
    ("Élodie", "Faure"),
    ("Olivier", "Petit"),
    ("Nadia", "Haddad"),
]
_FAMILY_SLOT = {"de La Fontaine": 3, "La Fontaine": 3}
for _slot, (_, _family) in reversed(list(enumerate(_PEOPLE))):
    _FAMILY_SLOT.setdefault(_family, _slot)  # "Dubois" alone goes to slot 0
_GIVEN_SLOT = {given: slot for slot, (given, _) in enumerate(_PEOPLE)}
_GIVEN_SLOT["J.-P."] = 2
_GIVEN_SLOT["K."] = 6


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _forms() -> dict[str, tuple[int, str]]:
    """Surface → (slot, "given"/"family"), in Title and UPPER case."""
    forms: dict[str, tuple[int, str]] = {}
    for surface, slot in _FAMILY_SLOT.items():
        forms[surface] = (slot, "family")
        forms[surface.upper()] = (slot, "family")
    for surface, slot in _GIVEN_SLOT.items():
        forms[surface] = (slot, "given")
        if "." not in surface:
            forms[surface.upper()] = (slot, "given")
    return forms


_FORMS = _forms()
_NAME_RE = re.compile(
    r"(?<![\w.@-])(?:"
    + "|".join(re.escape(f) for f in sorted(_FORMS, key=len, reverse=True))
    + r")(?![\w@-])"
)
# Names inside e-mail addresses: "marie.dubois@..." and "jp.martin@...".
_EMAIL_RE = re.compile(r"[\w.+-]+(?=@)")


@cache
def example_lines() -> tuple[tuple[str, ...], ...]:
    """Each example document as its list of lines (blank lines kept as paragraph breaks)."""
    docs = []
    for path in sorted(EXAMPLES.rglob("*")):
        if path.suffix in (".txt", ".md"):
            docs.append(tuple(path.read_text(encoding="utf-8").splitlines()))
    return tuple(docs)


def population(size: int, seed: int) -> list[tuple[str, str]]:
    """`size` (given, family) pairs from twophase's name lists, deterministic."""
    rng = random.Random(seed)
    givens = sorted(names.any_given())
    families = sorted(names.simple_surnames())
    return [(rng.choice(givens), rng.choice(families)) for _ in range(size)]


class _Cast:
    """One document's people: example slot → a person of the population."""

    def __init__(self, people: list[tuple[str, str]]) -> None:
        self.people = people

    def name(self, match: re.Match[str]) -> str:
        surface = match.group()
        slot, kind = _FORMS[surface]
        given, family = self.people[slot]
        if surface in ("J.-P.", "K."):
            new = "-".join(p[0] + "." for p in given.split("-"))
        else:
            new = given if kind == "given" else family
        return new.upper() if surface.isupper() and len(surface) > 2 else new

    def email(self, match: re.Match[str]) -> str:
        local = match.group()
        for slot, (given, family) in enumerate(_PEOPLE):
            new_given, new_family = self.people[slot]
            for old, new in ((family, new_family), (given, new_given)):
                old_ascii = ascii_fold(old).lower().replace(" ", "")
                if old_ascii and old_ascii in local:
                    local = local.replace(old_ascii, ascii_fold(new).lower().replace(" ", ""))
        return local

    def fill(self, line: str) -> str:
        return _EMAIL_RE.sub(self.email, _NAME_RE.sub(self.name, line))


def documents(count: int, words: int, seed: int = 6) -> Iterator[tuple[str, str]]:
    """`count` (relative name, text) pairs of about `words` words each.

    Each document is runs of 3 to 12 consecutive lines of one example document, so headers,
    turns of speech and signatures keep their shape. People come from a population of
    ~count/2 + 40 persons drawn with a skewed weight: a few recur in many documents, most in
    a handful, as in a real batch.
    """
    rng = random.Random(seed)
    people = population(count // 2 + 40, seed)
    weights = [1.0 / (1 + i) ** 0.8 for i in range(len(people))]
    sources = example_lines()
    kinds = ("comptes-rendus", "contrats", "courriels", "entretiens", "notes")
    for n in range(count):
        cast = _Cast(rng.choices(people, weights, k=len(_PEOPLE)))
        out: list[str] = []
        total = 0
        while total < words:
            lines = rng.choice(sources)
            start = rng.randrange(len(lines))
            run = [cast.fill(line) for line in lines[start : start + rng.randint(3, 12)]]
            out.extend(run)
            out.append("")
            total += sum(len(line.split()) for line in run)
        yield f"{kinds[n % len(kinds)]}/doc-{n:05d}.txt", "\n".join(out)


def write_corpus(root: Path, count: int, words: int, seed: int = 6) -> int:
    """Write the corpus under `root`; returns its number of words (str.split, as detect)."""
    total = 0
    for rel, text in documents(count, words, seed):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        total += len(text.split())
    return total


# --- distinct synthetic names ------------------------------------------------------------------

_ONSETS = (
    "b", "c", "d", "f", "g", "j", "l", "m", "n", "p", "r", "s", "t", "v", "ch", "br", "gr",
    "tr", "pl", "cl", "fr", "dr", "gu", "qu",
)  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ou", "ai", "é", "au", "eu")
_CODAS = ("", "n", "r", "l", "s", "t", "z", "x", "c", "rd", "rt", "nd", "ll", "zt", "lh", "q")
_SYLLABLES = tuple(o + v for o in _ONSETS for v in _VOWELS)  # 240
_SPACE = len(_SYLLABLES) ** 3 * len(_CODAS)


def distinct_words(count: int, start: int = 0) -> Iterator[str]:
    """`count` capitalised invented words, pairwise distinct after case and accent folding,
    none of them a first name of twophase's lexicon: word k is the base-240 spelling of
    a scrambled start + k in syllables, then a coda (240**3 * 16 = 221 million words)."""
    given = {names.fold(g) for g in names.any_given()}
    seen: set[str] = set()
    k = start
    made = 0
    while made < count:
        # A multiplier prime to the space permutes it: neighbours do not look alike.
        n = (k * 2_654_435_761) % _SPACE
        k += 1
        n, coda = divmod(n, len(_CODAS))
        parts = []
        for _ in range(3):
            n, s = divmod(n, len(_SYLLABLES))
            parts.append(_SYLLABLES[s])
        word = ("".join(parts) + _CODAS[coda]).capitalize()
        folded = names.fold(word)
        # Different spellings can fold alike ("é"/"e"): keep the first only.
        if folded in given or folded in seen:
            continue
        seen.add(folded)
        made += 1
        yield word

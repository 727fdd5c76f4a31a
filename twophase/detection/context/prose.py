"""Rules for names inside running text: lone first names, first-name pairs and role nouns.

Invariant: they run after every other rule and propose nothing that overlaps `taken`.
"""

from __future__ import annotations

import bisect
import re

from twophase.detection.context.found import WORD, Found
from twophase.detection.context.lexicon import (
    ARTICLES,
    PARTICLES,
    PLACE_NAMES,
    PLACE_WORDS,
    fold,
    given_names,
    stop_words,
    word_set,
    world_given,
)
from twophase.detection.context.tokens import (
    TOKEN,
    Tok,
    is_particle,
    looks_like_job,
    name_word,
    scan_name,
)
from twophase.spans import Span


def lone_given(text: str, taken: list[tuple[int, int]], found: Found) -> None:
    """A capitalised first name of the lexicon inside a sentence, where nothing else is."""
    starts = [a for a, _ in taken]
    for m in WORD.finditer(text):
        word = m.group()
        if not word[0].isupper() or word.isupper() or len(word) < 3:
            continue
        key = fold(word)
        if key not in given_names() or key in PLACE_NAMES:
            continue
        start, end = m.span()
        i = bisect.bisect_right(starts, start)
        if (i and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < end):
            continue
        before = text[max(0, start - 30) : start].rstrip(" \u00a0")
        if not before or before[-1] in '.!?:;\n«"“(—–-' or before[-1].isdigit():
            continue  # a sentence or line start: capitalised for another reason
        prev = list(WORD.finditer(before))
        last = prev[-1] if prev else None
        if last is not None and (
            fold(last.group()) in PLACE_WORDS
            or (last.group()[0].isupper() and before[last.end() :] == "")
        ):
            continue  # "rue Victor", "Saint Pierre", or the tail of a longer name
        if end < len(text) and text[end] in "-‐‑":
            continue
        stop, toks = scan_name(text, start, len(text), max_words=3)
        if toks and "\n" not in text[start:stop] and not looks_like_job(toks[1:]):
            found.add(start, stop)
        else:
            found.add(start, end)


def given_pairs(text: str, taken: list[tuple[int, int]], found: Found) -> None:
    """ "Gloria Estefan", "Kenji Kodama": a first name of the world, then a family name."""
    starts = [a for a, _ in taken]
    world = world_given()
    for m in WORD.finditer(text):
        word = m.group()
        if not word[0].isupper() or word.isupper() or fold(word) not in world:
            continue
        start = m.start()
        i = bisect.bisect_right(starts, start)
        if (i and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < m.end()):
            continue
        before = text[max(0, start - 30) : start]
        prev = list(WORD.finditer(before))
        last = prev[-1] if prev else None
        glued = last is not None and before[last.end() :] == " "
        if (
            last is not None
            and glued
            and (
                fold(last.group()) in PLACE_WORDS
                or fold(last.group()) in ARTICLES
                or (last.group()[0].isupper() and fold(last.group()) not in world)
            )
        ):
            continue  # "rue Victor Hugo", "le Grand Prix", the tail of "Shōnen Sunday Super"
        if before.rstrip(" ").endswith(('"', "«", "“")):
            continue  # a title of a work: " Star Wars ", « Love Songs »
        line_end = text.find("\n", start)
        limit = len(text) if line_end < 0 else line_end
        stop, toks = scan_name(text, start, limit, max_words=3)
        family = [t for t in toks[1:] if not is_particle(t)]
        if (
            not family
            # A first name the French lexicon does not know takes one family word:
            # "Kenji Kodama", not "Columbia Broadcasting System".
            or (len(family) > 1 and fold(word) not in given_names())
            or any(t.caps or t.initials or t.key.split("-")[0] in PLACE_WORDS for t in family)
            or looks_like_job(toks[1:])
        ):
            continue
        i = bisect.bisect_right(starts, stop - 1)
        if any(a < stop and start < b for a, b in taken[max(0, i - 2) : i + 1]):
            continue
        found.add(start, stop)


# Nouns that announce a person's name in apposition: "le ministre Choiseul", "la chanteuse
# Cher", "le général de Gaulle".
_ROLE_NOUNS = word_set(
    """
    ministre president presidente roi reine prince princesse pape general marechal colonel
    capitaine lieutenant commandant amiral senateur senatrice depute deputee maire juge
    abbe pere frere soeur empereur imperatrice duc duchesse comte comtesse baron baronne
    marquis marquise chanteur chanteuse acteur actrice realisateur realisatrice ecrivain
    ecrivaine auteur autrice peintre compositeur compositrice footballeur footballeuse joueur
    joueuse entraineur pilote philosophe poete poetesse journaliste producteur productrice
    cineaste artiste rappeur rappeuse musicien musicienne guitariste pianiste violoniste
    sculpteur architecte historien historienne savant chimiste physicien mathematicien
    cycliste boxeur catcheur tennisman tenniswoman nageur nageuse athlete coureur
    avocat avocate notaire docteur professeur directeur directrice patron patronne
    collegue epoux epouse mari femme fils fille frere soeur sœur oncle tante cousin cousine
    neveu niece ami amie voisin voisine gouverneur gouverneure pharaon souverain souveraine
    tsar sultan calife moine pretre eveque cardinal chancelier chanceliere consul musicologue
    economiste sociologue theologien critique romancier romanciere dramaturge chef
    """
)
# Kin nouns take "de" before the person: "fils de Parménion", "la sœur de Brunehaut".
_KIN_NOUNS = word_set(
    """
    fils fille frere soeur pere mere epoux epouse veuve veuf neveu niece oncle tante cousin
    cousine petit-fils petite-fille demi-frere demi-soeur sœur demi-sœur
    """
)
_GAP = re.compile(r"[ \u00a0]+")


def after_role(text: str, span: Span) -> bool:
    """A name right after a role noun ("le poète satirique Perse") or a kin noun and "de"
    ("fils de Parménion"): a person, whatever label the model gave it."""
    before = text[max(0, span.start - 60) : span.start]
    elided = before.endswith(("d'", "d’"))
    words = list(WORD.finditer(before[:-2] if elided else before))
    if not words:
        return False

    def glued(k: int, end: int) -> bool:  # words[k] then only spaces up to `end`
        return bool(_GAP.fullmatch(before, words[k].end(), end))

    last, end = words[-1], len(before) - 2 if elided else len(before)
    if elided or last.group() == "de":
        noun = words[-2] if not elided and len(words) > 1 else last
        ok = (elided and glued(-1, end)) or (
            len(words) > 1 and glued(-2, last.start()) and glued(-1, end)
        )
        return ok and noun.group().islower() and fold(noun.group()) in _KIN_NOUNS
    if not glued(-1, end) or not last.group().islower():
        return False
    if fold(last.group()) in _ROLE_NOUNS:
        return True
    adj = fold(last.group())
    return (
        len(words) > 1
        and glued(-2, last.start())
        and words[-2].group().islower()
        and fold(words[-2].group()) in _ROLE_NOUNS
        and adj not in stop_words()
        and adj not in PARTICLES
    )


_ROLE_PARTICLES = word_set("de d van von da di del dos das")


def role_names(text: str, taken: list[tuple[int, int]], found: Found) -> None:
    """ "le ministre Choiseul", "mon collègue Karim": a role noun, then a capitalised name."""
    starts = [a for a, _ in taken]
    for m in re.finditer(r"(?<![\w'’])([^\W\d_]+)[ \u00a0]+(?=[^\W\d_])", text):
        if fold(m.group(1)) not in _ROLE_NOUNS or not m.group(1).islower():
            continue
        start = m.end()
        first = TOKEN.match(text, start)
        if first is None:
            continue
        key = fold(first.group())
        if key in PARTICLES and key not in _ROLE_PARTICLES:
            continue  # "le ministre des Finances", "le président du Sénat"
        if key in _ROLE_PARTICLES:
            nxt = TOKEN.match(text, first.end() + 1)
            if nxt is None or not name_word(Tok(nxt.start(), nxt.end(), nxt.group())):
                continue  # "le ministre de la Justice"
        line_end = text.find("\n", start)
        stop, toks = scan_name(text, start, len(text) if line_end < 0 else line_end)
        if not toks or looks_like_job(toks) or any(t.caps and len(t.text) > 3 for t in toks):
            continue
        if any(t.key.split("-")[0] in PLACE_WORDS for t in toks):
            continue
        i = bisect.bisect_right(starts, start)
        if (i and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < stop):
            continue
        found.add(start, stop)

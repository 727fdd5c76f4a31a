"""Context rules: what the layout and words around a name say, after NER and patterns.

A statistical model reads sentences; French working documents are also made of speaker
turns, attendee lists, mail headers, signatures, registers and forms, where it both misses
names ("GAUTHIER :", "DUBOIS Marie", "Dubois, Marie") and invents them (a heading, a job
title, "Bonjour Marie" as one name). This module:

1. cleans model spans: cut at line breaks, table pipes and other characters no name holds,
   greetings dropped from the front, field labels and one-letter tokens dropped;
2. finds person names from context: after a title (the title stays outside the span),
   speaker turns, "Nom :"-style fields, mail headers, signature blocks, "NOM Prénom" and
   "Prénom NOM", "Nom, Prénom" list lines, table columns headed "Nom", greetings, and
   first names of the lexicon inside a sentence;
3. drops model persons that are headings in capitals, job titles or common words at a line
   start, unless the lexicon or another rule vouches for them.

Context spans win over the model's where they overlap, pattern spans win over both.
Invariant: `refine` is a pure function of the text, the spans and the lists; its result is
sorted, non-overlapping, inside the text, and no PERSON span starts with a title.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from twophase.assignment import names
from twophase.detection.lists import Lists
from twophase.spans import Span
from twophase.titles import leading_title
from twophase.words import HYPHENS, whole_word

# ------------------------------------------------------------------------------ lexicons
# Words are compared folded (case and accents ignored), as names.fold does.


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_PARTICLES = _set("de du des d van von der den ter ten da di del della dos das le la")
# Particles that may open a name after a title: "M. de Villiers", but not "M. le Maire".
_OPENING_PARTICLES = _set("de du des d van von da di del dos das")

# Job titles, functions and services: never a person on their own, and a model "person"
# that is made of them ("Directeur Commercial", "Le Président") is dropped.
_JOB_WORDS = _set("""
    directeur directrice president presidente vice-president vice-presidente pdg dg drh daf
    dsi rh ceo cto cfo coo gerant gerante responsable responsables charge chargee chef cheffe
    adjoint adjointe assistant assistante secretaire tresorier tresoriere consultant
    consultante senior junior technicien technicienne ingenieur ingenieure agent agente
    delegue deleguee conseiller conseillere commercial commerciale commerciaux administratif
    administrative financier financiere general generale generaux technique qualite mission
    mobilite support niveau service services direction departement pole equipe ressources
    humaines achats comptable comptabilite juridique informatique marketing communication
    maire adjoints prefet prefete ministre depute deputee senateur senatrice docteur
    professeur maitre avocat avocate notaire huissier enqueteur enquetrice animateur animatrice
    participant participante participants participantes interviewer intervieweur intervieweuse
    redacteur redactrice stagiaire manager coordinateur coordinatrice superviseur superviseuse
    operateur operatrice conducteur conductrice receveur livreur livreuse gardien gardienne
    accueil securite maintenance atelier industriel industrielle grands comptes systemes
    information informations projet projets chantier exploitation production logistique
    fonctions fonction poste membre membres bureau conseil comite commission cabinet
    delegation syndical syndicale syndicat elu elue elus secretariat administration
    gestionnaire controleur controleuse auditeur auditrice analyste architecte developpeur
    developpeuse referent referente expert experte medecin infirmier infirmiere
    """)
# Field labels and mail-header words: a model "entity" made of one of them is dropped.
_FIELD_WORDS = _set("""
    q r a de cc cci bcc objet envoye envoyee from to sent subject re tr fwd fw date lieu
    heure tel tel. telephone mob mobile portable fax courriel mail email e-mail adresse site
    nom prenom noms prenoms madame monsieur mademoiselle messieurs mesdames bonjour bonsoir
    merci cordialement salut present presents presente presentes absent absents absente
    excuse excusee excuses excusees redige redigee rediges redigees note notes ordre jour
    contexte attention annexe reference ref piece jointe pj signature signe signee visa
    question reponse remarque observations observation resume conclusion introduction
    article chapitre partie section page titre sujet theme fin debut suite
    reunion compte rendu seance entretien entretiens synthese bilan rapport courrier lettre
    message releve proces-verbal convocation agenda planning calendrier decision decisions
    duree echange echanges facturation
    facture devis titulaire personne iban rib bic siret siren nir tva rcs capital total
    montant prix annexe client clients prestataire fournisseur
    """)
# Days and months: a model "entity" made of one is dropped, but they may be names ("Thi Mai").
_CALENDAR = _set(
    """
    lundi mardi mercredi jeudi vendredi samedi dimanche janvier fevrier mars avril mai juin
    juillet aout septembre octobre novembre decembre
    """
)
_GREETINGS = _set("bonjour bonsoir salut coucou merci cher chere chers cheres hello hi dear bravo")
# Places and things that are also first names of the lexicon: no lone-name rule for them.
_PLACE_NAMES = _set("""
    france florence lorraine nancy jordan marine victoire constance aurore charlotte
    valentine virginie georgia maurice augustin lourdes camille
    """)
# Words before a capitalised name that make it a place or a building, not a person.
_PLACE_WORDS = _set("""
    rue avenue boulevard bd place allee impasse chemin quai route cours square passage
    faubourg pont gare station lycee college ecole universite hopital clinique stade salle
    centre musee eglise cathedrale basilique abbaye chapelle parc jardin square residence
    saint sainte st ste port cap lac mont fort ile pointe val aeroport avenue prix fondation
    institut rond-point tunnel canal bibliotheque mediatheque theatre cinema galerie hotel
    """)
# Display names of mailboxes that belong to a service, not a person.
_SERVICE_WORDS = _set("""
    support service services equipe direction contact accueil secretariat info infos admin
    administration noreply no-reply ne comptabilite rh dsi helpdesk team newsletter mairie
    facturation commercial ventes assistance hotline dpo notifications notification bureau
    cabinet groupe societe association club communication presse recrutement
    """)
# Fields whose value is a person (mostly: "Nom :" and roles of a transcript or a form).
_PERSON_FIELDS = _set("""
    nom prenom nom-prenom prenom-nom nom-et-prenom nom-complet nom-de-famille nom-d'usage
    nom-de-naissance enqueteur enquetrice interviewer intervieweur intervieweuse animateur
    animatrice moderateur moderatrice participant participante personne-interrogee
    interlocuteur interlocutrice redacteur redactrice redige-par redigee-par auteur autrice
    signataire destinataire expediteur expeditrice contact temoin patient patiente salarie
    salariee candidat candidate locataire bailleur responsable responsable-du-registre
    secretaire secretaire-de-seance president presidente excuse excusee absent absente
    conducteur conductrice demandeur demandeuse client cliente visiteur visiteuse referent
    referente representant representante medecin avocat conseiller conseillere beneficiaire
    assure assuree adherent adherente eleve etudiant etudiante stagiaire titulaire
    """)
_LIST_HEADERS = _set("""
    presents presentes present presente participants participantes absents absentes absent
    absente excuses excusees excuse excusee absent-excuse absents-excuses membres invites
    invitees destinataires diffusion copie signataires intervenants equipe
    """)
_NAME_COLUMNS = _set("""
    nom prenom nom-prenom prenom-nom nom-et-prenom nom-complet noms participant participants
    personne nom-du-visiteur visiteur salarie intervenant membre agent name full-name
    """)
_ORG_COLUMNS = _set(
    "societe organisation entreprise employeur structure organisme company etablissement"
)
_CLOSINGS = re.compile(
    r"(?i:cordialement|bien cordialement|tr[eè]s cordialement|bien [àa] vous|bien [àa] toi"
    r"|(?:sinc[eè]res |meilleures |mes )?salutations(?: distingu[ée]es)?"
    r"|bonne (?:journ[ée]e|soir[ée]e)"
    r"|merci(?: beaucoup| d'avance| encore)?|[àa] bient[ôo]t|amicalement|amiti[ée]s|bises"
    r"|respectueusement|regards|best regards|kind regards|best|thanks|--+|—|__+)"
    r"[ \t]*[,.!]?[ \t]*"
)
_VERB_PRONOUN = re.compile(
    r"-(?:t-)?(?:vous|nous|tu|ils?|elles?|on|je|moi|toi|le|la|les|lui|leur|y|en)\b"
)
_LEGAL_FORMS = "SA|SAS|SASU|SARL|EURL|SNC|SCI|SCOP|GIE|SELARL"
_LEGAL_FORM = re.compile(rf"(?:^|\s)(?:{_LEGAL_FORMS})\.?$")
_LEGAL_AFTER = re.compile(rf"[ ,\u00a0]*(?:{_LEGAL_FORMS})\b")


def _fold(text: str) -> str:
    return names.fold(text)


@functools.cache
def _given_names() -> frozenset[str]:
    return frozenset(_fold(n) for n in names.any_given())


@functools.cache
def _surnames() -> frozenset[str]:
    return frozenset(_fold(n) for n in names.surnames())


@functools.cache
def _stop_words() -> frozenset[str]:
    # spaCy is loaded by detect anyway; imported here so `import twophase.detection` stays light.
    from spacy.lang.fr.stop_words import STOP_WORDS

    return frozenset(_fold(w) for w in STOP_WORDS) - _PARTICLES


# First names of the world from Faker's person providers (every locale, names written in
# Latin script only): "Hendrik", "João", "Kenji", which the French lexicon lacks. Many are
# also words ("Rock", "Grace"), so they only count next to a capitalised family name, or to
# tell that a model "place" or "organisation" such as "Gloria Estefan" is a person.
_NAME_ATTRS = sorted(
    _set(
        "first_names first_names_male first_names_female first_romanized_names "
        "first_romanized_names_male first_romanized_names_female"
    )
)
_ARTICLES = _set("le la les l du des au aux un une")
_COMPASS = _set("nord sud est ouest north south east west occidentale orientale")


@functools.cache
def _world_given() -> frozenset[str]:
    import importlib
    import pkgutil

    from faker.providers import person

    out = set(_given_names())
    for locale in sorted(m.name for m in pkgutil.iter_modules(person.__path__)):
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in _NAME_ATTRS:
            names_ = getattr(provider, attr, None)
            if isinstance(names_, dict | tuple | list):
                out.update(
                    _fold(n)
                    for n in names_
                    if isinstance(n, str)
                    and len(n) >= 3
                    and all(c.isalpha() or c in "-'" for c in n)
                    and all(ord(c) < 0x250 for c in n)
                )
    places = _PLACE_NAMES | {"paris", "london", "berlin", "madrid", "roma", "sydney", "china"}
    return frozenset(out - _stop_words() - _JOB_WORDS - _FIELD_WORDS - _PLACE_WORDS - places)


def world_lexicon_version() -> str:
    """What the world lexicon depends on, for the detector fingerprint."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"faker=={version('faker')}"
    except PackageNotFoundError:
        return "faker==none"


def is_given(token: str) -> bool:
    """A first name of the lexicon ("Jean-Pierre" counts when both halves do)."""
    key = _fold(token)
    if key in _given_names():
        return True
    parts = key.split("-")
    return len(parts) > 1 and all(p in _given_names() for p in parts)


# ------------------------------------------------------------------------------ tokens

_TOKEN = re.compile(r"(?:[^\W\d_]\.-?)+(?![^\W\d_])|[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_SEP = re.compile(r"[ \u00a0]{1,2}")


@dataclass(frozen=True, slots=True)
class _Tok:
    start: int
    end: int
    text: str

    @property
    def key(self) -> str:
        return _fold(self.text)

    @property
    def initials(self) -> bool:
        return self.text.endswith(".")

    @property
    def caps(self) -> bool:
        letters = [c for c in self.text if c.isalpha()]
        return len(letters) >= 2 and all(c.isupper() for c in letters)

    @property
    def capitalised(self) -> bool:
        return self.text[0].isupper()


def _is_particle(tok: _Tok) -> bool:
    return tok.key in _PARTICLES or (tok.key.startswith(("d'", "d’")) and len(tok.text) > 2)


def _name_word(tok: _Tok) -> bool:
    """A capitalised token that can be (part of) a name."""
    if tok.initials:
        return tok.text[0].isupper()
    if not tok.capitalised:
        return False
    key = tok.key
    if "'" in tok.text or "’" in tok.text:
        head = key.split("'")[0].split("’")[0]
        # "O'Brien", "d'Estaing" are names; "N'A", "L'ACCUEIL", "C'est" are not.
        if head not in ("o", "d"):
            return False
    return not (key in _stop_words() or key in _FIELD_WORDS or key in _GREETINGS)


def _scan_name(text: str, pos: int, limit: int, max_words: int = 4) -> tuple[int, list[_Tok]]:
    """The longest name starting at `pos` (end, tokens), or (pos, []) if there is none.

    A name is up to `max_words` capitalised words, initials ("J.-P.") and particles between
    or before them ("de Villiers", "Van der Berg"), separated by single spaces.
    """
    toks: list[_Tok] = []
    words = 0
    i = pos
    pending: list[_Tok] = []  # particles waiting for a name word
    while i < limit and words < max_words:
        m = _TOKEN.match(text, i, limit)
        if m is None:
            break
        tok = _Tok(m.start(), m.end(), m.group())
        if _is_particle(tok):
            if tok.key.startswith(("d'", "d’")) and len(tok.key) > 2:
                # "d'Estaing": the particle and the name in one token.
                rest = _Tok(tok.start + 2, tok.end, tok.text[2:])
                if not _name_word(rest):
                    break
                toks.extend(pending)
                toks.append(tok)
                pending = []
                words += 1
            else:
                pending.append(tok)
        elif _name_word(tok):
            if tok.initials and toks and not toks[-1].initials and not pending:
                break  # "Martin J." : initials come first
            toks.extend(pending)
            toks.append(tok)
            pending = []
            if not tok.initials:
                words += 1
        else:
            break
        sep = _SEP.match(text, m.end(), limit)
        if sep is None:
            break
        i = sep.end()
    while toks and toks[-1].initials:
        toks.pop()  # a name does not end with initials
    if not toks or not any(not t.initials and not _is_particle(t) for t in toks):
        return pos, []
    return toks[-1].end, toks


def _looks_like_job(toks: Iterable[_Tok]) -> bool:
    keys = [t.key for t in toks]
    return bool(keys) and (
        keys[0] in _JOB_WORDS or all(k in _JOB_WORDS or k in _PARTICLES for k in keys)
    )


def _has_given(toks: Iterable[_Tok]) -> bool:
    return any(not t.initials and is_given(t.text) for t in toks)


# ------------------------------------------------------------------------------ lines


@dataclass(frozen=True, slots=True)
class _Line:
    start: int
    end: int  # before the line break

    def text(self, doc: str) -> str:
        return doc[self.start : self.end]


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for m in re.finditer(r"\r?\n|\r", text):
        out.append(_Line(pos, m.start()))
        pos = m.end()
    out.append(_Line(pos, len(text)))
    return out


def _blank(text: str, line: _Line) -> bool:
    return not text[line.start : line.end].strip()


def _caps_line(text: str, line: _Line) -> bool:
    letters = [c for c in text[line.start : line.end] if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.9 * len(letters)


# ------------------------------------------------------------------------------ rules

_TITLE_AT = re.compile(
    r"(?<![\w.])(?:M\.|MM\.|Mme|Mmes|Mlle|Mlles|Mr|Dr|Me|Pr|MME|MLLE|DR"
    r"|[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|[Dd]octeur|[Mm]a[îi]tre|[Pp]rofesseur"
    r"|MONSIEUR|MADAME|MADEMOISELLE|DOCTEUR|MA[ÎI]TRE)\.?[ \u00a0]+"
)
_SPEAKER_END = re.compile(r"[ \t\u00a0]*:(?![/\d])")
_FIELD = re.compile(
    r"[ \t>*•\-]*(?P<label>[^\W\d_][\w'’ \-]{0,40}?)[ \t\u00a0]*(?:\*\*)?[ \t\u00a0]*:"
    r"(?![/\d])(?:\*\*)?[ \t\u00a0]*"
)
_HEADER = re.compile(
    r"[ \t>]*(?P<label>De|From|[ÀA]|To|Cc|CC|Cci|CCI|Bcc|BCC|R[ée]pondre [àa]|Reply-To)"
    r"[ \t\u00a0]*:[ \t\u00a0]*"
)
_GREETING_AT = re.compile(
    r"(?<!\w)(?:[Bb]onjour|[Bb]onsoir|[Ss]alut|[Cc]oucou|[Mm]erci|[Cc]h[eè]re?s?|[Hh]ello"
    r"|[Hh]i|[Dd]ear|[Bb]ravo)(?: beaucoup| encore)?[ \u00a0]*,?[ \u00a0]+"
)
_VALUE_END = re.compile(r"[ \t\u00a0]*(?:$|[,;()<>\[\]|]|[–—]|\s-\s)")
_WORD = re.compile(r"[^\W\d_][^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*")


def _key(label: str) -> str:
    return re.sub(r"[\s\-]+", "-", _fold(label).strip().rstrip("*").strip())


class _Found:
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

    def add_toks(self, toks: list[_Tok], label: str = "PERSON") -> None:
        if toks:
            self.add(toks[0].start, toks[-1].end, label)


def _value_name(text: str, pos: int, limit: int, *, comma: bool = True) -> list[_Tok]:
    """A name at `pos`, also in the "Family, Given" order, ending before a separator."""
    end, toks = _scan_name(text, pos, limit)
    if not toks:
        return []
    if comma and text.startswith(", ", end):
        end2, given = _scan_name(text, end + 2, limit, max_words=3)
        # "GAUTHIER Pierre-Yves, Chargé de Mission": a role after the comma, not a given name.
        if given and _VALUE_END.match(text, end2, limit) and not _looks_like_job(given):
            return toks + given
    if not _VALUE_END.match(text, end, limit) and not text.startswith(" ", end):
        return []
    return toks


def _titles(text: str, found: _Found) -> None:
    for m in _TITLE_AT.finditer(text):
        line_end = text.find("\n", m.end())
        limit = len(text) if line_end < 0 else line_end
        first = _TOKEN.match(text, m.end(), limit)
        if first is None:
            continue
        key = _fold(first.group())
        if key in _PARTICLES and key not in _OPENING_PARTICLES and not first.group()[0].isupper():
            continue  # "Monsieur le Maire"
        # In capitals the sentence goes on in capitals too: "M. DUBOIS N'A PAS RENDU".
        caps = _Tok(first.start(), first.end(), first.group()).caps
        _, toks = _scan_name(text, m.end(), limit, max_words=2 if caps else 4)
        if toks and not _looks_like_job(toks):
            found.add_toks(toks)


def _speakers(text: str, lines: list[_Line], found: _Found, evidence: set[str]) -> None:
    turns: list[list[_Tok]] = []
    for line in lines:
        pos = line.start
        while pos < line.end and text[pos] in " \t":
            pos += 1
        end, toks = _scan_name(text, pos, line.end)
        if toks and _SPEAKER_END.match(text, end, line.end) and not _looks_like_job(toks):
            turns.append(toks)
    counts = Counter(" ".join(t.key for t in toks) for toks in turns)
    for toks in turns:
        key = " ".join(t.key for t in toks)
        if key in _PERSON_FIELDS or _key(key) in _PERSON_FIELDS:
            continue
        if (
            counts[key] >= 2
            or _has_given(toks)
            or any(t.key in evidence or t.key in _surnames() for t in toks)
        ):
            found.add_toks(toks)


def _fields(text: str, lines: list[_Line], found: _Found) -> None:
    for line in lines:
        m = _FIELD.match(text, line.start, line.end)
        if m is None or _key(m["label"]) not in _PERSON_FIELDS:
            continue
        pos = m.end()
        while pos < line.end:
            toks = _value_name(text, pos, line.end)
            if not toks:
                break
            if not _looks_like_job(toks) and not _LEGAL_AFTER.match(text, toks[-1].end):
                found.add_toks(toks)  # "Client : Transports Rhodaniens SA" is a company
            nxt = re.compile(r"[ \t]*(?:,|;|\bet\b|&)[ \t]*").match(text, toks[-1].end, line.end)
            if nxt is None:
                break
            pos = nxt.end()


def _mail_headers(text: str, lines: list[_Line], found: _Found) -> None:
    for line in lines:
        m = _HEADER.match(text, line.start, line.end)
        if m is None:
            continue
        value = text[m.end() : line.end]
        offset = m.end()
        for item in re.finditer(r"[^;]+", value):
            parts = [item] if "<" not in item.group() else None
            chunks: list[tuple[int, int]] = []
            if parts is None:
                # "Dubois, Marie <a@b>, Martin, Paul <c@d>": split after each ">".
                cur = item.start()
                for close in re.finditer(r">", item.group()):
                    chunks.append((cur, item.start() + close.end()))
                    cur = item.start() + close.end()
                    while cur < item.end() and value[cur] in " ,\t":
                        cur += 1
                if cur < item.end():
                    chunks.append((cur, item.end()))
            else:
                chunks.append((item.start(), item.end()))
            for a, b in chunks:
                display = value[a:b]
                lt = display.find("<")
                if lt >= 0:
                    display_end = a + lt
                elif "@" in display:
                    continue
                else:
                    display_end = b
                start = a
                while start < display_end and value[start] in " \t\"'“«":
                    start += 1
                stop = display_end
                while stop > start and value[stop - 1] in " \t\"'”»":
                    stop -= 1
                if stop <= start:
                    continue
                first = _WORD.match(value, start, stop)
                if first is None or _fold(first.group()) in _SERVICE_WORDS:
                    continue
                toks = _value_name(text, offset + start, offset + stop)
                if toks and toks[-1].end == offset + stop and not _looks_like_job(toks):
                    found.add_toks(toks)


def _columns(text: str, line: _Line) -> Iterator[_Line]:
    """Parts of a line set apart by wide spaces: two signatures side by side."""
    pos = line.start
    for m in re.finditer(r"[ \t]{3,}|\t", text[line.start : line.end]):
        yield _Line(pos, line.start + m.start())
        pos = line.start + m.end()
    yield _Line(pos, line.end)


def _whole_line_name(text: str, line: _Line) -> list[_Tok]:
    """The name a line (or column) holds, alone or before a separator: "Marie Dubois – …"."""
    pos = line.start
    while pos < line.end and text[pos] in " \t":
        pos += 1
    toks = _value_name(text, pos, line.end)
    if not toks or not re.match(r"[ \t]*(?:$|[,–—|(]|-\s)", text[toks[-1].end : line.end]):
        return []
    return toks


def _signatures(
    text: str, lines: list[_Line], found: _Found, evidence: set[str], contacts: list[int]
) -> None:
    """Names alone on a line: after a closing formula, before a job title, a name or contact
    details (`contacts`: starts of e-mail, phone and address spans), or at the end."""
    nonblank = [i for i, line in enumerate(lines) if not _blank(text, line)]

    def closing(line: _Line | None) -> bool:
        return line is not None and _CLOSINGS.fullmatch(line.text(text).strip()) is not None

    for n, i in enumerate(nonblank):
        names = [
            toks
            for column in _columns(text, lines[i])
            if (toks := _whole_line_name(text, column))
            and not _looks_like_job(toks)
            and len(toks) <= 5
        ]
        if not names:
            continue  # most lines: the context below is only looked at for name lines
        prev = lines[nonblank[n - 1]] if n else None
        nxt = lines[nonblank[n + 1]] if n + 1 < len(nonblank) else None
        before_job = contact = False
        if nxt is not None:
            first = _TOKEN.search(text, nxt.start, nxt.end)
            before_job = first is not None and _fold(first.group()) in _JOB_WORDS
            before_job = before_job or _whole_line_name(text, nxt) != [] or closing(nxt)
            k = bisect.bisect_left(contacts, nxt.start)
            # "Thi Mai Nguyen" right above her address: a letterhead, vouched for by layout.
            contact = k < len(contacts) and contacts[k] <= nxt.start + 3
        alone = (i == 0 or _blank(text, lines[i - 1])) and (
            i + 1 == len(lines) or _blank(text, lines[i + 1])
        )
        at_end = n >= len(nonblank) - 2
        for toks in names:
            vouched = _has_given(toks) or any(t.key in evidence for t in toks)
            if closing(prev) or contact or (vouched and (before_job or alone or at_end)):
                found.add_toks(toks)


def _caps_pairs(text: str, lines: list[_Line], found: _Found) -> None:
    """ "DUBOIS Marie", "GAUTHIER Pierre-Yves", "Marie DUBOIS": capitals next to a first name."""
    for line in lines:
        # Most lines hold no word in capitals: skip them before tokenising.
        if any(len(w) > 1 and w.isupper() for w in text[line.start : line.end].split()):
            _caps_pairs_in(text, line, found)


def _caps_pairs_in(text: str, line: _Line, found: _Found) -> None:
    toks = [
        _Tok(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text, line.start, line.end)
    ]
    n = len(toks)
    i = 0
    while i < n:
        j = i
        # A run of capitals (particles in capitals included), single spaces between.
        while (
            j < n
            and toks[j].caps
            and not toks[j].initials
            and (toks[j].key not in _stop_words() or toks[j].key in _PARTICLES)
            and toks[j].key not in _JOB_WORDS
            and toks[j].key not in _FIELD_WORDS
            and (j == i or _SEP.fullmatch(text, toks[j - 1].end, toks[j].start))
        ):
            j += 1
        if j == i:
            i += 1
            continue
        caps = toks[i:j]
        while caps and caps[-1].key in _PARTICLES:
            caps.pop()
        after = [t for t in toks[j : j + 2] if not t.caps and t.capitalised]
        after = after[:1] if after else []
        before = toks[i - 1] if i else None
        if caps and after and _SEP.fullmatch(text, caps[-1].end, after[0].start):
            if is_given(after[0].text):
                found.add(caps[0].start, after[0].end)
        elif (
            caps
            and before is not None
            and before.capitalised
            and not before.caps
            and is_given(before.text)
            and _SEP.fullmatch(text, before.end, caps[0].start)
        ):
            found.add(before.start, caps[-1].end)
        i = max(j, i + 1)


def _comma_lists(text: str, lines: list[_Line], found: _Found, evidence: set[str]) -> None:
    """Attendee lists: "de Villiers, Jean-Baptiste — Président", one a line."""
    shaped: list[tuple[int, list[_Tok], int]] = []  # line index, tokens, comma position
    for i, line in enumerate(lines):
        pos = line.start
        while pos < line.end and text[pos] in " \t-*•":
            pos += 1
        end, family = _scan_name(text, pos, line.end)
        if not family or not text.startswith(", ", end):
            continue
        end2, given = _scan_name(text, end + 2, line.end, max_words=3)
        if not given or not _VALUE_END.match(text, end2, line.end):
            continue
        if _looks_like_job(family) or _looks_like_job(given):
            continue
        shaped.append((i, family + given, end))
    indices = {i for i, _, _ in shaped}
    for i, toks, _ in shaped:
        listed = (i - 1) in indices or (i + 1) in indices
        if (
            listed
            or _has_given(toks)
            or any(t.key in _surnames() or t.key in evidence for t in toks)
        ):
            found.add_toks(toks)


def _list_blocks(text: str, lines: list[_Line], found: _Found) -> None:
    """Lines under "Présents :", "PARTICIPANTS"…: the name that opens each line."""
    inside = False
    for line in lines:
        raw = line.text(text).strip()
        if not raw:
            inside = False
            continue
        head = _key(raw.rstrip(": ").strip("*#_ "))
        if head in _LIST_HEADERS:
            inside = True
            continue
        if not inside:
            continue
        pos = line.start
        while pos < line.end and text[pos] in " \t-*•":
            pos += 1
        toks = _value_name(text, pos, line.end)
        if toks and not _looks_like_job(toks):
            found.add_toks(toks)


def _tables(text: str, lines: list[_Line], found: _Found) -> None:
    """Columns headed "Nom", "NOM PRÉNOM", "Participant"… in pipe or semicolon tables."""
    columns: dict[int, str] | None = None
    sep = ""
    for line in lines:
        raw = line.text(text)
        if columns is not None and sep in raw:
            if re.fullmatch(r"[\s|:\-+]*", raw):
                continue  # Markdown separator row
            _table_row(text, line, sep, columns, found)
            continue
        columns = None
        for candidate in ("|", ";", "\t"):
            if raw.count(candidate) >= 1 and candidate in raw:
                cells = _cells(raw, candidate)
                wanted = {}
                for k, (_, _, cell) in enumerate(cells):
                    key = _key(cell.strip("*_ "))
                    if key in _NAME_COLUMNS:
                        wanted[k] = "PERSON"
                    elif key in _ORG_COLUMNS:
                        wanted[k] = "ORG"
                if "PERSON" in wanted.values():
                    columns, sep = wanted, candidate
                    break


def _cells(raw: str, sep: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    pos = 0
    parts = raw.split(sep)
    if sep == "|" and raw.strip().startswith("|"):
        pos = raw.index("|") + 1
        parts = raw[pos:].split(sep)
    for part in parts:
        out.append((pos, pos + len(part), part))
        pos += len(part) + 1
    return out


def _table_row(text: str, line: _Line, sep: str, columns: dict[int, str], found: _Found) -> None:
    cells = _cells(line.text(text), sep)
    for k, label in columns.items():
        if k >= len(cells):
            continue
        a, b, cell = cells[k]
        start = line.start + a + (len(cell) - len(cell.lstrip()))
        stop = line.start + b - (len(cell) - len(cell.rstrip()))
        paren = text.find("(", start, stop)
        if paren >= 0:
            stop = paren
        while stop > start and text[stop - 1] in " \t":
            stop -= 1
        if stop <= start:
            continue
        if label == "PERSON":
            toks = _value_name(text, start, stop)
            if toks and toks[-1].end == stop and not _looks_like_job(toks):
                found.add_toks(toks)
        elif any(c.isupper() for c in text[start:stop]):
            found.add(start, stop, "ORG")


def _greetings(text: str, found: _Found) -> None:
    for m in _GREETING_AT.finditer(text):
        line_end = text.find("\n", m.end())
        limit = len(text) if line_end < 0 else line_end
        if _TITLE_AT.match(text, m.end()):
            continue  # "Bonjour M. Dubois": the title rule takes it
        end, toks = _scan_name(text, m.end(), limit, max_words=3)
        if (
            toks
            and re.match(r"[ \t]*(?:$|[,.!;:?])", text[end:limit])
            and not _looks_like_job(toks)
        ):
            found.add_toks(toks)


def _lone_given(text: str, taken: list[tuple[int, int]], found: _Found) -> None:
    """A capitalised first name of the lexicon inside a sentence, where nothing else is."""
    starts = [a for a, _ in taken]
    for m in _WORD.finditer(text):
        word = m.group()
        if not word[0].isupper() or word.isupper() or len(word) < 3:
            continue
        key = _fold(word)
        if key not in _given_names() or key in _PLACE_NAMES:
            continue
        start, end = m.span()
        i = bisect.bisect_right(starts, start)
        if (i and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < end):
            continue
        before = text[max(0, start - 30) : start].rstrip(" \u00a0")
        if not before or before[-1] in '.!?:;\n«"“(—–-' or before[-1].isdigit():
            continue  # a sentence or line start: capitalised for another reason
        prev = list(_WORD.finditer(before))
        last = prev[-1] if prev else None
        if last is not None and (
            _fold(last.group()) in _PLACE_WORDS
            or (last.group()[0].isupper() and before[last.end() :] == "")
        ):
            continue  # "rue Victor", "Saint Pierre", or the tail of a longer name
        if end < len(text) and text[end] in "-‐‑":
            continue
        stop, toks = _scan_name(text, start, len(text), max_words=3)
        if toks and "\n" not in text[start:stop] and not _looks_like_job(toks[1:]):
            found.add(start, stop)
        else:
            found.add(start, end)


def _given_pairs(text: str, taken: list[tuple[int, int]], found: _Found) -> None:
    """ "Gloria Estefan", "Kenji Kodama": a first name of the world, then a family name."""
    starts = [a for a, _ in taken]
    world = _world_given()
    for m in _WORD.finditer(text):
        word = m.group()
        if not word[0].isupper() or word.isupper() or _fold(word) not in world:
            continue
        start = m.start()
        i = bisect.bisect_right(starts, start)
        if (i and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < m.end()):
            continue
        before = text[max(0, start - 30) : start]
        prev = list(_WORD.finditer(before))
        last = prev[-1] if prev else None
        glued = last is not None and before[last.end() :] == " "
        if (
            last is not None
            and glued
            and (
                _fold(last.group()) in _PLACE_WORDS
                or _fold(last.group()) in _ARTICLES
                or (last.group()[0].isupper() and _fold(last.group()) not in world)
            )
        ):
            continue  # "rue Victor Hugo", "le Grand Prix", the tail of "Shōnen Sunday Super"
        if before.rstrip(" ").endswith(('"', "«", "“")):
            continue  # a title of a work: " Star Wars ", « Love Songs »
        line_end = text.find("\n", start)
        limit = len(text) if line_end < 0 else line_end
        stop, toks = _scan_name(text, start, limit, max_words=3)
        family = [t for t in toks[1:] if not _is_particle(t)]
        if (
            not family
            # A first name the French lexicon does not know takes one family word:
            # "Kenji Kodama", not "Columbia Broadcasting System".
            or (len(family) > 1 and _fold(word) not in _given_names())
            or any(t.caps or t.initials or t.key.split("-")[0] in _PLACE_WORDS for t in family)
            or _looks_like_job(toks[1:])
        ):
            continue
        i = bisect.bisect_right(starts, stop - 1)
        if any(a < stop and start < b for a, b in taken[max(0, i - 2) : i + 1]):
            continue
        found.add(start, stop)


# Nouns that announce a person's name in apposition: "le ministre Choiseul", "la chanteuse
# Cher", "le général de Gaulle".
_ROLE_NOUNS = _set(
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
_KIN_NOUNS = _set(
    """
    fils fille frere soeur pere mere epoux epouse veuve veuf neveu niece oncle tante cousin
    cousine petit-fils petite-fille demi-frere demi-soeur sœur demi-sœur
    """
)
_GAP = re.compile(r"[ \u00a0]+")


def _after_role(text: str, span: Span) -> bool:
    """A name right after a role noun ("le poète satirique Perse") or a kin noun and "de"
    ("fils de Parménion"): a person, whatever label the model gave it."""
    before = text[max(0, span.start - 60) : span.start]
    elided = before.endswith(("d'", "d’"))
    words = list(_WORD.finditer(before[:-2] if elided else before))
    if not words:
        return False

    def glued(k: int, end: int) -> bool:  # words[k] then only spaces up to `end`
        return bool(_GAP.fullmatch(before, words[k].end(), end))

    last, end = words[-1], len(before) - 2 if elided else len(before)
    if elided or last.group() == "de":
        noun = words[-2] if not elided and len(words) > 1 else last
        ok = (elided and glued(-1, end)) or (len(words) > 1 and glued(-2, last.start()))
        return ok and noun.group().islower() and _fold(noun.group()) in _KIN_NOUNS
    if not glued(-1, end) or not last.group().islower():
        return False
    if _fold(last.group()) in _ROLE_NOUNS:
        return True
    adj = _fold(last.group())
    return (
        len(words) > 1
        and glued(-2, last.start())
        and words[-2].group().islower()
        and _fold(words[-2].group()) in _ROLE_NOUNS
        and adj not in _stop_words()
        and adj not in _PARTICLES
    )


_ROLE_PARTICLES = _set("de d van von da di del dos das")


def _role_names(text: str, taken: list[tuple[int, int]], found: _Found) -> None:
    """ "le ministre Choiseul", "mon collègue Karim": a role noun, then a capitalised name."""
    starts = [a for a, _ in taken]
    for m in re.finditer(r"(?<![\w'’])([^\W\d_]+)[ \u00a0]+(?=[^\W\d_])", text):
        if _fold(m.group(1)) not in _ROLE_NOUNS or not m.group(1).islower():
            continue
        start = m.end()
        first = _TOKEN.match(text, start)
        if first is None:
            continue
        key = _fold(first.group())
        if key in _PARTICLES and key not in _ROLE_PARTICLES:
            continue  # "le ministre des Finances", "le président du Sénat"
        if key in _ROLE_PARTICLES:
            nxt = _TOKEN.match(text, first.end() + 1)
            if nxt is None or not _name_word(_Tok(nxt.start(), nxt.end(), nxt.group())):
                continue  # "le ministre de la Justice"
        line_end = text.find("\n", start)
        stop, toks = _scan_name(text, start, len(text) if line_end < 0 else line_end)
        if not toks or _looks_like_job(toks) or any(t.caps and len(t.text) > 3 for t in toks):
            continue
        if any(t.key.split("-")[0] in _PLACE_WORDS for t in toks):
            continue
        i = bisect.bisect_right(starts, start)
        if (i and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < stop):
            continue
        found.add(start, stop)


# An enumeration's separators: "A, B et C", "A ou B".
_LINK_AFTER = re.compile(r"[ \u00a0]*(?:,|et|ou|&)[ \u00a0]+")
_LINK_BEFORE = re.compile(r"[ \u00a0]*(?:,|(?<![^\W\d_])et|(?<![^\W\d_])ou|&)[ \u00a0]*$")
_ITEM_END = re.compile(r"[ \u00a0]*(?:$|[,.;:)!?\n\"»”]|(?:et|ou)(?![^\W\d_]))")
_COORDINATED = frozenset(("PERSON", "LOCATION", "ORG"))
# Before an item, these make it a complement, not a list member: "le directeur de Microsoft,
# Bill Gates", "le à Raw, Jeff Hardy et lui".
_COMPLEMENT = _set("le la les l du des au aux un une de d à a en dans sur vers chez")


def _item_reads_as_name(toks: list[_Tok]) -> bool:
    words = [t for t in toks if not _is_particle(t)]
    if not 1 <= len(words) <= 4 or not all(_name_word(t) or _is_particle(t) for t in toks):
        return False
    first = words[0].key
    return not (
        first in _PLACE_NAMES
        or first.split("-")[0] in _PLACE_WORDS
        or any(w.key in _CALENDAR for w in words)
        or _looks_like_job(words)
        or (len(words) == 1 and words[0].caps)
    )


def _complement(text: str, start: int) -> bool:
    """Whether the word just before `start` makes what follows a complement."""
    before = text[max(0, start - 12) : start]
    words = _WORD.findall(before.rstrip(" \u00a0")) if before.endswith((" ", "\u00a0")) else []
    if before.endswith(("'", "’")):
        words = [before[-2:-1]]
    return bool(words) and _fold(words[-1]) in _COMPLEMENT


def _coordinated(text: str, spans: list[Span]) -> list[Span]:
    """Items enumerated with a person are persons: "Rock Hudson, Tony Curtis et Cher".

    The model often names the odd item of a list of people a place or an organisation, or
    misses a single name beside full ones. An enumeration is a chain of items linked by
    commas, "et", "ou" on one line, each item a run of name words, that holds a person of two
    name words and at least one "et" or "ou": its items become persons. Without a
    conjunction a comma is as often an apposition ("Karim Benali, Lumen Études"), and then
    nothing changes. A model place of one word is left alone; so is a single word opening a
    sentence, or a name after "de", "à", "le"... ("le directeur de Microsoft, Bill Gates").
    """
    by_start = {s.start: s for s in spans}
    by_end = {s.end: s for s in spans}
    starts = sorted(by_start)

    def item(a: int, b: int) -> Span | None:
        old = by_start.get(a)
        if old is not None and old.end == b and old.label == "PERSON":
            return old
        toks = [_Tok(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text, a, b)]
        if not toks or not _item_reads_as_name(toks) or _complement(text, a):
            return None
        if old is not None and old.end == b:
            if old.label not in _COORDINATED or (old.label == "LOCATION" and len(toks) < 2):
                return None
            return Span(a, b, "PERSON", old.text)
        i = bisect.bisect_left(starts, b)
        if i and by_start[starts[i - 1]].end > a:
            return None
        before = text[max(0, a - 3) : a].rstrip(" \u00a0")
        if len(toks) == 1 and (not before or before[-1] in '.!?:;\n«"“(—–-'):
            return None  # a single word opening a sentence is capitalised for that
        return Span(a, b, "PERSON", text[a:b])

    def right(pos: int) -> tuple[Span | None, bool]:
        link = _LINK_AFTER.match(text, pos)
        if link is None:
            return None, False
        a = link.end()
        line_end = text.find("\n", a)
        limit = len(text) if line_end < 0 else line_end
        old = by_start.get(a)
        b = old.end if old is not None else _scan_name(text, a, limit, max_words=3)[0]
        if b == a or not _ITEM_END.match(text, b):
            return None, False
        return item(a, b), "," not in link.group()

    def left(pos: int) -> tuple[Span | None, bool]:
        line_start = text.rfind("\n", 0, pos) + 1
        link = _LINK_BEFORE.search(text, line_start, pos)
        if link is None or link.end() != pos:
            return None, False
        b, conj = link.start(), "," not in link.group()
        old = by_end.get(b)
        if old is not None:
            return item(old.start, b), conj
        # The longest run of name words that ends at `b` ("avec Queen Latifah").
        for m in list(_TOKEN.finditer(text, max(line_start, b - 80), b))[-3:]:
            if _fold(m.group()) in _PARTICLES:
                continue  # "Lors de SummerSlam": a lower-case particle opens no item here
            end, run = _scan_name(text, m.start(), b, max_words=3)
            if run and end == b:
                return item(m.start(), b), conj
        return None, False

    changed: dict[int, Span] = {}
    done: set[int] = set()
    for anchor in spans:
        words = [m for m in _TOKEN.finditer(anchor.text) if _fold(m.group()) not in _PARTICLES]
        if anchor.label != "PERSON" or len(words) < 2 or anchor.start in done:
            continue
        chain, queue, conj = {anchor.start: anchor}, [anchor], False
        while queue:
            span = queue.pop()
            for found, linked_by_conj in (right(span.end), left(span.start)):
                if found is not None and found.start not in chain:
                    chain[found.start] = found
                    queue.append(found)
                    conj |= linked_by_conj
        done |= chain.keys()
        if conj:
            changed.update((a, s) for a, s in chain.items() if by_start.get(a) != s)
    if not changed:
        return spans
    relabelled = [changed.pop(s.start) if s.start in changed else s for s in spans]
    added = _non_overlapping(changed.values(), [(s.start, s.end) for s in relabelled])
    return sorted(relabelled + added)


def _consistent(text: str, spans: list[Span], sure: set[int]) -> list[Span]:
    """One label for one way of writing a name in a document, and persons found everywhere.

    The model reads each sentence alone: "The Miz" is a person in one, an organisation or
    nothing in the next. Spans of one surface take the label most of them have (a person
    wins a tie, and a person a rule found wins outright; other ties stay as they are), and
    every other whole-word, case-exact occurrence of a surface that is then a person becomes
    a person too.
    """
    votes: dict[str, Counter[str]] = {}
    for s in spans:
        if s.label in _COORDINATED:
            # A person a rule vouches for outweighs every reading of the model.
            weight = len(spans) if s.label == "PERSON" and s.start in sure else 1
            votes.setdefault(s.text, Counter())[s.label] += weight
    label_of: dict[str, str] = {}
    persons: list[str] = []
    for surface, count in votes.items():
        (first, n), *rest = count.most_common(2)
        if count["PERSON"] == n:  # a tie with a person: the safer reading, for a leak
            label_of[surface] = "PERSON"
            if len(surface) >= 3:
                persons.append(surface)
        elif not rest or rest[0][1] < n:
            label_of[surface] = first
    out = [
        Span(s.start, s.end, label_of[s.text], s.text)
        if s.label in _COORDINATED and label_of.get(s.text, s.label) != s.label
        else s
        for s in spans
    ]
    if not persons:
        return out
    pattern = re.compile("|".join(re.escape(p) for p in sorted(persons, key=len, reverse=True)))
    starts = [s.start for s in out]
    for m in pattern.finditer(text):
        a, b = m.span()
        i = bisect.bisect_left(starts, b)
        if whole_word(text, a, b) and not (i and out[i - 1].end > a):
            out.insert(i, Span(a, b, "PERSON", m.group()))
            starts.insert(i, a)
    return out


_GENERATION = re.compile(r"^[^\W\d_][\w'’\-]+(?: [^\W\d_][\w'’\-.]*){0,3},? (?:Jr|Sr|Jnr|Snr)\.?$")


def _person_like(text: str, span: Span) -> bool:
    """A model place or organisation that reads as a person: "Rock Hudson", "Enzo Ferrari"."""
    if _GENERATION.search(span.text):
        return True  # "Lon Chaney Jr", "Ken Griffey Sr."
    toks = [
        _Tok(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text, span.start, span.end)
    ]
    # The French lexicon only: with the world's first names, "Columbia Records" and "Pink
    # Floyd" became persons on WikiNEuRal (docs/quality.md).
    if not 2 <= len(toks) <= 4 or toks[0].caps or _fold(toks[0].text) not in _given_names():
        return False
    if _fold(toks[0].text) in _PLACE_NAMES or any(t.key in _COMPASS for t in toks):
        return False  # "France Inter", "Caroline du Sud"
    if not all(_name_word(t) or _is_particle(t) for t in toks) or _looks_like_job(toks):
        return False
    if any(t.caps or t.initials or t.key.split("-")[0] in _PLACE_WORDS for t in toks):
        return False  # "Paris Saint-Germain"; and "Louis XIV" reads as well as "Fiat SPA"
    prev = _WORD.findall(text[max(0, span.start - 30) : span.start])
    return not (prev and (_fold(prev[-1]) in _ARTICLES or _fold(prev[-1]) in _PLACE_WORDS))


def _ruled_person(text: str, span: Span, ruled: set[str], evidence: set[str]) -> bool:
    """A model place made only of words of names the rules found here ("Hendrik"), or a
    first name the model itself calls a person elsewhere in the document ("Olivier")."""
    keys = [_fold(m.group()) for m in _TOKEN.finditer(text, span.start, span.end)]
    keys = [k for k in keys if k not in _PARTICLES]
    if not keys or keys[0] in _PLACE_NAMES:
        return False
    if len(keys) == 1 and keys[0] in evidence and keys[0] in _given_names():
        return True
    return all(k in ruled for k in keys)


# ------------------------------------------------------------------------------ cleaning

# Characters no name holds: a model span containing one is cut there.
_CUT = re.compile(r"[\n\r|\t:;<>()\[\]«»\"“”•!?/@=+*#_]|\s[–—-]\s|\s{2,}|[–—]")
_EDGE_JUNK = re.compile(r"^[\s\"'«»“”‘’(\[,;:.–—-]+|[\s\"'«»“”‘’)\],;:–—-]+$")


def _fragments(text: str, span: Span) -> Iterator[Span]:
    pos = span.start
    cuts = [(m.start(), m.end()) for m in _CUT.finditer(text, span.start, span.end)]
    for a, b in [*cuts, (span.end, span.end)]:
        start, end = pos, a
        pos = b
        piece = text[start:end]
        head = _EDGE_JUNK.match(piece)
        if head:
            start += head.end()
        tail = _EDGE_JUNK.search(text[start:end])
        if tail and tail.start() > 0:
            end = start + tail.start()
        if sum(c.isalpha() for c in text[start:end]) >= 2:
            yield Span(start, end, span.label, text[start:end])


def _clean(text: str, span: Span) -> Iterator[tuple[Span, bool]]:
    """Cleaned pieces of a model span, each with whether it is the span's first piece."""
    for n, piece in enumerate(_fragments(text, span)):
        start, end, label = piece.start, piece.end, piece.label
        if label == "PERSON":
            # Greetings and titles the model took in: "Bonjour Marie", "Monsieur Girard".
            while True:
                m = _WORD.match(text, start, end)
                if m is None:
                    break
                if _fold(m.group()) in _GREETINGS and m.end() < end:
                    start = m.end()
                    while start < end and text[start] in " ,\u00a0":
                        start += 1
                    continue
                cut, _ = leading_title(text[start:end])
                if cut:
                    start += cut
                    continue
                break
            if _LEGAL_FORM.search(text[start:end]):
                label = "ORG"  # "Certifalp SARL"
        surface = text[start:end]
        if sum(c.isalpha() for c in surface) < 2:
            continue
        words = [_fold(w) for w in _WORD.findall(surface)]
        if not words:
            continue
        if len(words) == 1 and (
            words[0] in _FIELD_WORDS
            or words[0] in _CALENDAR
            or words[0] in _GREETINGS
            or words[0] in _JOB_WORDS
            or words[0] in _stop_words()
        ):
            continue  # "Cc", "Objet", "Madame", "Bonjour", "ENQUÊTEUR", "Lundi"
        if len(words) == 1 and surface.islower():
            continue  # "principal", "croyez": French capitalises names
        if _VERB_PRONOUN.match(text, end):
            continue  # "Pouvez-vous", "Croyez-moi": a verb, whatever its capital

        # A hyphen joins one word, which the model sometimes cuts: "Sophie Nguyen" of "Sophie
        # Nguyen-Lambert", "Xavier Dupont" of "François-Xavier Dupont", "Paris" of
        # "Paris-Nice". Half a compound left in clear is still readable (the leak check
        # found these on WikiNEuRal).
        while end + 1 < len(text) and text[end] in HYPHENS and text[end + 1].isalpha():
            end += 1
            while end < len(text) and (text[end].isalpha() or text[end] in "'’"):
                end += 1
        while start >= 2 and text[start - 1] in HYPHENS and text[start - 2].isalpha():
            start -= 1
            while start > 0 and (text[start - 1].isalpha() or text[start - 1] in "'’"):
                start -= 1
        surface = text[start:end]
        yield Span(start, end, label, surface), n == 0


_OPENING_QUOTE = re.compile(r"[\"«“][ \u00a0]*$")
_CLOSING_QUOTE = re.compile(r"[ \u00a0]*[\"»”]")


def _quoted(text: str, span: Span) -> bool:
    return bool(
        _OPENING_QUOTE.search(text, max(0, span.start - 3), span.start)
        and _CLOSING_QUOTE.match(text, span.end)
    )


def _drop(
    text: str, span: Span, first: bool, line: _Line, evidence: set[str], line_starts: set[int]
) -> bool:
    """A model span that is not a name after all."""
    words = [
        _Tok(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text, span.start, span.end)
    ]
    if not words:
        return True
    if span.label in ("PERSON", "ORG") and all(
        w.key in _JOB_WORDS or w.key in _PARTICLES or w.key in _stop_words() for w in words
    ):
        return True  # "Directeur Commercial", "Le Président", "Direction Générale"
    if span.label != "PERSON":
        return False
    if words[0].key in _JOB_WORDS and not _has_given(words):
        return True  # "Responsable Grands Comptes", "Directeur"
    if _quoted(text, span) and not _has_given(words):
        return True  # the whole of a quotation: a title (" Evita ", « Taggart »), not a person
    vouched = _has_given(words) or any(w.key in evidence for w in words)
    if not first and not vouched:
        return True  # "Marie – Lumen Études": what follows a cut is rarely the same name
    if all(w.caps or w.key in _PARTICLES for w in words) and _caps_line(text, line):
        return not vouched  # a heading in capitals
    if len(words) == 1 and span.start in line_starts and not vouched:
        key = words[0].key
        # "Rédigées par", "Pourquoi ...": a common word opening a line.
        return key in _stop_words() or key in _FIELD_WORDS
    return False


# ------------------------------------------------------------------------------ assembly


def _non_overlapping(spans: Iterable[Span], taken: list[tuple[int, int]]) -> list[Span]:
    """Spans that overlap neither `taken` nor each other: longest first, then leftmost."""
    kept: list[tuple[int, int]] = sorted(taken)
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start - s.end, s.start, s.label)):
        i = bisect.bisect_right(kept, (span.start, span.end))
        if i and kept[i - 1][1] > span.start:
            continue
        if i < len(kept) and kept[i][0] < span.end:
            continue
        kept.insert(i, (span.start, span.end))
        out.append(span)
    return out


def refine(
    text: str, patterns: list[Span], ner: list[Span], lists: Lists | None = None
) -> list[Span]:
    """The document's spans: patterns, then deny-list hits, then context rules, then NER."""
    lists = lists or Lists()
    lines = _lines(text)
    cleaned = [piece for span in ner for piece in _clean(text, span)]
    evidence = {
        _fold(t.group())
        for s, first in cleaned
        if first and s.label == "PERSON" and not s.text.isupper()
        for t in _TOKEN.finditer(s.text)
        if _fold(t.group()) not in _PARTICLES
    }
    found = _Found(text)
    _titles(text, found)
    _mail_headers(text, lines, found)
    _fields(text, lines, found)
    _speakers(text, lines, found, evidence)
    _comma_lists(text, lines, found, evidence)
    _list_blocks(text, lines, found)
    _tables(text, lines, found)
    _caps_pairs(text, lines, found)
    _greetings(text, found)
    contacts = sorted(s.start for s in patterns if s.label in ("ADDRESS", "EMAIL", "PHONE"))
    _signatures(text, lines, found, evidence, contacts)
    # Words of names the rules found: stronger than the model's, they may relabel its spans.
    ruled = {
        _fold(t.group())
        for s in found.spans
        if s.label == "PERSON"
        for t in _TOKEN.finditer(s.text)
        if _fold(t.group()) not in _PARTICLES
    }
    evidence |= ruled
    line_starts = {line.start for line in lines} | {
        m.end() for m in re.finditer(r"(?m)^[ \t]*(?:[-*•>#]+[ \t]*)+", text)
    }
    line_of = [line.start for line in lines]
    model: list[Span] = []
    sure: set[int] = set()  # starts of persons a rule vouches for: they win a document's vote
    for span, first in cleaned:
        line = lines[bisect.bisect_right(line_of, span.start) - 1]
        if span.label != "PERSON" and (
            _person_like(text, span)
            or _ruled_person(text, span, ruled, evidence)
            # Places only: "le pilote Force India" drives for a team.
            or (span.label == "LOCATION" and _after_role(text, span))
        ):
            span = Span(span.start, span.end, "PERSON", span.text)
            sure.add(span.start)
        if not _drop(text, span, first, line, evidence, line_starts):
            model.append(span)
    result = [s for s in patterns]
    taken = [(s.start, s.end) for s in result]
    for group in (lists.find(text), found.spans, model):
        added = _non_overlapping((s for s in group if not lists.allowed(s.text)), taken)
        result.extend(added)
        taken.extend((s.start, s.end) for s in added)
    lone = _Found(text)
    _lone_given(text, sorted(taken), lone)
    _given_pairs(text, sorted(taken), lone)
    _role_names(text, sorted(taken), lone)
    result.extend(_non_overlapping((s for s in lone.spans if not lists.allowed(s.text)), taken))
    sure.update(s.start for s in found.spans + lone.spans if s.label == "PERSON")
    return _consistent(text, _coordinated(text, sorted(result)), sure)

"""Word material for pseudonyms: name pools, the first-name gender lexicon, and the parts
the generators assemble places, organisations and invented names from.

Invariant: everything here is constant data; it never changes within a release, so a vault's
secret and a real value always lead to the same pseudonym candidates. Changing a list changes
the candidates of components not yet mapped, never a pseudonym a vault has already stored.

The pools come from ``data/*.txt`` (one name a line, ``#`` comments); docs/names.md says
where they come from and under which licence.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

Gender = Literal["f", "m"]

_DATA = Path(__file__).with_name("data")


def fold(text: str) -> str:
    """Case- and accent-insensitive key: "Jérôme" and "JEROME" both give "jerome"."""
    if text.isascii():  # most keys; nothing to decompose
        return text.casefold()
    return _fold_unicode(text)


@lru_cache(maxsize=1 << 16)  # pool names recur across millions of probes
def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _read(name: str) -> tuple[str, ...]:
    lines = (_DATA / name).read_text(encoding="utf-8").splitlines()
    return tuple(
        unicodedata.normalize("NFC", s) for line in lines if (s := line.strip()) and s[0] != "#"
    )


@cache
def female_given() -> tuple[str, ...]:
    """First names that are female in France (no unisex name)."""
    return _read("given_female.txt")


@cache
def male_given() -> tuple[str, ...]:
    """First names that are male in France (no unisex name)."""
    return _read("given_male.txt")


@cache
def unisex_given() -> tuple[str, ...]:
    """First names given to girls and boys alike: Camille, Dominique, Claude..."""
    return _read("given_unisex.txt")


@cache
def any_given() -> tuple[str, ...]:
    """Every first name, for when the real person's gender is unknown."""
    return female_given() + male_given() + unisex_given()


@cache
def surnames() -> tuple[str, ...]:
    """Surnames common in France, Belgium, Switzerland and Quebec."""
    return _read("surnames.txt")


@cache
def simple_surnames() -> tuple[str, ...]:
    """Surnames without a hyphen, so that two joined give "Martin-Lefort", never a triple."""
    return tuple(s for s in surnames() if "-" not in s)


@cache
def simple_given(gender: Gender) -> tuple[str, ...]:
    """Single first names of one gender: the second half of "Marie-Laure"."""
    pool = female_given() if gender == "f" else male_given()
    return tuple(s for s in pool if "-" not in s and " " not in s)


_SEPARATORS = re.compile(r"[\s\-\u2010\u2011]+")  # spaces, hyphens, Unicode hyphens


def _key(name: str) -> str:
    return _SEPARATORS.sub("-", name.strip()).strip("-")


@cache
def _lexicon() -> tuple[dict[str, Gender | None], dict[str, Gender | None]]:
    # Two tables: exact spelling first, so that "Michèle" (f) is not blurred by an
    # accentless spelling that also exists as a male name (Italian "Michele"); then
    # folded, for text typed without accents or in capitals.
    exact: dict[str, Gender | None] = {}
    folded: dict[str, Gender | None] = {}
    pools: list[tuple[tuple[str, ...], Gender]] = [(female_given(), "f"), (male_given(), "m")]
    for pool, gender in pools:
        for name in pool:
            for table, key in ((exact, _key(name).casefold()), (folded, fold(_key(name)))):
                # A name listed under both genders is unisex.
                table[key] = gender if table.get(key, gender) == gender else None
    for name in unisex_given():
        exact[_key(name).casefold()] = None
        folded[fold(_key(name))] = None
    return exact, folded


def _lookup(key: str) -> tuple[bool, Gender | None]:
    exact, folded = _lexicon()
    if key.casefold() in exact:
        return True, exact[key.casefold()]
    if fold(key) in folded:
        return True, folded[fold(key)]
    return False, None


def gender_of(given_name: str) -> Gender | None:
    """The usual gender of a French first name; None when unknown or unisex.

    Case- and accent-insensitive. A compound not in the lexicon takes the gender of its first
    part, as French usage does: "Jean-Marie" and "Pierre Alain" are male, "Marie-Ève" female.
    """
    key = _key(unicodedata.normalize("NFC", given_name))
    if not key:
        return None
    known, gender = _lookup(key)
    if known:
        return gender
    head = key.split("-", 1)[0]
    if head != key:
        return _lookup(head)[1]
    return None


# --- Parts for invented names ---------------------------------------------------------------
# French-sounding syllables: onset + vowel. Every onset is made of consonants and every vowel
# starts with a vowel letter, so a sequence of syllables reads back one way only, which keeps
# the count of distinct names equal to the product of the table sizes. Clusters ("br", "pl")
# only open a name: inside one they pile up into unpronounceable runs.
ONSETS: tuple[str, ...] = (
    "b", "c", "ch", "d", "f", "g", "j", "l", "m", "n", "p", "r",
    "s", "t", "v", "br", "cr", "dr", "fr", "gr", "pr", "tr", "bl", "pl",
)  # fmt: skip
INNER_ONSETS: tuple[str, ...] = (
    "b", "c", "ch", "d", "f", "g", "j", "l", "m", "n", "p", "r", "s", "t", "v",
)  # fmt: skip
VOWELS: tuple[str, ...] = (
    "a", "e", "i", "o", "u", "é", "ou", "au", "ai", "an", "on", "in", "eu",
)  # fmt: skip

# Endings; each starts with a consonant, so it follows a syllable cleanly.
SURNAME_ENDINGS: tuple[str, ...] = (
    "bert", "bin", "bois", "bon", "card", "chard", "chet", "chon", "court", "det", "don",
    "fort", "gnac", "gnon", "guet", "lard", "lat", "let", "lier", "lin", "lon", "lot", "mard",
    "mas", "mont", "nard", "naud", "net", "nier", "non", "quet", "rand", "rat", "reau", "ret",
    "rier", "rin", "ron", "rot", "roux", "ssac", "ssier", "ssin", "ssot", "tard", "teau", "tel",
    "tier", "tin", "ton", "vaud", "vel", "vert", "vier", "ville", "zac",
)  # fmt: skip
FEMALE_ENDINGS: tuple[str, ...] = (
    "line", "lise", "nette", "rine", "lie", "nie", "rie", "sette", "dine", "vie", "laine",
    "lène", "ne", "la", "na", "ra", "lia", "nia", "rielle", "belle", "delle", "ly", "lyne",
    "mée", "rence", "sine", "tine", "vianne", "xane", "zette", "gaëlle", "stelle", "thilde",
    "rette", "lette", "nelle",
)  # fmt: skip
MALE_ENDINGS: tuple[str, ...] = (
    "bert", "ric", "lin", "rand", "don", "card", "mond", "rien", "vin", "lien", "tin", "bin",
    "lo", "ro", "nel", "sel", "mir", "las", "ris", "tan", "bault", "gand", "lard", "lix",
    "maël", "nard", "noît", "phe", "stin", "thieu", "vald", "çois", "rick", "tien", "mas",
    "gier", "zian", "vier", "dric", "min",
)  # fmt: skip

# Female and male first names that often lead a French compound first name.
COMPOUND_HEADS: dict[Gender, tuple[str, ...]] = {
    "f": ("Marie", "Anne", "Rose", "Louise", "Claire", "Jeanne"),
    "m": ("Jean", "Pierre", "Louis", "Paul", "François", "Marc"),
}

# Towns: stem (prefix + suffix) and optional "-sur-Orne" / "-en-Bresse" tail, or a saint's name.
PLACE_PREFIXES: tuple[str, ...] = (
    "Val", "Mont", "Beau", "Bel", "Roche", "Font", "Ville", "Mar", "Cour", "Bois", "Lan", "Ker",
    "Plou", "Chau", "Bour", "Ver", "Mer", "Cha", "Sau", "Lor", "Sen", "Bre", "Gre", "Fla",
)  # fmt: skip
PLACE_SUFFIXES: tuple[str, ...] = (
    "morel", "fleury", "lac", "ville", "court", "mont", "ange", "ignac", "euil", "ay", "ac",
    "bourg", "nay", "mesnil", "rieux", "lieu", "ières", "ans", "oux", "ette", "elles", "ois",
    "erne", "enne", "ard", "igny", "ine", "ol", "ussac", "azac",
)  # fmt: skip
# Consonant-led, like the surname endings, so they follow an invented syllable cleanly.
PLACE_STEM_ENDINGS: tuple[str, ...] = (
    "ville", "court", "mont", "lac", "gnac", "ssac", "zac", "rac", "nay", "say", "lay", "ssy",
    "gny", "bourg", "lieu", "ceaux", "reuil", "teuil", "nes", "mes", "tot", "beuf", "fleur",
    "vaux", "champ",
)  # fmt: skip
RIVERS: tuple[str, ...] = (
    "Orne", "Loire", "Seine", "Marne", "Oise", "Aisne", "Meuse", "Saône", "Rhône", "Dordogne",
    "Vienne", "Cher", "Indre", "Sarthe", "Mayenne", "Vire", "Lot", "Tarn", "Aude", "Ain",
    "Isère", "Drôme", "Durance", "Garonne", "Charente", "Creuse", "Allier", "Yonne", "Aube",
    "Sèvre", "Vilaine", "Rance", "Dives", "Touques", "Risle", "Bresle", "Somme", "Authie",
    "Sambre", "Moselle", "Meurthe", "Vesle", "Ource", "Armançon", "Serein", "Cure", "Arroux",
    "Bienne", "Loue", "Doubs",
)  # fmt: skip
PAYS: tuple[str, ...] = (
    "Bresse", "Brie", "Caux", "Vexin", "Forez", "Velay", "Argonne", "Auge", "Bray", "Othe",
    "Morvan", "Santerre", "Vercors", "Royans", "Gâtinais", "Hurepoix", "Perche", "Queyras",
    "Chalosse", "Quercy",
)  # fmt: skip
PLACE_LINKS: tuple[str, ...] = ("sur", "lès", "sous")
SAINTS: dict[Gender, tuple[str, ...]] = {
    "m": (
        "Aubin", "Martin", "Germain", "Julien", "Hilaire", "Laurent", "Pierre", "Denis",
        "Georges", "Étienne", "Médard", "Cyr", "Rémy", "Quentin", "Amand", "Bonnet", "Jory",
        "Léger", "Vincent", "Sauveur", "Gervais", "Maurice", "Ouen", "Clair", "Lubin", "Avit",
        "Brice", "Éloi", "Fiacre", "Gildas",
    ),
    "f": (
        "Marie", "Anne", "Catherine", "Geneviève", "Foy", "Colombe", "Hélène", "Marguerite",
        "Radegonde", "Agathe", "Solange", "Odile", "Gemme", "Luce", "Reine", "Eulalie",
    ),
}  # fmt: skip

# Organisations: a kind word and an invented brand ("Groupe Verlane").
ORG_KINDS: tuple[str, ...] = (
    "Groupe", "Ateliers", "Société", "Cabinet", "Laboratoires", "Établissements", "Compagnie",
    "Institut", "Association", "Fondation", "Transports", "Éditions", "Clinique", "Mutuelle",
    "Agence", "Conseil", "Industries", "Menuiserie", "Boulangerie", "Garage", "Pharmacie",
    "Librairie", "Studio", "Coopérative", "Centre", "Cercle", "Union", "Réseau", "Collectif",
    "Imprimerie",
)  # fmt: skip
ORG_TAILS: tuple[str, ...] = ("& Associés", "et Fils", "Frères", "et Cie")
LEGAL_FORMS: tuple[str, ...] = ("SA", "SAS", "SARL", "SCOP")
BRAND_ENDINGS: tuple[str, ...] = (
    "ane", "ic", "ix", "on", "eo", "is", "al", "ex", "or", "ys", "en", "ia", "ea", "ine",
    "ence", "ac",
)  # fmt: skip

# Fictional theme: names that cannot pass for real ones. The first onset is always one of
# these rare-in-French clusters, which is what makes the name read as invented.
FICTION_HEADS: tuple[str, ...] = (
    "z", "q", "x", "k", "y", "w", "th", "zh", "kr", "vr", "gw", "sk",
)  # fmt: skip
FICTION_HEAD_VOWELS: tuple[str, ...] = ("a", "e", "i", "o", "u", "y", "ae", "ia", "oa", "ui")
FICTION_ONSETS: tuple[str, ...] = ("l", "m", "n", "r", "v", "z", "k", "th", "s", "d")
FICTION_VOWELS: tuple[str, ...] = ("a", "e", "i", "o", "u", "y")
FICTION_SURNAME_ENDINGS: tuple[str, ...] = (
    "bell", "vane", "rax", "zorn", "lith", "kane", "rek", "dov", "nard", "wyn", "vix", "thur",
    "resh", "grim", "quell", "zar", "mond", "vask", "dril", "lorn",
)  # fmt: skip
FICTION_FEMALE_ENDINGS: tuple[str, ...] = (
    "vane", "lia", "rys", "zelle", "nith", "rah", "mira", "thea", "lune", "wen", "xa",
    "ndra", "sha", "vie", "rissa", "lyth",
)  # fmt: skip
FICTION_MALE_ENDINGS: tuple[str, ...] = (
    "vor", "rian", "dius", "zek", "ros", "thar", "kim", "ron", "dul", "vax", "rok", "xis",
    "mund", "grim", "lon", "zan",
)  # fmt: skip
FICTION_PLACE_HEADS: tuple[str, ...] = ("Port", "Val", "Mont", "Fort", "Havre", "Roc", "Bourg")
FICTION_PLACE_ENDINGS: tuple[str, ...] = (
    "rin", "zar", "quel", "vanne", "thys", "kor", "lune", "drax", "miel", "zonde",
)  # fmt: skip

# Addresses.
STREET_KINDS: tuple[str, ...] = (
    "rue", "avenue", "boulevard", "allée", "impasse", "chemin", "place", "route", "quai",
    "square", "cours", "passage",
)  # fmt: skip
STREET_NAMES: tuple[str, ...] = (
    "des Tilleuls", "du Moulin", "de la Gare", "des Écoles", "de l'Église", "du Château",
    "des Lilas", "Pasteur", "Victor Hugo", "Jean Jaurès", "de la République", "des Acacias",
    "du Stade", "des Peupliers", "du Lavoir", "de la Fontaine", "des Vignes", "du Four",
    "de la Poste", "des Jardins", "du Pont", "de la Mairie", "des Prés", "du Bois",
    "des Érables", "des Châtaigniers", "du Parc", "de la Forge", "des Champs", "du Puits",
    "de la Croix", "des Sources", "du Verger", "des Charmes", "des Cerisiers", "des Roses",
    "des Mésanges", "des Hirondelles", "du Marché", "de la Liberté", "de la Paix",
    "du Général Leclerc", "du Maréchal Foch", "Gambetta", "Voltaire", "Molière", "Jean Moulin",
    "Émile Zola", "Anatole France", "Paul Bert", "Jules Ferry", "de Verdun", "du 8 Mai 1945",
    "du 11 Novembre", "des Marronniers", "de la Chapelle", "du Calvaire", "des Coquelicots",
    "de la Vallée", "du Vieux Pont", "des Aubépines", "de la Halle", "des Templiers",
    "du Clos", "des Noyers", "de la Tuilerie", "des Sablons", "de la Prairie", "des Bleuets",
    "du Commerce",
)  # fmt: skip

EMAIL_TLDS: tuple[str, ...] = ("fr", "com", "net", "org", "eu")
URL_PATHS: tuple[str, ...] = (
    "", "accueil", "contact", "actualites", "produits", "services", "equipe", "a-propos",
    "documents", "espace-client",
)  # fmt: skip

"""Pattern recognizers: what each label accepts, what it must leave alone, canonical forms.

Every value is fictional: ARCEP's fiction ranges (01 99 00, 06 39 98), the textbook IBANs,
and identifiers whose check digits are computed here with python-stdnum.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.fr import nir

from twophase.detection.recognizers import RECOGNIZERS, VERSION, canonical, find_patterns
from twophase.spans import Span


def _luhn_complete(stem: str) -> str:
    return stem + luhn.calc_check_digit(stem)


SIREN = _luhn_complete("12345678")  # 123456782
SIRET = _luhn_complete(SIREN + "0001")  # 14 digits
CARD = _luhn_complete("497010123456789")  # 16 digits, Visa-like
NIR = "1850578006084" + nir.calc_check_digits("1850578006084")
NIR_CORSICA = "290012A123456" + nir.calc_check_digits("290012A123456")


def _wrong_last_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def _grouped(digits: str, sizes: tuple[int, ...], sep: str = " ") -> str:
    out, i = [], 0
    for size in sizes:
        out.append(digits[i : i + size])
        i += size
    return sep.join(out)


def found(text: str) -> list[tuple[str, str]]:
    spans = find_patterns(text)
    for span in spans:
        assert text[span.start : span.end] == span.text
    return [(s.label, s.text) for s in spans]


def assert_only(text: str, label: str, surface: str) -> None:
    """`text` holds exactly one entity: `surface`, labelled `label`, at its first occurrence."""
    spans = find_patterns(text)
    start = text.index(surface)
    assert spans == [Span(start, start + len(surface), label, surface)], found(text)


def in_sentence(surface: str) -> str:
    return f"Pour le dossier, voici la donnée : {surface}. Merci de vérifier."


# --- PHONE -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    [
        "06 39 98 12 34",
        "06.39.98.12.34",
        "06-39-98-12-34",
        "0639981234",
        "01 99 00 12 34",
        "+33 6 39 98 12 34",
        "+33 (0)6 39 98 12 34",
        "+33639981234",
        "0033 1 99 00 12 34",
        "06\u00a039\u00a098\u00a012\u00a034",
        "+44 20 7946 0958",
        "+1 202 555 0143",
    ],
)
def test_phone_accepted(surface: str) -> None:
    assert_only(in_sentence(surface), "PHONE", surface)


@pytest.mark.parametrize(
    "text",
    [
        "Référence 0712345678 du dossier.",  # 07 1x is not allocated: invalid for FR
        "Numéro 06 39 99 12 34.",  # beside ARCEP's fiction block, and not allocated
        "Série 06 39 98 12 34 56 78.",  # part of a longer spaced run
        "Code 106 39 98 12 34 ici.",  # glued to a leading digit
        "Lot 0639981234567.",  # inside a longer digit run
        "Compteur 1234567890.",  # no leading 0, no +
        "Compteur 00 12 34 56 78.",
        "Appel +33 6 39 9 ?",  # too short
    ],
)
def test_phone_rejected(text: str) -> None:
    assert [label for label, _ in found(text)] == []


def test_arcep_fiction_mobile_range_counts_as_a_phone() -> None:
    # libphonenumber calls 06 39 98 invalid; the examples and corpora use it.
    assert found("Portable : 06 39 98 50 08.") == [("PHONE", "06 39 98 50 08")]
    assert canonical("PHONE", "06 39 98 50 08") == "+33639985008"


def test_phone_followed_by_a_street_number_keeps_only_the_number() -> None:
    text = "Joindre +44 20 7946 0958 12 fois."
    assert ("PHONE", "+44 20 7946 0958") in found(text)


# --- EMAIL -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    [
        "jean.dupont@example.fr",
        "Marie-Claire.O_Neil+test@sub.exemple.fr",
        "CONTACT@EXEMPLE.COM",
        "d.lefevre@mairie-exemple.gouv.fr",
    ],
)
def test_email_accepted(surface: str) -> None:
    assert_only(in_sentence(surface), "EMAIL", surface)


def test_email_excludes_sentence_punctuation_and_brackets() -> None:
    assert found("Écrire à <jean@example.fr>.") == [("EMAIL", "jean@example.fr")]
    assert found("(jean@example.fr)") == [("EMAIL", "jean@example.fr")]


@pytest.mark.parametrize(
    "text",
    ["jean@localhost", "@example.fr", "jean@.fr", "jean.@example.fr", "x@example.c", "a @ b.fr"],
)
def test_email_rejected(text: str) -> None:
    assert found(text) == []


# --- IBAN --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    [
        "FR76 3000 6000 0112 3456 7890 189",
        "FR7630006000011234567890189",
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
    ],
)
def test_iban_accepted(surface: str) -> None:
    assert_only(in_sentence(surface), "IBAN", surface)


def test_iban_before_a_bic_code_stops_at_the_last_group() -> None:
    text = "IBAN FR76 3000 6000 0112 3456 7890 189 BIC AGRIFRPP"
    assert found(text) == [("IBAN", "FR76 3000 6000 0112 3456 7890 189")]


@pytest.mark.parametrize(
    "text",
    [
        "IBAN FR76 3000 6000 0112 3456 7890 188",  # checksum broken
        "IBAN FR77 3000 6000 0112 3456 7890 189",
        "IBAN fr76 3000 6000 0112 3456 7890 189",  # lower case is not how IBANs are written
        "IBAN XFR76 3000 6000 0112 3456 7890 189",
    ],
)
def test_iban_rejected(text: str) -> None:
    assert [label for label, _ in found(text)] == []


# --- NIR ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    [
        NIR,
        _grouped(NIR, (1, 2, 2, 2, 3, 3, 2)),
        _grouped(NIR_CORSICA, (1, 2, 2, 2, 3, 3, 2)),
        _grouped(NIR, (1, 2, 2, 2, 3, 3, 2), "\u00a0"),
    ],
)
def test_nir_accepted(surface: str) -> None:
    assert_only(f"N° de sécurité sociale : {surface}", "NIR", surface)


@pytest.mark.parametrize(
    "surface",
    [
        _grouped(_wrong_last_digit(NIR), (1, 2, 2, 2, 3, 3, 2)),  # key broken
        "5" + NIR[1:],  # no NIR starts with 5
        NIR + "7",  # longer run
        NIR[:13],  # no key
    ],
)
def test_nir_rejected(surface: str) -> None:
    assert "NIR" not in [label for label, _ in found(f"N° de sécurité sociale : {surface}")]


# --- SIRET / SIREN -----------------------------------------------------------------------
@pytest.mark.parametrize("surface", [SIRET, _grouped(SIRET, (3, 3, 3, 5))])
def test_siret_accepted_without_context(surface: str) -> None:
    assert_only(f"Établissement {surface}, Lyon.", "SIRET", surface)


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        (f"RCS Lyon {_grouped(SIREN, (3, 3, 3))}", _grouped(SIREN, (3, 3, 3))),
        (f"SIREN : {SIREN}", SIREN),
        (f"Société immatriculée sous le numéro {SIREN}", SIREN),
        (f"Inscrite au RCS de Boulogne-sur-Mer sous le numéro {SIREN}", SIREN),
        (f"n° {SIREN}", SIREN),
    ],
)
def test_siren_accepted_after_a_context_word(text: str, surface: str) -> None:
    assert_only(text, "SIREN", surface)


def test_siren_needs_a_context_word() -> None:
    assert found(f"Commande {SIREN} livrée.") == []
    far = f"SIREN. {'x' * 60} {SIREN}"
    assert found(far) == []


def test_siren_is_not_cut_out_of_a_siret() -> None:
    text = f"SIREN et SIRET : {_grouped(SIRET, (3, 3, 3, 5))}"
    assert found(text) == [("SIRET", _grouped(SIRET, (3, 3, 3, 5)))]


@pytest.mark.parametrize(
    "number", [_wrong_last_digit(SIRET), _grouped(_wrong_last_digit(SIRET), (3, 3, 3, 5))]
)
def test_siret_rejected_on_luhn(number: str) -> None:
    assert found(f"SIRET {number}") == []


def test_siren_rejected_on_luhn() -> None:
    assert found(f"RCS Lyon {_wrong_last_digit(SIREN)}") == []


def test_luhn_valid_14_digits_is_a_siret_not_a_card() -> None:
    siret = _luhn_complete(_luhn_complete("49701012") + "0001")  # starts like a Visa card
    assert found(f"Numéro {siret}.") == [("SIRET", siret)]


# --- CARD --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    [
        CARD,
        _grouped(CARD, (4, 4, 4, 4)),
        _grouped(CARD, (4, 4, 4, 4), "-"),
        "3782 822463 10005",  # Amex layout, the issuers' public test number
        _luhn_complete("541234567890123"),
    ],
)
def test_card_accepted(surface: str) -> None:
    assert_only(f"Carte bancaire {surface} expirant fin 2026", "CARD", surface)


@pytest.mark.parametrize(
    "surface",
    [
        _wrong_last_digit(CARD),
        _grouped(_wrong_last_digit(CARD), (4, 4, 4, 4)),
        _luhn_complete("912345678901234"),  # no card issuer starts with 9
        CARD + "12345",  # 21 digits
        _grouped(CARD, (4, 4, 4, 4)) + " 77",
    ],
)
def test_card_rejected(surface: str) -> None:
    assert "CARD" not in [label for label, _ in found(f"Carte {surface} ok")]


# --- IP ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    ["192.168.1.10", "10.0.0.1", "2001:db8::1", "fe80::1ff:fe23:4567:890a", "::ffff:192.0.2.1"],
)
def test_ip_accepted(surface: str) -> None:
    assert_only(f"Connexion depuis {surface}, refusée.", "IP", surface)


def test_ipv6_before_a_colon_drops_the_colon() -> None:
    assert found("hôte fe80::1: injoignable") == [("IP", "fe80::1")]


@pytest.mark.parametrize(
    "text",
    ["999.1.1.1", "1.2.3", "1.2.3.4.5", "version 01.02.03.04", "rendez-vous à 12:30:45", "a::b"],
)
def test_ip_rejected(text: str) -> None:
    assert found(text) == []


# --- URL ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    [
        "https://www.example.fr/page?id=3",
        "http://example.com",
        "www.exemple.fr/contact",
        "https://fr.wikipedia.org/wiki/Lyon_(ville)",
        "HTTPS://EXEMPLE.FR/X",
        "http://192.0.2.1:8080/admin",
    ],
)
def test_url_accepted(surface: str) -> None:
    assert_only(f"Voir {surface}.", "URL", surface)


@pytest.mark.parametrize("text", ["http:// rien", "www.x", "https://localhost_", "xwww.exemple.fr"])
def test_url_rejected(text: str) -> None:
    assert found(text) == []


def test_url_takes_precedence_over_the_ip_inside_it() -> None:
    assert found("http://192.0.2.1/x") == [("URL", "http://192.0.2.1/x")]


# --- ADDRESS -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    [
        "12 rue de la Paix",
        "12 bis, avenue Jean Jaurès, 69007 Lyon",
        "3 bd Saint-Germain\n75005 Paris",
        "45 chemin des vignes",
        "8 place de la Concorde 75008 Paris Cedex 08",
        "1 rue du 8 Mai 1945, 75010 Paris",
        "18 rue Paul-Bert, 69003 Lyon",
        "7 impasse de l'Église",
        "5 quai Saint-Vincent, 69001 Lyon",
        "22 allée des Tilleuls",
    ],
)
def test_address_accepted(surface: str) -> None:
    assert_only(f"Il demeure au {surface}. Il y vit seul.", "ADDRESS", surface)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "18 rue Paul-Bert, 69003 Lyon Tél. : 01 99 00 27 41",
            [("ADDRESS", "18 rue Paul-Bert, 69003 Lyon"), ("PHONE", "01 99 00 27 41")],
        ),
        (
            "12 rue Victor Hugo 06 39 98 12 34",
            [("ADDRESS", "12 rue Victor Hugo"), ("PHONE", "06 39 98 12 34")],
        ),
        ("3 place du 19 Mars 1962 à Lyon", [("ADDRESS", "3 place du 19 Mars 1962")]),
        ("12 rue de la Paix – 75002 Paris", [("ADDRESS", "12 rue de la Paix – 75002 Paris")]),
        ("3 rue Haute, 76600 Le Havre, France", [("ADDRESS", "3 rue Haute, 76600 Le Havre")]),
    ],
)
def test_street_name_does_not_swallow_what_follows(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert found(text) == expected


def test_address_stops_before_the_rest_of_the_sentence() -> None:
    text = "Il habite au 12 rue des lilas et travaille à Lyon."
    assert found(text) == [("ADDRESS", "12 rue des lilas")]


@pytest.mark.parametrize(
    "text",
    [
        "Il a suivi 2 cours particuliers.",  # "cours" is a noun here
        "Il reste 3 places libres.",
        "75011 Paris",  # a postcode line alone is not an address
        "Voir l'article 12 rue.",
        "12 rue",
    ],
)
def test_address_rejected(text: str) -> None:
    assert found(text) == []


# --- BIRTHDATE ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("Il est né le 3 mars 1985 à Lyon.", "3 mars 1985"),
        ("née le 03/03/1985", "03/03/1985"),
        ("Date de naissance : 1985-03-03", "1985-03-03"),
        ("née le 1er janvier 1990", "1er janvier 1990"),
        ("né(e) le 12.07.1979", "12.07.1979"),
        ("Née à Lyon (69) le 14 juillet 1985", "14 juillet 1985"),
        ("NÉE LE 3 MARS 1985", "3 MARS 1985"),
        ("NEE LE 03/03/1985", "03/03/1985"),
        ("DDN : 03/03/85", "03/03/85"),
        ("né le 5 févr. 1961", "5 févr. 1961"),
    ],
)
def test_birthdate_accepted(text: str, surface: str) -> None:
    assert_only(text, "BIRTHDATE", surface)


@pytest.mark.parametrize(
    "text",
    [
        "né en 1985, marié le 3 juin 2010",  # the wedding date is not a birthdate
        "Réunion le 3 mars 1985.",  # no cue
        "né le 31/02/1985",  # not a calendar date
        "Il ne le 3 mars 1985 savait pas.",  # "ne" is a negation
        "né le 3 mars",  # no year
        "née à Lyon. Le 3 mars 1985, elle part.",  # the sentence ended
        "année 03/03/1985",  # "né" inside a word
    ],
)
def test_birthdate_rejected(text: str) -> None:
    assert found(text) == []


# --- PLATE -------------------------------------------------------------------------------
@pytest.mark.parametrize("surface", ["AB-123-CD", "AB 123 CD", "GH-456-JK", "WW-123-AA"])
def test_plate_accepted(surface: str) -> None:
    assert_only(f"Véhicule immatriculé {surface}, contrôlé.", "PLATE", surface)


@pytest.mark.parametrize(
    "text",
    [
        "AB-000-CD",  # block 000 is never issued
        "SS-123-AB",
        "AB-123-SS",
        "AI-123-CD",  # I, O and U are not used
        "AB-123-CU",
        "ab-123-cd",
        "AB-123-CDE",
        "XAB-123-CD",
        "AB-123 CD",  # mixed separators
        "ARTICLE LE 123 DE LA LOI",  # capitals of a heading, not a plate
    ],
)
def test_plate_rejected(text: str) -> None:
    assert found(text) == []


# --- canonical ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "surface",
    ["06 39 98 12 34", "+33 6 39 98 12 34", "+33 (0)6 39 98 12 34", "06.39.98.12.34", "0639981234"],
)
def test_phone_spellings_share_one_canonical_form(surface: str) -> None:
    assert canonical("PHONE", surface) == "+33639981234"


@pytest.mark.parametrize(
    ("label", "surface", "expected"),
    [
        ("PHONE", "+44 20 7946 0958", "+442079460958"),
        ("EMAIL", "Jean.Dupont@Example.FR", "jean.dupont@example.fr"),
        ("IBAN", "fr76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
        ("NIR", "1 85 05 78 006 084 91", "185057800608491"),
        ("NIR", "2 90 01 2a 123 456 62", "290012A12345662"),
        ("SIRET", "123 456 782 00010", "12345678200010"),
        ("SIREN", "123.456.782", "123456782"),
        ("CARD", "4970-1012-3456-7893", "4970101234567893"),
        ("PLATE", "ab 123 cd", "AB123CD"),
        ("IP", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("IP", "192.168.1.10", "192.168.1.10"),
        ("URL", "HTTPS://Example.FR/Page?Q=1", "https://example.fr/Page?Q=1"),
        ("URL", "https://example.fr/", "https://example.fr"),
        ("URL", "www.Exemple.fr/A", "www.exemple.fr/A"),
        ("ADDRESS", "12, rue  de la Paix\n75002 PARIS", "12 rue de la paix 75002 paris"),
        ("ADDRESS", "7 impasse de l’Église", "7 impasse de l'église"),
        ("BIRTHDATE", "3 mars 1985", "1985-03-03"),
        ("BIRTHDATE", "1er Janvier 1990", "1990-01-01"),
        ("BIRTHDATE", "03/03/1985", "1985-03-03"),
        ("BIRTHDATE", "3.3.1985", "1985-03-03"),
        ("BIRTHDATE", "1985-03-03", "1985-03-03"),
        ("BIRTHDATE", "5 août 1961", "1961-08-05"),
        ("BIRTHDATE", "03/03/85", "03/03/85"),  # century unknown: left as written
    ],
)
def test_canonical(label: str, surface: str, expected: str) -> None:
    assert canonical(label, surface) == expected


@pytest.mark.parametrize(
    "surface",
    [
        "12, rue de la Paix\n75002 PARIS",
        "12 rue de la Paix – 75002 Paris",
        "12 RUE DE LA PAIX 75002 PARIS",
    ],
)
def test_canonical_groups_the_mentions_of_one_address(surface: str) -> None:
    assert canonical("ADDRESS", surface) == canonical("ADDRESS", "12 rue de la Paix, 75002 Paris")


def test_canonical_keeps_the_hyphens_inside_a_street_name() -> None:
    assert canonical("ADDRESS", "18 rue Paul-Bert") == "18 rue paul-bert"


# --- the whole -----------------------------------------------------------------------------
PARAGRAPH = (
    "Madame Claire Fictive, née le 3 mars 1985 à Lyon, demeurant 12 bis rue de la "
    "République, 69002 Lyon, joignable au 06 39 98 12 34 ou au +33 (0)1 99 00 12 35, "
    "courriel claire.fictive@example.fr.\n"
    "Virement sur FR76 3000 6000 0112 3456 7890 189 ; NIR "
    + _grouped(NIR, (1, 2, 2, 2, 3, 3, 2))
    + ". La société est immatriculée au RCS de Lyon sous le n° "
    + _grouped(SIREN, (3, 3, 3))
    + ", SIRET "
    + _grouped(SIRET, (3, 3, 3, 5))
    + ".\n"
    "Carte " + _grouped(CARD, (4, 4, 4, 4)) + ", véhicule AB-123-CD, connexion depuis "
    "192.168.1.10 ; détails sur https://www.example.fr/dossier?id=3.\n"
    "Rien ici : 2 cours particuliers, le 12 mars 2024, 1 500 000 euros, article 1240."
)


def test_french_paragraph_mixing_every_type() -> None:
    assert found(PARAGRAPH) == [
        ("BIRTHDATE", "3 mars 1985"),
        ("ADDRESS", "12 bis rue de la République, 69002 Lyon"),
        ("PHONE", "06 39 98 12 34"),
        ("PHONE", "+33 (0)1 99 00 12 35"),
        ("EMAIL", "claire.fictive@example.fr"),
        ("IBAN", "FR76 3000 6000 0112 3456 7890 189"),
        ("NIR", _grouped(NIR, (1, 2, 2, 2, 3, 3, 2))),
        ("SIREN", _grouped(SIREN, (3, 3, 3))),
        ("SIRET", _grouped(SIRET, (3, 3, 3, 5))),
        ("CARD", _grouped(CARD, (4, 4, 4, 4))),
        ("PLATE", "AB-123-CD"),
        ("IP", "192.168.1.10"),
        ("URL", "https://www.example.fr/dossier?id=3"),
    ]


def test_empty_and_plain_text_have_nothing() -> None:
    assert find_patterns("") == []
    assert find_patterns("Bonjour, rien à signaler dans ce compte rendu.") == []


def test_module_constants() -> None:
    assert list(RECOGNIZERS) == sorted(RECOGNIZERS)
    assert set(RECOGNIZERS) == {
        "ADDRESS", "BIRTHDATE", "CARD", "EMAIL", "IBAN", "IP",
        "NIR", "PHONE", "PLATE", "SIREN", "SIRET", "URL",
    }  # fmt: skip
    assert isinstance(VERSION, str) and VERSION


# --- properties --------------------------------------------------------------------------
def _check_invariants(text: str) -> None:
    spans = find_patterns(text)
    for span in spans:
        assert span.label in RECOGNIZERS
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == span.text
        canonical(span.label, span.text)  # must not raise either
    for left, right in itertools.pairwise(spans):
        assert left.end <= right.start


# Characters that the recognizers care about, so that random text often comes close.
_NEAR_MISS = st.text(alphabet="0123456789 .-+()@:/\nABCDFRSWaehlnprtuwé°", max_size=200)
_SAMPLES = [
    "06 39 98 12 34",
    "+33 6 39 98 12 34",
    "FR76 3000 6000 0112 3456 7890 189",
    _grouped(NIR, (1, 2, 2, 2, 3, 3, 2)),
    SIRET,
    "RCS Lyon " + SIREN,
    _grouped(CARD, (4, 4, 4, 4)),
    "jean@example.fr",
    "https://example.fr/a",
    "192.168.1.10",
    "fe80::1",
    "12 rue de la Paix, 75002 Paris",
    "née le 3 mars 1985",
    "AB-123-CD",
    "2024",
    "12",
    "Lyon",
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), _NEAR_MISS))
def test_spans_are_sorted_disjoint_and_match_the_text(text: str) -> None:
    _check_invariants(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_SAMPLES), st.sampled_from(["", " ", "\n", ", ", "-", "."])),
        max_size=12,
    )
)
def test_glued_entities_still_give_disjoint_spans(parts: list[tuple[str, str]]) -> None:
    _check_invariants("".join(sample + sep for sample, sep in parts))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(RECOGNIZERS), st.one_of(st.text(max_size=60), _NEAR_MISS))
def test_canonical_never_raises(label: str, surface: str) -> None:
    # assign also canonicalises pseudonyms and vault entries, not only detected spans.
    assert isinstance(canonical(label, surface), str)

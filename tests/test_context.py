"""Context rules on small French snippets: no model, the rules alone (detection/context/)."""

from __future__ import annotations

import itertools

import pytest

from twophase.detection.context import refine
from twophase.detection.lists import Lists
from twophase.spans import Span


def persons(
    text: str, ner: list[Span] | None = None, patterns: list[Span] | None = None
) -> list[str]:
    return [s.text for s in refine(text, patterns or [], ner or []) if s.label == "PERSON"]


def labelled(text: str, ner: list[Span] | None = None) -> list[tuple[str, str]]:
    return [(s.label, s.text) for s in refine(text, [], ner or [])]


def model(text: str, surface: str, label: str = "PERSON") -> Span:
    start = text.index(surface)
    return Span(start, start + len(surface), label, surface)


def test_a_title_announces_a_name_and_stays_outside_the_span() -> None:
    text = "Réunion avec M. Jean-Baptiste de Villiers, Mme Dubois et Dr Martin."
    assert persons(text) == ["Jean-Baptiste de Villiers", "Dubois", "Martin"]


def test_a_title_in_capitals_takes_the_name_not_the_sentence() -> None:
    assert persons("M. DUBOIS N'A PAS RENDU SON BADGE.") == ["DUBOIS"]


def test_a_title_before_a_function_is_no_name() -> None:
    assert persons("Monsieur le Maire ouvre la séance. Madame, Monsieur, bonjour.") == []


def test_speaker_turns_are_names_and_roles_are_not() -> None:
    text = (
        "GAUTHIER : Bonjour.\nLEFÈVRE : Oui.\nGAUTHIER : Et alors ?\nLEFÈVRE : Non.\n"
        "ENQUÊTEUR : Merci.\nQ : Oui ?\nR : Non.\nMarie Dubois : Au revoir.\n"
    )
    assert persons(text) == ["GAUTHIER", "LEFÈVRE", "GAUTHIER", "LEFÈVRE", "Marie Dubois"]


def test_name_fields_and_role_fields() -> None:
    text = "Nom : Dubois\nPrénom : Marie\nEnquêtrice : K. Benali (Lumen)\nDate : 3 mars\n"
    assert persons(text) == ["Dubois", "Marie", "K. Benali"]


def test_a_company_in_a_client_field_is_no_person() -> None:
    assert persons("**Client :** Transports Rhodaniens SA\n") == []


def test_mail_headers_with_outlook_order_and_service_mailboxes() -> None:
    text = (
        "De : Marie Dubois <m@x.fr>\n"
        "À : Dubois, Marie <a@b.fr>; Martin, Jean-Pierre <c@d.fr>\n"
        "Cc : Support Informatique <s@x.fr>\n"
        "Objet : RE: Facture\n"
    )
    assert persons(text) == ["Marie Dubois", "Dubois, Marie", "Martin, Jean-Pierre"]


def test_signature_after_a_closing_and_before_a_job_title() -> None:
    text = (
        "Merci de votre retour.\n\nBien cordialement,\n\nLucie Marchand\nTechnicienne Support\n\n"
        "Hendrik\n\nHendrik Van der Berg\nDirecteur Commercial\n"
    )
    found = persons(text, [model(text, "Hendrik Van der Berg")])
    assert found == ["Lucie Marchand", "Hendrik", "Hendrik Van der Berg"]


def test_a_name_above_an_address_is_a_letterhead() -> None:
    text = "Thi Mai Nguyen\n9 rue des Tanneurs, 38000 Grenoble\n\nMadame, Monsieur,\n"
    address = model(text, "9 rue des Tanneurs, 38000 Grenoble", "ADDRESS")
    assert persons(text, patterns=[address]) == ["Thi Mai Nguyen"]


def test_capitals_next_to_a_first_name() -> None:
    text = "Étaient là DUBOIS Marie, NGUYEN-LAMBERT Sophie et Pierre LE GOFF."
    assert persons(text) == ["DUBOIS Marie", "NGUYEN-LAMBERT Sophie", "Pierre LE GOFF"]


def test_family_comma_given_lines_in_an_attendee_list() -> None:
    text = (
        "PRÉSENTS\nde Villiers, Jean-Baptiste — Président\n"
        "Van der Berg, Hendrik — Directeur Commercial\n"
    )
    assert persons(text) == ["de Villiers, Jean-Baptiste", "Van der Berg, Hendrik"]


def test_a_role_after_the_comma_is_not_a_given_name() -> None:
    text = "Animateur : GAUTHIER Pierre-Yves, Chargé de Mission Mobilité\n"
    assert persons(text) == ["GAUTHIER Pierre-Yves"]


def test_table_columns_headed_nom_and_societe() -> None:
    text = (
        "| Nom | Fonction | Organisation |\n|---|---|---|\n"
        "| Anne de La Fontaine | DRH | Transports Rhodaniens |\n\n"
        "DATE ; NOM PRÉNOM ; SOCIÉTÉ\n15/04 ; DA SILVA JOÃO ; ALPES INDUSTRIE\n"
        "19/04 ; MARTIN (LIVREUR) ; CERTIFALP\n"
    )
    assert labelled(text) == [
        ("PERSON", "Anne de La Fontaine"),
        ("ORG", "Transports Rhodaniens"),
        ("PERSON", "DA SILVA JOÃO"),
        ("ORG", "ALPES INDUSTRIE"),
        ("PERSON", "MARTIN"),
        ("ORG", "CERTIFALP"),
    ]


def test_model_spans_are_cut_at_line_breaks_pipes_and_greetings() -> None:
    text = "Bonjour Marie,\nJ.-P. Martin\nDirecteur\n| Jean-Pierre Martin | DRH |\n"
    ner = [
        model(text, "Bonjour Marie"),
        model(text, "J.-P. Martin\nDirecteur"),
        model(text, "Jean-Pierre Martin | DRH"),
    ]
    assert persons(text, ner) == ["Marie", "J.-P. Martin", "Jean-Pierre Martin"]


def test_header_letters_and_field_words_are_not_places() -> None:
    text = "Q : Où habitez-vous ?\nR : À Lyon.\nCc : personne\n"
    ner = [
        model(text, "Q", "LOCATION"),
        model(text, "Cc", "LOCATION"),
        model(text, "Lyon", "LOCATION"),
    ]
    assert labelled(text, ner) == [("LOCATION", "Lyon")]


def test_job_titles_headings_and_line_start_words_are_not_persons() -> None:
    text = (
        "Le Directeur Commercial présente. Le Président conclut.\n"
        "PROJET MOBILITÉS DOUCES\nRédactrice : Marie Dubois\n"
    )
    ner = [
        model(text, "Directeur Commercial"),
        model(text, "Le Président"),
        model(text, "PROJET MOBILITÉS DOUCES"),
        model(text, "Rédactrice"),
    ]
    assert persons(text, ner) == ["Marie Dubois"]


def test_a_heading_in_capitals_stays_a_name_when_the_lexicon_vouches_for_it() -> None:
    text = "RELU PAR PIERRE-YVES GAUTHIER LE 3 AVRIL\n"
    assert persons(text, [model(text, "PIERRE-YVES GAUTHIER")]) == ["PIERRE-YVES GAUTHIER"]


def test_a_first_name_of_the_lexicon_inside_a_sentence() -> None:
    text = "Hier, j'ai vu Pierre au marché. La pierre est lourde. Il habite rue Victor Hugo."
    assert persons(text) == ["Pierre"]


def test_a_role_noun_announces_a_name() -> None:
    text = "Le ministre Choiseul, le ministre des Finances et le général de Gaulle."
    assert persons(text) == ["Choiseul", "de Gaulle"]


def test_a_verb_before_its_pronoun_is_no_place() -> None:
    text = "Pouvez-vous venir ?"
    assert labelled(text, [model(text, "Pouvez", "LOCATION")]) == []


def test_a_model_place_made_of_a_first_name_and_a_family_name_is_a_person() -> None:
    text = "Elle a rencontré Rose Lefèvre hier."
    assert labelled(text, [model(text, "Rose Lefèvre", "LOCATION")]) == [("PERSON", "Rose Lefèvre")]


def test_patterns_win_over_context_and_model() -> None:
    text = "Contact : Marie Dubois <marie.dubois@exemple.fr>"
    email = model(text, "marie.dubois@exemple.fr", "EMAIL")
    spans = refine(text, [email], [model(text, "Marie Dubois <marie.dubois", "PERSON")])
    assert [(s.label, s.text) for s in spans] == [
        ("PERSON", "Marie Dubois"),
        ("EMAIL", "marie.dubois@exemple.fr"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n\n",
        "M.",
        "Mme ",
        "De :",
        "| Nom |\n|",
        "NOM ; PRÉNOM\n;;;\n",
        "Bonjour ,",
        "--\n\n",
        "M. d'",
    ],
)
def test_odd_inputs_give_valid_spans(text: str) -> None:
    for span in refine(text, [], [], Lists()):
        assert text[span.start : span.end] == span.text
        assert span.start < span.end


def test_result_is_sorted_and_non_overlapping() -> None:
    text = (
        "De : Marie Dubois <m@x.fr>\nBonjour M. Van der Berg,\nDUBOIS Marie : oui\n"
        "Nom : Dubois, Marie\n"
    )
    spans = refine(text, [], [model(text, "Marie Dubois"), model(text, "Van der Berg")])
    assert spans == sorted(spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_a_model_span_cut_inside_a_compound_name_is_widened() -> None:
    # Found by the render leak check on WikiNEuRal: "François-" stayed readable.
    text = "Il a vu François-Xavier Dupont et Sophie Nguyen-Lambert hier."
    ner = [model(text, "Xavier Dupont"), model(text, "Sophie Nguyen")]
    assert persons(text, ner) == ["François-Xavier Dupont", "Sophie Nguyen-Lambert"]


def test_items_of_an_enumeration_with_a_person_are_persons() -> None:
    text = "Avec Rock Hudson, Tony Curtis et Cassie, le film sort en 1960."
    ner = [model(text, "Rock Hudson", "LOCATION"), model(text, "Tony Curtis")]
    assert labelled(text, ner) == [
        ("PERSON", "Rock Hudson"),
        ("PERSON", "Tony Curtis"),
        ("PERSON", "Cassie"),
    ]


def test_a_comma_without_a_conjunction_is_an_apposition_not_a_list() -> None:
    text = "Rédigé par Karim Benali, Lumen Études, pour le comité."
    ner = [model(text, "Karim Benali"), model(text, "Lumen Études", "ORG")]
    assert labelled(text, ner) == [("PERSON", "Karim Benali"), ("ORG", "Lumen Études")]


def test_an_enumeration_leaves_complements_and_one_word_places_alone() -> None:
    text = (
        "Le directeur de Microsoft, Bill Gates et Paul Allen visitent Lyon, Marie Curie et Paris."
    )
    ner = [
        model(text, "Microsoft", "ORG"),
        model(text, "Bill Gates"),
        model(text, "Paul Allen"),
        model(text, "Lyon", "LOCATION"),
        model(text, "Marie Curie"),
        model(text, "Paris", "LOCATION"),
    ]
    assert [label for label, _ in labelled(text, ner)] == [
        "ORG",
        "PERSON",
        "PERSON",
        "LOCATION",
        "PERSON",
        "LOCATION",
    ]


def test_one_surface_takes_one_label_in_a_document_and_a_person_wins_a_tie() -> None:
    text = "The Miz gagne. Puis The Miz perd. Enfin The Miz revient et Force India recrute."
    first, second = (text.index("The Miz"), text.index("The Miz", 10))
    ner = [
        Span(first, first + 7, "PERSON", "The Miz"),
        Span(second, second + 7, "ORG", "The Miz"),
        model(text, "Force India", "ORG"),
    ]
    assert labelled(text, ner) == [
        ("PERSON", "The Miz"),
        ("PERSON", "The Miz"),
        ("PERSON", "The Miz"),
        ("ORG", "Force India"),
    ]


def test_a_majority_of_another_label_wins_over_one_person() -> None:
    text = "Sauber gagne. Sauber perd. Chez Sauber, rien."
    at = [i for i in range(len(text)) if text.startswith("Sauber", i)]
    ner = [Span(at[0], at[0] + 6, "PERSON", "Sauber")] + [
        Span(a, a + 6, "ORG", "Sauber") for a in at[1:]
    ]
    assert [label for label, _ in labelled(text, ner)] == ["ORG", "ORG", "ORG"]


def test_the_whole_of_a_quotation_is_a_title_unless_a_first_name_vouches() -> None:
    text = 'Le film « Evita » et la chanson " Annie Hall " sont cités.'
    ner = [model(text, "Evita"), model(text, "Annie Hall")]
    assert persons(text, ner) == ["Annie Hall"]


def test_a_generation_suffix_makes_a_person() -> None:
    text = "Parmi les acteurs, Lon Chaney Jr. dans un rôle."
    assert labelled(text, [model(text, "Lon Chaney Jr", "ORG")]) == [("PERSON", "Lon Chaney Jr")]


def test_a_person_a_rule_found_is_not_outvoted_by_the_model() -> None:
    text = "M. Dubois arrive. Dubois signe. Dubois part."
    at = [i for i in range(len(text)) if text.startswith("Dubois", i)]
    ner = [Span(a, a + 6, "LOCATION", "Dubois") for a in at[1:]]
    assert labelled(text, ner) == [("PERSON", "Dubois")] * 3


def test_a_model_place_after_a_role_or_kin_noun_is_a_person() -> None:
    text = (
        "Il cite le poète satirique Perse, le fils de Parménion, la sœur d’Olympe et le "
        "gouverneur du Maryland."
    )
    ner = [
        model(text, "Perse", "LOCATION"),
        model(text, "Parménion", "LOCATION"),
        model(text, "Olympe", "LOCATION"),
        model(text, "Maryland", "LOCATION"),
    ]
    assert labelled(text, ner) == [
        ("PERSON", "Perse"),
        ("PERSON", "Parménion"),
        ("PERSON", "Olympe"),
        ("LOCATION", "Maryland"),
    ]


def test_a_kin_noun_and_de_must_touch_the_name() -> None:
    # "de" then a comma or a colon: the place is not the kin noun's complement.
    text = "Le fils de, Lyon ; la fille de : Lyon ; le fils de Rome."
    at = [i for i in range(len(text)) if text.startswith("Lyon", i)]
    ner = [Span(a, a + 4, "LOCATION", "Lyon") for a in at] + [model(text, "Rome", "LOCATION")]
    assert labelled(text, ner) == [("LOCATION", "Lyon")] * 2 + [("PERSON", "Rome")]

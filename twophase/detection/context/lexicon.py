"""Word sets and first-name lexicons the context rules read.

Invariant: every word set holds folded words (case and accents ignored, as names.fold
does), and a lexicon is loaded once per process.
"""

from __future__ import annotations

import functools
import re

from twophase.assignment import names

# Words are compared folded (case and accents ignored), as names.fold does.


def word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


PARTICLES = word_set("de du des d van von der den ter ten da di del della dos das le la")
# Particles that may open a name after a title: "M. de Villiers", but not "M. le Maire".
OPENING_PARTICLES = word_set("de du des d van von da di del dos das")

# Job titles, functions and services: never a person on their own, and a model "person"
# that is made of them ("Directeur Commercial", "Le Président") is dropped.
JOB_WORDS = word_set("""
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
FIELD_WORDS = word_set("""
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
CALENDAR = word_set(
    """
    lundi mardi mercredi jeudi vendredi samedi dimanche janvier fevrier mars avril mai juin
    juillet aout septembre octobre novembre decembre
    """
)
GREETINGS = word_set(
    "bonjour bonsoir salut coucou merci cher chere chers cheres hello hi dear bravo"
)
# Places and things that are also first names of the lexicon: no lone-name rule for them.
PLACE_NAMES = word_set("""
    france florence lorraine nancy jordan marine victoire constance aurore charlotte
    valentine virginie georgia maurice augustin lourdes camille
    """)
# Words before a capitalised name that make it a place or a building, not a person.
PLACE_WORDS = word_set("""
    rue avenue boulevard bd place allee impasse chemin quai route cours square passage
    faubourg pont gare station lycee college ecole universite hopital clinique stade salle
    centre musee eglise cathedrale basilique abbaye chapelle parc jardin square residence
    saint sainte st ste port cap lac mont fort ile pointe val aeroport avenue prix fondation
    institut rond-point tunnel canal bibliotheque mediatheque theatre cinema galerie hotel
    """)
# Display names of mailboxes that belong to a service, not a person.
SERVICE_WORDS = word_set("""
    support service services equipe direction contact accueil secretariat info infos admin
    administration noreply no-reply ne comptabilite rh dsi helpdesk team newsletter mairie
    facturation commercial ventes assistance hotline dpo notifications notification bureau
    cabinet groupe societe association club communication presse recrutement
    """)
# Fields whose value is a person (mostly: "Nom :" and roles of a transcript or a form).
PERSON_FIELDS = word_set("""
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
LIST_HEADERS = word_set("""
    presents presentes present presente participants participantes absents absentes absent
    absente excuses excusees excuse excusee absent-excuse absents-excuses membres invites
    invitees destinataires diffusion copie signataires intervenants equipe
    """)
NAME_COLUMNS = word_set("""
    nom prenom nom-prenom prenom-nom nom-et-prenom nom-complet noms participant participants
    personne nom-du-visiteur visiteur salarie intervenant membre agent name full-name
    """)
ORG_COLUMNS = word_set(
    "societe organisation entreprise employeur structure organisme company etablissement"
)
CLOSINGS = re.compile(
    r"(?i:cordialement|bien cordialement|tr[eè]s cordialement|bien [àa] vous|bien [àa] toi"
    r"|(?:sinc[eè]res |meilleures |mes )?salutations(?: distingu[ée]es)?"
    r"|bonne (?:journ[ée]e|soir[ée]e)"
    r"|merci(?: beaucoup| d'avance| encore)?|[àa] bient[ôo]t|amicalement|amiti[ée]s|bises"
    r"|respectueusement|regards|best regards|kind regards|best|thanks|--+|—|__+)"
    r"[ \t]*[,.!]?[ \t]*"
)
VERB_PRONOUN = re.compile(
    r"-(?:t-)?(?:vous|nous|tu|ils?|elles?|on|je|moi|toi|le|la|les|lui|leur|y|en)\b"
)
_LEGAL_FORMS = "SA|SAS|SASU|SARL|EURL|SNC|SCI|SCOP|GIE|SELARL"
LEGAL_FORM = re.compile(rf"(?:^|\s)(?:{_LEGAL_FORMS})\.?$")
LEGAL_AFTER = re.compile(rf"[ ,\u00a0]*(?:{_LEGAL_FORMS})\b")


fold = names.fold  # the rules' key for a word, the same as assign's


@functools.cache
def given_names() -> frozenset[str]:
    return frozenset(fold(n) for n in names.any_given())


@functools.cache
def surnames() -> frozenset[str]:
    return frozenset(fold(n) for n in names.surnames())


@functools.cache
def stop_words() -> frozenset[str]:
    # spaCy is loaded by detect anyway; imported here so `import twophase.detection` stays light.
    # Importing spacy.lang.fr compiles its 1.4 MB tokenizer regex (~5 s) unless cached.
    from twophase.detection.regex_cache import cached_regexes

    with cached_regexes():
        from spacy.lang.fr.stop_words import STOP_WORDS

    return frozenset(fold(w) for w in STOP_WORDS) - PARTICLES


# First names of the world from Faker's person providers (every locale, names written in
# Latin script only): "Hendrik", "João", "Kenji", which the French lexicon lacks. Many are
# also words ("Rock", "Grace"), so they only count next to a capitalised family name, or to
# tell that a model "place" or "organisation" such as "Gloria Estefan" is a person.
_NAME_ATTRS = sorted(
    word_set(
        "first_names first_names_male first_names_female first_romanized_names "
        "first_romanized_names_male first_romanized_names_female"
    )
)
ARTICLES = word_set("le la les l du des au aux un une")
COMPASS = word_set("nord sud est ouest north south east west occidentale orientale")


@functools.cache
def world_given() -> frozenset[str]:
    import importlib
    import pkgutil

    from faker.providers import person

    out = set(given_names())
    for locale in sorted(m.name for m in pkgutil.iter_modules(person.__path__)):
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in _NAME_ATTRS:
            names_ = getattr(provider, attr, None)
            if isinstance(names_, dict | tuple | list):
                out.update(
                    fold(n)
                    for n in names_
                    if isinstance(n, str)
                    and len(n) >= 3
                    and all(c.isalpha() or c in "-'" for c in n)
                    and all(ord(c) < 0x250 for c in n)
                )
    places = PLACE_NAMES | {"paris", "london", "berlin", "madrid", "roma", "sydney", "china"}
    return frozenset(out - stop_words() - JOB_WORDS - FIELD_WORDS - PLACE_WORDS - places)


def world_lexicon_version() -> str:
    """What the world lexicon depends on, for the detector fingerprint."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"faker=={version('faker')}"
    except PackageNotFoundError:
        return "faker==none"


def is_given(token: str) -> bool:
    """A first name of the lexicon ("Jean-Pierre" counts when both halves do)."""
    key = fold(token)
    if key in given_names():
        return True
    parts = key.split("-")
    return len(parts) > 1 and all(p in given_names() for p in parts)

"""Throughput of the pattern recognizers on ~200 KB of French prose.

Run: .venv/bin/pytest bench/test_bench_recognizers.py --benchmark-enable -p no:cacheprovider
The MB/s figure lands in each benchmark's extra_info (shown with --benchmark-json).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from twophase.detection.recognizers import find_patterns

# Prose of the kind twophase is fed: minutes, letters, contracts, interviews. Plenty of
# numbers that are not personal data (dates, amounts, article numbers, times).
_PROSE = [
    "Le comité de pilotage s'est réuni le 15 janvier 2024 dans les locaux du siège.",
    "Mme la directrice ouvre la séance et rappelle l'ordre du jour, adopté sans modification.",
    "Le prix forfaitaire est fixé à 38 400 euros hors taxes, payable en trois échéances.",
    "Conformément à l'article 1240 du Code civil, chacun répond du dommage qu'il cause.",
    "Les entretiens auront lieu du 29 janvier au 23 février, de 9 h à 17 h 30.",
    "Je prends mon service à 5 h 40 au dépôt, puis j'ai une coupure de trois heures.",
    "Le taux d'absentéisme a baissé de 12 % sur la période, selon les chiffres du service.",
    "Les données sont conservées pendant 5 ans, puis supprimées ou rendues anonymes.",
    "Pouvez-vous me décrire une journée type, du départ de chez vous jusqu'au retour ?",
    "La réunion suivante est fixée au 4 mars ; un compte rendu sera diffusé d'ici là.",
    "Le présent contrat prend effet à sa signature pour une durée de 6 mois renouvelable.",
    "Nous avons besoin, pour chaque personne, du nom, du service et du site de rattachement.",
    "Les plannings sont publiés le jeudi pour la semaine suivante, ce qui pose problème.",
    "En 2023, la société comptait 1 250 salariés répartis sur 3 dépôts et un siège.",
    "Le délégué syndical souhaite que la prime de coupure soit inscrite à la négociation.",
    "Vous trouverez ci-joint la facture corrigée de la première échéance, page 2 sur 3.",
    "L'étude qualitative porte sur l'organisation du travail hybride depuis l'accord de 2022.",
    "Merci pour ces précisions ; la facture a été transmise au service comptable.",
]
# A few entities, each validated by its recognizer.
_ENTITIES = [
    "Tél. : 06 39 98 12 45.",
    "Contact : marie.dubois@lumen-etudes.exemple.fr.",
    "IBAN : FR76 3000 6000 0112 3456 7890 189.",
    "Adresse : 18 rue Paul-Bert, 69003 Lyon.",
    "DUBOIS Marc ; né le 14 juillet 1985 ; NIR 1 85 05 78 006 084 91.",
    "Plus d'informations sur https://www.lumen-etudes.exemple.fr/projets.",
    "Standard : +33 1 99 00 41 27.",
]
_SIZE = 200_000


def _document(entity_every: int, seed: int = 0) -> tuple[str, int]:
    """~_SIZE characters of prose with one entity sentence every `entity_every` sentences."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = entities = 0
    while size < _SIZE:
        if len(parts) % entity_every == entity_every - 1:
            sentence = rng.choice(_ENTITIES)
            entities += 1
        else:
            sentence = rng.choice(_PROSE)
        sentence += "\n\n" if rng.random() < 0.15 else " "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts), entities


def _record_throughput(benchmark: Any, text: str) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable (the default in pyproject)
        megabytes = len(text.encode("utf-8")) / 1e6
        benchmark.extra_info["MB/s (min)"] = round(megabytes / stats.stats.min, 1)
        benchmark.extra_info["MB/s (mean)"] = round(megabytes / stats.stats.mean, 1)


@pytest.mark.parametrize("entity_every", [40, 4], ids=["few-entities", "entity-dense"])
def test_find_patterns_throughput(benchmark: Any, entity_every: int) -> None:
    text, entities = _document(entity_every)
    spans = benchmark(find_patterns, text)
    assert len(spans) >= entities  # every entity sentence yields at least one span
    _record_throughput(benchmark, text)


def test_find_patterns_on_prose_without_entities(benchmark: Any) -> None:
    text, _ = _document(entity_every=10**9)
    assert benchmark(find_patterns, text) == []
    _record_throughput(benchmark, text)

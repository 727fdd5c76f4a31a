"""What render did to each document: the record `reverse` and the done-markers rest on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Receipt:
    """What render did to one document, in output coordinates (for `reverse`).

    It holds personal data (`originals`): it goes from the worker to the main process,
    which seals it into the vault; its one other copy is render's done-marker in the
    private workdir (rendering/markers.py).
    """

    document: str
    output_sha256: str
    replacements: tuple[tuple[int, int, int], ...]  # (start, end, entity) in the output
    # What `reverse` needs for the exact source bytes: the source text each replacement
    # replaced (in the order of `replacements`), and how that text was encoded.
    originals: tuple[str, ...] = ()
    source_sha256: str = ""
    encoding: str = "utf-8"
    bom: bytes = b""


Done = tuple[Receipt, int, int]  # an output's receipt, its size, leaks still readable in it

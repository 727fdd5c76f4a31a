"""The CLI end to end on real parts: the small French model, real vaults, real processes."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MODEL, PASSPHRASE, ROOT, write_corpus
from twophase.assignment import assign
from twophase.errors import UsageError

DOCS = {
    "reunions/cr-mars.txt": (
        "Compte rendu de la réunion du 3 mars à Lyon.\n"
        "Présents : Mme Marie Dubois, M. Jean-Pierre Martin et Paul Lefebvre.\n"
        "Marie Dubois ouvre la séance. M. Martin présente le budget de la société Renault.\n"
        "Contact : marie.dubois@exemple.fr ou 06 39 98 12 34.\n"
    ),
    "reunions/cr-avril.txt": (
        "Réunion du 7 avril à Villeurbanne.\n"
        "Mme Dubois rappelle les décisions. Paul Lefebvre et Marc Dubois sont absents.\n"
        "Appeler Marie Dubois au +33 6 39 98 12 34.\n"
    ),
    "notes.md": "# Notes\n\nJean-Pierre Martin a rencontré Paul Lefebvre à Marseille.\n",
}
HARD_DOCS = ROOT / "tests/data/hardcases/docs"
NAMES = [
    "Marie Dubois",
    "Dubois",
    "Jean-Pierre Martin",
    "Lefebvre",
    "marie.dubois@exemple.fr",
    "06 39 98 12 34",
]


def twophase(
    *args: str | Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "TWOPHASE_PASSPHRASE": PASSPHRASE, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "twophase.cli", *map(str, args)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stderr}")
    return proc


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus", DOCS)


@pytest.fixture
def empty_vault(tmp_path: Path) -> Path:
    """A fresh vault, so that runs on copies of it are comparable."""
    from twophase.vault import Vault

    path = tmp_path / "vault0.db"
    Vault.open(path, PASSPHRASE, create=True).close()
    return path


def copy(vault: Path, name: str) -> Path:
    target = vault.with_name(name)
    shutil.copy(vault, target)
    return target


def test_all_pseudonymizes_consistently_and_leaves_no_name(tmp_path: Path, corpus: Path) -> None:
    out, vault = tmp_path / "out", tmp_path / "v.db"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    twophase(
        "all", corpus, "--out", out, "--vault", vault, "--model", MODEL, env={"TMPDIR": str(tmpdir)}
    )
    outputs = tree(out)
    assert sorted(outputs) == sorted(DOCS)
    text = "\n".join(b.decode() for b in outputs.values())
    for name in NAMES:
        assert name not in text
    # The temporary workdir is gone; the vault holds no name in clear.
    assert list(tmpdir.iterdir()) == []
    assert stat.S_IMODE(vault.stat().st_mode) == 0o600
    leftovers = b"".join(p.read_bytes() for p in tmp_path.glob("v.db*"))
    for name in NAMES:
        assert name.encode() not in leftovers
    # Consistency: Marie Dubois has one pseudonym, and "Mme Dubois" uses its surname.
    mapping = [
        json.loads(line) for line in twophase("export", "--vault", vault).stdout.splitlines()
    ]
    marie = next(e for e in mapping if e["original"] == "Marie Dubois")
    given, family = marie["pseudonym"].split(" ", 1)
    assert marie["components"] == [["Marie", given], ["Dubois", family]]
    assert f"Mme {family}" in outputs["reunions/cr-avril.txt"].decode()
    assert outputs["reunions/cr-mars.txt"].decode().count(marie["pseudonym"]) == 1 + 1


def test_all_twice_with_the_same_vault_is_byte_identical(tmp_path: Path, corpus: Path) -> None:
    vault = tmp_path / "v.db"
    twophase("all", corpus, "--out", tmp_path / "a", "--vault", vault, "--model", MODEL)
    twophase("all", corpus, "--out", tmp_path / "b", "--vault", vault, "--model", MODEL)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_three_commands_give_the_same_bytes_as_all(
    tmp_path: Path, corpus: Path, empty_vault: Path
) -> None:
    twophase(
        "all",
        corpus,
        "--out",
        tmp_path / "all",
        "--vault",
        copy(empty_vault, "a.db"),
        "--model",
        MODEL,
    )
    work, vault = tmp_path / "work", copy(empty_vault, "b.db")
    twophase("detect", corpus, "--workdir", work, "--model", MODEL, "--workers", "2")
    assert stat.S_IMODE(work.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in work.rglob("*.msgpack"))
    twophase("assign", "--workdir", work, "--vault", vault)
    twophase("render", "--workdir", work, "--out", tmp_path / "split", "--workers", "2")
    assert tree(tmp_path / "all") == tree(tmp_path / "split")


def test_output_does_not_depend_on_workers_or_order(
    tmp_path: Path, corpus: Path, empty_vault: Path
) -> None:
    """Same vault, same batch: one worker in one listing order, two in another."""
    reordered = write_corpus(
        tmp_path / "reordered",
        {
            # Same documents, created in reverse order (another directory listing order).
            rel: DOCS[rel]
            for rel in reversed(list(DOCS))
        },
    )
    twophase(
        "all",
        corpus,
        "--out",
        tmp_path / "one",
        "--vault",
        copy(empty_vault, "1.db"),
        "--model",
        MODEL,
        "--workers",
        "1",
    )
    twophase(
        "all",
        reordered,
        "--out",
        tmp_path / "two",
        "--vault",
        copy(empty_vault, "2.db"),
        "--model",
        MODEL,
        "--workers",
        "2",
    )
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    exports = [twophase("export", "--vault", tmp_path / f"{n}.db").stdout for n in ("1", "2")]
    assert exports[0] == exports[1]


def test_identical_documents_render_identically(tmp_path: Path, empty_vault: Path) -> None:
    docs = {f"copy{i}/{rel}": text for i in range(4) for rel, text in DOCS.items()}
    corpus = write_corpus(tmp_path / "copies", docs)
    twophase("all", corpus, "--out", tmp_path / "out", "--vault", empty_vault, "--model", MODEL)
    out = tree(tmp_path / "out")
    for rel in DOCS:
        assert len({out[f"copy{i}/{rel}"] for i in range(4)}) == 1


def test_bad_documents_are_reported_and_the_rest_rendered(tmp_path: Path) -> None:
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            **DOCS,
            "binaire.txt": b"\x00\x01\x02 PK\x03\x04 Marie Dubois \x00",
            "latin1.txt": "Réunion à Lyon avec Marie Dubois.\n".encode("latin-1"),
            "vide.txt": b"",
        },
    )
    proc = twophase(
        "all",
        corpus,
        "--out",
        tmp_path / "out",
        "--vault",
        tmp_path / "v.db",
        "--model",
        MODEL,
        check=False,
    )
    assert proc.returncode == 1
    assert "binaire.txt" in proc.stderr and "binary" in proc.stderr
    assert "Marie" not in proc.stderr and "Traceback" not in proc.stderr
    out = tree(tmp_path / "out")
    assert set(out) == {*DOCS, "latin1.txt", "vide.txt"}
    assert b"Dubois" not in out["latin1.txt"]
    assert " à ".encode("latin-1") in out["latin1.txt"]  # still Latin-1, not re-encoded
    assert out["vide.txt"] == b""


def test_document_changed_between_phases_is_refused(tmp_path: Path, corpus: Path) -> None:
    work = tmp_path / "work"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    twophase("assign", "--workdir", work, "--vault", tmp_path / "v.db")
    (corpus / "notes.md").write_text("# Notes\n\nTout a changé, Paul Lefebvre.\n")
    proc = twophase("render", "--workdir", work, "--out", tmp_path / "out", check=False)
    assert proc.returncode == 1
    assert "notes.md" in proc.stderr and "changed" in proc.stderr
    assert set(tree(tmp_path / "out")) == set(DOCS) - {"notes.md"}


def test_wrong_passphrase_stops_before_any_work(tmp_path: Path, corpus: Path) -> None:
    vault = tmp_path / "v.db"
    twophase("all", corpus, "--out", tmp_path / "a", "--vault", vault, "--model", MODEL)
    before = vault.read_bytes()
    proc = twophase(
        "all",
        corpus,
        "--out",
        tmp_path / "b",
        "--vault",
        vault,
        "--model",
        MODEL,
        env={"TWOPHASE_PASSPHRASE": "wrong"},
        check=False,
    )
    assert proc.returncode == 2
    assert "wrong passphrase" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "b").exists()
    assert vault.read_bytes() == before


def test_spans_prints_one_json_line_per_document(tmp_path: Path, corpus: Path) -> None:
    work = tmp_path / "work"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    lines = [json.loads(x) for x in twophase("spans", "--workdir", work).stdout.splitlines()]
    assert sorted(line["document"] for line in lines) == sorted(DOCS)
    for line in lines:
        text = DOCS[line["document"]]
        for ent in line["entities"]:
            assert text[ent["start"] : ent["end"]] == ent["text"]
    labels = {e["label"] for line in lines for e in line["entities"]}
    assert {"PERSON", "EMAIL", "PHONE"} <= labels
    mme = DOCS["reunions/cr-avril.txt"].index("Mme Dubois")
    avril = next(x for x in lines if x["document"] == "reunions/cr-avril.txt")
    # Titles are not part of PERSON spans.
    assert not any(e["start"] == mme for e in avril["entities"])


def test_rerunning_detect_skips_unchanged_documents(tmp_path: Path, corpus: Path) -> None:
    work = tmp_path / "work"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    (corpus / "notes.md").write_text("# Notes\n\nPaul Lefebvre est à Nantes.\n")
    proc = twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    assert "1 detected, 2 unchanged" in proc.stderr


def test_the_fast_profile_is_another_detector_and_still_pseudonymizes(
    tmp_path: Path, corpus: Path
) -> None:
    work = tmp_path / "work"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    # Another profile is another fingerprint: every sidecar is redone, none reused.
    proc = twophase("detect", corpus, "--workdir", work, "--model", f"{MODEL}:fast")
    assert f"{len(DOCS)} detected, 0 unchanged" in proc.stderr
    out = tmp_path / "out"
    twophase("all", corpus, "--out", out, "--vault", tmp_path / "v.db", "--model", f"{MODEL}:fast")
    text = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    for name in NAMES:
        assert name not in text
    bad = twophase("detect", corpus, "--workdir", work, "--model", f"{MODEL}:turbo", check=False)
    assert bad.returncode == 2 and "unknown detection profile" in bad.stderr


def test_the_fast_profile_leaves_out_only_what_ner_does_not_read() -> None:
    """ner has its own embedding: without tok2vec its entities are the same, only faster."""
    import spacy

    from twophase.detection.pipeline import components
    from twophase.detection.regex_cache import cached_regexes

    package, excluded = components(f"{MODEL}:fast")
    with cached_regexes():
        fast = spacy.load(package, exclude=list(excluded))
        with_tok2vec = spacy.load(package, exclude=[c for c in excluded if c != "tok2vec"])
    assert fast.pipe_names == ["ner"] and "tok2vec" in with_tok2vec.pipe_names
    texts = [*DOCS.values(), *(p.read_text() for p in sorted(HARD_DOCS.glob("*.txt")))]

    def entities(nlp: object) -> list[tuple[int, int, str]]:
        docs = nlp.pipe(texts)  # type: ignore[attr-defined]
        return [(e.start_char, e.end_char, e.label_) for doc in docs for e in doc.ents]

    found = entities(fast)
    assert len(found) > 20 and found == entities(with_tok2vec)


def test_help_is_fast_and_every_command_has_an_example() -> None:
    code = (
        "import sys\n"
        "from twophase.cli import app\n"
        "assert 'spacy' not in sys.modules and 'apsw' not in sys.modules\n"
        "for name, command in app._commands.items():\n"
        "    if name.startswith('-'):\n"
        "        continue\n"
        "    print(name, 'Example:' in (app[name].default_command.__doc__ or ''))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rows = dict(line.split() for line in proc.stdout.splitlines())
    assert {"detect", "assign", "render", "all", "spans", "export"} <= set(rows)
    assert all(v == "True" for v in rows.values()), rows


def test_ten_copies_of_each_example_render_identically(tmp_path: Path) -> None:
    from tests.conftest import EXAMPLES

    corpus = tmp_path / "copies"
    for i in range(10):
        shutil.copytree(EXAMPLES, corpus / f"copy{i:02d}")
    twophase(
        "all", corpus, "--out", tmp_path / "out", "--vault", tmp_path / "v.db", "--model", MODEL
    )
    out = tree(tmp_path / "out")
    originals = tree(EXAMPLES)
    assert len(out) == 10 * len(originals)
    for rel in originals:
        copies = {out[f"copy{i:02d}/{rel}"] for i in range(10)}
        assert len(copies) == 1, rel
        assert copies != {originals[rel]}


def test_public_functions_stay_functions_after_their_packages_are_imported() -> None:
    code = (
        "import twophase, twophase.detection, twophase.assignment, twophase.rendering\n"
        "import twophase.keyholder, twophase.run\n"
        "names = ['detect', 'assign', 'render', 'run_all', 'reverse', 'forget', 'audit',\n"
        "         'rekey', 'verify', 'export']\n"
        "assert all(callable(getattr(twophase, n)) for n in names)\n"
        "assert all(callable(getattr(twophase, n)) for n in names)  # and a second time\n"
        "assert sorted(twophase.__all__) == twophase.__all__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_bad_theme_stops_before_a_vault_exists(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Marie Dubois habite à Lyon.\n"})
    for command in (["all", corpus, "--out", tmp_path / "out"], ["assign", "--workdir", corpus]):
        proc = twophase(*command, "--vault", tmp_path / "v.db", "--theme", "neutre", check=False)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert not (tmp_path / "v.db").exists()
    with pytest.raises(UsageError, match="theme"):
        assign(tmp_path / "work", tmp_path / "v.db", PASSPHRASE, theme="neutre")
    assert not (tmp_path / "v.db").exists()


def test_a_workdir_inside_the_output_folder_is_refused(tmp_path: Path) -> None:
    """The workdir holds every name of the batch; the output folder is what gets shared."""
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Marie Dubois habite à Lyon.\n"})
    out = tmp_path / "out"
    proc = twophase(
        "all",
        corpus,
        "--out",
        out,
        "--vault",
        tmp_path / "v.db",
        "--workdir",
        out / "work",
        "--model",
        MODEL,
        check=False,
    )
    assert proc.returncode == 2 and "--workdir outside --out" in proc.stderr
    assert not out.exists() and not (tmp_path / "v.db").exists()  # refused before any work


def test_bad_places_and_passphrases_stop_the_run_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """Exit 2 means nothing written: each of these used to fail late, or not at all."""
    corpus = write_corpus(tmp_path / "in", {"a.txt": "Marie Dubois habite à Lyon.\n"})
    afile = tmp_path / "a-file"
    afile.write_text("x\n")
    empty = tmp_path / "empty-passphrase"
    empty.write_text("\n")
    vault = tmp_path / "v.db"
    into = ["--out", tmp_path / "o", "--vault", vault]
    runs = {
        "output inside an input": ["all", corpus, "--out", corpus / "out", "--vault", vault],
        "output is a file": ["all", corpus, "--out", afile, "--vault", vault],
        "workdir is a file": ["all", corpus, *into, "--workdir", afile],
        "model not installed": ["all", corpus, *into, "--model", "fr_core_news_xx"],
        "empty passphrase file": ["all", corpus, *into, "--passphrase-file", empty],
        "detect into a file": ["detect", corpus, "--workdir", afile],
        "no worker": ["all", corpus, *into, "--workers", "0"],
    }
    for what, command in runs.items():
        if "--model" not in command:
            command = [*command, "--model", MODEL]
        proc = twophase(*command, check=False)
        assert proc.returncode == 2, (what, proc.stderr)
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, what
        assert not vault.exists() and not (tmp_path / "o").exists(), what
        assert not (corpus / "out").exists() and afile.read_text() == "x\n", what
    proc = twophase("detect", corpus, "--workdir", tmp_path / "w", "--model", "nope", check=False)
    assert proc.returncode == 2 and not (tmp_path / "w").exists()


def test_a_document_added_after_assign_is_reported_by_render(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "in", {"a.txt": "Marie Dubois habite à Lyon.\n"})
    work, vault = tmp_path / "w", tmp_path / "v.db"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    twophase("assign", "--workdir", work, "--vault", vault)
    (corpus / "b.txt").write_text("Paul Lefebvre est venu.\n")
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)  # the plan is now stale
    proc = twophase("render", "--workdir", work, "--out", tmp_path / "o", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "failed: b.txt: not in the plan" in proc.stderr
    assert sorted(tree(tmp_path / "o")) == ["a.txt"]


def test_a_fifo_given_by_name_is_reported_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "tube.txt"
    os.mkfifo(fifo)
    proc = twophase("detect", fifo, "--workdir", tmp_path / "w", "--model", MODEL, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "failed: tube.txt: not a regular file" in proc.stderr

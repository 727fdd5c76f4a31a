"""Executors: balanced chunks, the local fork pool, a local Dask cluster, resumed detection.

Same results whatever runs the chunks: one process, a fork pool, or Dask workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, MODEL, PASSPHRASE, write_corpus
from tests.test_end_to_end import copy, tree, twophase
from twophase.executors import LocalExecutor, guided_chunks, make_executor

# ----------------------------------------------------------------- guided_chunks


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 10**6), max_size=300),
    st.integers(1, 16),
    st.integers(1, 10**5),
    st.integers(1, 10**7),
)
def test_guided_chunks_take_every_index_once_and_shrink_with_what_is_left(
    sizes: list[int], workers: int, smallest: int, largest: int
) -> None:
    groups = guided_chunks(sizes, workers, smallest=smallest, largest=largest)
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    assert [i for g in groups for i in g] == order  # largest documents handed out first
    assert all(groups)
    left = sum(max(1, s) for s in sizes)
    for g in groups:
        load = sum(max(1, sizes[i]) for i in g)
        bound = min(largest, max(smallest, left // (2 * workers)))
        # A chunk closes at its first document that reaches the bound, not later.
        assert load - max(1, sizes[g[-1]]) < bound
        left -= load


def test_guided_chunks_end_small_so_no_core_finishes_alone() -> None:
    # 200 documents of 13 KB on 2 workers (the scaling benchmark's shape).
    sizes = [13_000] * 200
    groups = guided_chunks(sizes, 2)
    loads = [13_000 * len(g) for g in groups]
    assert loads[0] >= len(sizes) * 13_000 // 4 - 13_000
    assert loads[-1] <= 32 * 1024 + 13_000
    assert loads == sorted(loads, reverse=True)
    # and a huge batch is cut so that progress moves: no chunk above 4 MiB and a document
    assert (
        max(len(g) for g in guided_chunks([3_000] * 100_000, 8)) * 3_000 <= 4 * 1024 * 1024 + 3_000
    )


def test_guided_chunks_hand_out_the_one_huge_document_first_and_alone() -> None:
    groups = guided_chunks([1, 1, 100, 1, 1, 1, 1, 1], 2, smallest=2)
    assert groups == [[2], [0, 1], [3, 4], [5, 6], [7]]


# ----------------------------------------------------------------- local pool


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_local_executor_gives_the_same_results_with_1_and_2_workers(workers: int) -> None:
    items = list(range(50))
    with LocalExecutor(workers) as executor:
        results = list(executor.map_unordered(_square_and_pid, items))
    assert sorted(r for r, _ in results) == [x * x for x in items]
    pids = {pid for _, pid in results}
    if workers == 1:
        assert pids == {os.getpid()}  # in-process: no pool, no fork
    else:
        assert os.getpid() not in pids


def test_local_executor_is_reusable_across_phases_and_closes() -> None:
    executor = LocalExecutor(2)
    executor.start()
    first = sorted(r for r, _ in executor.map_unordered(_square_and_pid, range(10)))
    second = sorted(r for r, _ in executor.map_unordered(_square_and_pid, range(10, 20)))
    executor.close()
    assert first == [x * x for x in range(10)]
    assert second == [x * x for x in range(10, 20)]
    assert not executor.started


def test_make_executor_refuses_an_unknown_spec() -> None:
    from twophase.errors import UsageError

    assert isinstance(make_executor(None, 3), LocalExecutor)
    with pytest.raises(UsageError):
        make_executor("ray://somewhere", 2)


# ----------------------------------------------------------------- Dask


@pytest.mark.parametrize(
    ("spec", "address"),
    [("dask://sched:8786", "tcp://sched:8786"), ("dask+tls://sched:8786", "tls://sched:8786")],
)
def test_a_dask_spec_names_its_transport(
    monkeypatch: pytest.MonkeyPatch, spec: str, address: str
) -> None:
    """Receipts cross the network: `dask+tls://` must reach the scheduler over TLS."""
    distributed = pytest.importorskip("distributed")
    reached: list[str] = []

    class Client:
        def __init__(self, where: str, timeout: int) -> None:
            reached.append(where)

        def scheduler_info(self) -> dict[str, dict[str, object]]:
            return {"workers": {"w1": {}, "w2": {}}}

    monkeypatch.setattr(distributed, "Client", Client)
    executor = make_executor(spec, None)
    assert reached == [address] and executor.workers == 2


def test_all_on_a_local_dask_cluster_gives_the_same_bytes(tmp_path: Path) -> None:
    """`all` with 2 Dask worker processes writes exactly what the default pool writes."""
    pytest.importorskip("distributed")
    from twophase.vault import Vault

    empty = tmp_path / "vault0.db"
    Vault.open(empty, PASSPHRASE, create=True).close()
    common = ("--model", MODEL, "--workers", "2")
    twophase("all", EXAMPLES, "--out", tmp_path / "pool", "--vault", copy(empty, "a.db"), *common)
    twophase(
        "all",
        EXAMPLES,
        "--out",
        tmp_path / "dask",
        "--vault",
        copy(empty, "b.db"),
        "--executor",
        "dask-local",
        *common,
    )
    pool, dask = tree(tmp_path / "pool"), tree(tmp_path / "dask")
    assert sorted(pool) == sorted(tree(EXAMPLES))
    assert pool == dask
    exports = [twophase("export", "--vault", tmp_path / n).stdout for n in ("a.db", "b.db")]
    assert exports[0] == exports[1]


# ----------------------------------------------------------------- resuming


def _spans(work: Path) -> list[dict[str, object]]:
    lines = twophase("spans", "--workdir", work).stdout.splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda d: str(d["document"]))


def test_detect_killed_then_resumed_with_other_workers_equals_one_clean_run(
    tmp_path: Path,
) -> None:
    """Killed mid-batch with 2 workers, finished with 1: the sidecars of one clean run."""
    base = (EXAMPLES / "entretiens" / "entretien-01.txt").read_text(encoding="utf-8")
    docs = {f"lot/d{i:02d}.txt": f"Pièce {i}.\n" + base * 3 for i in range(24)}
    corpus = write_corpus(tmp_path / "corpus", docs)
    work = tmp_path / "work"
    env = {**os.environ, "TWOPHASE_PASSPHRASE": PASSPHRASE}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "twophase.cli", "detect", str(corpus)),
            *("--workdir", str(work), "--model", MODEL, "--workers", "2"),
        ],
        env=env,
        start_new_session=True,  # the pool's workers die with it
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    sidecars = work / "sidecars"
    while time.monotonic() < deadline and proc.poll() is None:
        if sidecars.exists() and len(list(sidecars.rglob("*.msgpack"))) >= 3:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(sidecars.rglob("*.msgpack")))
    if done == len(docs):
        pytest.skip("detect finished before it could be interrupted")
    assert done >= 3
    resumed = twophase("detect", corpus, "--workdir", work, "--model", MODEL, "--workers", "1")
    assert f"{len(docs) - done} detected, {done} unchanged" in resumed.stderr
    twophase("detect", corpus, "--workdir", tmp_path / "clean", "--model", MODEL)
    assert _spans(work) == _spans(tmp_path / "clean")

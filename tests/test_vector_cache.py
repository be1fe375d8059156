"""The vector cache (store/vector_cache.py): a new process maps the vectors an earlier one read
from SQLite instead of reading every blob again; rows added since are read and appended; any
doubt (damaged files, another database, vectors deleted, another writer) means the rows come
from SQLite as before, and a search answers the same either way."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from chat_tui.services import embeddings as emb
from chat_tui.store import Store, vectors
from chat_tui.store.vector_cache import VectorCache

SETUP = emb.EmbeddingSetup("text-embedding-3-small", 16)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "chat.db") as s:
        yield s


def _fill(store: Store, n: int, seed: int = 0) -> list[int]:
    """n one-message conversations, each with a random vector; their message ids."""
    rng = np.random.default_rng(seed)
    mids = []
    for i in range(n):
        cid = store.create_conversation()
        mids.append(store.add_message(cid, "user", f"message {seed}-{i}"))
    block = rng.standard_normal((n, 16)).astype("<f4")
    vectors.save_vectors(store, SETUP.model, [(m, 0, row.tobytes()) for m, row in zip(mids, block)])
    return mids


def _fresh(store: Store) -> emb.VectorIndex:
    index = emb.index_for(store, SETUP)
    assert index is not None and index.cache is not None
    index.refresh(store)
    return index


def _plain(store: Store) -> emb.VectorIndex:
    index = emb.VectorIndex(SETUP.model, 16)  # no cache: SQLite only
    index.refresh(store)
    return index


def _same_answers(a: emb.VectorIndex, b: emb.VectorIndex, seed: int = 9) -> None:
    q = np.random.default_rng(seed).standard_normal(16)
    found_a, found_b = a.nearest(q, 10), b.nearest(q, 10)
    assert [m for m, _ in found_a] == [m for m, _ in found_b]
    assert [s for _, s in found_a] == pytest.approx([s for _, s in found_b], abs=1e-6)


def test_the_second_index_maps_what_the_first_read_and_answers_the_same(store, tmp_path):
    _fill(store, 50)
    first = _fresh(store)
    assert first.mapped == 0 and len(first) == 50
    assert list((tmp_path / "vectors").glob("*.json"))
    second = _fresh(store)
    assert second.mapped == 50 and len(second) == 50
    _same_answers(second, _plain(store))


def test_rows_added_since_are_read_from_sqlite_and_appended_to_the_cache(store):
    _fill(store, 30)
    _fresh(store)
    _fill(store, 7, seed=1)
    second = _fresh(store)
    assert second.mapped == 30 and len(second) == 37
    _same_answers(second, _plain(store))
    # Another 5 while it is open: its refresh reads them and hands them to the cache too.
    _fill(store, 5, seed=2)
    assert second.refresh(store) == 5
    _same_answers(second, _plain(store))
    third = _fresh(store)
    assert third.mapped == 42 and len(third) == 42
    _same_answers(third, _plain(store))


@pytest.mark.parametrize("damage", ["truncated matrix", "changed matrix", "bad json", "missing ids"])
def test_a_damaged_cache_is_ignored_and_rewritten(store, tmp_path, damage):
    _fill(store, 20)
    _fresh(store)
    meta_path = next((tmp_path / "vectors").glob("*.json"))
    meta = json.loads(meta_path.read_text())
    f32 = next((tmp_path / "vectors").glob(f"*-{meta['gen']}.f32"))
    if damage == "truncated matrix":
        f32.write_bytes(f32.read_bytes()[:-100])
    elif damage == "changed matrix":
        data = bytearray(f32.read_bytes())
        data[-4:] = b"\x00\x00\x80\x7f"
        f32.write_bytes(bytes(data))
    elif damage == "bad json":
        meta_path.write_text("{not json")
    else:
        next((tmp_path / "vectors").glob(f"*-{meta['gen']}.ids")).unlink()
    index = _fresh(store)
    assert index.mapped == 0 and len(index) == 20  # read from SQLite
    _same_answers(index, _plain(store))
    assert _fresh(store).mapped == 20  # and the cache was written again


def test_a_cache_of_another_database_is_not_used(tmp_path):
    with Store(tmp_path / "chat.db") as store:
        _fill(store, 10, seed=1)
        _fresh(store)
    (tmp_path / "chat.db").unlink()
    for extra in tmp_path.glob("chat.db-*"):
        extra.unlink()
    with Store(tmp_path / "chat.db") as store:  # a new database at the same path
        _fill(store, 10, seed=2)
        index = _fresh(store)
        assert index.mapped == 0
        _same_answers(index, _plain(store))


def test_dropping_the_space_drops_its_cache_and_many_deletions_rebuild_it(store, tmp_path):
    mids = _fill(store, 40)
    _fresh(store)
    # A few vectors gone (their messages purged): the cache still serves, the live check drops them.
    with store.transaction() as db:
        db.execute("DELETE FROM message_vectors WHERE message_id IN (?, ?)", mids[:2])
    assert _fresh(store).mapped == 40
    # A third of them gone: rebuilt from SQLite.
    with store.transaction() as db:
        db.execute(f"DELETE FROM message_vectors WHERE message_id IN ({','.join(map(str, mids[2:14]))})")
    rebuilt = _fresh(store)
    assert rebuilt.mapped == 0 and len(rebuilt) == 26
    assert _fresh(store).mapped == 26
    vectors.drop_space(store, SETUP.model, 16)
    assert not list((tmp_path / "vectors").glob("*.json")) and not list((tmp_path / "vectors").glob("*.f32"))


def test_another_writer_holding_the_lock_means_no_write_and_no_harm(store, tmp_path):
    _fill(store, 12)
    import fcntl
    cache = VectorCache.beside(store, SETUP.model, 16)
    cache.root.mkdir(parents=True, exist_ok=True)
    with (cache.root / f"{cache.key}.lock").open("a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        index = _fresh(store)  # reads SQLite, can't write the cache
        assert len(index) == 12 and not cache.meta_path.exists()
    assert _fresh(store).mapped == 0 and _fresh(store).mapped == 12


def test_a_rewrite_leaves_a_process_mapping_the_old_files_unharmed(store):
    _fill(store, 25)
    _fresh(store)
    mapped = _fresh(store)
    assert mapped.mapped == 25
    mapped.cache.meta_path.unlink()  # the next load rewrites with a new generation
    _fresh(store)
    _same_answers(mapped, _plain(store))  # the old pages are still readable


def test_a_command_in_a_new_process_maps_the_cache(store, tmp_path):
    """What `chat-tui history search --semantic` does, in a real second process."""
    _fill(store, 60)
    script = textwrap.dedent("""
        import sys, json
        import numpy as np
        from chat_tui.services import embeddings as emb
        from chat_tui.store import Store
        with Store(sys.argv[1]) as store:
            index = emb.index_for(store, emb.EmbeddingSetup("text-embedding-3-small", 16))
            index.refresh(store)
            q = np.random.default_rng(9).standard_normal(16)
            print(json.dumps({"mapped": index.mapped, "hits": [m for m, _ in index.nearest(q, 10)]}))
    """)
    runs = [json.loads(subprocess.run([sys.executable, "-c", script, str(tmp_path / "chat.db")], cwd=ROOT,
                                      capture_output=True, text=True, check=True).stdout) for _ in range(2)]
    assert [r["mapped"] for r in runs] == [0, 60]
    q = np.random.default_rng(9).standard_normal(16)
    assert runs[0]["hits"] == runs[1]["hits"] == [m for m, _ in _plain(store).nearest(q, 10)]

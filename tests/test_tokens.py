"""Token counting: known counts, offline loading, estimates, and never blocking the UI."""

from __future__ import annotations

import hashlib
import gzip
import inspect
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken.model
import tiktoken.registry
from tiktoken_ext import openai_public

from chat_tui.core import tokens
from chat_tui.core.messages import ChatMessage
from chat_tui.core.tokens import (
    ENCODING_FILES,
    HEURISTIC,
    EncodingUnavailable,
    TokenCount,
    TokenCounter,
    encoding_name_for_model,
    is_openai_tokenizer_model,
)

REFERENCE = Path(__file__).parent / "data" / "tiktoken-0.14.0_model_to_encoding.json"

# From OpenAI's cookbook "How to count tokens with tiktoken".
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate "
        "jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client "
        "deliverable.",
    },
]


def _url_path(cache_dir: Path, url: str) -> Path:
    return cache_dir / hashlib.sha1(url.encode()).hexdigest()


O200K_URL, O200K_SHA = ENCODING_FILES["o200k_base"][0]
CL100K_URL, CL100K_SHA = ENCODING_FILES["cl100k_base"][0]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to reach the network fails loudly and is recorded."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    real_read_file = tiktoken.load.read_file

    def read_local_only(blobpath):  # tiktoken's download path, before any socket
        if "://" in blobpath:
            refuse(blobpath)
        return real_read_file(blobpath)

    monkeypatch.setattr(tiktoken.load, "read_file", read_local_only)
    return attempts


@pytest.fixture
def cold(monkeypatch, tmp_path, no_network):
    """An empty cache dir in TIKTOKEN_CACHE_DIR and a tiktoken with nothing loaded yet."""
    cache_dir = tmp_path / "tiktoken-cache"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    return cache_dir


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        cache_dir = tmp_path_factory.mktemp("tiktoken")
        mp.setenv("TIKTOKEN_CACHE_DIR", str(cache_dir))
        c = TokenCounter(cache_dir)
        c.preload("gpt-4o", "gpt-4")
        yield c


# -- known counts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-3.5-turbo", 129),
        ("gpt-3.5-turbo-0125", 129),
        ("gpt-4", 129),
        ("gpt-4-0613", 129),
        ("gpt-4o", 124),
        ("gpt-4o-mini", 124),
        ("gpt-4o-mini-2024-07-18", 124),
        ("gpt-4o-2024-08-06", 124),
    ],
)
def test_cookbook_conversation(counter, model, expected):
    count = counter.count_messages(COOKBOOK_MESSAGES, model)
    assert count == TokenCount(expected, True, encoding_name_for_model(model))
    as_objects = [ChatMessage.from_wire(m) for m in COOKBOOK_MESSAGES]
    assert counter.count_messages(as_objects, model) == count
    assert counter.try_count_messages(as_objects, model) == count


@pytest.mark.parametrize(
    ("text", "cl100k", "o200k"),
    [
        ("tiktoken is great!", 6, 6),
        ("antidisestablishmentarianism", 6, 6),
        ("2 + 2 = 4", 7, 7),
        ("お誕生日おめでとう", 9, 8),
        ("hello world", 2, 2),
        ("", 0, 0),
    ],
)
def test_known_string_counts(counter, text, cl100k, o200k):
    assert counter.count_text(text, "gpt-4") == TokenCount(cl100k, True, "cl100k_base")
    assert counter.count_text(text, "gpt-4o") == TokenCount(o200k, True, "o200k_base")
    assert counter.count_completion(text, "gpt-4o").tokens == o200k


def test_pieces_and_ids(counter):
    assert counter.encode_with_pieces("tiktoken is great!", "gpt-4") == [
        (83, "t"), (1609, "ik"), (5963, "token"), (374, " is"), (2294, " great"), (0, "!"),
    ]
    assert [t for t, _ in counter.encode_with_pieces("tiktoken is great!", "gpt-4o")] == [
        83, 8251, 2488, 382, 2212, 0,
    ]
    assert counter.token_id_to_piece(5963, "gpt-4") == "token"
    assert counter.token_id_to_piece(24912, "gpt-4o") == "hello"
    # A parrot emoji is three byte-level tokens: partial UTF-8 shows as U+FFFD, not an error.
    pieces = counter.encode_with_pieces("🦜", "gpt-4o")
    assert len(pieces) == 3 and all("\ufffd" in p for _, p in pieces)
    with pytest.raises(KeyError):
        counter.token_id_to_piece(10**9, "gpt-4o")


def test_pieces_refuse_an_unavailable_vocabulary(counter):
    # Ids from o200k_base would be wrong logit_bias keys for text-davinci-003.
    with pytest.raises(EncodingUnavailable):
        counter.encode_with_pieces("hello", "text-davinci-003")


def test_special_token_text_is_ordinary_text(counter):
    count = counter.count_text("<|endoftext|>", "gpt-4o")
    assert count.exact and count.tokens > 1


def test_message_dicts_with_parts_names_and_no_content(counter):
    base = counter.count_messages([{"role": "user", "content": "hi"}], "gpt-4o").tokens
    assert base == 3 + 1 + 1 + 3  # framing + "user" + "hi" + reply priming
    named = counter.count_messages([{"role": "user", "content": "hi", "name": "bob"}], "gpt-4o")
    assert named.tokens == base + 1 + 1
    parts = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert counter.count_messages(parts, "gpt-4o").tokens == base
    empty = counter.count_messages([{"role": "assistant", "content": None}], "gpt-4o")
    assert empty.tokens == 3 + 1 + 0 + 3
    assert counter.count_messages([], "gpt-4o").tokens == 3


def test_str_marks_estimates():
    assert str(TokenCount(124, True, "o200k_base")) == "124"
    assert str(TokenCount(124, False, "o200k_base")) == "~124"


@pytest.mark.parametrize("model", ["llama3.2:1b", "smollm2-135m-instruct", "qwen2.5-7b", "mistral"])
def test_local_models_are_estimates(counter, model):
    count = counter.count_text("tiktoken is great!", model)
    assert count == TokenCount(6, False, "o200k_base")
    assert str(count) == "~6"


@pytest.mark.timing
def test_unavailable_encoding_is_a_quick_estimate(counter, no_network):
    started = time.perf_counter()
    count = counter.count_text("tiktoken is great!", "text-davinci-003")
    assert time.perf_counter() - started < 0.5
    assert count == TokenCount(6, False, "o200k_base")  # o200k_base standing in for p50k_base
    assert "p50k_base" in counter.unavailable()
    assert counter.try_count_text("x", "text-davinci-003") is not None
    assert no_network == []


# -- offline loading ------------------------------------------------------------------------


def test_cold_load_from_an_empty_cache_without_network(cold, no_network):
    counter = TokenCounter(cold)
    assert counter.count_text("tiktoken is great!", "gpt-4o") == TokenCount(6, True, "o200k_base")
    assert counter.count_messages(COOKBOOK_MESSAGES, "gpt-4").tokens == 129
    assert _url_path(cold, O200K_URL).exists() and _url_path(cold, CL100K_URL).exists()
    assert not list(cold.glob("*.tmp"))
    assert no_network == []


def test_corrupted_cache_file_is_replaced(cold, no_network):
    cold.mkdir(parents=True)
    path = _url_path(cold, O200K_URL)
    path.write_bytes(b"not a tiktoken file\n")
    counter = TokenCounter(cold)
    assert counter.prepare() == {"o200k_base": None, "cl100k_base": None}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == O200K_SHA
    assert counter.count_text("hello world", "gpt-4o") == TokenCount(2, True, "o200k_base")
    assert no_network == []


def test_file_corrupted_after_prepare_is_repaired_at_load(cold, no_network):
    # prepare() remembers what it verified; loading checks again, because tiktoken would
    # delete a bad file and try to download it.
    counter = TokenCounter(cold)
    counter.prepare()
    _url_path(cold, CL100K_URL).write_bytes(b"garbage")
    assert counter.count_text("hello world", "gpt-4") == TokenCount(2, True, "cl100k_base")
    assert no_network == []


@pytest.mark.timing
def test_prepare_is_idempotent_and_cheap(cold):
    counter = TokenCounter(cold)
    counter.prepare()
    mtime = _url_path(cold, O200K_URL).stat().st_mtime_ns
    started = time.perf_counter()
    for _ in range(100):
        counter.prepare()
    assert time.perf_counter() - started < 0.1
    assert TokenCounter(cold).prepare() == {"o200k_base": None, "cl100k_base": None}
    assert _url_path(cold, O200K_URL).stat().st_mtime_ns == mtime  # valid file left alone


def test_users_cache_dir_is_respected(monkeypatch, tmp_path, no_network):
    theirs = tmp_path / "theirs"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(theirs))
    counter = TokenCounter(tmp_path / "ours")
    counter.prepare()
    assert _url_path(theirs, O200K_URL).exists()
    assert not (tmp_path / "ours").exists()


def test_our_cache_dir_is_used_when_unset(monkeypatch, tmp_path, no_network):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "placeholder")  # so teardown restores the original
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    ours = tmp_path / "ours"
    TokenCounter(ours).prepare()
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(ours)
    assert _url_path(ours, CL100K_URL).exists()


def test_legacy_encoding_missing_from_cache_is_never_fetched(cold, no_network):
    counter = TokenCounter(cold)
    assert counter.count_text("hello", "davinci").exact is False  # r50k_base: not cached
    assert "r50k_base" in counter.unavailable()
    assert no_network == []


def test_without_bpe_openai_counts_fall_back_to_characters(cold, monkeypatch, no_network):
    monkeypatch.setattr(tokens, "_bundled_data_dirs", lambda: [])
    counter = TokenCounter(cold)
    count = counter.count_text("x" * 10, "gpt-4o")
    assert count == TokenCount(3, False, HEURISTIC)
    assert str(count) == "~3"
    assert counter.try_count_text("abcd", "gpt-4") is None  # cl100k_base not tried yet
    counter.preload("gpt-4")
    assert counter.try_count_text("abcd", "gpt-4") == TokenCount(1, False, HEURISTIC)
    assert counter.count_messages([{"role": "user", "content": "abcdefgh"}], "gpt-4o").tokens == 9
    assert no_network == []


def test_tampered_bundled_file_is_never_handed_to_tiktoken(cold, monkeypatch, tmp_path):
    fake = tmp_path / "data"
    fake.mkdir()
    (fake / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(b"aGVsbG8= 0\n"))
    monkeypatch.setattr(tokens, "_bundled_data_dirs", lambda: [fake])
    counter = TokenCounter(cold)
    assert counter.prepare()["o200k_base"] is not None
    assert not _url_path(cold, O200K_URL).exists()


# -- never blocking -------------------------------------------------------------------------


@pytest.mark.timing
def test_try_count_and_is_loaded_never_wait_for_loading(cold, monkeypatch):
    release = threading.Event()
    entered = threading.Event()
    real_load = tokens._load_encoding

    def slow_load(name):
        entered.set()
        release.wait(10)
        return real_load(name)

    monkeypatch.setattr(tokens, "_load_encoding", slow_load)
    counter = TokenCounter(cold)
    assert counter.try_count_text("hello", "gpt-4o") is None
    assert not counter.is_loaded("gpt-4o")

    loader = threading.Thread(target=counter.preload, args=("gpt-4o",))
    loader.start()
    try:
        assert entered.wait(10)
        started = time.perf_counter()
        for _ in range(100):
            assert counter.try_count_text("hello", "gpt-4o") is None
            assert counter.try_count_messages([{"role": "user", "content": "x"}], "gpt-4o") is None
            assert not counter.is_loaded("gpt-4o")
        assert time.perf_counter() - started < 0.1
    finally:
        release.set()
        loader.join(10)
    assert counter.is_loaded("gpt-4o") and counter.is_loaded("llama3")
    assert not counter.is_loaded("gpt-4")  # cl100k_base not loaded yet
    assert counter.try_count_text("hello world", "gpt-4o") == TokenCount(2, True, "o200k_base")
    assert counter.try_count_text("hello world", "phi3") == TokenCount(2, False, "o200k_base")


def test_concurrent_first_use_loads_each_encoding_once(cold, monkeypatch):
    calls: list[str] = []
    real_load = tokens._load_encoding

    def counting_load(name):
        calls.append(name)
        return real_load(name)

    monkeypatch.setattr(tokens, "_load_encoding", counting_load)
    counter = TokenCounter(cold)
    results: list[TokenCount] = []
    barrier = threading.Barrier(8)

    def work(model):
        barrier.wait()
        results.append(counter.count_text("tiktoken is great!", model))

    threads = [threading.Thread(target=work, args=(m,)) for m in ["gpt-4o", "gpt-4"] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and all(r.exact and r.tokens == 6 for r in results)
    assert sorted(calls) == ["cl100k_base", "o200k_base"]


# -- model -> encoding ----------------------------------------------------------------------


def test_matches_tiktoken_reference_table():
    reference = json.loads(REFERENCE.read_text())
    for model, encoding in reference["MODEL_TO_ENCODING"].items():
        assert encoding_name_for_model(model) == encoding, model
        assert is_openai_tokenizer_model(model)
    for prefix, encoding in reference["MODEL_PREFIX_TO_ENCODING"].items():
        for model in (prefix, prefix + "2099-01-01", prefix + "x:org::abc"):
            assert encoding_name_for_model(model) == encoding, model
            assert encoding_name_for_model(model) == tiktoken.model.encoding_name_for_model(model)


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-2024-08-06", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-4.5-preview", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5-mini-2025-08-07", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-4-32k", "cl100k_base"),
        ("gpt-3.5-turbo-16k", "cl100k_base"),
        ("text-embedding-3-large", "cl100k_base"),
        ("text-embedding-ada-002", "cl100k_base"),
        ("text-davinci-003", "p50k_base"),
        ("curie", "r50k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("openrouter/openai/gpt-4.1-mini", "o200k_base"),
        ("OpenAI:GPT-4o", "o200k_base"),
        ("azure/gpt-35-turbo-16k", "cl100k_base"),
        ("prod-gpt4o-eastus", "o200k_base"),
        ("my_gpt-35-turbo_deployment", "cl100k_base"),
        ("team-gpt-4", "cl100k_base"),
        ("gpt-oss-20b", "o200k_harmony"),
        ("gpt-oss:20b", "o200k_harmony"),
    ],
)
def test_encoding_for_model(model, encoding):
    assert encoding_name_for_model(model) == encoding
    assert is_openai_tokenizer_model(model)


@pytest.mark.parametrize(
    "model", ["llama3.2", "smollm2:135m", "qwen2.5-7b-instruct", "gpt4-x-alpaca", "gpt-j-6b", ""]
)
def test_unknown_models_use_o200k_as_a_stand_in(model):
    assert encoding_name_for_model(model) == "o200k_base"
    assert not is_openai_tokenizer_model(model)


def test_file_table_matches_tiktoken_constructors():
    for name, files in ENCODING_FILES.items():
        base = "o200k_base" if name == "o200k_harmony" else name  # harmony calls o200k_base()
        source = inspect.getsource(openai_public.ENCODING_CONSTRUCTORS[base])
        for url, sha256 in files:
            assert url in source and sha256 in source, (name, url)


# -- the core stays light -------------------------------------------------------------------


def test_import_and_count_in_a_fresh_offline_process(tmp_path):
    script = textwrap.dedent(
        """
        import socket, sys
        def refuse(*a, **k):
            raise OSError("offline")
        socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
        from pathlib import Path
        from chat_tui.core.tokens import TokenCounter
        import chat_tui.core.models_table
        c = TokenCounter(Path(sys.argv[1]))
        assert str(c.count_text("tiktoken is great!", "gpt-4o")) == "6"
        assert str(c.count_text("tiktoken is great!", "gpt-4")) == "6"
        loaded = [m for m in ("textual", "rich", "bpe_openai", "requests") if m in sys.modules]
        assert not loaded, loaded
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cache")],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


# -- loading with a lower memory peak ---------------------------------------------------------


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_lean_parse_builds_exactly_tiktokens_table(cold, encoding):
    from chat_tui.core.bpe_load import parse_ranks

    TokenCounter(cold).prepare()  # installs the files into the (empty) cache, offline
    url, sha256 = ENCODING_FILES[encoding][0]
    contents = tiktoken.load.read_file_cached(url, sha256)  # the installed file, hash checked
    assert parse_ranks(contents) == tiktoken.load.load_tiktoken_bpe(url, sha256)


def test_lean_parse_reads_crlf_and_refuses_a_bad_line():
    from chat_tui.core.bpe_load import parse_ranks

    assert parse_ranks(b"IQ== 0\r\nIg== 1\r\n\r\n") == {b"!": 0, b'"': 1}
    with pytest.raises(ValueError, match="Error parsing line"):
        parse_ranks(b"IQ== 0\nnot-a-rank\n")


def test_loading_restores_tiktokens_own_parser(cold):
    original = openai_public.load_tiktoken_bpe
    counter = TokenCounter(cold)
    assert counter.count_text("tiktoken is great!", "gpt-4o") == TokenCount(6, True, "o200k_base")
    assert openai_public.load_tiktoken_bpe is original

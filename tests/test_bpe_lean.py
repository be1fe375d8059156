"""The lean encoder (core/bpe_lean.py) gives tiktoken's ids, exactly, on every kind of text:
the project's own files (prose, Markdown, code, JSON), hand-picked edge cases (contractions in
any case, digit runs, white space of every kind, CRLF, special-token text, emoji sequences, lone
surrogates) and seeded random text from every Unicode plane. tiktoken itself is the reference."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from chat_tui.core import bpe_lean
from chat_tui.core.tokens import TokenCounter

ROOT = Path(__file__).resolve().parents[1]
ENCODINGS = ["o200k_base", "cl100k_base"]


@pytest.fixture(scope="module", params=ENCODINGS)
def pair(request, tmp_path_factory):
    """(lean, tiktoken) for one encoding, their files installed as the app installs them."""
    counter = TokenCounter(tmp_path_factory.mktemp("tiktoken"))
    counter.prepare()
    lean = counter._load(request.param)
    assert isinstance(lean, bpe_lean.LeanEncoding), counter.unavailable()
    return lean, lean._reference_encoding()


def _corpus() -> list[str]:
    texts = []
    for pattern in ("README.md", "docs/*.md", "chat_tui/**/*.py", "tests/data/**/*.json", "themes/*"):
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file():
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return texts


EDGES = [
    "", " ", "  ", "\n", "\r\n", "\r\n\r\n  \n", "\t\t x", "a  \n\n  b", "trailing   ",
    "I'M HE'S you're WE'VE they'LL it'd don't 'tis o'clock", "ʼs ’s 's 'S",
    "1 12 123 1234 12345 ٣٤٥ 1,000,000.50 -3e-10 0x1F",
    "<|endoftext|> <|fim_prefix|>x<|fim_suffix|> <|im_start|>", "hello world" * 50,
    "👩‍👩‍👧‍👦 🏳️‍🌈 🇩🇪 ✊🏿 🫨 🩷", "naïve café coöperate Ångström", "日本語のテキスト、中文文本。한국어 텍스트",
    "مرحبا بالعالم שלום עולם", "Здравствуй, мир! Ελληνικά", "ज़िन्दगी தமிழ் ไทย",
    "def f(x):\n    return {'a': [1, 2]}  # ok\n", "```python\nprint('hi')\n```", "| a | b |\n|---|---|",
    "a\u0301\u0302 e\u20dd \u200b\u200c\u200d \u00a0\u2003\u3000 \ufeff", "lone \ud800 surrogate \udfff",
    "\x00\x01\x1b[31mred\x1b[0m\x7f", "a/b\\c|d~e^f`g", "...!!!???---___===+++",
    "https://example.com/path?q=1&r=%20#frag", "user@example.com", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛 𐐷",
]


def _random_texts(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    pools = [
        lambda: chr(rnd.randrange(32, 127)),
        lambda: rnd.choice(" \t\n\r\x0b\x0c\u00a0\u2028\u3000"),
        lambda: chr(rnd.randrange(0x80, 0x800)),
        lambda: chr(rnd.randrange(0x800, 0xD800)),
        lambda: chr(rnd.randrange(0xE000, 0x10000)),
        lambda: chr(rnd.randrange(0x10000, 0x30000)),
        lambda: chr(rnd.randrange(0x30000, 0x110000)),
        lambda: rnd.choice(["'s", "'T", "'re", "'Ve", "'m", "'LL", "'d", "123", "4567"]),
    ]
    texts = []
    for _ in range(count):
        weights = [rnd.random() for _ in pools]
        texts.append("".join(rnd.choices(pools, weights)[0]() for _ in range(rnd.randrange(1, 120))))
    return texts


def _differences(lean, reference, texts) -> list[str]:
    return [t[:80] for t in texts if lean.encode_ordinary(t) != reference.encode_ordinary(t)]


def test_same_ids_as_tiktoken_on_the_projects_own_files(pair):
    lean, reference = pair
    texts = _corpus()
    assert sum(map(len, texts)) > 500_000
    assert _differences(lean, reference, texts) == []


def test_same_ids_on_edge_cases(pair):
    lean, reference = pair
    assert _differences(lean, reference, EDGES) == []
    assert _differences(lean, reference, ["".join(EDGES)]) == []


def test_same_ids_on_random_text_from_every_plane(pair):
    lean, reference = pair
    assert _differences(lean, reference, _random_texts(7, 4000)) == []


def test_the_piece_cache_changes_nothing(pair):
    lean, reference = pair
    text = "".join(_corpus()[:5])
    first = lean.encode_ordinary(text)
    assert lean.encode_ordinary(text) == first == reference.encode_ordinary(text)


def test_decoding_gives_the_bytes_back(pair):
    lean, reference = pair
    text = "".join(e for e in EDGES if "surrogate" not in e)
    ids = lean.encode_ordinary(text)
    assert lean.decode_bytes(ids) == reference.decode_bytes(ids) == text.encode("utf-8", "surrogatepass")
    for token in (0, 1, 255, 1000, lean.n_vocab - 1):
        try:
            expected = reference.decode_single_token_bytes(token)
        except KeyError:
            with pytest.raises(KeyError):
                lean.decode_single_token_bytes(token)
            continue
        assert lean.decode_single_token_bytes(token) == expected
    with pytest.raises(KeyError):
        lean.decode_single_token_bytes(10**9)


def test_text_this_pythons_unicode_tables_call_unassigned_goes_to_tiktoken(pair):
    """U+1AE1 is a combining mark to the `regex` module's tables and unassigned to older ones:
    the text is encoded by tiktoken itself, so the ids are still tiktoken's."""
    lean, reference = pair
    calls = []
    real = lean._reference_encoding

    def counted():
        calls.append(1)
        return real()

    lean._reference_encoding = counted
    try:
        text = "\u1ae1/C and more"
        assert lean.encode_ordinary(text) == reference.encode_ordinary(text)
        assert calls == [1] if lean._needs_reference(text) else calls == []
        assert lean.encode_ordinary("plain text") and calls in ([], [1])  # no reference for plain text
    finally:
        del lean._reference_encoding


def test_memory_of_a_loaded_encoding_is_a_third_of_tiktokens(tmp_path):
    """In a fresh process: resident memory added by loading o200k_base, lean against tiktoken's
    (its Python table shed, as the app used to load it)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from chat_tui.core import tokens\n"
        "def rss():\n"
        "    return int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) / 1024\n"
        "counter = tokens.TokenCounter(Path(sys.argv[1]))\n"
        "counter.prepare()\n"
        "import tiktoken, tiktoken_ext.openai_public, regex, unicodedata\n"
        "from chat_tui.core import bpe_lean, bpe_load\n"
        "before = rss()\n"
        "if sys.argv[2] == 'lean':\n"
        "    encoding = bpe_lean.load('o200k_base')\n"
        "else:\n"
        "    encoding = bpe_load.get_encoding('o200k_base')\n"
        "    tokens._shed_python_ranks(encoding)\n"
        "from chat_tui.core.memory import trim_heap\n"
        "trim_heap()\n"
        "print(rss() - before)\n"
    )
    grown = {}
    for kind in ("lean", "tiktoken"):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "cache"), kind], capture_output=True,
                             text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr
        grown[kind] = float(out.stdout.split()[-1])
    print(f"o200k_base resident: lean {grown['lean']:.1f} MB, tiktoken {grown['tiktoken']:.1f} MB")
    assert grown["lean"] < 20 and grown["lean"] * 2.5 < grown["tiktoken"]

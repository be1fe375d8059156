"""Structured output, the use case: a schema file read into a `response_format`, and a reply
checked against the schema it was sent with (the CLI's `ask --schema` and the chat screen).

Schema files are JSON (YAML would need a dependency chat-tui does not otherwise have). The
checks themselves are `core.structured`'s; here are the file and its errors, one line each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chat_tui.core.structured import (
    SchemaError,
    StrictError,
    Structured,
    Verdict,
    check_name,
    name_from_file,
    response_format,
    schema_from_text,
    structured_of,
    validate_answer,
)

MAX_SCHEMA_BYTES = 1_000_000  # a schema is a few kB; a bigger file is not the one meant


def read_schema(path: str | Path) -> tuple[str, dict[str, Any]]:
    """(a format name from the file name, the schema) from a JSON file: `SchemaError` saying
    what is wrong (missing, a directory, too big, not UTF-8, not JSON at line/column, not a
    JSON Schema at a path)."""
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size
        if file.is_dir():
            raise SchemaError("is a directory, not a schema file")
        if size > MAX_SCHEMA_BYTES:
            raise SchemaError(f"{size / 1e6:.1f} MB is too big for a schema (at most {MAX_SCHEMA_BYTES // 1_000_000} MB)")
        data = file.read_bytes()
    except FileNotFoundError:
        raise SchemaError("no such file") from None
    except PermissionError:
        raise SchemaError("permission denied") from None
    except OSError as exc:
        raise SchemaError(exc.strerror or str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"not UTF-8 text (byte {exc.start})") from None
    return name_from_file(file.name), schema_from_text(text)


def load_response_format(path: str | Path, *, name: str | None = None, strict: bool = True,
                         description: str | None = None) -> dict[str, Any]:
    """The `response_format` for a schema file, named after the file unless `name` is given."""
    derived, schema = read_schema(path)
    return response_format(check_name(name) if name is not None else derived, schema, strict=strict,
                           description=description)


def check_reply(params: dict[str, Any] | None, text: str) -> Verdict | None:
    """A reply checked against the schema its request carried (`params`: as sent and stored);
    None when it was not asked for a schema."""
    found = structured_of((params or {}).get("response_format"))
    return validate_answer(text, found) if found is not None else None


__all__ = ["MAX_SCHEMA_BYTES", "SchemaError", "StrictError", "Structured", "Verdict", "check_reply", "load_response_format", "read_schema"]

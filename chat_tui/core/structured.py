"""Structured output, the logic: `response_format` with a JSON Schema, checked before it is sent,
and the answer checked against it after.

Before sending (`schema_from_text`, `check_schema`, `response_format`): the text must be a JSON
object that is a JSON Schema (`jsonschema`'s `check_schema`), and with `strict` on, the rules the
API enforces (the root is an object; every object has `"additionalProperties": false` and lists
every property in `required`) are checked here, so a schema the API would refuse with a 400 is
reported with the place it breaks them (`$.properties.address`) before anything is paid for. The
format's `name` must match `^[a-zA-Z0-9_-]{1,64}$`; `name_from_file` derives one from a file name.

After (`validate_answer`): the answer is parsed (a parse error is reported at its line and
column, and an answer cut short says so) and validated; the *first* violation in the order of
the answer's text is reported with its JSON path: `$.items[2].price: 'abc' is not of type
'number'`. `jsonschema` is imported on first use (it costs ~80 ms), not with this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}\Z")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
MESSAGE_LIMIT = 300  # characters of a violation's message (jsonschema quotes whole values)

Path = tuple["str | int", ...]


class SchemaError(ValueError):
    """A schema that cannot be sent: not JSON, not a JSON Schema, or against strict mode's rules.
    `path` is where in the schema (None: the text as a whole); `location` the (line, column)
    of a JSON syntax error."""

    def __init__(self, message: str, path: Path | None = None, location: tuple[int, int] | None = None) -> None:
        super().__init__(f"{json_path(path)}: {message}" if path is not None else message)
        self.path = path
        self.location = location


class StrictError(SchemaError):
    """A JSON Schema that breaks a rule of strict mode (it would go with strict off)."""


def json_path(path: Path | None) -> str:
    """`("items", 2, "price")` -> `$.items[2].price`; a key that is not a plain name is quoted:
    `$["unit price"]`."""
    out = ["$"]
    for part in path or ():
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def name_from_file(filename: str) -> str:
    """A format name from a file name: its stem with every character the API refuses made `_`,
    at most 64 characters (`"my person.schema.json"` -> `"my_person_schema"`)."""
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".json",):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return re.sub(r"[^a-zA-Z0-9_-]", "_", stem)[:64] or "schema"


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise SchemaError(f"the name {name!r} is not allowed: use 1 to 64 letters, digits, _ or -")
    return name


# -- the schema ------------------------------------------------------------------------------


def parse_json(text: str) -> Any:
    """JSON text as data; `SchemaError` naming the line and column of a syntax error (NaN and
    Infinity are not JSON)."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise SchemaError("the file is empty") from None
        what, line, column = _syntax(text, exc)
        raise SchemaError(f"not JSON: {what}", location=(line, column)) from None
    except ValueError as exc:
        raise SchemaError(f"not JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _syntax(text: str, exc: json.JSONDecodeError) -> tuple[str, int, int]:
    """What and where (line, column): a text that stops inside a value (an answer cut short)
    says so, at its last character."""
    where = f"line {exc.lineno}, column {exc.colno}"
    end = text.rstrip()
    unterminated = exc.msg.startswith("Unterminated string")  # the string runs to the end
    if not unterminated and exc.pos < len(end):
        return f"{where}: {exc.msg}", exc.lineno, exc.colno
    line = end.count("\n") + 1
    column = len(end) - (end.rfind("\n") + 1)
    what = f"the string at {where} is not closed" if unterminated else exc.msg
    return f"it ends early (cut off?) after line {line}, column {column}: {what}", line, column


def schema_from_text(text: str) -> dict[str, Any]:
    """A schema from JSON text, checked to be a JSON Schema (not the strict rules)."""
    schema = parse_json(text)
    check_schema(schema, strict=False)
    return schema


def _validator_class(schema: dict[str, Any]) -> Any:
    from jsonschema.validators import Draft202012Validator, validator_for

    return validator_for(schema, default=Draft202012Validator)


def check_schema(schema: Any, *, strict: bool) -> dict[str, Any]:
    """`schema` if it is a JSON Schema (and keeps strict mode's rules, with `strict`), else
    `SchemaError` with the path of the first problem."""
    if not isinstance(schema, dict):
        raise SchemaError(f"a schema is a JSON object, not {_kind(schema)}")
    from jsonschema.exceptions import SchemaError as JsonSchemaError

    try:
        _validator_class(schema).check_schema(schema)
    except JsonSchemaError as exc:
        raise SchemaError(f"not a JSON Schema: {_short(exc.message)}", tuple(exc.absolute_path)) from None
    if strict:
        problems = strict_problems(schema)
        if problems:
            path, message = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise StrictError(message + more, path)
    return schema


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(type(value), "a number")


# Keywords whose value is one schema, a list of schemas, or a name -> schema object.
_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "additionalItems")
_LIST = ("anyOf", "allOf", "oneOf", "prefixItems", "items")
_NAMED = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")


def _subschemas(node: dict[str, Any], path: Path) -> Iterator[tuple[Any, Path]]:
    for key in _NAMED:
        if isinstance(node.get(key), dict):
            for name, sub in node[key].items():
                yield sub, (*path, key, name)
    for key in _LIST:
        if isinstance(node.get(key), list):
            for i, sub in enumerate(node[key]):
                yield sub, (*path, key, i)
    for key in _ONE:
        if isinstance(node.get(key), dict):
            yield node[key], (*path, key)


def _is_object(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def strict_problems(schema: dict[str, Any]) -> list[tuple[Path, str]]:
    """Where the schema breaks the rules the API enforces in strict mode, in document order."""
    problems: list[tuple[Path, str]] = []
    if schema.get("type") != "object":
        problems.append(((), 'strict mode needs the root to be an object ("type": "object"), not '
                             + ("anyOf" if "anyOf" in schema else json.dumps(schema.get("type", "any type")))))

    def walk(node: Any, path: Path) -> None:
        if not isinstance(node, dict):
            return
        if _is_object(node):
            if node.get("additionalProperties") is not False:
                problems.append((path, 'strict mode needs "additionalProperties": false on every object'))
            properties = node.get("properties") if isinstance(node.get("properties"), dict) else {}
            required = node.get("required") if isinstance(node.get("required"), list) else []
            missing = [name for name in properties if name not in required]
            if missing:
                names = ", ".join(json.dumps(m, ensure_ascii=False) for m in missing)
                problems.append((path, f'strict mode needs every property in "required"; missing: {names}'
                                       ' (a property that may be absent can be {"type": [..., "null"]})'))
        for sub, sub_path in _subschemas(node, path):
            walk(sub, sub_path)

    walk(schema, ())
    return problems


def response_format(name: str, schema: dict[str, Any], *, strict: bool = True,
                    description: str | None = None) -> dict[str, Any]:
    """The `response_format` to send (ResponseFormatJsonSchema), checked."""
    inner: dict[str, Any] = {"name": check_name(name)}
    if description:
        inner["description"] = description
    inner["schema"] = check_schema(schema, strict=strict)
    inner["strict"] = bool(strict)
    return {"type": "json_schema", "json_schema": inner}


def check_response_format(value: dict[str, Any]) -> dict[str, Any]:
    """A `{"type": "json_schema", "json_schema": {...}}` given whole (an option, a stored
    conversation) checked as `response_format` would build it; `SchemaError` otherwise."""
    inner = value.get("json_schema")
    if not isinstance(inner, dict):
        raise SchemaError('type "json_schema" needs a "json_schema" object')
    unknown = sorted(set(inner) - {"name", "schema", "strict", "description"})
    if unknown:
        raise SchemaError(f"json_schema has no field {unknown[0]!r} (name, schema, strict, description)")
    if "schema" not in inner:
        raise SchemaError('json_schema needs a "schema"')
    strict = inner.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise SchemaError(f"strict is true or false, not {strict!r}")
    description = inner.get("description")
    if description is not None and not isinstance(description, str):
        raise SchemaError("description is a string")
    check_name(inner.get("name"))
    try:
        check_schema(inner["schema"], strict=bool(strict))
    except SchemaError as exc:
        raise type(exc)(f"schema {exc}") from None
    return value


@dataclass(frozen=True)
class Structured:
    """What a reply was asked to be: the format's name and its schema."""

    name: str
    schema: dict[str, Any]
    strict: bool = False


def structured_of(value: Any) -> Structured | None:
    """The name and schema of a json_schema `response_format` (as sent), or None."""
    if not isinstance(value, dict) or value.get("type") != "json_schema":
        return None
    inner = value.get("json_schema")
    if not isinstance(inner, dict) or not isinstance(inner.get("schema"), dict):
        return None
    name = inner.get("name") if isinstance(inner.get("name"), str) else "schema"
    return Structured(name, inner["schema"], inner.get("strict") is True)


def describe(value: Any) -> str:
    """A response format in a few words: `text`, `json_object`, `json_schema:person`."""
    if not isinstance(value, dict):
        return "text" if value is None else str(value)
    found = structured_of(value)
    if found is not None:
        return f"json_schema:{found.name}"
    return str(value.get("type", "?"))


# -- the answer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """An answer checked against its schema. `parsed`: it is JSON (`data`). `path` and `message`:
    the first violation (None when valid); a parse error has no path but a line and column."""

    name: str
    parsed: bool
    data: Any = None
    path: Path | None = None
    message: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def ok(self) -> bool:
        return self.parsed and self.message is None

    def summary(self) -> str:
        """One line: "✓ valid against NAME" or "✗ $.path: message"."""
        if self.ok:
            return f"✓ valid against {self.name}"
        if not self.parsed:
            return f"✗ {self.message}"
        return f"✗ {json_path(self.path)}: {self.message}"


def validate_answer(text: str, structured: Structured) -> Verdict:
    """Parse the answer and find its first violation of the schema (see the module docstring)."""
    name = structured.name
    if not text.strip():
        return Verdict(name, False, message="the answer is empty: no JSON")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        what, line, column = _syntax(text, exc)
        return Verdict(name, False, message=f"not JSON: {what}", line=line, column=column)
    except ValueError as exc:
        return Verdict(name, False, message=f"not JSON: {exc}")
    try:
        error = first_violation(data, structured.schema)
    except Exception as exc:  # noqa: BLE001 - an unresolvable $ref and the like: say so, keep the answer
        return Verdict(name, True, data, (), f"the schema could not be applied: {_short(str(exc))}")
    if error is None:
        return Verdict(name, True, data)
    return Verdict(name, True, data, tuple(error.absolute_path), _short(error.message))


def first_violation(data: Any, schema: dict[str, Any]) -> Any:
    """The violation (a jsonschema `ValidationError`) that comes first in the answer's text:
    errors ordered by where their place is in the document (a parent before its children,
    keys in the order written), and among those at one place the most relevant (`best_match`,
    which also looks inside anyOf/oneOf)."""
    from jsonschema.exceptions import best_match

    errors = list(_validator_class(schema)(schema).iter_errors(data))
    if not errors:
        return None
    places = [_position(data, tuple(e.path)) for e in errors]
    first = min(places)
    return best_match(e for e, place in zip(errors, places) if place == first)


def _position(data: Any, path: Path) -> tuple[int, ...]:
    """A path as indexes in document order: keys by their place in their object."""
    out = []
    node = data
    for part in path:
        if isinstance(node, dict):
            keys = list(node)
            out.append(keys.index(part) if part in node else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            out.append(0)
            node = None
    return tuple(out)


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"

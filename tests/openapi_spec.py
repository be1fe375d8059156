"""Check request bodies against OpenAI's published OpenAPI spec.

    validate_request("CreateChatCompletionRequest", body)                 # current spec
    validate_request("CreateEditRequest", body, spec="2023")              # Dec 2023 spec, has /edits

Raises AssertionError listing every violation, each naming the field. Bodies are checked in
strict mode by default: OpenAI's request schemas do not set `additionalProperties: false`, so a
misspelled parameter ("temprature") would otherwise pass; strict mode rejects top-level keys that
are not properties of the schema (through allOf/anyOf/oneOf and $ref). `allow_extra` names keys a
test sends on purpose (llama.cpp's `top_k`, say); `strict=False` turns the check off.

The spec files are OpenAPI, not plain JSON Schema, so they are rewritten to JSON Schema 2020-12:
- `nullable: true` (OpenAPI 3.0) allows null. The current file says `openapi: 3.1.0` yet still uses
  `nullable` on ~110 schemas (`n`, `stream`, `logprobs`, `max_completion_tokens`, `stop`, ...)
  next to 3.1-style `anyOf: [..., {type: "null"}]`; both are honoured, as OpenAI means them.
- boolean `exclusiveMinimum`/`exclusiveMaximum` (3.0) become the numeric 2020-12 form.
- `discriminator`, `example`, `x-oai*`, `x-stainless-*` are annotations: ignored.
- `format` is not asserted (`int64` on seeds, for instance).

Loading: the published spec is ~3 MB of YAML (tests/data/ holds it trimmed to the endpoints
chat-tui speaks, ~0.3 MB, by tests/data/trim_openapi.py). With yaml's C loader and the garbage collector
paused it parses in ~0.3 s (0.7 s with the collector on); the rewrite takes ~0.02 s. A
process-wide cache is therefore enough; a pickle cache on disk (0.03 s to load) was not worth a
file in a shared temp directory.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import gc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, relevance
from referencing import Registry
from referencing.jsonschema import DRAFT202012

REFERENCE_DIR = Path(__file__).resolve().parent / "data"
SPEC_FILES = {
    "current": "openai-openapi.yaml",
    "2023": "openai-openapi-2023-12-with-edits.yaml",
}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Keys whose values are data or annotations, never schemas: copied untouched.
_LITERAL_KEYS = frozenset({"example", "examples", "default", "enum", "const", "description", "title"})
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_COMPOSITION = ("$ref", "allOf", "anyOf", "oneOf", "not")


def spec_path(spec: str = "current") -> Path:
    try:
        return REFERENCE_DIR / SPEC_FILES[spec]
    except KeyError:
        raise ValueError(f"unknown spec {spec!r}; expected one of {sorted(SPEC_FILES)}") from None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # PyYAML builds a node graph of ~10^6 objects before the Python objects; collections that
    # walk it while it grows are wasted work: pausing the collector halves the parse (0.7 -> 0.3 s).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_spec(spec: str = "current") -> dict[str, Any]:
    """The parsed YAML document, as published (not rewritten). Cached per process."""
    return _load_spec(spec)


def json_schema_document(spec: str = "current") -> dict[str, Any]:
    """The spec with every schema rewritten to JSON Schema 2020-12 (see the module docstring)."""
    return _json_schema_document(spec)


# The cached functions take `spec` positionally only: functools.cache keys on the call's
# exact arguments, so f() and f("current") would otherwise parse the file twice.
@functools.cache
def _load_spec(spec: str) -> dict[str, Any]:
    with spec_path(spec).open("rb") as f, _gc_paused():
        return yaml.load(f, Loader=_Loader)


@functools.cache
def _json_schema_document(spec: str) -> dict[str, Any]:
    return _to_json_schema(_load_spec(spec))


def _to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _LITERAL_KEYS or (isinstance(key, str) and key.startswith("x-")):
            out[key] = value
        elif key in _NAMED_SCHEMAS and isinstance(value, dict):
            out[key] = {name: _to_json_schema(schema) for name, schema in value.items()}
        else:
            out[key] = _to_json_schema(value)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(out.get(exclusive), bool):
            if out.pop(exclusive) and bound in out:
                out[exclusive] = out.pop(bound)
    if out.get("nullable") is True:
        del out["nullable"]
        if isinstance(out.get("type"), str) and not any(k in out for k in _COMPOSITION):
            out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    elif out.get("nullable") is False:
        del out["nullable"]
    return out


def _uri(spec: str) -> str:
    return f"urn:openai-openapi:{spec}"


@functools.cache
def _registry(spec: str) -> Registry:
    return Registry().with_resource(_uri(spec), DRAFT202012.create_resource(_json_schema_document(spec)))


@functools.cache
def _validator(schema_name: str, spec: str) -> Draft202012Validator:
    schemas = _json_schema_document(spec)["components"]["schemas"]
    if schema_name not in schemas:
        close = difflib.get_close_matches(schema_name, list(schemas), n=3)
        raise KeyError(f"no schema {schema_name!r} in the {spec} spec" + (f"; did you mean {close}?" if close else ""))
    return Draft202012Validator({"$ref": f"{_uri(spec)}#/components/schemas/{schema_name}"},
                                registry=_registry(spec))


def _resolve(schema: dict[str, Any], spec: str) -> dict[str, Any]:
    while isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        node: Any = _json_schema_document(spec)
        for part in schema["$ref"][2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def known_properties(schema_name: str, spec: str = "current") -> frozenset[str]:
    """Top-level property names of a schema, through $ref and allOf/anyOf/oneOf."""
    return _known_properties(schema_name, spec)


@functools.cache
def _known_properties(schema_name: str, spec: str) -> frozenset[str]:
    names: set[str] = set()

    def collect(schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        schema = _resolve(schema, spec)
        names.update(schema.get("properties", {}))
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                collect(sub)

    _validator(schema_name, spec)  # raises a clear KeyError for unknown names
    collect(_json_schema_document(spec)["components"]["schemas"][schema_name])
    return frozenset(names)


def request_schema_name(path: str, method: str = "post", spec: str = "current") -> str:
    """The component schema of an endpoint's JSON body, e.g. "/chat/completions" ->
    "CreateChatCompletionRequest"."""
    body = _load_spec(spec)["paths"][path][method]["requestBody"]
    return body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def violations(schema_name: str, body: Any, *, spec: str = "current", strict: bool = True,
               allow_extra: Iterable[str] = ()) -> list[str]:
    """Every problem with `body`, one readable line each ("field: what is wrong")."""
    found = [f"{_where(path)}: {message}"
             for error in _validator(schema_name, spec).iter_errors(body)
             for path, message in _explain(error)]
    if strict and isinstance(body, dict):
        known = known_properties(schema_name, spec)
        for key in body:
            if key not in known and key not in set(allow_extra):
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                found.append(f"{key}: unknown parameter{hint}")
    return sorted(set(found))


def validate_request(schema_name: str, body: Any, *, spec: str = "current", strict: bool = True,
                     allow_extra: Iterable[str] = ()) -> None:
    """Raise AssertionError listing every violation of `schema_name` in the given spec."""
    problems = violations(schema_name, body, spec=spec, strict=strict, allow_extra=allow_extra)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise AssertionError(
            f"request body violates {schema_name} ({spec} spec, {len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n{lines}")


def _explain(error: ValidationError) -> Iterator[tuple[list[Any], str]]:
    """(absolute path, message) for an error. An anyOf/oneOf failure ("X is not valid under any
    of the given schemas") names no rule, so it is replaced by the telling error of the branch
    the body meant: the one its discriminator (`role`) picks, else one whose type matched
    (temperature 3 -> "greater than the maximum of 2", not "3 is not of type 'null'")."""
    if error.validator in ("anyOf", "oneOf") and error.context and not _several_valid(error):
        by_branch: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        branches = list(by_branch.values())
        key = _kind_key(error, branches)
        if key is not None and isinstance(error.instance, dict):
            kind_errors = [[e for e in b if list(e.relative_path) == [key]] for b in branches]
            if all(kind_errors):
                allowed = sorted({str(v) for errs in kind_errors for e in errs
                                  for v in (e.validator_value if e.validator == "enum" else
                                            [e.validator_value] if e.validator == "const" else [])})
                yield [*error.absolute_path, key], f"{error.instance.get(key)!r} is not one of {allowed}"
                return
            branches = [b for b, errs in zip(branches, kind_errors) if not errs]
        typed = [b for b in branches if not any(e.validator == "type" and not e.relative_path for e in b)]
        if not typed:
            types = [t for b in branches for e in b if e.validator == "type" and not e.relative_path
                     for t in (e.validator_value if isinstance(e.validator_value, list) else [e.validator_value])]
            wanted = " or ".join(repr(t) for t in dict.fromkeys(types))
            yield list(error.absolute_path), f"{_shorten(repr(error.instance), 80)} is not of type {wanted}"
            return
        # max by relevance, not best_match(): that one descends into nested anyOf/oneOf on its
        # own terms, and we want the branch choice above applied at every level.
        yield from _explain(max((e for b in typed for e in b), key=relevance))
        return
    message = _shorten(error.message)
    if error.validator in _SIZE_RULES:
        message += f" ({error.validator} {error.validator_value})"
    yield list(error.absolute_path), message


def _kind_key(error: ValidationError, branches: list[list[ValidationError]]) -> str | None:
    """The property that tells the branches apart: the OpenAPI discriminator if declared (the
    current spec's messages), else the one property every failing-kind error is about, when
    those errors are single-value enums/consts (the 2023 spec's `role: {enum: [user]}`)."""
    if isinstance(error.schema, dict):
        declared = (error.schema.get("discriminator") or {}).get("propertyName")
        if declared:
            return declared
    keys = {e.relative_path[0] for b in branches for e in b
            if len(e.relative_path) == 1 and (e.validator == "const" or
                                              (e.validator == "enum" and len(e.validator_value) == 1))}
    return keys.pop() if len(keys) == 1 else None


_SIZE_RULES = frozenset({"maxItems", "minItems", "maxLength", "minLength", "maxProperties", "minProperties"})


def _several_valid(error: ValidationError) -> bool:
    """oneOf failing because more than one branch matched."""
    if error.validator != "oneOf":
        return False
    failed = {e.relative_schema_path[0] for e in error.context if e.relative_schema_path}
    return len(error.validator_value) - len(failed) > 1


def _where(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def _shorten(message: str, limit: int = 240) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"

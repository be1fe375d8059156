"""Structured output, the logic (core.structured) and the schema file (services.structured)."""

from __future__ import annotations

import json

import pytest

from chat_tui.core.params import ChatParams, ParamError
from chat_tui.core.structured import (
    SchemaError,
    Structured,
    check_schema,
    describe,
    json_path,
    name_from_file,
    response_format,
    strict_problems,
    structured_of,
    validate_answer,
)
from chat_tui.services.structured import check_reply, load_response_format, read_schema

ORDER = {
    "type": "object",
    "properties": {
        "customer": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
                "required": ["name", "price"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["customer", "items"],
    "additionalProperties": False,
}


def order(*items, customer="Ada") -> str:
    return json.dumps({"customer": customer, "items": [dict(zip(("name", "price"), i)) for i in items]})


# -- paths and names --------------------------------------------------------------------------


@pytest.mark.parametrize("path, text", [
    ((), "$"),
    (("items", 2, "price"), "$.items[2].price"),
    (("unit price",), '$["unit price"]'),
    (("a", "é", "_x1"), '$.a["é"]._x1'),
    ((0, 1), "$[0][1]"),
])
def test_json_path(path, text):
    assert json_path(path) == text


@pytest.mark.parametrize("filename, name", [
    ("person.json", "person"),
    ("/tmp/dir/my person.schema.json", "my_person_schema"),
    ("Order-v2.JSON", "Order-v2"),
    ("ü.json", "_"),
    (".json", "schema"),
    ("x" * 80 + ".json", "x" * 64),
])
def test_name_from_file_is_always_a_name_the_api_takes(filename, name):
    assert name_from_file(filename) == name


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "dot.ted", 7])
def test_bad_names_are_refused_before_sending(bad):
    with pytest.raises(SchemaError, match="not allowed"):
        response_format(bad, ORDER)


# -- the schema -------------------------------------------------------------------------------


def test_the_wire_shape_is_ResponseFormatJsonSchema():
    from openapi_spec import validate_request

    rf = response_format("order", ORDER, strict=True, description="An order")
    assert rf == {"type": "json_schema", "json_schema": {"name": "order", "description": "An order",
                                                          "schema": ORDER, "strict": True}}
    body = ChatParams.from_options([("response_format", rf)]).body("gpt-4o-mini", [_user("hi")], stream=True)
    validate_request("CreateChatCompletionRequest", body)


def _user(text):
    from chat_tui.core.messages import ChatMessage

    return ChatMessage("user", text)


def test_not_a_json_schema_is_pointed_at():
    with pytest.raises(SchemaError) as info:
        check_schema({"type": "object", "properties": {"age": {"type": "integr"}}}, strict=False)
    assert str(info.value).startswith("$.properties.age.type: not a JSON Schema: 'integr' is not valid")
    with pytest.raises(SchemaError, match="a schema is a JSON object, not a list"):
        check_schema([1], strict=False)


def test_strict_rules_every_object_closed_and_every_property_required():
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                        "required": ["city"], "additionalProperties": False},
            "tags": {"type": "array", "items": {"type": "object", "properties": {"t": {"type": "string"}},
                                                "required": ["t"]}},
            "either": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/thing"}]},
        },
        "required": ["name", "address", "tags", "either"],
        "additionalProperties": False,
        "$defs": {"thing": {"type": "object", "properties": {}, "additionalProperties": True}},
    }
    problems = strict_problems(schema)
    assert [(json_path(p), m.split(";")[0]) for p, m in problems] == [
        ("$.properties.address", 'strict mode needs every property in "required"'),
        ("$.properties.tags.items", 'strict mode needs "additionalProperties": false on every object'),
        ("$.$defs.thing", 'strict mode needs "additionalProperties": false on every object'),
    ]
    assert 'missing: "zip"' in problems[0][1]
    with pytest.raises(SchemaError) as info:
        check_schema(schema, strict=True)
    assert str(info.value).startswith('$.properties.address: strict mode needs every property in "required"; missing: "zip"')
    assert str(info.value).endswith("(and 2 more)")
    assert check_schema(schema, strict=False) is schema  # without strict the same schema goes


def test_strict_root_must_be_an_object():
    assert strict_problems({"anyOf": [{"type": "string"}]})[0] == ((), 'strict mode needs the root to be an object ("type": "object"), not anyOf')
    assert strict_problems(ORDER) == []


def test_response_format_option_is_checked_like_the_api():
    good = response_format("order", ORDER)
    assert ChatParams.from_options([("response_format", json.dumps(good))]).response_format == good
    open_object = {"type": "object", "properties": {"a": {"type": "string"}}}
    with pytest.raises(ParamError) as info:
        ChatParams.from_options([("response_format", {"type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": open_object}})])
    assert str(info.value).startswith('response_format: schema $: strict mode needs "additionalProperties": false')
    # strict off (or absent): the API takes it, so do we
    ChatParams.from_options([("response_format", {"type": "json_schema", "json_schema": {"name": "x", "schema": open_object}})])
    for bad, words in [
        ("json_schema", "needs a schema"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, 'needs a "schema"'),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {}, "strict": "yes"}}, "strict is true or false"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {}, "stritc": True}}, "no field 'stritc'"),
    ]:
        with pytest.raises(ParamError, match=words):
            ChatParams.from_options([("response_format", bad)])


def test_describe_and_structured_of():
    rf = response_format("order", ORDER)
    assert describe(rf) == "json_schema:order" and describe(None) == "text"
    assert describe({"type": "json_object"}) == "json_object"
    assert structured_of(rf) == Structured("order", ORDER, True)
    assert structured_of({"type": "json_object"}) is None and structured_of("junk") is None


# -- the answer -------------------------------------------------------------------------------

STRUCT = Structured("order", ORDER)


def test_a_valid_answer():
    verdict = validate_answer(order(("tea", 3.5)), STRUCT)
    assert verdict.ok and verdict.data["items"][0]["price"] == 3.5
    assert verdict.summary() == "✓ valid against order"


def test_the_first_violation_in_the_text_is_reported_with_its_path():
    verdict = validate_answer(order(("a", 1), ("b", 2), ("c", "abc")), STRUCT)
    assert not verdict.ok and verdict.path == ("items", 2, "price")
    assert verdict.summary() == "✗ $.items[2].price: 'abc' is not of type 'number'"
    # two violations: the one written first wins, whatever the depth
    text = '{"customer": 7, "items": [{"name": "a", "price": "x"}]}'
    assert validate_answer(text, STRUCT).summary() == "✗ $.customer: 7 is not of type 'string'"
    text = '{"items": [{"name": "a", "price": "x"}], "customer": 7}'
    assert validate_answer(text, STRUCT).summary() == "✗ $.items[0].price: 'x' is not of type 'number'"
    # a missing property is reported at its object, which comes before the object's contents
    text = '{"customer": "A", "items": [{"name": "a", "price": 1}, {"name": "b", "colour": "x"}]}'
    verdict = validate_answer(text, STRUCT)
    assert verdict.path == ("items", 1) and "'price' is a required property" in verdict.message
    # an extra property
    text = '{"customer": "A", "items": [], "note": "hi"}'
    assert validate_answer(text, STRUCT).summary() == "✗ $: Additional properties are not allowed ('note' was unexpected)"


def test_any_of_reports_the_branch_that_nearly_matched():
    schema = {"type": "object", "properties": {"v": {"anyOf": [{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
                                                                {"type": "string"}]}}}
    verdict = validate_answer('{"v": {"n": "one"}}', Structured("s", schema))
    assert verdict.path == ("v", "n") and verdict.message == "'one' is not of type 'integer'"


@pytest.mark.parametrize("text, words, line, column", [
    ('{"customer": "Ada", "items": [', "it ends early (cut off?) after line 1, column 30: Expecting value", 1, 30),
    ('{"customer": "Ad', "it ends early (cut off?) after line 1, column 16: the string at line 1, column 14 is not closed", 1, 16),
    ('{\n "customer": "Ada",\n "items": [\n\n', "it ends early (cut off?) after line 3, column 11: Expecting value", 3, 11),
    ('{\n  "customer": "Ada"\n  "items": []\n}', "line 3, column 3: Expecting ',' delimiter", 3, 3),
    ('{"customer": "Ada"} trailing', "line 1, column 21: Extra data", 1, 21),
    ('```json\n{}\n```', "line 1, column 1: Expecting value", 1, 1),
])
def test_parse_errors_point_at_line_and_column(text, words, line, column):
    verdict = validate_answer(text, STRUCT)
    assert not verdict.parsed and not verdict.ok
    assert verdict.summary() == f"✗ not JSON: {words}"
    assert (verdict.line, verdict.column) == (line, column)


def test_empty_nan_and_long_values():
    assert validate_answer("  \n", STRUCT).summary() == "✗ the answer is empty: no JSON"
    assert validate_answer('{"customer": NaN}', STRUCT).summary() == "✗ not JSON: NaN is not a JSON value"
    long = order(("a", "x" * 5000))
    message = validate_answer(long, STRUCT).message
    assert len(message) <= 300 and message.endswith("…")


def test_a_schema_that_cannot_be_applied_keeps_the_answer():
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}
    verdict = validate_answer('{"a": 1}', Structured("s", schema))
    assert verdict.parsed and verdict.data == {"a": 1} and "could not be applied" in verdict.message


def test_check_reply_uses_the_schema_the_request_carried():
    params = {"model": "m", "response_format": response_format("order", ORDER)}
    assert check_reply(params, order(("a", 1))).ok
    assert check_reply({"model": "m"}, "anything") is None
    assert check_reply(None, "anything") is None


# -- schema files -----------------------------------------------------------------------------


def test_read_schema_file(tmp_path):
    path = tmp_path / "Order v2.json"
    path.write_text(json.dumps(ORDER))
    assert read_schema(path) == ("Order_v2", ORDER)
    rf = load_response_format(path, strict=False)
    assert rf["json_schema"]["name"] == "Order_v2" and rf["json_schema"]["strict"] is False
    assert load_response_format(path, name="custom")["json_schema"]["name"] == "custom"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(ORDER).encode())  # a BOM, as some editors write
    assert read_schema(path)[1] == ORDER


@pytest.mark.parametrize("content, words", [
    (None, "no such file"),
    (b'{"type": "object",\n "properties": {}\n', "not JSON: it ends early (cut off?) after line 2, column 17: Expecting ',' delimiter"),
    (b" \n", "the file is empty"),
    (b'{"type": "object", "properties": {"a": {"type": "strin"}}}', "$.properties.a.type: not a JSON Schema"),
    (b"[1, 2]", "a schema is a JSON object, not a list"),
    (b'{"a": "\xff"}', "not UTF-8 text (byte 7)"),
    (b"x" * 1_000_001, "1.0 MB is too big for a schema"),
])
def test_bad_schema_files_say_why(tmp_path, content, words):
    path = tmp_path / "s.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SchemaError) as info:
        read_schema(path)
    assert words in str(info.value)


def test_strict_rules_apply_to_files_unless_turned_off(tmp_path):
    path = tmp_path / "open.json"
    path.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    with pytest.raises(SchemaError, match=r'^\$: strict mode needs "additionalProperties": false'):
        load_response_format(path)
    assert load_response_format(path, strict=False)["json_schema"]["strict"] is False
    with pytest.raises(SchemaError, match="is a directory"):
        read_schema(tmp_path)

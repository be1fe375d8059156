"""`chat-tui ask --schema FILE`, run as a subprocess against the fake server."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from openapi_spec import validate_request

ORDER = {
    "type": "object",
    "properties": {
        "customer": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object",
                                             "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
                                             "required": ["name", "price"], "additionalProperties": False}},
    },
    "required": ["customer", "items"],
    "additionalProperties": False,
}


@pytest.fixture
def order_file(tmp_path):
    path = tmp_path / "order.json"
    path.write_text(json.dumps(ORDER, indent=2))
    return path


def posts(fake):
    return [r for r in fake.requests if r.method == "POST"]


def test_a_valid_answer_is_printed_and_exits_0(fake_openai, cli_env, order_file):
    out = run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(order_file), "One order please", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"customer": "customer", "items": [{"name": "name", "price": 1.5}]}
    assert out.stdout.endswith("}\n") and out.stderr == ""
    body = fake_openai.last_request.json
    validate_request("CreateChatCompletionRequest", body)
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "order", "schema": ORDER, "strict": True}}
    assert body["stream"] is True  # streamed as any answer

    out = run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(order_file), "--pretty", "--no-strict",
                  "--schema-name", "my-order", "Again", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == json.dumps({"customer": "customer", "items": [{"name": "name", "price": 1.5}]}, indent=2) + "\n"
    body = fake_openai.last_request.json
    validate_request("CreateChatCompletionRequest", body)
    assert body["response_format"]["json_schema"]["name"] == "my-order"
    assert body["response_format"]["json_schema"]["strict"] is False and "stream" not in body


def test_the_schema_is_kept_with_the_answer_and_a_continued_conversation_checks_it_again(fake_openai, cli_env, order_file):
    assert run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(order_file), "First", env=cli_env).returncode == 0
    listing = json.loads(run_cli("history", "list", "--json", env=cli_env).stdout)
    exported = json.loads(run_cli("history", "export", str(listing[0]["id"]), "--format", "json", env=cli_env).stdout)
    reply = exported["messages"][1]
    assert reply["params"]["response_format"]["json_schema"]["schema"] == ORDER
    # -c continues with the conversation's parameters: the schema goes again, and is checked
    fake_openai.schema_answer = "violate"
    out = run_cli("ask", "-c", "Second", env=cli_env)
    assert out.returncode == 4, out.stderr
    assert fake_openai.last_request.json["response_format"]["json_schema"]["schema"] == ORDER
    assert "$.items[0].price: 'abc' is not of type 'number'" in out.stderr
    # filtered by it in the history
    found = json.loads(run_cli("history", "list", "--json", "--param", "response_format=json_schema", env=cli_env).stdout)
    assert [c["id"] for c in found] == [listing[0]["id"]]
    assert json.loads(run_cli("history", "list", "--json", "--param", "response_format=json_object", env=cli_env).stdout) == []


def test_an_answer_that_violates_the_schema_exits_4_with_the_first_violation(fake_openai, cli_env, order_file):
    fake_openai.schema_answer = "violate"
    out = run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(order_file), "Order", env=cli_env)
    assert out.returncode == 4
    assert json.loads(out.stdout)["items"][0]["price"] == "abc"  # the answer is still printed
    assert out.stderr == ("chat-tui: error: the answer does not match schema order:"
                          " $.items[0].price: 'abc' is not of type 'number'\n")


def test_an_answer_cut_mid_json_exits_4_saying_where(fake_openai, cli_env, order_file):
    fake_openai.schema_answer = "cut"
    out = run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(order_file), "--pretty", "Order", env=cli_env)
    assert out.returncode == 4
    valid = json.dumps({"customer": "customer", "items": [{"name": "name", "price": 1.5}]})
    assert out.stdout == valid[: len(valid) // 2] + "\n"  # not JSON: printed as it came
    assert out.stderr == ("chat-tui: error: the answer does not match schema order: not JSON: it ends early (cut off?)"
                          " after line 1, column 33: Expecting value\n")
    # with --json the raw response is printed, and the exit status still says it does not match
    out = run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(order_file), "--json", "Order", env=cli_env)
    assert out.returncode == 4 and json.loads(out.stdout)["choices"][0]["message"]["content"].startswith('{"customer"')


def test_a_refusal_exits_4_with_the_refusal(fake_openai, cli_env, order_file):
    from fake_openai import Fault

    refusal = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": {"refusal": "I can't help with that."}, "finish_reason": None}]}
    fake_openai.answer = ""
    fake_openai.enqueue_fault(Fault("inject", events=(refusal,), after=0))
    out = run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(order_file), "Order", env=cli_env)
    assert out.returncode == 4
    assert out.stderr == "chat-tui: error: the model refused: I can't help with that.\n"


@pytest.mark.parametrize("content, words", [
    (None, "no such file"),
    ('{"type": "object", "properties": {', "not JSON: it ends early (cut off?) after line 1, column 34"),
    ('{"type": "object", "properties": {"a": {"type": "strng"}}}', "$.properties.a.type: not a JSON Schema: 'strng' is not valid"),
    ('{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}',
     '$: strict mode needs "additionalProperties": false on every object (or --no-strict)'),
])
def test_bad_schema_files_are_one_line_and_exit_2_with_nothing_sent(fake_openai, cli_env, tmp_path, content, words):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    out = run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(path), "Order", env=cli_env)
    assert out.returncode == 2
    assert out.stderr.startswith(f"chat-tui: error: --schema {path}: {words}") and out.stderr.count("\n") == 1
    assert posts(fake_openai) == []


def test_schema_usage_errors_exit_2(fake_openai, cli_env, order_file, tmp_path):
    open_schema = tmp_path / "open.json"
    open_schema.write_text('{"type": "object", "properties": {"a": {"type": "string"}}}')
    assert run_cli("ask", "-m", "gpt-4o-mini", "--schema", str(open_schema), "--no-strict", "ok", env=cli_env).returncode == 0
    for args, words in [
        (("--pretty",), "--pretty goes with --schema FILE"),
        (("--schema", str(order_file), "-o", "response_format", "json_object"), "give --schema FILE or -o response_format, not both"),
        (("--schema", str(order_file), "--schema-name", "bad name"), "the name 'bad name' is not allowed"),
        (("-o", "response_format", "json_schema"), "json_schema needs a schema"),
    ]:
        out = run_cli("ask", "-m", "gpt-4o-mini", *args, "Order", env=cli_env)
        assert out.returncode == 2 and words in out.stderr, (args, out.stderr)
    assert len(posts(fake_openai)) == 1

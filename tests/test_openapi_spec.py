"""The request-body checker in openapi_spec.py accepts what OpenAI accepts and names each problem."""

from __future__ import annotations

import pytest

from openapi_spec import (
    REFERENCE_DIR,
    known_properties,
    load_spec,
    request_schema_name,
    validate_request,
    violations,
)

CHAT = "CreateChatCompletionRequest"
LEGACY = "CreateCompletionRequest"


def chat_body(**params: object) -> dict:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], **params}


def legacy_body(**params: object) -> dict:
    return {"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon a time", **params}


def test_reference_files_are_found():
    assert (REFERENCE_DIR / "openai-openapi.yaml").is_file()
    assert load_spec("current")["openapi"].startswith("3.1")
    assert load_spec("2023")["openapi"].startswith("3.0")
    assert load_spec() is load_spec("current")  # one parse per process


def test_a_full_chat_body_passes():
    validate_request(CHAT, {
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": "Be terse."},
            {"role": "system", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}]},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            {"role": "assistant", "content": "A cat."},
            {"role": "user", "content": "Thanks"},
        ],
        "stream": True, "stream_options": {"include_usage": True},
        "temperature": 2, "top_p": 1, "n": 128, "presence_penalty": -2, "frequency_penalty": 2,
        "logprobs": True, "top_logprobs": 20, "stop": ["a", "b", "c", "d"], "seed": 42,
        "max_completion_tokens": 256, "logit_bias": {"50256": -100}, "user": "u1",
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
        "tool_choice": "auto", "parallel_tool_calls": True, "store": False, "metadata": {"k": "v"},
        "reasoning_effort": "low", "service_tier": "auto",
    })


def test_nullable_parameters_accept_null():
    # The current spec says OpenAPI 3.1 but marks these with 3.0's `nullable: true`.
    validate_request(CHAT, chat_body(max_completion_tokens=None, n=None, stream=None, logprobs=None,
                                     stop=None, temperature=None, seed=None, stream_options=None))
    validate_request(CHAT, chat_body(max_tokens=None, n=None, stop=None, temperature=None,
                                     top_logprobs=None), spec="2023")


def test_top_logprobs_null_is_rejected_by_the_current_spec():
    # It is defined three times (allOf of CreateModelResponseProperties, which itself is an allOf
    # over ModelResponseProperties, plus the chat schema); one of them is a plain integer. So a
    # client must leave top_logprobs out rather than send null.
    assert violations(CHAT, chat_body(top_logprobs=None)) == ["top_logprobs: None is not of type 'integer'"]


def test_a_plain_chat_body_passes_the_2023_spec_too():
    validate_request(CHAT, chat_body(stream=True, temperature=0.5, max_tokens=100, logprobs=True,
                                     top_logprobs=5, stop="\n"), spec="2023")


@pytest.mark.parametrize("params,field,words", [
    ({"temperature": 3}, "temperature", "greater than the maximum of 2"),
    ({"top_logprobs": 25}, "top_logprobs", "greater than the maximum of 20"),
    ({"n": 0}, "n", "less than the minimum of 1"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "maxItems 4"),
    ({"temprature": 1}, "temprature", "unknown parameter (did you mean 'temperature'?)"),
    ({"top_p": 1.5}, "top_p", "greater than the maximum of 1"),
    ({"presence_penalty": -3}, "presence_penalty", "less than the minimum of -2"),
    ({"stream": "yes"}, "stream", "not of type 'boolean'"),
    ({"stream_options": {"include_usage": 1}}, "stream_options.include_usage", "not of type 'boolean'"),
    ({"messages": []}, "messages", "non-empty"),
    ({"messages": [{"role": "bogus", "content": "x"}]}, "messages[0].role", "'bogus' is not one of"),
    ({"messages": [{"role": "user", "contnet": "x"}]}, "messages[0]", "'content' is a required property"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content", "not of type 'string' or 'array'"),
])
def test_invalid_chat_bodies_fail_naming_the_field(params, field, words):
    with pytest.raises(AssertionError) as caught:
        validate_request(CHAT, chat_body(**params))
    message = str(caught.value)
    assert f"\n  - {field}: " in message and words in message, message
    assert message.startswith(f"request body violates {CHAT} (current spec, 1 problem)")


def test_every_violation_is_listed():
    problems = violations(CHAT, chat_body(temperature=3, top_logprobs=25, n=0, stop=list("abcde"), temprature=1))
    assert [p.split(":")[0] for p in problems] == ["n", "stop", "temperature", "temprature", "top_logprobs"]


def test_the_2023_spec_has_its_own_limits():
    problems = violations(CHAT, chat_body(top_logprobs=6, max_completion_tokens=10, stream_options={}),
                          spec="2023")
    assert problems == ["max_completion_tokens: unknown parameter (did you mean 'max_tokens'?)",
                        "stream_options: unknown parameter (did you mean 'stream'?)",
                        "top_logprobs: 6 is greater than the maximum of 5"]


def test_strict_mode_can_be_relaxed():
    body = chat_body(top_k=40, min_p=0.1)  # llama.cpp extensions
    assert len(violations(CHAT, body)) == 2
    validate_request(CHAT, body, strict=False)
    validate_request(CHAT, body, allow_extra={"top_k", "min_p"})


def test_strict_mode_sees_properties_through_allof():
    # temperature, top_p, user and metadata live in CreateModelResponseProperties (allOf + $ref).
    assert {"temperature", "top_p", "user", "metadata", "messages", "model", "stop"} <= known_properties(CHAT)


def test_legacy_completion_body_passes_in_both_specs():
    body = legacy_body(suffix=" The end.", echo=True, logprobs=5, best_of=3, n=2, max_tokens=16,
                       temperature=0.2, stop=["\n\n"], presence_penalty=0.5, logit_bias={"50256": -100})
    validate_request(LEGACY, body)
    validate_request(LEGACY, body, spec="2023")
    validate_request(LEGACY, legacy_body(prompt=["a", "b"], stream=True, stream_options={"include_usage": True}))
    validate_request(LEGACY, legacy_body(prompt=[1212, 318], suffix=None, logprobs=None, echo=None))


@pytest.mark.parametrize("params,field,words", [
    ({"logprobs": 6}, "logprobs", "greater than the maximum of 5"),
    ({"best_of": 21}, "best_of", "greater than the maximum of 20"),
    ({"logprobs": True, "top_logprobs": 2}, "top_logprobs", "unknown parameter"),
    ({"prompt": 5}, "prompt", "not of type 'string' or 'array'"),
    ({"prompt": [1.5]}, "prompt\\[0\\]", "not of type 'string'"),
])
def test_invalid_legacy_bodies_fail(params, field, words):
    with pytest.raises(AssertionError, match=f"  - {field}: .*{words}"):
        validate_request(LEGACY, legacy_body(**params))


def test_edits_body_passes_in_the_2023_spec():
    validate_request("CreateEditRequest", {"model": "text-davinci-edit-001", "input": "What day of the wek is it?",
                                           "instruction": "Fix the spelling mistakes.", "n": 2,
                                           "temperature": 0.5, "top_p": None}, spec="2023")
    with pytest.raises(AssertionError, match="'instruction' is a required property"):
        validate_request("CreateEditRequest", {"model": "text-davinci-edit-001", "input": "x"}, spec="2023")
    with pytest.raises(KeyError, match="no schema 'CreateEditRequest' in the current spec"):
        validate_request("CreateEditRequest", {"model": "x"})


def test_request_schema_names_come_from_the_paths():
    assert request_schema_name("/chat/completions") == CHAT
    assert request_schema_name("/completions") == LEGACY
    assert request_schema_name("/edits", spec="2023") == "CreateEditRequest"


def test_openapi_3_0_bounds_are_rewritten():
    # `exclusiveMinimum: true` (3.0) is not valid 2020-12; it becomes the numeric form.
    # (the published spec has it on FineTuneSupervisedHyperparameters, which the trimmed copy drops)
    from openapi_spec import _to_json_schema

    node = {"properties": {"rate": {"oneOf": [{"type": "string"}, {"type": "number", "minimum": 0, "exclusiveMinimum": True}]}}}
    bound = _to_json_schema(node)["properties"]["rate"]["oneOf"][1]
    assert bound["exclusiveMinimum"] == 0 and "minimum" not in bound
    assert _to_json_schema({"maximum": 2, "exclusiveMaximum": False}) == {"maximum": 2}


def test_unknown_spec_name():
    with pytest.raises(ValueError, match="unknown spec"):
        validate_request(CHAT, chat_body(), spec="2022")

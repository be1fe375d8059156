"""Compare mode below the UI: lane specs, sweeps, diffs, summaries, storage and the CLI."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import run_cli
from openapi_spec import validate_request

from chat_tui.core.compare import (
    LaneError,
    differing,
    labelled,
    lane_from_spec,
    logprob_summary,
    similarity,
    sweep,
    word_diff,
)
from chat_tui.core.params import ChatParams
from chat_tui.store import Store


def test_lane_specs_and_sweeps():
    base = ChatParams(temperature=0.5, max_tokens=100)
    lane = lane_from_spec('temperature=1.4,seed=7,stop=["a,b","c"]', "gpt-4o", base)
    assert lane.model == "gpt-4o" and lane.params.temperature == 1.4 and lane.params.seed == 7
    assert lane.params.stop == ["a,b", "c"] and lane.params.max_tokens == 100
    assert lane_from_spec("model=gpt-4o-mini", "gpt-4o", base).model == "gpt-4o-mini"
    lanes = sweep("temperature=0,0.7,1.4", "m", base)
    assert [l.params.temperature for l in lanes] == [0, 0.7, 1.4]
    assert [l.params.seed for l in sweep("seed=1,2", "m", ChatParams())] == [1, 2]
    for bad, needle in [("temperature=3", "between 0 and 2"), ("temprature=1", "did you mean"), ("oops", "name=value")]:
        with pytest.raises(LaneError, match=needle):
            lane_from_spec(bad, "m", ChatParams())
    with pytest.raises(LaneError, match="at least two"):
        sweep("seed=1", "m", ChatParams())


def test_headers_show_only_what_differs():
    base = ChatParams(temperature=0.5, max_tokens=100)
    lanes = [lane_from_spec(s, "gpt-4o", base) for s in ("temperature=0", "temperature=1.4,seed=7", "model=gpt-4o-mini")]
    diffs = differing(lanes)
    assert diffs[1] == {"seed": 7, "temperature": 1.4}
    assert diffs[2] == {"model": "gpt-4o-mini", "temperature": 0.5}
    assert "max_tokens" not in diffs[0]  # the same everywhere: never shown
    assert [l.label for l in labelled(lanes, blind=True)] == ["A", "B", "C"]
    assert labelled(lanes)[1].label == "seed=7, temperature=1.4"


def test_word_diff_and_similarity():
    ops = word_diff("the quick brown fox", "the slow brown fox jumps")
    assert ops == [("equal", "the "), ("delete", "quick "), ("insert", "slow "), ("equal", "brown fox "), ("insert", "jumps")]
    assert "".join(t for op, t in ops if op != "delete") == "the slow brown fox jumps"
    assert similarity("a b c d", "a b c d") == 1.0
    assert 0.4 < similarity("the quick brown fox", "the slow brown dog") < 0.6
    assert similarity("", "") == 1.0 and similarity("x", "") == 0.0


def test_logprob_summary():
    summary = logprob_summary([{"logprob": -0.01}, {"logprob": -0.1}, {"logprob": -2.3}, {"logprob": None}])
    assert summary.tokens == 3 and summary.low_share == pytest.approx(1 / 3)
    assert summary.mean_logprob == pytest.approx((-0.01 - 0.1 - 2.3) / 3)
    assert "low-confidence" in str(summary)
    assert logprob_summary([]) is None


def test_migration_from_version_1_keeps_data(tmp_path):
    """A database made before compare runs existed opens, upgrades and keeps its rows."""
    path = tmp_path / "old.db"
    from chat_tui.store.schema import MIGRATIONS

    with Store(path) as store:
        cid = store.create_conversation(title="old")
        store.add_message(cid, "user", "kept")
    con = sqlite3.connect(path)
    con.execute("DROP TABLE compare_lanes")
    con.execute("DROP TABLE compare_runs")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS) >= 2
        assert store.thread(cid)[0].content == "kept"
        uid = store.thread(cid)[0].id
        run = store.record_compare(cid, uid, [{"label": "A", "model": "m", "params": {"temperature": 0}}], blind=True)
        assert store.get_compare_run(run).lanes[0].params == {"temperature": 0}


def test_cli_compare_runs_lanes_concurrently(fake_openai, cli_env):
    fake_openai.rate = 40
    fake_openai.answer = lambda body: f"answer at temperature {body.get('temperature')} " + "word " * 20
    out = run_cli("compare", "-m", "gpt-4o-mini", "-o", "max_tokens", "60", "--sweep", "temperature=0,0.7,1.4", "--json", "Tell me", env=cli_env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    reqs = [r for r in fake_openai.requests if r.path == "/v1/chat/completions"]
    assert len(reqs) == 3
    assert max(r.t_arrival for r in reqs) < min(r.t_finish for r in reqs)  # all three in flight at once
    temps = sorted(r.json["temperature"] for r in reqs)
    assert temps == [0, 0.7, 1.4]
    for r in reqs:
        validate_request("CreateChatCompletionRequest", r.json)
        assert r.json["max_tokens"] == 60
    assert [lane["label"] for lane in doc["lanes"]] == ["temperature=0", "temperature=0.7", "temperature=1.4"]
    for lane in doc["lanes"]:
        assert lane["status"] == "complete" and lane["text"].startswith(f"answer at temperature {lane['params']['temperature']}")
        assert lane["usage"]["from_server"] and lane["ttft"] is not None and lane["finish_reason"] == "stop"
    exported = json.loads(run_cli("history", "export", str(doc["conversation_id"]), "--format", "json", env=cli_env).stdout)
    user = exported["messages"][0]
    answers = [m for m in exported["messages"] if m["parent_id"] == user["id"]]
    assert len(answers) == 3  # siblings of one user message


def test_cli_compare_text_output_and_failed_lane(fake_openai, cli_env):
    out = run_cli("compare", "-m", "gpt-4o-mini", "--lane", "seed=1", "--lane", "seed=2,model=no-such-model", "--blind", "hello", env=cli_env)
    assert out.returncode == 1
    assert "── A" in out.stdout and "── B" in out.stdout and "first token" in out.stdout
    assert "1 of 2 lanes failed" in out.stderr and "no-such-model" in out.stderr
    assert "Echo: hello" in out.stdout  # the other lane finished


def test_cli_compare_needs_lanes(cli_env):
    out = run_cli("compare", "hello", env=cli_env)
    assert out.returncode == 2 and "--lane" in out.stderr
    out = run_cli("compare", "-m", "x", "--lane", "temperature=9", "--lane", "seed=1", "hello", env=cli_env)
    assert out.returncode == 2 and "between 0 and 2" in out.stderr


POINT = {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
         "required": ["x", "y"], "additionalProperties": False}


def test_lanes_with_and_without_the_schema():
    from chat_tui.core.structured import response_format

    fmt = response_format("point", POINT)
    base = ChatParams(response_format=fmt)
    text = lane_from_spec("response_format=text", "m", base)
    assert text.params.response_format == {"type": "text"}
    again = lane_from_spec("response_format=json_schema", "m", ChatParams(response_format={"type": "text"}).merged(base))
    assert again.params.response_format == fmt
    lanes = labelled([lane_from_spec("", "m", base), text, lane_from_spec("response_format=json_object", "m", base)])
    assert [l.label for l in lanes] == ["response_format=json_schema:point", "response_format=text", "response_format=json_object"]
    # a preset's schema comes first; none anywhere is a clear error
    other = response_format("other", POINT)
    lane = lane_from_spec("preset=p,response_format=json_schema", "m", base, lambda name: {"response_format": other})
    assert lane.params.response_format == other
    with pytest.raises(LaneError, match="response_format=json_schema needs a schema: set one in the parameters"):
        lane_from_spec("response_format=json_schema", "m", ChatParams())


def test_cli_compare_with_a_schema_validates_each_lane(fake_openai, cli_env, tmp_path):
    path = tmp_path / "point.json"
    path.write_text(json.dumps(POINT))
    out = run_cli("compare", "-m", "gpt-4o-mini", "--schema", str(path), "--lane", "response_format=text", "--json",
                  "A point", env=cli_env)
    assert out.returncode == 0, out.stderr
    first, second = json.loads(out.stdout)["lanes"]
    assert first["schema"] == "✓ valid against point" and json.loads(first["text"]) == {"x": 1.5, "y": 1.5}
    assert second["schema"] is None and second["text"] == "Echo: A point"
    bodies = [r.json for r in fake_openai.requests if r.path == "/v1/chat/completions"]
    for body in bodies:
        validate_request("CreateChatCompletionRequest", body)
    assert sorted(b["response_format"]["type"] for b in bodies) == ["json_schema", "text"]
    fake_openai.schema_answer = "violate"
    out = run_cli("compare", "-m", "gpt-4o-mini", "--schema", str(path), "--lane", "seed=1", "A point", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert "schema" in out.stdout.splitlines()[-3] and "✗ $.x: 'abc' is not of type 'number'" in out.stdout

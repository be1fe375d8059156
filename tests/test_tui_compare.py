"""Compare mode (ui/screens/compare.py), driven with Pilot against the local fake OpenAI server.

Each test pushes a `CompareScreen` on the real app, sets it up the way a user would (type a
prompt, fill lane specs, press keys), and checks what the columns show, the exact requests the
server received (and when), and the rows in the database.
"""

from __future__ import annotations

import math

import pytest
from textual.widgets import Input, Switch, TextArea

from demo import demo_app, settle as settle_demo, steady
from demo import settle_workers as settle, until
from fake_openai import Fault, FakeOpenAI, _alternatives, _logprob, split_tokens
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.compare import Lane, similarity
from chat_tui.core.config import Endpoint
from chat_tui.core.params import ChatParams
from chat_tui.core.tokens import TokenCounter
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.chat import ChatScreen
from chat_tui.core.compare import build_lanes, spec_of
from chat_tui.services.presets import Presets
from chat_tui.ui.screens.compare import CompareScreen, DiffScreen, NoteScreen
from chat_tui.ui.widgets.lanes import LaneColumn
from chat_tui.ui.widgets.probability import ProbabilityScreen, TokenView, percent, quoted

SIZE = (160, 48)
CHAT = "/v1/chat/completions"


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def counter(tiktoken_cache) -> TokenCounter:
    return TokenCounter(tiktoken_cache)


def make_app(fake: FakeOpenAI, tmp_path, counter: TokenCounter, *, retries: int = 2) -> tuple[ChatApp, Store]:
    endpoint = Endpoint(name="fake", base_url=fake.base_url)
    store = Store(tmp_path / "compare.db")
    client = OpenAIClient(endpoint, max_retries=retries)
    return ChatApp(endpoint, store, client=client, model="gpt-4o-mini", counter=counter), store


async def open_compare(pilot, prompt: str = "Compare this", **kw) -> CompareScreen:
    await settle(pilot)
    screen = pilot.app.chat.open_compare(prompt, **kw)  # as F8 does, with the chat's thread
    await pilot.pause()
    return screen


def set_up(screen: CompareScreen, *, lanes: list[str] = (), sweep: str = "", blind: bool = False) -> None:
    for i, spec in enumerate(lanes):
        screen.query_one(f"#lane-spec-{i}", Input).value = spec
    screen.query_one("#sweep-spec", Input).value = sweep
    screen.query_one("#blind", Switch).value = blind


async def run(pilot, screen: CompareScreen) -> None:
    await pilot.press("f5")
    await settle(pilot)


def posts(fake: FakeOpenAI) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == CHAT]


def header(col: LaneColumn) -> str:
    return str(col.query_one(".lane-header").render())


def by_temperature(body: dict) -> str:
    return f"Answer at temperature {body.get('temperature')}: one two three four five six seven."


# -- running lanes ---------------------------------------------------------------------------


async def test_sweep_sends_lanes_concurrently_and_fills_every_column(fake_openai, tmp_path, counter):
    fake_openai.rate = 20  # ~12 chunks each: every answer takes ~0.6 s
    fake_openai.answer = by_temperature
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot, "Compare this")
        set_up(screen, sweep="temperature=0,0.7,1.4")
        await run(pilot, screen)
        requests = posts(fake_openai)
        assert len(requests) == 3
        # All three were in flight at once: the last one arrived before the first one finished.
        assert max(r.t_arrival for r in requests) < min(r.t_finish for r in requests)
        bodies = sorted((r.json for r in requests), key=lambda b: b["temperature"])
        for body, temperature in zip(bodies, (0, 0.7, 1.4)):
            validate_request("CreateChatCompletionRequest", body)
            assert body == {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "Compare this"}],
                "temperature": temperature,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        columns = screen.columns
        assert [c.label for c in columns] == ["temperature=0", "temperature=0.7", "temperature=1.4"]
        for col, temperature in zip(columns, ("0", "0.7", "1.4")):
            expected = by_temperature({"temperature": temperature})
            assert col.status == "complete"
            assert col.text == expected and col.answer_view.source == expected
            text = header(col)
            assert "gpt-4o-mini" in text and "complete" in text and "finish stop" in text and "fp_fake" in text
            assert f"{len(split_tokens(expected))} tok" in text  # the server's usage, no "~"
            assert "tok/s" in text and "first " in text and "$" in text
        run_id = screen.run_id
    run_row = store.get_compare_run(run_id)
    kids = store.children(run_row.user_message_id)
    assert sorted(m.id for m in kids) == sorted(lane.message_id for lane in run_row.lanes)
    assert all(m.status == "complete" and m.role == "assistant" for m in kids)
    assert {m.content for m in kids} == {by_temperature({"temperature": t}) for t in ("0", "0.7", "1.4")}


async def test_a_failing_lane_shows_its_error_while_the_others_finish(fake_openai, tmp_path, counter):
    fake_openai.rate = 40
    fake_openai.answer = by_temperature
    fake_openai.enqueue_fault(Fault("status", status=500, path=CHAT))  # the first request to arrive
    app, store = make_app(fake_openai, tmp_path, counter, retries=0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, sweep="temperature=0,0.7,1.4")
        await run(pilot, screen)
        assert len(posts(fake_openai)) == 3
        failed = [c for c in screen.columns if c.status == "error"]
        done = [c for c in screen.columns if c.status == "complete"]
        assert len(failed) == 1 and len(done) == 2
        box = failed[0].query_one(".lane-error")
        assert box.display and "server had an error" in str(box.render())
        assert "error" in header(failed[0])
        for col in done:
            assert col.text == by_temperature({"temperature": col.lane.params.temperature})
            assert not col.query_one(".lane-error").display
        failed_id, done_ids = failed[0].message_id, [c.message_id for c in done]
    assert store.get_message(failed_id).status == "error"
    assert "server had an error" in store.get_message(failed_id).error
    assert [store.get_message(m).status for m in done_ids] == ["complete", "complete"]


async def test_stopping_one_lane_leaves_the_others_streaming(fake_openai, tmp_path, counter):
    fake_openai.rate = 25
    fake_openai.answer = lambda body: f"Lane {body.get('seed')}: " + " ".join(f"w{i}" for i in range(20))
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, sweep="seed=1,2,3")
        await pilot.press("f5")
        second = screen.columns[1]
        await until(pilot, lambda: second.text, "the second lane's first words")
        second.focus()
        await pilot.press("s")
        await settle(pilot)
        assert [c.status for c in screen.columns] == ["complete", "cancelled", "complete"]
        for col in (screen.columns[0], screen.columns[2]):
            assert col.text == fake_openai.answer({"seed": col.lane.params.seed})
        partial = second.text
        assert partial and partial != fake_openai.answer({"seed": 2})
        ids = [c.message_id for c in screen.columns]
    assert [store.get_message(m).status for m in ids] == ["complete", "cancelled", "complete"]
    assert store.get_message(ids[1]).content.startswith(partial[:5])
    stopped = next(r for r in posts(fake_openai) if r.json.get("seed") == 2)
    assert stopped.disconnected  # the connection was closed, not left to run


async def test_escape_stops_all_lanes_then_goes_back(fake_openai, tmp_path, counter):
    fake_openai.rate = 20
    fake_openai.answer = " ".join(f"w{i}" for i in range(40))
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, lanes=["temperature=0.1", "temperature=0.9"])
        await pilot.press("f5")
        await until(pilot, lambda: all(c.text for c in screen.columns), "text in both lanes")
        await pilot.press("escape")
        await settle(pilot)
        assert [c.status for c in screen.columns] == ["cancelled", "cancelled"]
        assert app.screen is screen
        await pilot.press("escape")  # nothing runs now: back to the chat
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)


async def test_closing_mid_stream_keeps_the_partial_answers(fake_openai, tmp_path, counter):
    fake_openai.rate = 20
    fake_openai.answer = " ".join(f"w{i}" for i in range(40))
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, sweep="seed=1,2")
        await pilot.press("f5")
        await until(pilot, lambda: all(c.text for c in screen.columns), "text in both lanes")
        user_id = screen.user_id
        await screen.action_close()
        await settle(pilot)
        assert isinstance(app.screen, ChatScreen)
    kids = store.children(user_id)
    assert [m.status for m in kids] == ["cancelled", "cancelled"] and all(m.content for m in kids)


async def test_rerun_one_lane_adds_a_sibling_and_moves_the_lane(fake_openai, tmp_path, counter):
    answers = iter(["first A", "first B", "second B"])
    fake_openai.answer = lambda body: next(answers)
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, lanes=["seed=1", "seed=2"])
        await run(pilot, screen)
        lane = screen.columns[1]
        old = lane.message_id
        lane.focus()
        await pilot.press("r")
        await settle(pilot)
        assert lane.status == "complete" and lane.text == "second B"
        assert lane.answer_view.source == "second B"
        run_id, user_id, new = screen.run_id, screen.user_id, lane.message_id
    assert new != old
    assert store.get_compare_run(run_id).lanes[1].message_id == new
    assert [m.content for m in store.children(user_id)] == ["first A", "first B", "second B"]
    assert posts(fake_openai)[-1].json["seed"] == 2


# -- picking ---------------------------------------------------------------------------------


async def test_pick_continues_the_chat_from_the_picked_answer(fake_openai, tmp_path):
    fake_openai.answer = by_temperature
    app = demo_app(fake_openai, tmp_path / "s.db")
    store = app.store
    async with app.run_test(size=SIZE) as pilot:
        await settle_demo(pilot)
        chat = app.chat
        history = [(m.role, m.content) for m in chat.thread_tree.path(chat.leaf_id)]
        screen = await open_compare(pilot, "Which is faster?")
        set_up(screen, sweep="temperature=0,1")
        await run(pilot, screen)
        request = posts(fake_openai)[0].json
        assert [(m["role"], m["content"]) for m in request["messages"]] == history + [("user", "Which is faster?")]
        picked = screen.columns[1]
        picked_id, run_id, user_id = picked.message_id, screen.run_id, screen.user_id
        picked.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is chat and chat.leaf_id == picked_id
        assert [v.message_id for v in chat.conversation.views()][-2:] == [user_id, picked_id]
        await pilot.press(*"And then?", "enter")
        await settle(pilot)
    follow = posts(fake_openai)[-1].json
    assert follow["messages"][-3:] == [
        {"role": "user", "content": "Which is faster?"},
        {"role": "assistant", "content": by_temperature({"temperature": 1})},
        {"role": "user", "content": "And then?"},
    ]
    run_row = store.get_compare_run(run_id)
    assert run_row.picked_message_id == picked_id and run_row.note is None
    kids = store.children(user_id)
    assert len(kids) == 2 and picked_id in [m.id for m in kids]  # the other answer is a sibling
    assert store.children(picked_id)[0].content == "And then?"


async def test_blind_mode_labels_hides_models_and_stores_the_note(fake_openai, tmp_path, counter):
    fake_openai.answer = lambda body: f"temperature {body.get('temperature')} model {body['model']}"
    app, store = make_app(fake_openai, tmp_path, counter)
    store.save_preset("precise", {"temperature": 0.2})
    store.save_preset("creative", {"temperature": 1.3})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, lanes=["preset=precise", "preset=creative", "model=gpt-4o"], blind=True)
        await run(pilot, screen)
        assert [c.label for c in screen.columns] == ["A", "B", "C"]
        for col in screen.columns:
            assert "gpt-4o" not in header(col) and "$" not in header(col)
            assert col.status == "complete"
        run_row = store.get_compare_run(screen.run_id)
        assert run_row.blind and [l.label for l in run_row.lanes] == ["A", "B", "C"]
        creative = next(c for c in screen.columns if c.lane.preset == "creative")
        creative.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"more vivid", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChatScreen)
        assert any("You picked" in n.message and "creative" in n.message for n in app._notifications)
    run_row = store.get_compare_run(run_row.id)
    assert run_row.picked_message_id == creative.message_id and run_row.note == "more vivid"
    assert store.preset_wins() == {"creative": 1}
    bodies = sorted((r.json for r in posts(fake_openai)), key=lambda b: (b["model"], b.get("temperature", 1)))
    assert [(b["model"], b.get("temperature")) for b in bodies] == [("gpt-4o", None), ("gpt-4o-mini", 0.2), ("gpt-4o-mini", 1.3)]


# -- n > 1 -----------------------------------------------------------------------------------


async def test_n_choices_of_one_request_become_lanes(fake_openai, tmp_path, counter):
    fake_openai.answer = "Same prompt, several samples."
    app, store = make_app(fake_openai, tmp_path, counter)
    app.params = ChatParams(n=3)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        await run(pilot, screen)
        requests = posts(fake_openai)
        assert len(requests) == 1
        validate_request("CreateChatCompletionRequest", requests[0].json)
        assert requests[0].json["n"] == 3
        assert [c.label for c in screen.columns] == ["choice 1", "choice 2", "choice 3"]
        assert [c.text for c in screen.columns] == [f"[{i}] Same prompt, several samples." for i in range(3)]
        assert [c.status for c in screen.columns] == ["complete"] * 3
        ids = [c.message_id for c in screen.columns]
        run_row = store.get_compare_run(screen.run_id)
    assert [lane.message_id for lane in run_row.lanes] == ids
    assert [m.id for m in store.children(run_row.user_message_id)] == ids
    assert [store.get_message(m).content for m in ids] == [f"[{i}] Same prompt, several samples." for i in range(3)]


# -- probability and difference views -----------------------------------------------------------


async def test_probability_view_shows_the_alternatives_the_server_sent(fake_openai, tmp_path, counter):
    fake_openai.answer = "Hello brave new world"
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, lanes=["logprobs=true,top_logprobs=3", "logprobs=true,top_logprobs=3,temperature=0"])
        await run(pilot, screen)
        assert posts(fake_openai)[0].json["top_logprobs"] == 3
        col = screen.columns[0]
        assert "mean logprob" in header(col) and "low-confidence" in header(col)
        col.focus()
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ProbabilityScreen)
        tokens = split_tokens("Hello brave new world")
        panel = app.screen.query_one("#prob-alternatives")
        for position in range(2):
            token = tokens[position]
            shown = str(panel.render())
            for alt, lp in _alternatives(token, _logprob(token, position), 3):
                assert quoted(alt) in shown and percent(math.exp(lp)) in shown, (alt, shown)
            await pilot.press("right")
            await pilot.pause()
        assert app.screen.query_one(TokenView).cursor == 2
        await pilot.press("escape")
        assert app.screen is screen


async def test_probability_view_reads_stored_logprobs():
    stored = [{"token": "Hi", "logprob": -0.1, "bytes": None, "top": [{"token": "Hi", "logprob": -0.1}, {"token": "Hey", "logprob": -2.5}]}]
    screen = ProbabilityScreen(stored, title="stored")
    assert screen.items[0].top == (("Hi", -0.1), ("Hey", -2.5))
    assert "1 tokens" in screen.summary


async def test_diff_view_shows_inserted_and_deleted_words(fake_openai, tmp_path, counter):
    fake_openai.answer = lambda body: "The cat sat on the mat." if body.get("temperature") == 0 else "The dog sat on the mat."
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, sweep="temperature=0,1")
        await run(pilot, screen)
        screen.columns[1].focus()
        await pilot.press("d")
        await settle(pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        content = diff.query_one("#diff-text").render()
        assert str(content) == "The cat dog sat on the mat."
        styled = {str(content)[s.start:s.end]: str(s.style) for s in content.spans}
        assert "strike" in styled["cat "] and "underline" in styled["dog "]
        expected = f"{similarity('The cat sat on the mat.', 'The dog sat on the mat.'):.2f}"  # 6 of 7 words
        assert f"similarity {expected}" in str(diff.query_one("#diff-title").render())
        assert f"1–2 {expected}" in str(diff.query_one("#diff-pairs").render())
        await pilot.press("escape")
        assert f"similarity 1–2 {expected}" in str(screen.query_one("#compare-summary").render())


# -- setup -----------------------------------------------------------------------------------


def test_lane_specs_round_trip_and_single_lane_rules(tmp_path):
    store = Store(tmp_path / "s.db")
    store.save_preset("careful", {"temperature": 0.1, "max_tokens": 50})
    base = ChatParams(temperature=0.5)
    presets = Presets(store).params
    lanes, n_mode = build_lanes(["temperature=1.4,seed=7", "", "preset=careful,seed=3"], "", "gpt-4o-mini", base, presets)
    assert not n_mode
    assert lanes[0].params == ChatParams(temperature=1.4, seed=7)
    assert lanes[1].preset == "careful" and lanes[1].params == ChatParams(temperature=0.1, max_tokens=50, seed=3)
    for lane in lanes:
        again, _ = build_lanes([spec_of(lane, "gpt-4o-mini", base, presets), "seed=1"], "", "gpt-4o-mini", base, presets)
        assert again[0] == lane
    one, n_mode = build_lanes(["temperature=0"], "", "m", base, presets)  # one lane: against the base
    assert not n_mode and [l.params.temperature for l in one] == [0.5, 0]
    choices, n_mode = build_lanes([], "", "m", ChatParams(n=2), presets)
    assert n_mode and len(choices) == 1
    with pytest.raises(ValueError, match="2 to 4"):
        build_lanes([], "", "m", base, presets)
    with pytest.raises(ValueError, match="no preset"):
        build_lanes(["preset=missing", "seed=1"], "", "m", base, presets)
    with pytest.raises(ValueError, match="1 to 4 lanes.*got 5"):
        build_lanes(["seed=1", "seed=2"], "temperature=0,1,2", "m", base, presets)


async def test_bad_lane_spec_is_reported_not_sent(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot, "", lanes=[Lane("gpt-4o-mini", ChatParams(temperature=0.3)), Lane("gpt-4o", ChatParams())])
        assert screen.query_one("#lane-spec-0", Input).value == "temperature=0.3"
        assert screen.query_one("#lane-spec-1", Input).value == "model=gpt-4o"
        screen.query_one("#compare-prompt", TextArea).text = "Hi"
        screen.query_one("#lane-spec-0", Input).value = "temperature=9"
        await run(pilot, screen)
        assert posts(fake_openai) == [] and screen.columns == []
        assert any("temperature" in n.message and "out of range" in n.message for n in app._notifications)


async def test_widen_shows_one_lane_full_width(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, sweep="seed=1,2,3")
        await run(pilot, screen)
        first, second, third = screen.columns
        second.focus()
        await pilot.press("w")
        await pilot.pause()
        assert not first.display and not third.display and second.region.width > 150
        await pilot.press("right")  # the next lane, still widened
        await pilot.pause()
        assert app.focused is third and third.region.width > 150 and not second.display
        await pilot.press("w")
        await pilot.pause()
        assert all(c.display for c in screen.columns) and third.region.width < 60


# -- snapshots -------------------------------------------------------------------------------


def _freeze_stats(screen: CompareScreen) -> None:
    """Timings differ from run to run: fixed values for the snapshot."""
    for i, col in enumerate(screen.columns):
        col.stats.ttft = 0.21 + i / 100
        col.stats.total = 1.5
        col.stats.tokens_per_second = 42.0 + i
        col.refresh_header(force=True)


SNAP_ANSWERS = {
    0: "Binary search halves the range each step.\n\n- sorted input\n- O(log n) comparisons",
    0.7: "Use **bisect**: it halves the range at every step, so a million items need 20 comparisons.",
    1.4: "Think of a dictionary: open it in the middle, then keep halving. That is `bisect_left`.",
}


def test_snapshot_finished_comparison(snap_compare, fake_openai, tmp_path):
    fake_openai.answer = lambda body: SNAP_ANSWERS[body.get("temperature")]
    app = demo_app(fake_openai, tmp_path / "s.db")

    async def compare(pilot):
        await settle_demo(pilot)
        screen = await open_compare(pilot, "Explain binary search in one paragraph.")
        set_up(screen, sweep="temperature=0,0.7,1.4")
        await run(pilot, screen)
        _freeze_stats(screen)
        screen.columns[1].focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(compare))


def test_snapshot_probability_view(snap_compare, fake_openai, tmp_path):
    fake_openai.answer = "Binary search halves the range at every step, so a sorted list of a million items needs about twenty comparisons.\n\nUse `bisect_left` from the standard library."
    app = demo_app(fake_openai, tmp_path / "s.db")

    async def probabilities(pilot):
        await settle_demo(pilot)
        screen = await open_compare(pilot, "Explain binary search.")
        set_up(screen, lanes=["logprobs=true,top_logprobs=5", "logprobs=true,top_logprobs=5,temperature=0"])
        await run(pilot, screen)
        screen.columns[0].focus()
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("right", "right", "right")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(probabilities))


async def test_f8_opens_compare_with_the_typed_prompt_and_p_shows_probabilities(fake_openai, tmp_path, tiktoken_cache):
    """Wiring: F8 from the chat opens compare mode on the prompt being typed; `p` on a chat
    answer sent with logprobs opens the probability view."""
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.ui.screens.compare import CompareScreen
    from chat_tui.ui.widgets.conversation import MessageView
    from chat_tui.ui.widgets.probability import ProbabilityScreen

    app, store = make_app(fake_openai, tmp_path, TokenCounter(tiktoken_cache))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.params = app.params.with_option("logprobs", True).with_option("top_logprobs", 2)
        await pilot.press(*"hi", "enter")
        await settle(pilot)
        answer = [v for v in app.chat.conversation.views() if v.role == "assistant"][-1]
        answer.focus()
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ProbabilityScreen)
        await pilot.press("escape")
        await settle(pilot)
        app.chat.prompt.text = "compare this"
        app.chat.prompt.focus()
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert isinstance(answer, MessageView)


async def test_f2_lays_the_screen_out_once_and_paints_no_lane_column(fake_openai, tmp_path, counter, monkeypatch):
    """F2 shows and hides the setup area, which resizes every lane: one layout of the screen
    per press (a resized lane, the row of lanes or a scroll bar asks for no second one), and the
    lane columns behind their parts are not asked for a line (their parts draw the rule)."""
    from textual.widget import Widget

    fake_openai.answer = "\n\n".join(f"Paragraph {i}: " + "words " * 40 for i in range(12))
    app, _ = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await open_compare(pilot)
        set_up(screen, sweep="seed=1,2,3,4")
        await run(pilot, screen)
        await pilot.pause()
        layouts: list[bool] = []
        own = screen._refresh_layout

        def counted(*args, **kw):
            layouts.append(kw.get("scroll", False))
            return own(*args, **kw)

        monkeypatch.setattr(screen, "_refresh_layout", counted)
        asked: list[str] = []
        render_lines = Widget.render_lines

        def spy(self, crop):
            asked.append(type(self).__name__)
            return render_lines(self, crop)

        monkeypatch.setattr(Widget, "render_lines", spy)
        asking: list[str] = []  # widgets asking for a layout
        refresh = Widget.refresh

        def spy_refresh(self, *regions, **kw):
            if kw.get("layout"):
                asking.append(type(self).__name__)
            return refresh(self, *regions, **kw)

        monkeypatch.setattr(Widget, "refresh", spy_refresh)
        setup = screen.query_one("#compare-setup")
        heights = [col.answer_view.size.height for col in screen.columns]
        lane_parts = {"LaneRow", "LaneColumn", "Caption", "MarkdownScroll", "ScrollBar"}
        for shown in (False, True, False):
            layouts.clear()
            asking.clear()
            await pilot.press("f2")
            await settle(pilot)
            await pilot.pause()
            assert setup.display is shown
            # The setup area asks for the layout; nothing the layout resized asks for another
            # (before: every lane column, the row of lanes and each scroll bar did).
            assert "Vertical" in asking and not lane_parts & set(asking), asking
            assert layouts and not any(layouts), layouts
            grown = [col.answer_view.size.height for col in screen.columns]
            assert all((g > h) == (not shown) and g != h for g, h in zip(grown, heights)), (heights, grown)
            heights = grown
        assert "MarkdownScroll" in asked and "LaneColumn" not in asked and "LaneRow" not in asked

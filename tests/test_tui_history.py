"""The history browser (issue 5), driven with Pilot: search as you type, filters, open at the
hit, rename / delete / undo / pin, import (good and bad files) and paging.

Conversations are seeded directly with the Store; queries run in thread workers, so every
step waits for the debounce timer and the workers before looking at the screen.
"""

from __future__ import annotations

import json

from textual.widgets import Input, OptionList, ProgressBar
from textual.worker import WorkerCancelled

from demo import demo_app, settle, until

from chat_tui.store import Store
from chat_tui.store.importer import export_conversations
from chat_tui.ui.screens.dialogs import RenameScreen
from chat_tui.ui.paging import PAGE
from chat_tui.ui.screens.history import HistoryScreen, ImportPathScreen

SIZE = (160, 48)


def seed(store: Store, title: str | None, *, model: str = "gpt-4o-mini", endpoint: str = "demo",
         temperature: float = 0.5, user: str = "hello there", answer: str = "hi") -> tuple[int, int, int]:
    cid = store.create_conversation(title=title, model=model, endpoint=endpoint)
    u = store.add_message(cid, "user", user)
    a = store.begin_assistant(cid, parent_id=u, model=model, params={"model": model, "temperature": temperature}, endpoint=endpoint)
    store.finish_assistant(a, answer, "complete", finish_reason="stop", prompt_tokens=12, completion_tokens=5)
    return cid, u, a


async def wait(pilot) -> None:
    """Let the debounce timer fire and every query worker finish."""
    await pilot.pause(0.2)
    for _ in range(3):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()


async def open_history(pilot) -> tuple[HistoryScreen, list]:
    await settle(pilot)
    results: list = []
    screen = HistoryScreen()
    pilot.app.push_screen(screen, results.append)
    await wait(pilot)
    return screen, results


def titles(screen: HistoryScreen) -> list[str | None]:
    return [r.title for r in screen.rows]


def notes(app) -> list:
    return list(app._notifications)


async def test_search_as_you_type_and_open_at_hit(fake_openai, tmp_path) -> None:
    app = demo_app(fake_openai, tmp_path / "chat.db", open_demo=False)
    s = app.store
    zebra, _, zebra_hit = seed(s, "Animals", answer="The zebra has stripes")
    giraffe, _, hit = seed(s, "Tall things", answer="A giraffe is very tall")
    seed(s, "Evil \x1b[31mtitle", answer="nothing here")
    async with app.run_test(size=SIZE) as pilot:
        screen, results = await open_history(pilot)
        assert len(screen.rows) == 3
        listing = screen.query_one("#history-list", OptionList)
        shown = str(listing.get_option_at_index(0).prompt)
        assert "\x1b" not in shown and "Evil" in shown  # control characters made visible
        await pilot.press(*"gira")
        await wait(pilot)
        await pilot.press(*"ffe")
        await wait(pilot)
        assert titles(screen) == ["Tall things"]
        row = screen.rows[0]
        assert any(match and "giraffe" in text.lower() for text, match in row.segments)
        prompt = listing.get_option_at_index(0).prompt
        assert "A giraffe is very tall" in prompt.plain and any("reverse" in str(span.style) for span in prompt.spans)
        assert "1 matching" in str(screen.query_one("#history-status").render())
        await pilot.press("enter")
        await pilot.pause()
        assert results == [(giraffe, hit)]

        # Enter typed before the debounce ran: the query runs first, then its top hit opens.
        app.push_screen(HistoryScreen(), results.append)
        await wait(pilot)
        await pilot.press(*"zebr", "enter")
        await wait(pilot)
        assert results[-1] == (zebra, zebra_hit)


async def test_filters_combine(fake_openai, tmp_path) -> None:
    app = demo_app(fake_openai, tmp_path / "chat.db", open_demo=False)
    s = app.store
    seed(s, "hot 4o", model="gpt-4o", temperature=1.5)
    seed(s, "cold 4o", model="gpt-4o", temperature=0.2)
    seed(s, "hot mini", model="gpt-4o-mini", temperature=1.5)
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await open_history(pilot)
        assert len(screen.rows) == 3
        screen.query_one("#history-model", Input).value = "gpt-4o"
        await wait(pilot)
        assert sorted(titles(screen)) == ["cold 4o", "hot 4o"]
        screen.query_one("#history-params", Input).value = "temperature>1"
        await wait(pilot)
        assert titles(screen) == ["hot 4o"]
        screen.query_one("#history-params", Input).value = "temperature hot"
        await wait(pilot)
        assert "expected NAME OP VALUE" in str(screen.query_one("#history-status").render())
        assert titles(screen) == ["hot 4o"]  # a bad filter keeps the last good list


async def test_rename_delete_undo_pin(fake_openai, tmp_path) -> None:
    app = demo_app(fake_openai, tmp_path / "chat.db", open_demo=False)
    s = app.store
    first, _, _ = seed(s, "first")
    second, _, _ = seed(s, "second")
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await open_history(pilot)
        assert titles(screen) == ["second", "first"]
        listing = screen.query_one("#history-list", OptionList)
        await pilot.press("down")  # from the search field to the list
        assert screen.focused is listing and screen.current().id == second

        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RenameScreen)
        app.screen.query_one(Input).value = "renamed [b]x[/b]"
        await pilot.press("enter")
        await wait(pilot)
        assert s.get_conversation(second).title == "renamed [b]x[/b]"
        assert titles(screen)[0] == "renamed [b]x[/b]"
        assert "renamed [b]x[/b]" in listing.get_option_at_index(0).prompt.plain  # literal, not markup

        await pilot.press("d")
        await wait(pilot)
        assert titles(screen) == ["first"]
        assert [c.id for c in s.list_conversations()] == [first]
        assert any("Undone with u" in n.message for n in notes(app))
        await pilot.press("u")
        await wait(pilot)
        assert titles(screen) == ["renamed [b]x[/b]", "first"]
        assert screen.current().id == second

        listing.highlighted = 1
        await pilot.press("p")
        await wait(pilot)
        assert titles(screen) == ["first", "renamed [b]x[/b]"]  # pinned first
        assert screen.rows[0].pinned and screen.current().id == first
        assert listing.get_option_at_index(0).prompt.plain.startswith("★")

        await pilot.press("a")
        await wait(pilot)
        assert titles(screen) == ["renamed [b]x[/b]"]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)


async def test_bad_import_changes_nothing(fake_openai, tmp_path) -> None:
    app = demo_app(fake_openai, tmp_path / "chat.db", open_demo=False)
    seed(app.store, "only")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"format": "nope"}]')
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await open_history(pilot)
        screen.query_one("#history-list").focus()
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ImportPathScreen)
        app.screen.query_one(Input).value = str(bad)
        await pilot.press("enter")
        await wait(pilot)
        errors = [n for n in notes(app) if n.severity == "error"]
        assert errors and "nothing was imported" in errors[0].message
        assert len(app.store.list_conversations()) == 1
        assert titles(screen) == ["only"]


async def test_import_chat_tui_export_with_progress_and_export(fake_openai, tmp_path, monkeypatch) -> None:
    with Store(tmp_path / "other.db") as other:
        ids = [seed(other, f"imported {i}", answer=f"answer number {i}")[0] for i in range(3)]
        path = tmp_path / "export.json"
        path.write_text(json.dumps(export_conversations(other, ids), default=str))
    app = demo_app(fake_openai, tmp_path / "chat.db", open_demo=False)
    seed(app.store, "mine")
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await open_history(pilot)
        bar = screen.query_one("#history-progress", ProgressBar)
        seen: list[tuple] = []
        original = bar.update

        def spy(**kw):
            seen.append((kw.get("progress"), kw.get("total"), bar.display))
            return original(**kw)

        bar.update = spy
        screen.query_one("#history-list").focus()
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one(Input).value = str(path)
        await pilot.press("enter")
        await wait(pilot)
        assert not bar.display  # hidden again when done
        assert len(seen) >= 2 and all(shown for _, _, shown in seen[1:])  # fed while shown
        assert bar.total and bar.progress == bar.total  # ran to the end
        assert sorted(titles(screen)) == ["imported 0", "imported 1", "imported 2", "mine"]
        assert any("Imported 3 conversations" in n.message for n in notes(app))

        monkeypatch.chdir(tmp_path)
        cid = screen.current().id
        await pilot.press("x")
        await pilot.pause()
        exported = json.loads((tmp_path / f"chat-tui-{cid}.json").read_text())
        assert exported["conversation"]["title"] == screen.current().title
        assert (tmp_path / f"chat-tui-{cid}.md").read_text().startswith(f"# {screen.current().title}")
        assert any(str(tmp_path / f"chat-tui-{cid}.md") in n.message for n in notes(app))


async def test_paging_loads_more_on_scroll(fake_openai, tmp_path) -> None:
    app = demo_app(fake_openai, tmp_path / "chat.db", open_demo=False)
    for i in range(130):
        app.store.create_conversation(title=f"conversation {i:03}", model="gpt-4o-mini")
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await open_history(pilot)
        listing = screen.query_one("#history-list", OptionList)
        assert len(screen.rows) == PAGE == listing.option_count
        listing.focus()
        await pilot.press("end")
        await wait(pilot)
        assert len(screen.rows) == 2 * PAGE
        await pilot.press("end")
        await wait(pilot)
        assert len(screen.rows) == 130 == listing.option_count
        assert screen.exhausted
        assert len({r.id for r in screen.rows}) == 130


async def test_f9_opens_history_and_enter_opens_the_hit_branch(fake_openai, tmp_path):
    """Wiring: F9 opens the history; Enter on a search hit opens its conversation on the branch
    holding the hit, even when it is not the newest branch."""
    from demo import demo_app
    from demo import settle_workers as settle

    app = demo_app(fake_openai, tmp_path / "h.db", open_demo=False)
    store = app.store
    cid = store.create_conversation(title="branches", model="gpt-4o-mini")
    user = store.add_message(cid, "user", "question")
    old = store.add_message(cid, "assistant", "the zebra answer", parent_id=user)
    store.add_message(cid, "assistant", "a newer answer", parent_id=user)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        await pilot.press(*"zebra")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.chat.conversation_id == cid and app.chat.leaf_id == old
        texts = [v.text for v in app.chat.conversation.views()]
        assert "the zebra answer" in texts and "a newer answer" not in texts


# -- export, then import elsewhere, through the screen --------------------------------------------


def branched(store: Store) -> int:
    """A system prompt, an edited user message (two sibling user turns, each answered) and a
    regenerated answer (two sibling replies) made last, after the edit, so creation order and
    tree order differ; params, statuses and token counts on the replies."""
    cid = store.create_conversation(title="Branch test", model="gpt-4o", params={"temperature": 0.7},
                                    system_prompt="Answer in one word.", endpoint="demo")
    system = store.add_message(cid, "system", "Answer in one word.")
    first = store.add_message(cid, "user", "Name a colour", parent_id=system)
    blue = store.begin_assistant(cid, parent_id=first, model="gpt-4o", params={"model": "gpt-4o", "temperature": 0.7}, endpoint="demo")
    store.finish_assistant(blue, "Blue", "complete", finish_reason="stop", prompt_tokens=14, completion_tokens=1,
                           tokens_exact=True, ttft=0.25, duration=0.5, system_fingerprint="fp_a")
    edited = store.add_message(cid, "user", "Name a shape", parent_id=system)
    circle = store.begin_assistant(cid, parent_id=edited, model="o3-mini", params={"model": "o3-mini", "seed": 7}, endpoint="demo")
    store.finish_assistant(circle, "Circ", "complete", finish_reason="length", completion_tokens=1)
    follow = store.add_message(cid, "user", "Another?", parent_id=circle)
    square = store.begin_assistant(cid, parent_id=follow, model="o3-mini", params={"model": "o3-mini"}, endpoint="demo")
    store.finish_assistant(square, "Square", "error", error="HTTP 500")
    again = store.begin_assistant(cid, parent_id=first, model="gpt-4o", params={"model": "gpt-4o", "temperature": 1.4}, endpoint="demo")
    store.finish_assistant(again, "Chartreuse, obviously", "cancelled")
    return cid


TREE_FIELDS = ("role", "name", "content", "model", "params", "endpoint", "status", "error", "finish_reason",
               "prompt_tokens", "completion_tokens", "tokens_exact", "ttft", "duration", "system_fingerprint",
               "created_at", "updated_at")


def tree_of(store: Store, cid: int) -> tuple[list, list[tuple[int, ...]]]:
    """The conversation as nested (fields, [children in sibling order]) from its roots, and the
    tree position (sibling indices from the root) of each message in creation order."""
    messages = store.messages(cid)
    kids: dict[int | None, list] = {}
    for m in messages:
        kids.setdefault(m.parent_id, []).append(m)
    where: dict[int, tuple[int, ...]] = {}

    def build(parent: int | None, at: tuple[int, ...]) -> list:
        out = []
        for i, m in enumerate(kids.get(parent, [])):
            where[m.id] = (*at, i)
            out.append(({k: getattr(m, k) for k in TREE_FIELDS}, build(m.id, (*at, i))))
        return out

    nested = build(None, ())
    assert len(where) == len(messages)  # every message hangs from a root
    return nested, [where[m.id] for m in messages]


def db_counts(store: Store) -> tuple[int, int]:
    q = store.db.execute
    return q("SELECT count(*) FROM conversations").fetchone()[0], q("SELECT count(*) FROM messages").fetchone()[0]


async def import_through_screen(pilot, path: str) -> None:
    """`i`, type the path, Enter; then wait for the import worker and its report."""
    app = pilot.app
    before = len(notes(app))
    await pilot.press("i")
    await until(pilot, lambda: isinstance(app.screen, ImportPathScreen), "the import dialog")
    await pilot.press(*path)
    assert app.screen.query_one(Input).value == path
    await pilot.press("enter")
    await until(pilot, lambda: len(notes(app)) > before, "the import report")
    await wait(pilot)


async def test_export_then_import_elsewhere_round_trips_branches(fake_openai, tmp_path, monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)  # `x` writes to the working directory
    source = demo_app(fake_openai, tmp_path / "a.db", open_demo=False)
    cid = branched(source.store)
    original = source.store.get_conversation(cid)
    tree, order = tree_of(source.store, cid)
    thread = [m.content for m in source.store.thread(cid)]
    assert thread == ["Answer in one word.", "Name a colour", "Chartreuse, obviously"]  # newest leaf
    async with source.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await wait(pilot)
        screen = source.screen
        assert isinstance(screen, HistoryScreen) and titles(screen) == ["Branch test"]
        await pilot.press("down")  # from the search box to the list
        assert screen.focused is screen.query_one("#history-list")
        await pilot.press("x")
        await until(pilot, lambda: any("Exported to" in n.message for n in notes(source)), "the export")
    exported = out / f"chat-tui-{cid}.json"
    assert sorted(p.name for p in out.iterdir()) == [f"chat-tui-{cid}.json", f"chat-tui-{cid}.md"]
    assert len(json.loads(exported.read_text())["messages"]) == 8

    target = demo_app(fake_openai, tmp_path / "b.db", open_demo=False)
    assert db_counts(target.store) == (0, 0)
    async with target.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await wait(pilot)
        screen = target.screen
        assert isinstance(screen, HistoryScreen) and screen.rows == []
        await pilot.press("down")
        await import_through_screen(pilot, exported.name)  # relative to where it was written
        report = notes(target)[-1]
        assert report.message == "Imported 1 conversations (8 messages)." and report.severity == "information"
        assert titles(screen) == ["Branch test"]
        assert db_counts(target.store) == (1, 8)
        new = screen.rows[0].id
        copy = target.store.get_conversation(new)
        for k in ("title", "created_at", "updated_at", "model", "params", "system_prompt", "endpoint", "pinned", "archived"):
            assert getattr(copy, k) == getattr(original, k), k
        assert (copy.source, copy.source_id) == ("chat-tui", f"{cid}@{original.created_at}")
        assert tree_of(target.store, new) == (tree, order)
        assert [m.content for m in target.store.thread(new)] == thread

        # The same file again: nothing added, and the report says which one was skipped and why.
        await import_through_screen(pilot, exported.name)
        report = notes(target)[-1]
        assert report.message == "Imported 0 conversations (0 messages). Skipped 1: Branch test: already imported."
        assert report.severity == "warning"
        assert db_counts(target.store) == (1, 8)
        assert titles(screen) == ["Branch test"]

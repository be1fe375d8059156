"""Run in a fresh process by test_keymap_everywhere.py: start the app as `chat-tui` does (config
from CHAT_TUI_HOME, screens imported lazily), with every binding id remapped by the config file,
then go to every screen and widget that has bindings and press each binding's new key.

A key press is recorded instead of acted upon (`App.run_action` is replaced while keys are
pressed), so the state stays put between presses. Prints one JSON line:
{"warnings": [...], "fired": {binding id: [namespace class, action]}}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo import seed_demo  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402

from chat_tui.api.client import OpenAIClient  # noqa: E402
from chat_tui.core.config import load_config, resolve_endpoint  # noqa: E402
from chat_tui.core.paths import default_paths  # noqa: E402
from chat_tui.store import Store  # noqa: E402
from chat_tui.ui.app import ChatApp  # noqa: E402

SIZE = (160, 48)


async def until(pilot, predicate, what: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def main() -> None:
    paths = default_paths()
    config = load_config(paths.config_file)
    keymap = dict(config.keys)
    fake = FakeOpenAI(answer="One two three.").start()
    endpoint = resolve_endpoint(config, base_url=fake.base_url)
    store = Store(paths.database)
    cid = seed_demo(store)
    app = ChatApp(endpoint, store, client=OpenAIClient(endpoint), model="gpt-4o-mini", config=config,
                  paths=paths, conversation_id=cid)
    fired: dict[str, list[str]] = {}
    recording = False
    real_run_action = app.run_action

    async def run_action(action, default_namespace=None):
        if not recording:
            return await real_run_action(action, default_namespace)
        pressed.append((type(default_namespace).__name__, str(action)))
        return True

    app.run_action = run_action
    pressed: list[tuple[str, str]] = []

    async def press_all(pilot) -> None:
        """Every widget on the active screen (and the screen, and the app) with bindings: focus
        it and press the new key of each of its bindings."""
        nonlocal recording
        from chat_tui.ui.keymap import class_bindings
        from chat_tui.ui.widgets.prompt import PromptInput

        screen = app.screen
        nodes = [app, screen, *screen.query("*")]
        for node in nodes:
            bindings = [b for b in class_bindings(type(node)) if b.id and b.id in keymap]
            if not bindings or not node.is_attached:
                continue
            # The binding chain runs from the focused widget up: focus the node, or something in
            # it that does not take typed keys for itself (as a user moves to a list first).
            from textual.widgets import Input, TextArea

            target = None
            if node is not app:
                inside = [d for d in node.query("*") if d.can_focus and d.display]
                target = node if node is not screen and node.can_focus else next(
                    (d for d in inside if not isinstance(d, (Input, TextArea))), inside[0] if inside else None)
            for binding in bindings:
                if binding.id in fired:
                    continue
                if target is not None:
                    target.focus()
                    await pilot.pause()
                pressed.clear()
                if isinstance(node, PromptInput) and binding.action in ("submit", "newline"):
                    # The prompt handles its keys itself, in order with typed text.
                    seen: list[str] = []
                    node.action_submit = lambda seen=seen: seen.append("submit")
                    node.action_newline = lambda seen=seen: seen.append("newline")
                    await pilot.press(keymap[binding.id].split(",")[0])
                    if seen == [binding.action]:
                        fired[binding.id] = ["PromptInput", binding.action]
                    del node.action_submit, node.action_newline
                    continue
                recording = True
                try:
                    await pilot.press(keymap[binding.id].split(",")[0])
                finally:
                    recording = False
                if (type(node).__name__, binding.action) in pressed:
                    fired[binding.id] = [type(node).__name__, binding.action]

    async with app.run_test(size=SIZE) as pilot:
        chat = app.chat
        await until(pilot, lambda: chat.params_pane() is not None and chat.picker() is not None, "the side panes")
        await until(pilot, lambda: len(chat.conversation.views()) == 4, "the conversation")
        await app.workers.wait_for_complete()
        await pilot.pause()
        warnings = [n.message for n in app._notifications if "[keys]" in n.message]

        # An attachment, so its chip (and its remove key) is on screen.
        from attach_samples import png

        image = paths.data_dir / "probe.png"
        image.write_bytes(png(2, 2))
        await chat.attach(str(image))
        await pilot.pause()
        # The path field (Ctrl+T), so its keys apply: it is mounted the first time it opens.
        chat.action_attach()
        await pilot.pause()
        await press_all(pilot)  # the chat: app, screen, prompt, messages, sidebar, parameters

        # A tool call waiting for approval, so the question's keys apply.
        from chat_tui.core.messages import ToolCall
        from chat_tui.core.tools import ToolSpec
        from chat_tui.ui.widgets.tool_calls import ToolApproval

        question = ToolApproval(ToolCall("call_1", "get_time", "{}"), ToolSpec("get_time"))
        await chat.conversation.mount(question)
        await pilot.pause()
        await press_all(pilot)
        await question.remove()

        # Compare: a finished run, so there are lanes.
        compare = chat.open_compare("Which is better?")
        await pilot.pause()
        compare.query_one("#sweep-spec").value = "temperature=0,1"
        await compare.action_run()
        await until(pilot, lambda: compare.columns and not compare.running() and all(c.finishing and c.finishing.done() for c in compare.columns), "the lanes")
        await press_all(pilot)
        from chat_tui.ui.screens.compare import DiffScreen, NoteScreen

        for screen in (DiffScreen(["a", "b", "c"], ["one", "two", "three"]), NoteScreen("A")):
            await app.push_screen(screen)
            await pilot.pause()
            await press_all(pilot)
            app.pop_screen()
            await pilot.pause()
        app.pop_screen()  # back to the chat
        await pilot.pause()

        # Completion mode, with choices side by side so the pick keys apply.
        from chat_tui.ui.screens.completion import CompletionScreen

        completion = CompletionScreen()
        await app.push_screen(completion)
        await pilot.pause()
        completion.state = "choosing"
        await press_all(pilot)
        app.pop_screen()
        await pilot.pause()

        # Edit mode: a finished round of two choices, so there are choice lanes.
        from chat_tui.ui.screens.edit import EditScreen

        edit = EditScreen(text="teh end")
        await app.push_screen(edit)
        await pilot.pause()
        edit.query_one("#edit-instruction").value = "Fix the spelling"
        edit.query_one("#edit-n").value = "2"
        edit.action_generate()
        await until(pilot, lambda: len(edit.lanes()) == 2 and not edit.running(), "the edit choices")
        await press_all(pilot)
        app.pop_screen()
        await pilot.pause()

        from chat_tui.ui.screens.dialogs import ConfirmScreen
        from chat_tui.ui.screens.help import HelpScreen
        from chat_tui.ui.screens.history import HistoryScreen, ImportPathScreen
        from chat_tui.ui.screens.images import ImagesScreen
        from chat_tui.ui.screens.schema_editor import SchemaEditorScreen
        from chat_tui.ui.screens.tools import ToolsScreen
        from chat_tui.ui.screens.welcome import WelcomeScreen
        from chat_tui.ui.widgets.probability import ProbabilityScreen

        from chat_tui.core.templates import Template
        from chat_tui.services.templates import Templates
        from chat_tui.ui.screens.recall import RecallSearchScreen
        from chat_tui.ui.screens.templates import FieldsScreen, TemplatePickerScreen, TemplatesScreen

        role = Template("probe", kind="role", system_prompt="Be {{mood}}.")
        Templates(store).save(role)
        for screen in (RecallSearchScreen(store), TemplatePickerScreen([role]), FieldsScreen(role, ["mood"]),
                       TemplatesScreen(Templates(store))):
            await app.push_screen(screen)
            await pilot.pause()
            await press_all(pilot)
            app.pop_screen()
            await pilot.pause()

        message = next(m for m in store.messages(cid) if m.role == "assistant")
        logprobs = [{"token": t, "logprob": -0.1, "bytes": None, "top": [{"token": t, "logprob": -0.1}]} for t in ("a", "b", "c")]
        for screen in (HistoryScreen(), ImportPathScreen(), ConfirmScreen("Sure?"), HelpScreen([]), ImagesScreen(),
                       WelcomeScreen(paths.config_file, problem="test"), ProbabilityScreen(logprobs, title=message.model or ""),
                       SchemaEditorScreen("answer"), ToolsScreen(app.toolbox, lambda switches: None)):
            await app.push_screen(screen)
            if isinstance(screen, HistoryScreen):
                await until(pilot, lambda: screen.rows, "the history rows")
            await pilot.pause()
            await press_all(pilot)
            app.pop_screen()
            await pilot.pause()
    fake.stop()
    store.close()
    print(json.dumps({"warnings": warnings, "fired": fired}))


asyncio.run(main())

"""Snapshot tests (pytest-textual-snapshot) of each screen. Review a changed SVG before running
with --snapshot-update: `pytest tests/test_snapshots.py --snapshot-report` writes an HTML diff."""

from __future__ import annotations

from demo import demo_app, settle
from fake_openai import Fault

SIZE = (160, 48)


def test_main_screen(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db")
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_model_picker_filtered(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db")

    async def filter_models(pilot):
        await settle(pilot)
        app.screen.query_one("#model-picker Input").focus()
        await pilot.press(*"4o")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=filter_models)


def test_parameters_changed(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)

    async def change(pilot):
        await settle(pilot)
        app.screen.query_one("#param-temperature").focus()
        await pilot.press("right", "right", "right", "right")
        app.screen.query_one("#param-seed").focus()
        await pilot.press(*"42")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=change)


def test_help_screen(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)

    async def help_(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=help_)


def test_error_state(snap_compare, fake_openai, tmp_path):
    fake_openai.enqueue_fault(Fault("status", status=401, path="/v1/chat/completions"))
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)

    async def fail(pilot):
        await settle(pilot)
        await pilot.press(*"Hello?", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=fail)

"""Prompt templates and roles (issue 15): variables, checks, TOML export and import, the service."""

from __future__ import annotations

import tomllib

import pytest

from chat_tui.core.params import ChatParams
from chat_tui.core.templates import Template, TemplateError, check, dumps, loads, render, variables
from chat_tui.services.templates import Templates, fill, role_settings
from chat_tui.store import Store


def test_variables_are_found_in_order_once_and_escaped_ones_are_text():
    text = "Hi {{ name }}, {{input}} and {{name}} again; \\{{literal}}, {{a.b}}, {{ 1x }}, {single}"
    assert variables(text) == ["name", "input"]
    assert render(text, {"name": "Ada", "input": "X"}) == \
        "Hi Ada, X and Ada again; {{literal}}, {{a.b}}, {{ 1x }}, {single}"


def test_values_are_put_in_once_never_read_again():
    t = Template("t", prompt="Q: {{input}} / {{clipboard}}")
    assert fill(t, input="{{clipboard}}", clipboard="{{input}} \\{{x}}") == "Q: {{clipboard}} / {{input}} \\{{x}}"


def test_missing_and_unknown_values_say_which():
    t = Template("greet", prompt="Write to {{person}} about {{topic}}: {{input}}")
    with pytest.raises(TemplateError, match=r"template 'greet' needs input for \{\{input\}\}"):
        fill(t, values={"person": "Ada", "topic": "x"}, input="  ")
    with pytest.raises(TemplateError, match=r"needs a value for \{\{topic\}\}"):
        fill(t, values={"person": "Ada"}, input="hello")
    with pytest.raises(TemplateError, match=r"has no field 'persn' \(its fields: person, topic\)"):
        fill(t, values={"persn": "Ada"}, input="hello")
    clip = Template("clip", prompt="Explain: {{clipboard}}")
    with pytest.raises(TemplateError, match="no clipboard text"):
        fill(clip, clipboard="")
    assert fill(clip, clipboard="a = 1") == "Explain: a = 1"


def test_input_is_appended_when_the_template_has_no_place_for_it():
    t = Template("fr", prompt="Translate to French:  ")
    assert fill(t, input="Good morning") == "Translate to French:\n\nGood morning"
    assert fill(t) == "Translate to French:  "


def test_checks_before_saving():
    assert check(Template("  spaced  ", prompt="x")).name == "spaced"
    bad = [
        (Template("", prompt="x"), "needs a name"),
        (Template("a\x1bb", prompt="x"), "control characters"),
        (Template("p"), "has no text"),
        (Template("p", prompt="x", model="gpt-4o"), "belong to a role"),
        (Template("r", kind="role"), "has no system prompt"),
        (Template("r", kind="role", system_prompt="S {{input}}"), "belongs in a prompt template"),
        (Template("r", kind="role", system_prompt="S", params={"temperature": 3}), "temperature: 3 is out of range"),
        (Template("r", kind="role", system_prompt="S", params={"api_key": "sk-x"}), "api_key"),
        (Template("k", kind="other", prompt="x"), "must be prompt or role"),
        (Template("x" * 101, prompt="x"), "at most 100"),
    ]
    for template, message in bad:
        with pytest.raises(TemplateError, match=message):
            check(template)


TRICKY = [
    'triple """ quotes and a trailing quote"',
    "back\\slash \\n not a newline, \\{{escaped}}",
    "lines\nwith\ttabs\r\nand CRLF\n",
    "control \x1b[31m \x00 \x7f \u2028 and émoji 🎉",
    "'''single triple'''",
    "ends with a backslash \\",
    "",
]


@pytest.mark.parametrize("text", TRICKY)
def test_toml_export_reads_back_exactly(text):
    prompt = Template(f"p {text[:5]!r}", prompt=text or "x", description=text)
    role = Template("role.with dots", kind="role", system_prompt=text or "s", model="gpt-4o",
                    params={"temperature": 0.2, "stop": ["\n", text or "END"], "logit_bias": {"50256": -100}})
    document = dumps([prompt, role])
    tomllib.loads(document)  # valid TOML
    assert loads(document) == [check(prompt), role]


def test_a_bad_toml_file_names_every_problem_and_imports_nothing(tmp_path):
    bad = """
[prompts.ok]
prompt = "fine"

[prompts.empty]
prompt = ""

[roles.hot]
system_prompt = "S"
params = { temperature = 9 }
colour = "red"

[roles.ok]
system_prompt = "S"

[extras]
x = 1
"""
    with pytest.raises(TemplateError) as caught:
        loads(bad)
    message = str(caught.value)
    for part in ("unknown table [extras]", "[prompts.empty]: prompt template 'empty' has no text",
                 "[roles.hot]: unknown key 'colour'", "'ok' is both a prompt and a role"):
        assert part in message
    with pytest.raises(TemplateError, match="not a valid TOML file"):
        loads("[prompts.x\nprompt = 1")
    with pytest.raises(TemplateError, match=r"\[prompts.x\]: prompt must be a string"):
        loads("[prompts.x]\nprompt = 1")
    with Store(tmp_path / "t.db") as store:
        with pytest.raises(TemplateError):
            Templates(store).import_toml(bad)
        assert Templates(store).list() == []


def test_the_service_saves_renames_deletes_and_imports(tmp_path):
    with Store(tmp_path / "t.db") as store:
        templates = Templates(store)
        templates.save(Template("sum", prompt="Sum {{input}}"))
        with pytest.raises(TemplateError, match="already exists"):
            templates.save(Template("sum", prompt="other"))
        templates.save(Template("reviewer", kind="role", system_prompt="Review {{lang}}.", params={"top_p": 0.5}))
        templates.rename("sum", "summary")
        with pytest.raises(TemplateError, match="already exists"):
            templates.rename("summary", "reviewer")
        assert [t.name for t in templates.list()] == ["reviewer", "summary"]
        with pytest.raises(TemplateError, match="no template or role named 'sum'; there are: reviewer, summary"):
            templates.find("sum")

        exported = templates.export_toml()
        templates.save(Template("summary", prompt="Changed {{input}}"), previous="summary")
        report = templates.import_toml(exported)
        assert (report.added, report.unchanged, report.skipped) == ([], ["reviewer"], ["summary"])
        assert templates.get("summary").prompt == "Changed {{input}}"
        report = templates.import_toml(exported, overwrite=True)
        assert report.replaced == ["summary"] and templates.get("summary").prompt == "Sum {{input}}"
        assert templates.delete("summary") and not templates.delete("summary")

        settings = role_settings(templates.find("reviewer"), ChatParams(temperature=1.5, top_p=0.9), values={"lang": "Go"})
        assert settings.system_prompt == "Review Go." and settings.model is None
        assert settings.params == ChatParams(temperature=1.5, top_p=0.5)  # the role's over the current ones

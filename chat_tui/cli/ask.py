"""`chat-tui ask`: send a prompt, stream the answer to stdout, save both.

With `--schema FILE` (structured output) the request carries the schema as `response_format`
(checked first: a bad file is one line and exit 2, nothing sent), and the answer is validated
against it: one that does not match exits 4 with its first violation on stderr. So does any
answer to a request that carried a schema (a continued conversation keeps its schema)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from chat_tui.cli.context import CLIError, Context, parse_options, pick_model, read_prompt, schema_option
from chat_tui.cli.output import answer, dump_json


def run(ctx: Context) -> int:
    args = ctx.args
    template, role = _templates(ctx)
    prompt = read_prompt(args.prompt, required=template is None)
    if template is not None:
        prompt = _fill(template, prompt, dict(args.var))
    options = parse_options(args.option)
    schema = _schema(args)
    if schema is not None and options.response_format is not None:
        raise CLIError("give --schema FILE or -o response_format, not both", 2)
    files = _attachments(args.attach, args.detail)
    return asyncio.run(_ask(ctx, prompt, options, files, role, schema))


def _templates(ctx: Context) -> tuple[Any, Any]:
    """`-t NAME` (at most a prompt template and a role), and `--var` checked against them."""
    args = ctx.args
    if not args.template:
        if args.var:
            raise CLIError("--var fills a template's fields: name the template with -t NAME", 2)
        return None, None
    from chat_tui.services.templates import TemplateError, Templates

    try:
        found = [Templates(ctx.store()).find(name) for name in args.template]
    except TemplateError as exc:
        raise CLIError(str(exc), 2) from None
    by_kind = {"prompt": [t for t in found if t.kind == "prompt"], "role": [t for t in found if t.kind == "role"]}
    for kind, chosen in by_kind.items():
        if len(chosen) > 1:
            raise CLIError(f"-t: one {kind} at a time, not {' and '.join(t.name for t in chosen)}", 2)
    template, role = (by_kind["prompt"] or [None])[0], (by_kind["role"] or [None])[0]
    fields = {f for t in found for f in t.fields()}
    unknown = [name for name, _ in args.var if name not in fields]
    if unknown:
        has = ", ".join(sorted(f for t in found for f in t.named_fields())) or "none"
        raise CLIError(f"--var {unknown[0]}: {' and '.join(t.name for t in found)} "
                       f"{'has' if len(found) == 1 else 'have'} no {{{{{unknown[0]}}}}} (fields: {has})", 2)
    given = {name for name, _ in args.var}
    if "clipboard" in fields and "clipboard" not in given:
        raise CLIError("the template uses {{clipboard}}: pass its text with --var clipboard TEXT"
                       " (the command line does not read the clipboard)", 2)
    return template, role


def _fill(template: Any, text: str, values: dict[str, str]) -> str:
    from chat_tui.services.templates import TemplateError, fill

    try:
        return fill(template, values={k: v for k, v in values.items() if k in template.fields()}, input=text)
    except TemplateError as exc:
        missing = [f for f in template.named_fields() if f not in values]
        if "{{input}}" in str(exc):
            hint = " (pass it as arguments or on stdin)"
        else:
            hint = f" (--var {missing[0]} VALUE)" if missing else ""
        raise CLIError(f"{exc}{hint}", 2) from None


INVALID_ANSWER = 4  # exit status: the answer does not match its schema (1: errors, 2: usage)


def _schema(args: Any) -> dict[str, Any] | None:
    if args.schema is None and args.pretty:
        raise CLIError("--pretty goes with --schema FILE", 2)
    return schema_option(args)


def _attachments(sources: list[str], detail: str) -> list[Any]:
    """`-a FILE|URL`, each checked here (missing, unsupported, too large) before anything is sent."""
    if not sources:
        return []
    from chat_tui.core.attachments import AttachmentError, check_request
    from chat_tui.services.attachments import load

    try:
        files = [load(source, detail=detail) for source in sources]
        check_request(files)
    except AttachmentError as exc:
        raise CLIError(f"cannot attach {exc}", 2) from None
    for f in files:
        if not f.sent:  # the app transcribes audio into the prompt; here it would go nowhere
            raise CLIError(f"cannot attach {f.name}: audio is not sent to chat models; transcribe it first:"
                           f" chat-tui transcribe FILE | chat-tui ask", 2)
    return files


async def _ask(ctx: Context, prompt: str, options: Any, files: list[Any], role: Any = None,
               schema: dict[str, Any] | None = None) -> int:
    """The run, with the MCP servers `--tool` started closed before the event loop ends."""
    from chat_tui.services.mcp import close_all

    try:
        if ctx.args.tool:  # checked before anything is saved or sent
            from chat_tui.cli.mcp import tools_for

            await tools_for(ctx, ctx.args.tool)
        return await _ask_turn(ctx, prompt, options, files, role, schema)
    finally:
        await close_all(ctx.tool_providers)


async def _ask_turn(ctx: Context, prompt: str, options: Any, files: list[Any], role: Any,
                    schema: dict[str, Any] | None) -> int:
    from chat_tui.api.events import TextDelta
    from chat_tui.core.params import ChatParams, ParamError
    from chat_tui.core.tool_calls import Approvals
    from chat_tui.services.chat import Settings, start_turn
    from chat_tui.services.replies import run_reply
    from chat_tui.services.tools import Toolbox, allow_named, run_turn

    args = ctx.args
    store = ctx.store()
    conversation = None
    if args.cid is not None or args.cont:
        cid = args.cid if args.cid is not None else store.last_conversation_id()
        conversation = store.get_conversation(cid) if cid is not None else None
        if conversation is None:
            raise CLIError(f"no conversation {cid}" if cid is not None else "no conversation to continue yet")

    settings_of_role = None
    if role is not None:  # its system prompt, model and parameters; -s, -m and -o win
        from chat_tui.services.templates import TemplateError, role_settings

        try:
            base = ChatParams.from_dict(conversation.params) if conversation and conversation.params else ChatParams()
            settings_of_role = role_settings(role, base, values={k: v for k, v in args.var if k in role.fields()})
        except (TemplateError, ParamError) as exc:
            raise CLIError(str(exc), 2) from None
    client = ctx.client()
    try:
        model = await pick_model(ctx, client, (settings_of_role.model if settings_of_role else None)
                                 or (conversation.model if conversation else None))
        try:
            if settings_of_role is not None:
                base = settings_of_role.params
            else:
                base = ChatParams.from_dict(conversation.params) if conversation and conversation.params else ChatParams()
            params = base.merged(options)
            if schema is not None:
                params = params.with_option("response_format", schema)
            params = params.checked_for(model)
        except ParamError as exc:
            raise CLIError(f"invalid option {exc}", 2) from None
        system = args.system if args.system is not None else (
            settings_of_role.system_prompt if settings_of_role else conversation.system_prompt if conversation else None)
        settings = Settings(model, params, system, conversation.endpoint if conversation else ctx.endpoint.name)
        if conversation is None:
            turn = start_turn(store, prompt, settings, attachments=files)
        else:
            thread = store.thread(conversation.id)
            turn = start_turn(store, prompt, settings, conversation_id=conversation.id,
                              parent_id=thread[-1].id if thread else None, thread=thread, attachments=files)

        stream = not (args.no_stream or args.json or args.pretty)
        streamed = {"any": False, "ends_newline": True}

        def on_event(event: Any) -> None:
            if stream and isinstance(event, TextDelta) and event.index == 0:
                answer(event.text)
                streamed["any"] = True
                streamed["ends_newline"] = event.text.endswith("\n")

        async def reply(messages: list[Any], parent_id: int, tools: Any, round_params: Any) -> Any:
            if streamed["any"] and not streamed["ends_newline"]:  # the text before a tool call
                answer("\n")
                streamed["ends_newline"] = True
            return await run_reply(
                client, store, ctx.counter(),
                conversation_id=turn.conversation_id, parent_id=parent_id, messages=messages, model=model,
                params=round_params, endpoint_name=ctx.endpoint.name, on_event=on_event, stream=stream, tools=tools,
            )

        toolbox = Toolbox(ctx.tool_providers)
        toolbox.disabled = set(ctx.disabled_tools)
        outcome = await run_turn(
            store, toolbox, Approvals(ctx.endpoint.trust), ask=allow_named(ctx.allowed_tools),
            reply=reply, conversation_id=turn.conversation_id, messages=turn.messages, parent_id=turn.user_id,
            params=params, max_rounds=ctx.config.max_tool_rounds, on_step=_tell_step,
        )
        result = outcome.last
    finally:
        await client.aclose()

    verdicts = _verdicts(result) if result.status == "complete" else {}
    if args.json and result.status == "complete":
        raw = store.get_message(result.message_id)
        dump_json(_raw_like(result, raw))
    elif args.pretty:
        for index in sorted(result.choices):
            head = f"--- choice {index} ---\n" if len(result.choices) > 1 else ""
            verdict = verdicts.get(index)
            text = (json.dumps(verdict.data, indent=2, ensure_ascii=False) if verdict is not None and verdict.parsed
                    else result.choices[index].text)
            answer(f"{head}{text}{'' if text.endswith(chr(10)) else chr(10)}")
    elif stream:
        if streamed["any"] and not streamed["ends_newline"]:
            answer("\n")
        for index in sorted(result.choices):
            if index:
                answer(f"\n--- choice {index} ---\n{result.choices[index].text}\n")
    else:
        for index in sorted(result.choices):
            head = f"--- choice {index} ---\n" if len(result.choices) > 1 else ""
            text = result.choices[index].text
            answer(f"{head}{text}{'' if text.endswith(chr(10)) else chr(10)}")
    if args.stats:
        print(_stats_line(result), file=sys.stderr)
    if outcome.stopped == "limit":
        print(f"chat-tui: stopped after {ctx.config.max_tool_rounds} rounds of tool calls ([tools] max_rounds);"
              " the last calls were not run", file=sys.stderr)
    elif outcome.stopped == "unsaved":
        raise CLIError(f"a tool's result could not be saved: {outcome.error}")
    if result.ignored:
        print(f"chat-tui: warning: the server sent {result.ignored} events for choices that were not asked for; they were left out",
              file=sys.stderr)
    if result.unsaved:
        raise CLIError(f"the answer could not be saved: {result.unsaved}")
    if result.status == "error":
        kept = " (partial answer saved)" if result.text else ""
        raise CLIError(f"{result.error_text}{kept}")
    for index, verdict in sorted(verdicts.items()):
        if not verdict.ok:
            which = f"choice {index}: " if len(result.choices) > 1 else ""
            choice = result.choices[index]
            if choice.refusal and not choice.parts:
                raise CLIError(f"{which}the model refused: {''.join(choice.refusal)}", INVALID_ANSWER)
            raise CLIError(f"{which}the answer does not match schema {verdict.name}: {verdict.summary()[2:]}",
                           INVALID_ANSWER)
    return 0


def _verdicts(result: Any) -> dict[int, Any]:
    """Each choice checked against the schema the request carried ({} without one)."""
    from chat_tui.services.structured import check_reply

    out = {}
    for index, choice in result.choices.items():
        verdict = check_reply(result.body, choice.text)
        if verdict is not None:
            out[index] = verdict
    return out


def _tell_step(step: Any) -> None:
    """A tool call's fate, on stderr (stdout is the answer)."""
    from chat_tui.core.text import one_line

    if step.state != "done":
        return
    name = one_line(step.call.name)
    if step.decision in ("deny", "unavailable"):
        print(f"chat-tui: {name} not run: {one_line(step.outcome.text)}", file=sys.stderr)
    elif step.outcome.is_error:
        print(f"chat-tui: {name} failed: {one_line(step.outcome.text)}", file=sys.stderr)
    else:
        print(f"chat-tui: ran {name}", file=sys.stderr)


def _raw_like(result: Any, row: Any) -> dict[str, Any]:
    """--json: the server's response as OpenAI shapes it, plus where chat-tui saved it."""
    raw = dict(getattr(result, "raw", None) or {})
    if not raw:
        raw = {
            "object": "chat.completion",
            "model": row.model if row else None,
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": c.text}, "finish_reason": c.finish_reason}
                for i, c in sorted(result.choices.items())
            ],
        }
        if result.usage:
            raw["usage"] = result.usage.raw or {
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "total_tokens": result.usage.total_tokens,
            }
    raw["chat_tui"] = {"conversation_id": row.conversation_id if row else None, "message_id": result.message_id}
    return raw


def _stats_line(result: Any) -> str:
    t = result.timing
    parts = []
    if t and t.ttft is not None:
        parts.append(f"first token {t.ttft:.2f}s")
    if t:
        parts.append(f"total {t.total:.2f}s")
    if t and t.tokens_per_second:
        parts.append(f"{t.tokens_per_second:.1f} tok/s")
    if result.usage:
        reasoning = result.usage.reasoning_tokens
        of_which = f" ({reasoning} reasoning)" if reasoning else ""
        parts.append(f"usage {result.usage.prompt_tokens}+{result.usage.completion_tokens} tokens{of_which}")
    if result.prompt_tokens_local is not None:
        mark = "" if result.tokens_exact else "~"
        parts.append(f"tiktoken {mark}{result.prompt_tokens_local}+{mark}{result.completion_tokens_local.get(0, 0)}")
    parts.append(result.status)
    return "chat-tui: " + " · ".join(parts)

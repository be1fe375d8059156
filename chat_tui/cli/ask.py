"""`chat-tui ask`: send a prompt, stream the answer to stdout, save both."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from chat_tui.cli.context import CLIError, Context, parse_options, pick_model, read_prompt
from chat_tui.cli.output import answer, dump_json


def run(ctx: Context) -> int:
    args = ctx.args
    prompt = read_prompt(args.prompt)
    options = parse_options(args.option)
    files = _attachments(args.attach, args.detail)
    return asyncio.run(_ask(ctx, prompt, options, files))


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


async def _ask(ctx: Context, prompt: str, options: Any, files: list[Any]) -> int:
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

    client = ctx.client()
    try:
        model = await pick_model(ctx, client, conversation.model if conversation else None)
        try:
            base = ChatParams.from_dict(conversation.params) if conversation and conversation.params else ChatParams()
            params = base.merged(options)
        except ParamError as exc:
            raise CLIError(f"invalid option {exc}", 2) from None
        system = args.system if args.system is not None else (conversation.system_prompt if conversation else None)
        settings = Settings(model, params, system, conversation.endpoint if conversation else ctx.endpoint.name)
        if conversation is None:
            turn = start_turn(store, prompt, settings, attachments=files)
        else:
            thread = store.thread(conversation.id)
            turn = start_turn(store, prompt, settings, conversation_id=conversation.id,
                              parent_id=thread[-1].id if thread else None, thread=thread, attachments=files)

        stream = not (args.no_stream or args.json)
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

        outcome = await run_turn(
            store, Toolbox(ctx.tool_providers), Approvals(ctx.endpoint.trust), ask=allow_named(ctx.allowed_tools),
            reply=reply, conversation_id=turn.conversation_id, messages=turn.messages, parent_id=turn.user_id,
            params=params, max_rounds=ctx.config.max_tool_rounds, on_step=_tell_step,
        )
        result = outcome.last
    finally:
        await client.aclose()

    if args.json and result.status == "complete":
        raw = store.get_message(result.message_id)
        dump_json(_raw_like(result, raw))
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
    return 0


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
        parts.append(f"usage {result.usage.prompt_tokens}+{result.usage.completion_tokens} tokens")
    if result.prompt_tokens_local is not None:
        mark = "" if result.tokens_exact else "~"
        parts.append(f"tiktoken {mark}{result.prompt_tokens_local}+{mark}{result.completion_tokens_local.get(0, 0)}")
    parts.append(result.status)
    return "chat-tui: " + " · ".join(parts)

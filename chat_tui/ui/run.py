"""Entry point from the CLI into the Textual app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.cli import Context


M_ARENA_MAX = -8  # glibc's mallopt() parameter numbers
M_MMAP_THRESHOLD = -3
MALLOC_ARENAS = 2
MMAP_THRESHOLD = 128 * 1024


def tune_malloc(arenas: int = MALLOC_ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Keep glibc from holding on to memory the app has freed. Must run before the first thread
    starts. Whether both settings applied (not glibc: nothing to do).

    - Arenas: glibc gives each thread that allocates its own malloc arena, and memory freed in one
      stays with it: the app's worker threads (tokenizer loading, token meter, database queries)
      left ~6 MB of resident memory scattered over arenas.
    - A fixed mmap threshold: by default glibc raises it after each large free, so later large
      blocks (the tokenizer's temporary tables) come from the heap and leave holes in it; fixed,
      they are mapped and unmapped whole (~2 MB less after an 8,000-token answer).
    Both measured with benchmarks/tui.py.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return libc.mallopt(M_ARENA_MAX, arenas) == 1 and libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
    except (OSError, AttributeError):
        return False


def run_app(ctx: "Context") -> int:
    import gc

    tune_malloc()
    # Start-up creates a few hundred thousand objects (Textual, the widgets), almost none of them
    # garbage: the collector's passes over them cost ~15 ms before the first frame. It is turned
    # back on once start-up is over (ChatApp._freeze_startup_objects).
    gc.disable()
    from chat_tui.ui.app import ChatApp

    args = ctx.args
    cid = getattr(args, "cid", None)
    store = ctx.store  # opened after the first frame, unless a conversation is asked for now
    if cid is not None or getattr(args, "cont", False):
        store = ctx.store()
        if cid is None:
            cid = store.last_conversation_id()
        if cid is not None and store.get_conversation(cid) is None:
            from chat_tui.cli import CLIError

            raise CLIError(f"no conversation {cid}")
    app = ChatApp(
        ctx.endpoint,
        store,
        paths=ctx.paths,
        config=ctx.config,
        model=getattr(ctx.args, "model", None),
        counter=ctx.counter(),
        conversation_id=cid,
    )
    try:
        app.run()
    finally:
        app.shutdown()
    return app.return_code or 0

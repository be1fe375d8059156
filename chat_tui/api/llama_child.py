"""The child process behind the `local` profile: a llama.cpp server (xllamacpp) on 127.0.0.1.

Run by `local_server.LocalServer`; not meant to be started by hand. It prints one JSON line on
stdout once the model is loaded (`{"base_url": ...}` or `{"error": ...}`), then serves until its
stdin reaches EOF, which happens when the parent exits for any reason, kill -9 included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the parent dies, even if it is killed (belt and braces with stdin)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="chat_tui.api.llama_child")
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--alias", required=True)
    ap.add_argument("--ctx", type=int, default=8192)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--embedding", action="store_true", help="also serve /v1/embeddings (mean pooling)")
    args = ap.parse_args(argv)
    _die_with_parent()
    out = sys.stdout
    try:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = args.gguf
        params.model_alias = {args.alias}
        params.n_ctx = args.ctx
        params.n_parallel = args.parallel
        params.port = 0  # the OS picks a free port
        params.hostnames = ["127.0.0.1"]
        if args.threads > 0:
            params.cpuparams.n_threads = args.threads
        if args.embedding:
            # One process serves chat and embeddings (measured: both answer with this on). An
            # input is embedded in one physical batch, so the batch is as large as an input.
            params.embedding = True
            params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
            params.n_batch = params.n_ubatch = 2048
        server = xllamacpp.Server(params)
    except Exception as exc:  # report any failure to the parent as one line
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
        out.flush()
        return 1
    out.write(json.dumps({"base_url": server.listening_address + "/v1", "pid": os.getpid()}) + "\n")
    out.flush()
    # Block until the parent closes our stdin (exit, crash or kill -9 all close it).
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, KeyboardInterrupt):
        pass
    # Skip the slow C++ teardown: the OS frees everything.
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())

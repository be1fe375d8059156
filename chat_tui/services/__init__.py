"""The use cases, UI-free, shared by the CLI and the TUI: a chat turn and its reply, compare
runs, titles, history, presets, endpoints. They take their dependencies (client, store,
token counter) as arguments."""

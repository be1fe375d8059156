"""SQLite storage through sqlite-utils. Imports only chat_tui.core."""

"""OpenAI wire protocol over httpx. Imports only chat_tui.core."""

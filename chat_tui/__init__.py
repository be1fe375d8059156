"""chat-tui: a terminal chat client for the OpenAI API and every server that speaks it."""

__version__ = "0.1.0"

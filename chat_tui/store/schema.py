"""The database schema and its migrations.

The file is plain SQLite; open it with ``sqlite3`` or Datasette. Table and column names
below are a public contract: rename nothing, only add (through a new migration).

Conventions
-----------
* Timestamps are ISO-8601 UTC text with milliseconds, ``2025-01-31T09:15:02.125Z``. They
  sort correctly as text and SQLite's date functions read them.
* ``id`` columns are ``INTEGER PRIMARY KEY AUTOINCREMENT``: they increase in insertion order
  and are never reused, so a stale id never points at a different row.
* JSON columns hold JSON text (``json_valid`` is checked); booleans are ``0``/``1``.
* No API key is ever stored: ``endpoint`` is a profile name, and the store refuses
  ``params`` that contain credential-like keys (``api_key``, ``authorization`` ...).

``conversations``
  ``id``; ``title`` (NULL = untitled); ``created_at``; ``updated_at`` (bumped when a message
  is added or finished, or the conversation is changed); ``model`` (default model for new
  replies); ``params`` (JSON object of default request parameters, ``{}`` if none);
  ``system_prompt`` (NULL = none); ``endpoint`` (name of the endpoint profile, NULL = the
  default profile).

``messages`` - a tree per conversation: regenerate and edit-and-resend add siblings.
  ``id``; ``conversation_id`` (deleting the conversation deletes its messages);
  ``parent_id`` (the message this one answers or follows, NULL for a root; same
  conversation; deleting a message deletes its subtree); ``role`` (``system``,
  ``developer``, ``user``, ``assistant``, ``tool``); ``name`` (optional participant name);
  ``content`` (the text; for a reply still streaming, the part received so far);
  ``created_at``; ``updated_at`` (last write, including partial flushes);
  ``status`` (``streaming`` while a process is receiving the reply, then ``complete``,
  ``cancelled`` (stopped by the user), ``error`` (see ``error``) or ``interrupted`` (the
  writing process died); user-written messages are ``complete``).
  Assistant replies only (NULL otherwise): ``model``; ``params`` (JSON object: the exact
  request parameters sent); ``endpoint`` (profile name); ``error`` (error text);
  ``finish_reason`` (as reported by the server: ``stop``, ``length`` ...);
  ``prompt_tokens``, ``completion_tokens`` (usage reported by the server);
  ``prompt_tokens_local``, ``completion_tokens_local`` (counted locally with tiktoken);
  ``tokens_exact`` (1 if the local counts used the model's real tokenizer, 0 if estimated);
  ``ttft`` (seconds from sending the request to the first token); ``duration`` (seconds
  from sending the request to the end); ``system_fingerprint`` (from the server);
  ``logprobs`` (JSON, as received); ``writer_pid`` (process id of the chat-tui that
  streamed the reply; used to detect replies orphaned by a crash).

History columns (version 3)
  ``conversations.pinned`` and ``archived`` (``0``/``1``); ``deleted_at`` (set by a soft
  delete, which the app can undo until it closes; such rows are purged at exit and start and
  never listed or searched); ``source`` (``chatgpt``, ``chat-tui``: where an imported
  conversation came from, NULL if made here) and ``source_id`` (its id there; unique per
  source). ``messages.source_id``: the imported message's id in its source, unique per
  conversation, so a re-import adds only messages not seen before.

Title source (version 4)
  ``conversations.title_source``: who set the title. ``prompt`` (cut from the first prompt,
  provisional: an auto-title may replace it), ``auto`` (generated from the first exchange),
  ``user`` (renamed by hand; never replaced), ``import`` (came with an import); NULL for
  conversations made before version 4, which are left as they are.

Content parts and tool calls (version 5)
  ``messages.parts``: JSON list of the message's content parts in the API's form (``text``,
  ``image_url``, ``input_audio``, ``file``) when it has more than text, NULL for a text-only
  message (``content`` always holds the text, which is what search indexes); a part whose bytes
  are stored as a file says so with ``{"attachment": sha256}`` in place of its inline data.
  ``messages.tool_calls``: JSON list of the function calls an assistant turn made
  (``{"id", "type": "function", "function": {"name", "arguments"}}``); ``tool_call_id``: for a
  ``tool`` message, the call it answers. Roles now include ``tool``.
``attachments`` - files that came with messages, stored by content under the data directory
  (``attachments/ab/abcdef…``, the sha256 of the bytes).
  ``id``; ``message_id`` (deleting the message deletes the row, not the file, which other
  messages may share); ``position`` (its part's index in ``parts``); ``kind`` (``image``,
  ``audio``, ``file``); ``name`` (the file name shown); ``mime``; ``size`` (bytes);
  ``sha256``; ``created_at``.

``presets`` - named parameter sets.
  ``id``; ``name`` (unique, case-sensitive); ``params`` (JSON object); ``created_at``;
  ``updated_at``.

``messages_searchable`` (view) and ``messages_fts`` (FTS5)
  ``messages_fts`` indexes ``content`` of every message that is not ``streaming``; it is an
  external-content table over the view ``messages_searchable``, kept in sync by triggers on
  ``messages``. Rows appear in the index when they finish, so the once-a-second partial
  flushes of a streaming reply never re-tokenize its text. ``rowid`` is ``messages.id``.
  Tokenizer: ``porter unicode61 remove_diacritics 2``; prefix indexes for 3 and 4
  characters (since version 3). In Datasette, search messages with
  ``/db/messages?_search=word&_fts_table=messages_fts&_fts_pk=id``.

``endpoint_features`` (version 6) - what an endpoint was found to serve, remembered.
  ``endpoint`` (profile name) and ``feature`` (``edits``: whether ``/v1/edits`` answers) are
  the key; ``value`` (``native``, ``emulated``); ``updated_at``.

Documents (version 6)
  ``conversations.kind``: ``chat`` (the default), ``completion`` (a document written with the
  legacy completions endpoint) or ``edit`` (text edited by instruction). ``conversations.document``:
  the document's current text (completion and edit kinds; NULL for chats). A document's rounds
  are its messages: a ``user`` row holds what was sent (the prompt: the text before the cursor;
  for an edit, the instruction), and its ``assistant`` children are the choices that came back,
  each with the exact request parameters (``suffix``, ``echo``, ``input`` ...) in ``params``.
  ``messages.accepted``: 1 if the choice was put into the document, 0 if it was rejected,
  NULL if undecided (and for chat messages).

``moderations`` (version 9; version 8 is the embeddings branch's) - moderation checks of
  messages. ``id``; ``message_id`` (deleting the message deletes its checks); ``model`` (the
  moderation model that answered); ``flagged`` (``0``/``1``); ``categories`` (JSON object:
  category -> true/false, as received); ``scores`` (JSON object: category -> score 0..1);
  ``created_at``. The newest check of a message is the one shown.

``images`` (version 7) - every image made by generate, edit or variation, its bytes stored once
  by sha256 under the data directory, in the same store as attachments
  (``attachments/ab/abcdef…``). ``id``; ``created_at``; ``kind`` (``generate``, ``edit``,
  ``variation``); ``prompt`` (NULL for a variation); ``revised_prompt`` (dall-e-3's rewrite, as
  received); ``model``; ``params`` (JSON object: the exact options sent, never a credential);
  ``sha256``; ``mime``; ``width``, ``height`` (pixels, read from the bytes; NULL if unreadable);
  ``cost`` (USD estimate for this image, NULL if unknown); ``conversation_id`` and
  ``message_id`` (the chat it was made in, NULL for a standalone generation; deleting the
  conversation or message keeps the row and sets them NULL); ``endpoint`` (profile name).
  Search: ``images_fts`` (FTS5 over ``prompt`` and ``revised_prompt``, kept by triggers) finds
  every image by its prompt. Standalone generations are not conversations, so the history list
  stays chats and documents (a new ``conversations.kind`` would mean rebuilding that table to
  change its CHECK, with its foreign keys and triggers); an image made inside a chat is also a
  message whose text holds the prompt, so the history search finds that chat.

``message_vectors`` (version 8) - embeddings of messages, for search by meaning.
  ``id`` (increasing: a reader that has loaded up to an id reads only newer rows);
  ``message_id`` (deleting the message, or its conversation, deletes its vectors);
  ``chunk`` (0, 1 ...: a message longer than the model's input limit is embedded in pieces,
  one row each); ``model`` (the embedding model that made it); ``dimensions`` (the vector's
  length); ``vector`` (little-endian float32s, ``4 * dimensions`` bytes); ``created_at``.
  One row per (``model``, ``dimensions``, ``message_id``, ``chunk``): another model or size
  means embedding again, and the messages without a row for the current one are the backlog.

``templates`` (version 10) - saved prompts with variables, and roles.
  ``id``; ``name`` (unique, case-sensitive); ``kind`` (``prompt``: a prompt with variables such
  as ``{{input}}``, ``{{clipboard}}`` and named fields asked for on use; ``role``: a system
  prompt with a default model and parameters); ``description``; ``prompt`` (a prompt
  template's text, ``''`` for a role); ``system_prompt`` (a role's, ``''`` for a prompt);
  ``model`` (a role's default model, ``''`` = keep the current one); ``params`` (JSON object:
  a role's default request parameters, never a credential); ``created_at``; ``updated_at``.
Reasoning (version 11) - what a reasoning model thought before answering, kept apart from the
  answer and never sent back. ``messages.reasoning`` (the reasoning text streamed by servers that
  show it: ``reasoning_content`` or ``reasoning`` deltas; NULL if none came); ``reasoning_tokens``
  (``usage.completion_tokens_details.reasoning_tokens``, as reported by the server: a part of
  ``completion_tokens``, which includes them); ``reasoning_tokens_local`` (the reasoning text
  counted locally; ``completion_tokens_local`` counts the answer and the reasoning, as the
  server's ``completion_tokens`` does); ``reasoning_duration`` (seconds from the first reasoning
  text to the first answer text, or to the end when no answer came).

``conversation_tools_off`` (version 12) - the tool switches of a conversation (the F12 pane), as
  the exceptions to "everything on": a row turns off one tool source (an MCP server, by its
  ``[mcp.servers.NAME]`` name) when ``tool`` is ``''``, else that source's tool of that name.
  ``conversation_id`` (deleting the conversation deletes its rows); ``source``; ``tool``. A
  conversation without rows offers every tool; names no longer configured are kept, harmless.

``PRAGMA user_version`` is the schema version: the number of migrations applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Union

from chat_tui.store.errors import SchemaTooNewError

if TYPE_CHECKING:
    from sqlite_utils import Database  # tests pass one; the Store passes its Connection

    from chat_tui.store.sql import Connection

    AnyDatabase = Union[Database, Connection]

_NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"

STATUSES = ("streaming", "complete", "cancelled", "error", "interrupted")
FINAL_STATUSES = STATUSES[1:]

_V1 = [
    f"""
CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT,
    created_at    TEXT NOT NULL DEFAULT {_NOW},
    updated_at    TEXT NOT NULL DEFAULT {_NOW},
    model         TEXT,
    params        TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(params)),  -- JSON object
    system_prompt TEXT,
    endpoint      TEXT  -- profile name, never a key
)""",
    "CREATE INDEX conversations_by_updated ON conversations (updated_at, id)",
    f"""
CREATE TABLE messages (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id         INTEGER NOT NULL
                            REFERENCES conversations (id) ON DELETE CASCADE,
    parent_id               INTEGER,  -- NULL for a root; see the foreign key below
    role                    TEXT NOT NULL,
    name                    TEXT,
    content                 TEXT NOT NULL DEFAULT '',
    created_at              TEXT NOT NULL DEFAULT {_NOW},
    updated_at              TEXT NOT NULL DEFAULT {_NOW},
    model                   TEXT,
    params                  TEXT CHECK (params IS NULL OR json_valid(params)),  -- JSON
    endpoint                TEXT,  -- profile name, never a key
    status                  TEXT NOT NULL DEFAULT 'complete'
                            CHECK (status IN {STATUSES!r}),
    error                   TEXT,
    finish_reason           TEXT,
    prompt_tokens           INTEGER,  -- usage reported by the server
    completion_tokens       INTEGER,
    prompt_tokens_local     INTEGER,  -- counted with tiktoken
    completion_tokens_local INTEGER,
    tokens_exact            INTEGER CHECK (tokens_exact IN (0, 1)),
    ttft                    REAL,  -- seconds
    duration                REAL,  -- seconds
    system_fingerprint      TEXT,
    logprobs                TEXT CHECK (logprobs IS NULL OR json_valid(logprobs)),  -- JSON
    writer_pid              INTEGER,  -- process that streamed the reply
    -- (id, conversation_id) is the target of the parent key, which keeps a parent in
    -- the same conversation as its children.
    UNIQUE (id, conversation_id),
    FOREIGN KEY (parent_id, conversation_id)
        REFERENCES messages (id, conversation_id) ON DELETE CASCADE
)""",
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, id)",
    # Also serves the foreign key: a delete looks up children by (parent_id, conversation_id).
    "CREATE INDEX messages_by_parent ON messages (parent_id, conversation_id)",
    # Recovery after a crash scans only the few rows still streaming.
    "CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming'",
    f"""
CREATE TABLE presets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    params     TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(params)),  -- JSON object
    created_at TEXT NOT NULL DEFAULT {_NOW},
    updated_at TEXT NOT NULL DEFAULT {_NOW}
)""",
    # The index follows this view, not the table, so `rebuild` and `integrity-check`
    # agree with the triggers about streaming rows being left out.
    """
CREATE VIEW messages_searchable AS
    SELECT id, content FROM messages WHERE status != 'streaming'""",
    """
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content="messages_searchable",
    content_rowid="id",
    tokenize="porter unicode61 remove_diacritics 2"
)""",
    """
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.status != 'streaming'
BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END""",
    """
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.status != 'streaming'
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
    VALUES ('delete', old.id, old.content);
END""",
    # One trigger, not two, because the old text must leave the index before the new
    # text enters it. `OF content, status` plus the WHEN clause make a partial flush of a
    # streaming row (status stays 'streaming') skip the index entirely.
    """
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages
WHEN (old.status != 'streaming' OR new.status != 'streaming')
    AND (old.content IS NOT new.content OR old.status IS NOT new.status)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
    SELECT 'delete', old.id, old.content WHERE old.status != 'streaming';
    INSERT INTO messages_fts (rowid, content)
    SELECT new.id, new.content WHERE new.status != 'streaming';
END""",
]


def _v1(db: Database) -> None:
    """Conversations, the message tree, presets and full-text search."""
    for statement in _V1:
        db.execute(statement)


_V2 = [
    f"""
CREATE TABLE compare_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    blind INTEGER NOT NULL DEFAULT 0,
    picked_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    note TEXT,
    created_at TEXT NOT NULL DEFAULT {_NOW}
)""",
    """
CREATE TABLE compare_lanes (
    run_id INTEGER NOT NULL REFERENCES compare_runs(id) ON DELETE CASCADE,
    lane INTEGER NOT NULL,
    label TEXT NOT NULL,
    preset TEXT,
    model TEXT NOT NULL,
    params TEXT NOT NULL,
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    PRIMARY KEY (run_id, lane)
)""",
    "CREATE INDEX compare_runs_by_conversation ON compare_runs(conversation_id)",
    "CREATE INDEX compare_lanes_by_message ON compare_lanes(message_id)",
]


def _v2(db: Database) -> None:
    """Compare runs: one prompt, 2-4 lanes (model + parameters), each lane's answer a sibling
    message of the same user message; the lane picked (and a note) when the user picks one."""
    for statement in _V2:
        db.execute(statement)


_V3_COLUMNS = [
    ("conversations", "pinned", "INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1))"),
    ("conversations", "archived", "INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1))"),
    ("conversations", "deleted_at", "TEXT"),  # soft delete: purged when the app closes
    ("conversations", "source", "TEXT"),  # where an import came from: chatgpt, chat-tui
    ("conversations", "source_id", "TEXT"),  # its id there
    ("messages", "source_id", "TEXT"),  # the imported message's id in its source
]

_V3_INDEXES = [
    # An import recognises what it imported before, so importing a file twice adds nothing.
    """CREATE UNIQUE INDEX IF NOT EXISTS conversations_by_source
        ON conversations (source, source_id) WHERE source_id IS NOT NULL""",
    """CREATE UNIQUE INDEX IF NOT EXISTS messages_by_source
        ON messages (conversation_id, source_id) WHERE source_id IS NOT NULL""",
    # The history browser: pinned first, then newest updated (conversations_by_updated),
    # optionally of one model or endpoint or within a date range; each an index scan in
    # display order that stops after a page.
    """CREATE INDEX IF NOT EXISTS conversations_pinned
        ON conversations (updated_at, id) WHERE pinned = 1""",
    """CREATE INDEX IF NOT EXISTS conversations_by_model
        ON conversations (model, updated_at, id)""",
    """CREATE INDEX IF NOT EXISTS conversations_by_endpoint
        ON conversations (endpoint, updated_at, id)""",
    """CREATE INDEX IF NOT EXISTS conversations_deleted
        ON conversations (deleted_at) WHERE deleted_at IS NOT NULL""",
]


# The same index as in version 1 plus prefix indexes: without them `kal*` merges the
# doclists of every word starting with "kal" before returning a row (0.6 s at a million
# messages), with them it reads one list. 3 and 4 letters are what search-as-you-type asks
# most; each costs about as much space as the plain index. The triggers and the view refer
# to the table by name and stay as they are; 'rebuild' takes ~15 s per million messages.
_V3_FTS = [
    "DROP TABLE messages_fts",
    """
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content="messages_searchable",
    content_rowid="id",
    tokenize="porter unicode61 remove_diacritics 2",
    prefix="3 4"
)""",
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
]


def _v3(db: Database) -> None:
    """History browser: pinned, archived, soft delete (``deleted_at``), import provenance
    (``source``, ``source_id`` on conversations, ``source_id`` on messages), indexes for
    listing and filtering, and 3- and 4-character prefix indexes in ``messages_fts``."""
    for table, column, definition in _V3_COLUMNS:
        # A column already there is skipped, so a file whose version number was lowered by
        # hand (as tests of older migrations do) still upgrades.
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    for statement in _V3_INDEXES + _V3_FTS:
        db.execute(statement)


TITLE_SOURCES = ("prompt", "auto", "user", "import")


def _v4(db: Database) -> None:
    """Auto-titles: ``conversations.title_source``, so a generated title replaces only the
    provisional one cut from the prompt, never a title the user gave. Imported conversations
    are marked ``import``; older ones stay NULL (unknown) and are never re-titled."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
    if "title_source" not in columns:
        db.execute(
            "ALTER TABLE conversations ADD COLUMN title_source TEXT"
            f" CHECK (title_source IS NULL OR title_source IN {TITLE_SOURCES!r})"
        )
    db.execute("UPDATE conversations SET title_source = 'import' WHERE source IS NOT NULL AND title_source IS NULL")


_V5_COLUMNS = [
    ("messages", "parts", "TEXT CHECK (parts IS NULL OR json_valid(parts))"),
    ("messages", "tool_calls", "TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls))"),
    ("messages", "tool_call_id", "TEXT"),
]

_V5 = [
    f"""
CREATE TABLE IF NOT EXISTS attachments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'file')),
    name       TEXT,
    mime       TEXT,
    size       INTEGER,
    sha256     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT {_NOW},
    UNIQUE (message_id, position)
)""",
    "CREATE INDEX IF NOT EXISTS attachments_by_sha256 ON attachments (sha256)",
]


def _v5(db: Database) -> None:
    """Messages made of parts (text, images, audio, files) and tool calls: ``parts``,
    ``tool_calls`` and ``tool_call_id`` on messages, and the ``attachments`` table. Text-only
    rows are untouched and read as before."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
    for table, column, definition in _V5_COLUMNS:
        if column not in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    for statement in _V5:
        db.execute(statement)


KINDS = ("chat", "completion", "edit")

_V6_COLUMNS = [
    ("conversations", "kind", f"TEXT NOT NULL DEFAULT 'chat' CHECK (kind IN {KINDS!r})"),
    ("conversations", "document", "TEXT"),
    ("messages", "accepted", "INTEGER CHECK (accepted IS NULL OR accepted IN (0, 1))"),
]

_V6 = [
    f"""
CREATE TABLE IF NOT EXISTS endpoint_features (
    endpoint   TEXT NOT NULL,
    feature    TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT {_NOW},
    PRIMARY KEY (endpoint, feature)
)""",
]


def _v6(db: Database) -> None:
    """Documents beside chats: ``conversations.kind`` and ``document``, ``messages.accepted``
    (a completion or edit round's choice put into the document), and ``endpoint_features``
    (what an endpoint serves, such as ``/v1/edits``). Existing conversations become ``chat``."""
    for table, column, definition in _V6_COLUMNS:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    for statement in _V6:
        db.execute(statement)


IMAGE_KINDS = ("generate", "edit", "variation")

_V7 = [
    f"""
CREATE TABLE IF NOT EXISTS images (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT NOT NULL DEFAULT {_NOW},
    kind            TEXT NOT NULL CHECK (kind IN {IMAGE_KINDS!r}),
    prompt          TEXT,
    revised_prompt  TEXT,
    model           TEXT,
    params          TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(params)),
    sha256          TEXT NOT NULL,
    mime            TEXT,
    width           INTEGER,
    height          INTEGER,
    cost            REAL,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    message_id      INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    endpoint        TEXT
)""",
    "CREATE INDEX IF NOT EXISTS images_by_sha256 ON images (sha256)",
    "CREATE INDEX IF NOT EXISTS images_by_conversation ON images (conversation_id)",
    """
CREATE VIRTUAL TABLE IF NOT EXISTS images_fts USING fts5(
    prompt, revised_prompt,
    content="images",
    content_rowid="id",
    tokenize="porter unicode61 remove_diacritics 2"
)""",
    """
CREATE TRIGGER IF NOT EXISTS images_fts_insert AFTER INSERT ON images
BEGIN
    INSERT INTO images_fts (rowid, prompt, revised_prompt) VALUES (new.id, new.prompt, new.revised_prompt);
END""",
    """
CREATE TRIGGER IF NOT EXISTS images_fts_delete AFTER DELETE ON images
BEGIN
    INSERT INTO images_fts (images_fts, rowid, prompt, revised_prompt)
    VALUES ('delete', old.id, old.prompt, old.revised_prompt);
END""",
    """
CREATE TRIGGER IF NOT EXISTS images_fts_update AFTER UPDATE OF prompt, revised_prompt ON images
BEGIN
    INSERT INTO images_fts (images_fts, rowid, prompt, revised_prompt)
    VALUES ('delete', old.id, old.prompt, old.revised_prompt);
    INSERT INTO images_fts (rowid, prompt, revised_prompt) VALUES (new.id, new.prompt, new.revised_prompt);
END""",
]


def _v7(db: Database) -> None:
    """The ``images`` table (every generated, edited or varied image) and its prompt index
    ``images_fts``."""
    for statement in _V7:
        db.execute(statement)


_V8 = [
    f"""
CREATE TABLE IF NOT EXISTS message_vectors (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    chunk       INTEGER NOT NULL DEFAULT 0 CHECK (chunk >= 0),
    model       TEXT NOT NULL,
    dimensions  INTEGER NOT NULL CHECK (dimensions > 0),
    vector      BLOB NOT NULL CHECK (length(vector) = 4 * dimensions),
    created_at  TEXT NOT NULL DEFAULT {_NOW},
    UNIQUE (model, dimensions, message_id, chunk)
)""",
    "CREATE INDEX IF NOT EXISTS message_vectors_by_message ON message_vectors (message_id)",
]


def _v8(db: Database) -> None:
    """``message_vectors``: embeddings of messages, per model and size, for search by meaning."""
    for statement in _V8:
        db.execute(statement)


_V9 = [
    """
CREATE TABLE IF NOT EXISTS moderations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    model TEXT,
    flagged INTEGER NOT NULL CHECK (flagged IN (0, 1)),
    categories TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(categories)),
    scores TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(scores)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)""",
    "CREATE INDEX IF NOT EXISTS moderations_message ON moderations (message_id, id)",
]


def _v9_moderation(db: Database) -> None:
    """The ``moderations`` table: each moderation check of a message (flagged, categories,
    scores, the model that checked)."""
    for statement in _V9:
        db.execute(statement)


def _v10_templates(db: Database) -> None:
    """The ``templates`` table: saved prompts with variables, and roles (a system prompt, a
    default model and parameters)."""
    db.execute(f"""
CREATE TABLE IF NOT EXISTS templates (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('prompt', 'role')),
    description   TEXT NOT NULL DEFAULT '',
    prompt        TEXT NOT NULL DEFAULT '',
    system_prompt TEXT NOT NULL DEFAULT '',
    model         TEXT NOT NULL DEFAULT '',
    params        TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(params)),  -- JSON object
    created_at    TEXT NOT NULL DEFAULT {_NOW},
    updated_at    TEXT NOT NULL DEFAULT {_NOW}
)""")


_V11_COLUMNS = [
    ("reasoning", "TEXT"),
    ("reasoning_tokens", "INTEGER"),
    ("reasoning_tokens_local", "INTEGER"),
    ("reasoning_duration", "REAL"),
]


def _v11_reasoning(db: Database) -> None:
    """Reasoning kept apart from the answer: ``messages.reasoning``, ``reasoning_tokens``,
    ``reasoning_tokens_local`` and ``reasoning_duration``. Older rows have none (NULL)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
    for column, definition in _V11_COLUMNS:
        if column not in columns:
            db.execute(f"ALTER TABLE messages ADD COLUMN {column} {definition}")


def _v12_tool_switches(db: Database) -> None:
    """``conversation_tools_off``: the tool sources and tools a conversation has turned off."""
    db.execute("""
CREATE TABLE IF NOT EXISTS conversation_tools_off (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    source          TEXT NOT NULL,            -- an MCP server's name
    tool            TEXT NOT NULL DEFAULT '', -- '' : the whole source
    PRIMARY KEY (conversation_id, source, tool)
) WITHOUT ROWID""")


# MIGRATIONS[n] upgrades a database from version n to n + 1. Append only; never edit a
# migration that has shipped.
MIGRATIONS: list[Callable[[Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9_moderation, _v10_templates,
                                                _v11_reasoning, _v12_tool_switches]


def user_version(db: AnyDatabase) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def check_not_too_new(db: AnyDatabase, path: str, migrations: list | None = None) -> None:
    known = len(MIGRATIONS if migrations is None else migrations)
    found = user_version(db)
    if found > known:
        raise SchemaTooNewError(path, found, known)


def migrate(db: AnyDatabase, path: str, migrations: list | None = None) -> int:
    """Apply pending migrations, each in its own ``BEGIN IMMEDIATE`` transaction.

    The version is re-read inside each transaction, so two processes opening the same
    old file at once apply each step exactly once. Returns the final version.
    """
    steps = MIGRATIONS if migrations is None else migrations
    conn = db.conn
    if user_version(db) == len(steps):
        return len(steps)  # the usual case: no write lock taken just to find nothing to do
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(db)
            if version > len(steps):
                raise SchemaTooNewError(path, version, len(steps))
            if version == len(steps):
                conn.execute("ROLLBACK")  # nothing to do; release the write lock
                return version
            steps[version](db)
            # PRAGMA takes no parameters; the value is an int we computed.
            db.execute(f"PRAGMA user_version = {version + 1:d}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

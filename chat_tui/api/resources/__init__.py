"""One resource per endpoint family, on top of `api.transport`, named as in the official SDK:
`client.chat`, `client.completions`, `client.models`, `client.embeddings`, `client.moderations`,
`client.images`, `client.audio`."""

"""The versioned REST API (`/v1`) beside the web app: the customer's question and the agent's,
the catalogue, a clause for highlighting, ratings, and an OpenAI-compatible chat endpoint.

Every question goes through the chat's `CustomerService` (limits, redaction, card numbers,
logging), on plain FastAPI routes run in the threadpool, not through Gradio's queue. Agent and
server-to-server calls carry an API key (`privacy-assistant keys create`), stored hashed beside
the feedback, each with its own rate limit. Nothing is imported or built here at import time."""

from __future__ import annotations

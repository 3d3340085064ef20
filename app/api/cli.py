"""`privacy-assistant keys create|list|revoke`: the API keys of agents and integrations, in the
feedback's database (the SQLite file, or PostgreSQL when `database_url` is set)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

from app.api.db import open_api_database
from app.api.keys import DEFAULT_KEY_RATE, KeyStore

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `keys` command and its three actions."""
    keys = sub.add_parser("keys", help="API keys for the /v1 REST API (agents, integrations)")
    actions = keys.add_subparsers(dest="action", required=True, parser_class=type(keys))
    create = actions.add_parser("create", help="make a key; its token is printed once, on stdout")
    create.add_argument("name", help="who holds it, e.g. zendesk or crm-eu")
    create.add_argument("--rate", type=float, default=DEFAULT_KEY_RATE,
                        help="its rate limit, questions a minute (0: none; default: %(default)g)")  # fmt: skip
    listing = actions.add_parser("list", help="every key: id, name, rate limit, created, revoked")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    revoke = actions.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("key_id", help="the key's id (`keys list`; the 12 characters after pa_ in its token)")
    keys.set_defaults(run=run_cli)


@contextmanager
def _store(settings: object) -> Iterator[KeyStore]:
    """The key store the server uses with these settings (a PostgreSQL pool is closed after)."""
    url = str(getattr(settings, "database_url", ""))
    pool = None
    if url:
        from app.pgstate import connect

        pool = connect(url, max_size=1)
    try:
        yield KeyStore(open_api_database(getattr(settings, "feedback_db"), pool))  # noqa: B009
    finally:
        if pool is not None:
            pool.close()


def run_cli(args: argparse.Namespace) -> int:
    """Run `keys ACTION`; the exit status. Errors are the project's (`InputError`: exit 2)."""
    with _store(args.settings) as store:
        if args.action == "create":
            made = store.create(args.name, args.rate)
            print(f"created key {made.key.key_id} ({made.key.name}, {made.key.rate_per_minute:g} questions a minute);"
                  " its token is shown only now:", file=sys.stderr)  # fmt: skip
            print(made.token)
        elif args.action == "list":
            for key in store.list():
                if args.json:
                    print(json.dumps(asdict(key), ensure_ascii=False))
                else:
                    state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
                    print(f"{key.key_id}  {key.name}  {key.rate_per_minute:g}/min  created {key.created_at}  {state}")
        else:
            key = store.revoke(args.key_id)
            print(f"revoked key {key.key_id} ({key.name}) at {key.revoked_at}", file=sys.stderr)
    return 0

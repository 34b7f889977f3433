"""``imagine-bot db ...`` and ``imagine-bot quota ...``: the database from the command line.

These work beside a running bot (SQLite in WAL mode takes readers and a writer at once).
SQLAlchemy is imported only when one of them runs, so other commands start as fast as before.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from imagine_bot.config import Settings

if TYPE_CHECKING:
    from imagine_bot.engine.jobs.ledger import Ledger
    from imagine_bot.engine.jobs.records import QuotaStatus
    from imagine_bot.engine.jobs.storage import Database

EXIT_USAGE = 2


def add_storage_commands(commands: Any) -> None:
    """Add ``db`` and ``quota`` to the ``imagine-bot`` subcommands (an argparse subparsers)."""
    db = commands.add_parser("db", help="manage the database (jobs, quotas, preferences)")
    db_actions = db.add_subparsers(title="actions", required=True, metavar="ACTION")
    db_upgrade = db_actions.add_parser(
        "upgrade", help="create the database, or upgrade its schema to this version"
    )
    db_upgrade.set_defaults(command=_db_upgrade)

    quota = commands.add_parser("quota", help="show, grant or reset a member's GPU time")
    actions = quota.add_subparsers(title="actions", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="a member's tier, GPU time used and left")
    show.add_argument("user_id", type=int, help="the member's Discord user id")
    show.set_defaults(command=_quota_show)
    grant = actions.add_parser(
        "grant", help="add GPU-seconds to a member's current period (negative: remove)"
    )
    grant.add_argument("user_id", type=int, help="the member's Discord user id")
    grant.add_argument("seconds", type=float, help="GPU-seconds to add")
    grant.add_argument("--note", default="", help="why (kept in the ledger)")
    grant.set_defaults(command=_quota_grant)
    reset = actions.add_parser("reset", help="forgive a member's usage in the current period")
    reset.add_argument("user_id", type=int, help="the member's Discord user id")
    reset.add_argument("--note", default="", help="why (kept in the ledger)")
    reset.set_defaults(command=_quota_reset)


def open_database(settings: Settings) -> Database:
    from imagine_bot.engine.jobs.storage import Database

    return Database(
        settings.database.resolved_url(settings.paths.data_dir),
        busy_timeout=settings.database.busy_timeout,
    )


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from imagine_bot.engine.jobs.storage import SchemaError, backup_path, upgrade

    database = open_database(settings)
    shown = database.url.render_as_string(hide_password=True)
    try:
        before, after = upgrade(database)
    except SchemaError as exc:
        print(f"imagine-bot: {shown}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        database.dispose()
    if before == after:
        print(f"{shown}: already at schema version {after}")
    elif before == 0:
        print(f"{shown}: created at schema version {after}")
    else:
        backup = backup_path(database, before)
        saved = f" (the version-{before} database was copied to {backup})" if backup else ""
        print(f"{shown}: upgraded from schema version {before} to {after}{saved}")
    return 0


def _ledger(settings: Settings) -> Ledger | None:
    from imagine_bot.engine.jobs.ledger import Ledger
    from imagine_bot.engine.jobs.storage import LATEST_VERSION
    from imagine_bot.engine.jobs.storage.migrations import current_version

    database = open_database(settings)
    version = current_version(database)
    if version != LATEST_VERSION:
        print(
            f"imagine-bot: the database is at schema version {version}, this imagine-bot uses "
            f"{LATEST_VERSION}: run `imagine-bot db upgrade` first",
            file=sys.stderr,
        )
        return None
    return Ledger(settings.quota, database)


def _quota_show(args: argparse.Namespace, settings: Settings) -> int:
    ledger = _ledger(settings)
    if ledger is None:
        return EXIT_USAGE
    print(describe_quota(ledger.quota_status(args.user_id)))
    return 0


def _quota_grant(args: argparse.Namespace, settings: Settings) -> int:
    ledger = _ledger(settings)
    if ledger is None:
        return EXIT_USAGE
    print(describe_quota(ledger.grant(args.user_id, args.seconds, note=args.note)))
    return 0


def _quota_reset(args: argparse.Namespace, settings: Settings) -> int:
    ledger = _ledger(settings)
    if ledger is None:
        return EXIT_USAGE
    print(describe_quota(ledger.reset(args.user_id, note=args.note)))
    return 0


def describe_quota(status: QuotaStatus) -> str:
    relax = "relax allowed" if status.relax_allowed else "no relax"
    rows = [
        f"member {status.user_id}: tier {status.tier} ({status.period} budget, {relax})",
        f"  budget    {_seconds(status.budget)}",
        f"  used      {_seconds(status.used)}",
        f"  granted   {_seconds(status.granted)}",
        f"  held      {_seconds(status.held)} (reserved for queued and running jobs)",
        f"  left      {_seconds(status.left)}",
        f"  period    {_time(status.period_start)} to {_time(status.next_reset)}",
        f"  new jobs  {status.lane or 'refused until the next reset'}",
    ]
    if not status.enabled:
        rows.append("  quotas are switched off (quota.enabled = false)")
    return "\n".join(rows)


def _seconds(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".") + " s"


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

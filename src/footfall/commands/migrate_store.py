"""`footfall migrate-store`: move this instance's events and metadata to other stores
(footfall.ops.migrate_store), through the running server or directly."""

from __future__ import annotations

import click

from footfall.commands.ops import through_server


@click.command("migrate-store")
@click.option(
    "--to-data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Embedded stores there: chDB in PATH/events, SQLite at PATH/footfall.db.",
)
@click.option("--to-clickhouse", metavar="URL", default=None, help="Events to this ClickHouse server.")
@click.option(
    "--to-database-url", metavar="URL", default=None, help="Metadata to this PostgreSQL (or SQLite) URL."
)
@click.option("--verbose", "-v", is_flag=True, help="One line per partition copied, skipped ones unlisted.")
def migrate_store(
    to_data_dir: str | None, to_clickhouse: str | None, to_database_url: str | None, verbose: bool
) -> None:
    """Copy every event and every account, site and key to other stores; resumable.

    Run it again after an interruption: copied partitions are skipped. While `footfall
    serve` runs it copies up to a final catch-up pass; stop the server and run it again to
    copy what arrived since, then start footfall on the new stores.
    """
    from footfall.cli import CliError

    result = through_server(
        "migrate-store",
        {
            "to_data_dir": str(click.format_filename(to_data_dir)) if to_data_dir else None,
            "to_clickhouse": to_clickhouse,
            "to_database_url": to_database_url,
            "verbose": verbose,
        },
    )
    shown = [row for row in result["tables"] if row["source"] or row["target"]]
    empty = len(result["tables"]) - len(shown)
    width = max([len(row["table"]) for row in shown] + [5])
    click.echo(f"{'table':<{width}}  {'source':>12}  {'target':>12}")
    for row in shown:
        mark = "" if row["source"] == row["target"] else "  DIFFERS"
        target = "-" if row["target"] is None else row["target"]
        click.echo(f"{row['table']:<{width}}  {row['source']:>12}  {target:>12}{mark}")
    if empty:
        click.echo(f"({empty} more tables are empty in both)")
    how = "resumed" if result["resumed"] else "copied"
    click.echo(
        f"{how}: {result['partitions_copied']} partitions ({result['rows_copied']} rows) copied, "
        f"{result['partitions_skipped']} unchanged skipped, {result['partitions_dropped']} dropped, "
        f"in {result['seconds']:.1f} s; events in {result['events_to']}, metadata in {result['metadata_to']}"
    )
    if not result["equal"]:
        raise CliError(
            "the target's row counts differ from the source's (listed above); run the command again"
        )
    if result["via"] == "server":
        click.echo(
            "the server kept running: stop it and run this command again to copy what arrived since, "
            "then start footfall on the new stores",
            err=True,
        )

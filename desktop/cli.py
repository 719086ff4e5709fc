"""The `runbell` command: the app, the demo, or the headless engine."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

log = logging.getLogger("runbell.cli")


def version() -> str:
    """The app version: desktop/VERSION in a packaged build (written by build.spec), else the
    installed package's metadata."""
    bundled = Path(__file__).with_name("VERSION")
    if bundled.is_file():
        return bundled.read_text("utf-8").strip()
    try:
        return metadata.version("runbell")
    except metadata.PackageNotFoundError:
        return "0.0.0+source"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbell",
        description="Watch ML training runs and fire automations (desktop, Slack, webhooks).",
    )
    parser.add_argument("command", nargs="?", choices=("demo", "engine", "install-desktop-entry", "smoke"),
                        metavar="{demo,engine,install-desktop-entry}",
                        help="demo: start a live demo training run; engine: run the engine without a window; "
                        "install-desktop-entry: add Runbell to this user's application menu (Linux)")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: RUNBELL_DB or the "
                        "SQLite file in the user data folder)")
    parser.add_argument("--version", action="version", version=f"runbell {version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    # `runbell smoke --webhook-url URL`: the packaged build's self-test (desktop/smoke.py)
    parser.add_argument("--webhook-url", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=120.0, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo-training"]:  # the frozen app re-runs itself for the demo's training
        from desktop import demo_training

        return demo_training.main(argv[1:])
    args = _parser().parse_args(argv)
    from desktop.logs import setup_logging

    setup_logging(args.verbose)
    if args.command == "install-desktop-entry":
        from desktop import desktop_entry

        return desktop_entry.main()
    if args.command == "smoke":
        if not args.webhook_url:
            _parser().error("smoke needs --webhook-url")
        from desktop.smoke import run_smoke

        return run_smoke(args.db, args.webhook_url, args.timeout)
    if args.command == "engine":
        from desktop.engine.service import run_headless

        from desktop.engine.settings import configured_url, load_settings

        return int(run_headless(configured_url(args.db),
                                heartbeat_timeout=load_settings().heartbeat_timeout) or 0)
    from desktop.app import run_gui

    return run_gui(args.db, demo=args.command == "demo", quit_after=args.quit_after,
                   first_run=args.command is None and args.quit_after is None)


if __name__ == "__main__":
    sys.exit(main())

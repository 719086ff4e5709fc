"""The `runbell` command: the app, the demo, or the headless engine."""
from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from collections.abc import Sequence
from importlib import metadata

log = logging.getLogger("runbell.cli")


def version() -> str:
    try:
        return metadata.version("runbell")
    except metadata.PackageNotFoundError:
        return "0.0.0+source"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbell",
        description="Watch ML training runs and fire automations (desktop, Slack, webhooks).",
    )
    parser.add_argument("command", nargs="?", choices=("demo", "engine"),
                        help="demo: start a live demo training run; engine: run the engine without a window")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: RUNBELL_DB or the "
                        "SQLite file in the user data folder)")
    parser.add_argument("--version", action="version", version=f"runbell {version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    return parser


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr and to runbell.log in the data folder (rotated)."""
    from store.db import data_dir

    root = logging.getLogger()
    if root.handlers:
        return
    level = logging.DEBUG if verbose else logging.INFO
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler()
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    try:
        file = logging.handlers.RotatingFileHandler(data_dir() / "runbell.log", maxBytes=2_000_000,
                                                    backupCount=3, encoding="utf-8")
    except OSError as exc:
        log.warning("no log file: %s", exc)
    else:
        file.setFormatter(fmt)
        root.addHandler(file)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run otherwise


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo-training"]:  # the frozen app re-runs itself for the demo's training
        from desktop import demo_training

        return demo_training.main(argv[1:])
    args = _parser().parse_args(argv)
    setup_logging(args.verbose)
    if args.command == "engine":
        from desktop.engine.service import run_headless

        return int(run_headless(args.db) or 0)
    from desktop.app import run_gui

    return run_gui(args.db, demo=args.command == "demo", quit_after=args.quit_after)


if __name__ == "__main__":
    sys.exit(main())

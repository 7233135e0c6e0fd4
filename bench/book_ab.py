"""The pure book of the working tree against the book of a git revision, by CPU time: figures,
never assertions.

On a machine shared with other work, wall-clock throughput (engine_core.py) swings by tens of
percent between identical runs; the process's CPU time, with the garbage collector off during
each replay, moves by a few. Both books replay the same seeded mixed workload of
`engine_core.py` into a fresh book, alternating which goes first, and the medians are printed.
The revision's book.py is loaded against the working tree's `cryptex.wire`, so it must be one
that still runs on it (fields added to the wire since have defaults: it always does so far).

    python bench/book_ab.py [--rev main] [--ops 300000] [--rounds 5] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from cryptex.wire import Command
from cryptex_engine.book import OrderBook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.engine_core import mixed_workload

BOOK_PATH = "images/engine/cryptex_engine/book.py"


def book_at(rev: str, directory: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:{BOOK_PATH}"], check=True, capture_output=True, text=True
    ).stdout
    path = directory / "revision_book.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("revision_book", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_seconds(book_class: type, commands: Sequence[Command]) -> float:
    apply = book_class().apply
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        for command in commands:
            apply(command)
        return time.process_time() - started
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="main")
    parser.add_argument("--ops", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    commands = mixed_workload(args.ops, args.seed)
    with tempfile.TemporaryDirectory() as directory:
        books = {args.rev: book_at(args.rev, Path(directory)).OrderBook, "worktree": OrderBook}
        seconds: dict[str, list[float]] = {name: [] for name in books}
        for round_ in range(args.rounds):
            order = list(books) if round_ % 2 == 0 else list(reversed(books))
            for name in order:
                seconds[name].append(cpu_seconds(books[name], commands))
    figures = {}
    for name, runs in seconds.items():
        median = statistics.median(runs)
        figures[name] = {"cpu_s_median": round(median, 3), "ops_per_cpu_s": int(args.ops / median)}
        print(f"{name:>10}: {figures[name]['ops_per_cpu_s']:>9,} ops per CPU second "
              f"(median of {args.rounds}: {', '.join(f'{s:.3f}' for s in runs)} s)")  # fmt: skip
    print(json.dumps({"benchmark": "book_ab", "ops": args.ops, **figures}))


if __name__ == "__main__":
    main()

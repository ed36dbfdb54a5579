"""`make bench`: run the benchmark modules in a fixed order, keep each result in
bench/results/<name>.json and rewrite the README block between the bench markers.

Every module bench/<name>.py exposes measure(quick) -> dict and markdown(result) -> str (see
bench/stats.py for the shared numbers and table). The README block always shows every module that
has a result: those not run this time (`--only`) are rendered from their stored JSON and marked
with the date they were measured, so a partial run never drops or silently re-dates a table.

    python -m bench.run                      # everything (about 15 minutes on 2 cores)
    python -m bench.run --only throughput,replication_lag
    python -m bench.run --quick              # a short smoke run: prints, writes nothing
    python -m bench.run --render             # measure nothing: the README block from the stored results

A failing module is reported in one line (the traceback with --debug); the others still run and
the exit status is 1.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"

README = ROOT / "README.md"
RESULTS = BENCH / "results"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
# Cheap and in-process first, the local-cloud ones after, the longest (rollout) last.
ORDER = ("handlers", "cli_help", "throughput", "replication_lag", "rollout")
META = "measured"  # the key run.py adds to each stored result: when and where it was measured

Loader = Callable[[str], ModuleType]


class BenchError(Exception):
    """A usage problem: the message is the whole story."""


def load(name: str) -> ModuleType:
    return importlib.import_module(f"bench.{name}")


def available(names: Sequence[str] = ORDER, folder: Path = BENCH) -> list[str]:
    return [name for name in names if (folder / f"{name}.py").is_file()]


def select(only: str | None, known: Sequence[str]) -> list[str]:
    """The modules to run, in ORDER whatever order --only names them in."""
    if not only:
        return list(known)
    wanted = [part.strip() for part in only.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        raise BenchError(f"--only: unknown benchmark {', '.join(unknown) or '(none named)'} "
                         f"(known: {', '.join(known)})")
    return [name for name in known if name in wanted]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def host() -> dict[str, Any]:
    return {"date": datetime.date.today().isoformat(), "cores": os.cpu_count(), "cpu": cpu_model(),
            "python": platform.python_version()}


def heading(machine: dict[str, Any]) -> str:
    return (f"Measured {machine['date']} on {machine['cores']} cores ({machine['cpu']}), "
            f"Python {machine['python']}; reproduce with `make bench`.")


def replace_block(text: str, block: str) -> str:
    """text with everything from START to END (inclusive) replaced by block; the rest untouched."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < 0 or end < start or text.count(START) != 1 or text.count(END) != 1:
        raise BenchError(f"README.md needs exactly one {START} ... {END} pair, in that order")
    return text[:start] + block + text[end + len(END):]


def render_block(machine: dict[str, Any], sections: Sequence[str]) -> str:
    return "\n\n".join([START, heading(machine), *sections, END])


def save(name: str, result: dict[str, Any], machine: dict[str, Any], folder: Path = RESULTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({**result, META: machine}, indent=2, sort_keys=True) + "\n")
    return path


def stored(name: str, folder: Path = RESULTS) -> dict[str, Any] | None:
    try:
        return json.loads((folder / f"{name}.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def section(module: ModuleType, result: dict[str, Any], machine: dict[str, Any]) -> str:
    text = module.markdown(result).strip()
    measured = result.get(META) or {}
    if measured and (measured.get("date"), measured.get("cpu")) != (machine["date"], machine["cpu"]):
        text += (f"\n\n_Measured {measured.get('date', '?')} on {measured.get('cores', '?')} cores "
                 f"({measured.get('cpu', '?')}), Python {measured.get('python', '?')}._")
    return text


def _fail(name: str, error: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exception(error)
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    print(f"bench {name}: failed: {first}", file=sys.stderr)


def run(names: Sequence[str], known: Sequence[str], *, quick: bool, write: bool, debug: bool = False,
        render: bool = False, loader: Loader = load, readme: Path = README, results: Path = RESULTS) -> int:
    machine = host()
    fresh: dict[str, dict[str, Any]] = {}
    failed = 0
    for name in names:
        started = time.perf_counter()
        print(f"bench {name}: running{' (quick)' if quick else ''}", file=sys.stderr, flush=True)
        try:
            module = loader(name)
            result = module.measure(quick=quick)
            json.dumps(result)  # a module must hand back JSON; fail here, not after the README is half written
        except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the others' numbers
            _fail(name, error, debug)
            failed += 1
            continue
        fresh[name] = result
        print(f"bench {name}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        if write:
            save(name, result, machine, results)
    sections = []
    for name in known:  # every module with a result, fresh or stored, in ORDER
        result = fresh.get(name) if name in fresh else (stored(name, results) if write else None)
        if result is None:
            continue
        try:
            sections.append(section(loader(name), result, machine))
        except Exception as error:  # noqa: BLE001 - a stored result from an older format
            _fail(name, error, debug)
            failed += 1
    for text in sections:
        print(text + "\n")
    if write and (fresh or render):
        readme.write_text(replace_block(readme.read_text(), render_block(machine, sections)))
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None, *, loader: Loader = load, folder: Path = BENCH,
         readme: Path = README, results: Path = RESULTS) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmarks to run (the others keep their stored results)")
    parser.add_argument("--quick", action="store_true", help="short runs for a smoke check; writes nothing")
    parser.add_argument("--debug", action="store_true", help="tracebacks for failing benchmarks")
    parser.add_argument("--render", action="store_true", help="measure nothing; rewrite the README block "
                                                              "from bench/results/")
    args = parser.parse_args(argv)
    try:
        if args.render and (args.quick or args.only):
            raise BenchError("--render measures nothing: it takes neither --quick nor --only")
        known = available(ORDER, folder)
        names = [] if args.render else select(args.only, known)
        if not args.quick:
            replace_block(readme.read_text(), "")  # refuse before an hour of measuring, not after
        return run(names, known, quick=args.quick, write=not args.quick, debug=args.debug, render=args.render,
                   loader=loader, readme=readme, results=results)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2


def standalone(name: str, argv: Sequence[str] = (), *, loader: Loader = load, results: Path = RESULTS) -> int:
    """`python -m bench.<name> [--quick]`: measure, print the markdown, write bench/results/<name>.json
    (not with --quick); the README is left to run.py."""
    quick = "--quick" in argv
    module = loader(name)
    result = module.measure(quick=quick)
    print(module.markdown(result))
    if not quick:
        print(f"wrote {save(name, result, host(), results)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

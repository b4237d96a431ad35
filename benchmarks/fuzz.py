"""Run the engine's fuzzing state machine (tests/test_fuzz.py) for longer, with fresh randomness.

    python benchmarks/fuzz.py --examples 2000 --steps 50

Prints how many programs, calls, accepted and rejected calls and snapshot/load
cycles ran; exits non-zero on the first failure (hypothesis prints the shrunk program).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hypothesis import HealthCheck, settings  # noqa: E402

import test_fuzz  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="state-machine programs to run")
    parser.add_argument("--steps", type=int, default=50, help="most calls per program")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    machine = test_fuzz.EngineMachine
    machine.TestCase.settings = settings(max_examples=args.examples, stateful_step_count=args.steps, deadline=None,
                                         derandomize=False, database=None,
                                         suppress_health_check=list(HealthCheck))
    start = time.perf_counter()
    machine.TestCase("runTest").runTest()
    stats = dict(sorted(test_fuzz.FUZZ_STATS.items()))
    stats["programs"] = args.examples
    stats["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(stats, indent=1))
    if args.json:
        args.json.write_text(json.dumps(stats, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

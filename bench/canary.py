"""The canary analysis's error rates on synthetic split traffic, and its speed.

Run: .venv/bin/python bench/canary.py [--trials 100] [--candidates 2000] [--share 0.10]

Each trial draws two cohorts (tests/rollout/cohorts.py: five endpoints, log-normal latencies, 0.05%
errors), 2,000 candidate requests at 10% of the traffic (18,000 legacy) by default, and judges them with
the default limits (docs/rollout.md). It prints, over the trials:

- the A/A false-alarm rate (the verdict is ``high`` although both cohorts are drawn alike), and how often
  the cohorts were too small to judge;
- the detection rate of a candidate 20% slower (every latency × 1.2, so p95 +20%), and of one with
  +1 percentage point of errors;
- the median time of one analysis of 20,000 requests (process time, several runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paritycheck.rollout import HIGH, NODATA, compare_cohorts
from tests.rollout.cohorts import LIMITS, cohorts


def rates(trials: int, candidates: int, share: float, **effect: float) -> Counter[str]:
    verdicts: Counter[str] = Counter()
    for seed in range(trials):
        requests = cohorts(10_000 + seed, candidates=candidates, share=share, **effect)
        verdicts[compare_cohorts(requests, limits=LIMITS).verdict] += 1
    return verdicts


def speed(candidates: int, share: float, runs: int = 5) -> float:
    requests = cohorts(1, candidates=candidates, share=share)
    times = []
    for _ in range(runs):
        start = time.process_time()
        compare_cohorts(requests, limits=LIMITS)
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--share", type=float, default=0.10)
    args = parser.parse_args()
    n, c, s = args.trials, args.candidates, args.share
    total = round(c / s)
    print(f"{n} trials of {c:,} candidate requests at {100 * s:g}% of {total:,} (legacy {total - c:,})")
    aa = rates(n, c, s)
    print(f"A/A: false alarms {aa[HIGH]}/{n}, too small to judge {aa[NODATA]}/{n}")
    slower = rates(n, c, s, slower=1.2)
    print(f"+20% latency (p95 +20%): found {slower[HIGH]}/{n}")
    errors = rates(n, c, s, errors=1.0)
    print(f"+1 point of errors: found {errors[HIGH]}/{n}")
    print(f"one analysis of {total:,} requests: {speed(c, s):.3f} s (median of 5, process time)")


if __name__ == "__main__":
    main()

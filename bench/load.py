"""A bounded load generator: ``--concurrency`` connections, each sending its next request
as soon as the previous answer has been read (a closed loop), for ``--seconds`` or
``--requests``. It runs in its own process (``python -m bench.load``), reads the requests
as JSON ``[[path, {header: value}], ...]`` from ``--requests-file`` (taken in turn), and
prints one JSON object: requests, errors, elapsed seconds, bytes, statuses and every
latency in milliseconds.

Only the standard library: ``http.client`` over 127.0.0.1. Gunicorn's sync workers close
the connection after each response, and ``http.client`` opens the next one by itself."""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import sys
import threading
import time
from collections import Counter
from typing import Any


def drive(
    *,
    host: str,
    port: int,
    requests: list[tuple[str, dict[str, str]]],
    concurrency: int,
    seconds: float | None,
    total: int | None,
    expect: set[int],
    timeout: float = 60.0,
) -> dict[str, Any]:
    turn = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    statuses: list[Counter[int]] = [Counter() for _ in range(concurrency)]
    received = [0] * concurrency
    failures: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else float("inf")

    def worker(number: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        mine, counts = latencies[number], statuses[number]
        while True:
            index = next(turn)
            if (total is not None and index >= total) or time.perf_counter() >= deadline:
                break
            path, headers = requests[index % len(requests)]
            before = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                failures.append(f"{path}: {error!r}")
                counts[0] += 1
                continue
            mine.append((time.perf_counter() - before) * 1000)
            counts[response.status] += 1
            received[number] += len(body)
        connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    status_counts: Counter[int] = Counter()
    for counts in statuses:
        status_counts.update(counts)
    all_latencies = [round(value, 3) for values in latencies for value in values]
    errors = sum(n for status, n in status_counts.items() if status not in expect)
    return {
        "requests": len(all_latencies),
        "errors": errors,
        "seconds": elapsed,
        "bytes": sum(received),
        "statuses": {str(status): n for status, n in sorted(status_counts.items())},
        "failures": failures[:5],
        "latencies_ms": all_latencies,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests-file", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--requests", type=int, help="stop after this many requests")
    parser.add_argument("--expect", default="200", help="comma-separated expected statuses")
    args = parser.parse_args(argv)
    if args.seconds is None and args.requests is None:
        parser.error("give --seconds or --requests")
    with open(args.requests_file, encoding="utf-8") as handle:
        requests = [(path, dict(headers)) for path, headers in json.load(handle)]
    result = drive(
        host=args.host,
        port=args.port,
        requests=requests,
        concurrency=args.concurrency,
        seconds=args.seconds,
        total=args.requests,
        expect={int(code) for code in args.expect.split(",")},
    )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

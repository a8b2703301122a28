"""Send a burst of parallel requests to a running tracker and count the database connections
it holds afterwards: `make run` serves with a bounded number of them however many requests
arrive at once (docs/reliability.md).

    .venv/bin/python scripts/connection_burst.py --url http://127.0.0.1:8000 \\
        --database-url "$(.venv/bin/python -m config.localdb url)" --requests 100 --wait 70

Prints the answers' status codes, then the connections to the tracker's database (other
than its own) right after the burst and after ``--wait`` seconds; exits 1 if more than
``--max-connections`` remain.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import sys
import time

import httpx
import psycopg

COUNT = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def burst(url: str, requests: int) -> collections.Counter[str]:
    def get(number: int) -> str:
        try:
            path = f"/api/v1/measures/?page_size={1 + number % 50}"
            return str(httpx.get(f"{url}{path}", timeout=60).status_code)
        except httpx.HTTPError as error:
            return type(error).__name__

    with concurrent.futures.ThreadPoolExecutor(requests) as pool:
        return collections.Counter(pool.map(get, range(requests)))


def connections(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute(COUNT).fetchone()
    return int(row[0]) if row else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--wait", type=float, default=70)
    parser.add_argument("--max-connections", type=int, default=10)
    args = parser.parse_args()
    answers = burst(args.url, args.requests)
    print(f"{args.requests} parallel requests: {dict(sorted(answers.items()))}")
    print(f"connections right after: {connections(args.database_url)}")
    time.sleep(args.wait)
    remaining = connections(args.database_url)
    print(f"connections after {args.wait:g} s: {remaining}")
    return 0 if remaining <= args.max_connections and set(answers) == {"200"} else 1


if __name__ == "__main__":
    sys.exit(main())

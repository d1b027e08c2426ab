"""``make bench``: every performance benchmark of the project, one after the other.

Each prints its own figures; BENCHMARKS.md records them with the commands. Run on a quiet
machine: the numbers are only meaningful when nothing else competes for the two cores.
"""

from __future__ import annotations

from bench import bench_migrate, bench_resolve, bench_run, bench_sandbox, bench_validate


def main() -> None:
    """Run the validate, sandbox, import and resolve benchmarks with their target settings."""
    print("== validate: 1,000,000-row CSV and 100,000-row xlsx", flush=True)
    bench_validate.main([])
    print("== legacy database: 1,000,000 ratings, 20,000 names (validate, inspect)", flush=True)
    bench_migrate.main([])
    print("== sandbox alone: creates through $batch", flush=True)
    bench_sandbox.main([])
    print("== run: 50,000 rows, 10,000 users, 50 ms latency", flush=True)
    bench_run.main(["--rows", "50000", "--users", "10000", "--latency-ms", "50"])
    print("== resolve: 50,000 people by employeeId, 100,000-user directory, 50 ms", flush=True)
    bench_resolve.main([])
    print("== run: 20,000 rows, 4,000 users, throttled at 200 requests/s", flush=True)
    bench_run.main(
        ["--rows", "20000", "--users", "4000", "--latency-ms", "0", "--throttle-rps", "200"]
    )


if __name__ == "__main__":
    main()

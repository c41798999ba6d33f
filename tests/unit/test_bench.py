"""make bench reads wrk's report: the rate, the latency percentiles in wrk's mixed units, the failures."""

from __future__ import annotations

from bench.harness import percentile
from bench.homepage import parse_wrk

WRK_REPORT = """Running 15s test @ http://127.0.0.1:40001/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.47s   210.00ms   1.99s    70.00%
    Req/Sec     5.10      3.20    20.00     80.00%
  Latency Distribution
     50%    1.47s
     75%    1.60s
     90%    1.75s
     99%    1.84s
  87 requests in 15.02s, 1.10MB read
  Socket errors: connect 0, read 0, write 0, timeout 79
  Non-2xx or 3xx responses: 3
Requests/sec:      5.79
Transfer/sec:     75.00KB
"""


def test_wrk_report_in_seconds_with_timeouts_and_errors() -> None:
    figures = parse_wrk(WRK_REPORT)
    assert figures == {"requests_per_s": 5.79, "p50_ms": 1470.0, "p99_ms": 1840.0, "timeouts": 79, "non_2xx": 3}


def test_wrk_report_in_microseconds_without_failures() -> None:
    report = WRK_REPORT.replace("1.47s\n", "850.00us\n").replace("1.84s\n", "12.30ms\n")
    report = "\n".join(line for line in report.splitlines() if "Socket" not in line and "Non-2xx" not in line)
    figures = parse_wrk(report)
    assert (figures["p50_ms"], figures["p99_ms"], figures["timeouts"], figures["non_2xx"]) == (0.85, 12.3, 0, 0)


def test_percentile_picks_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99)) == (51.0, 99.0)

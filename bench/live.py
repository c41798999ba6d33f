"""(6) 10,000 concurrent live streams (``GET /events/stream``, server-sent events) held by the gateway:
connect them all, publish one inbox change through the notify service's own ``publish_change``, and
measure its delivery to every stream and the gateway's memory. A page request is timed while the
streams are held, to show they do not take the threads that render pages. The goal (issue 19): one
gateway process holds 10,000 and delivers a change to all of them within 1 s."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from deploy.stack import Stack

from .harness import Result, _status_kb, percentile, run_setup, session_pids

STREAMS = 10_000
DELIVER_ALL_MS = 1000
CONNECT_AT_ONCE = 100  # connections opened together, as pages opening over a moment


async def _open(host: str, port: int, cookie: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"GET /events/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
                  f"Cookie: {cookie}\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"stream refused: {head[:80]!r}")
    return reader, writer


async def _wait_notice(reader: asyncio.StreamReader, arrivals: list[float]) -> None:
    while True:
        line = await reader.readline()
        if not line:
            return
        if line.startswith(b"event: inbox"):
            arrivals.append(time.time())
            return


async def _drain(reader: asyncio.StreamReader) -> None:
    """Read what a stream sent on connecting (its retry line, the employer's last notice)."""
    while True:
        try:
            await asyncio.wait_for(reader.readline(), 0.05)
        except TimeoutError:
            return


def _rss_mb(stack: Stack) -> float:
    pids = session_pids([stack.processes["gateway"].pid])
    return round(sum(_status_kb(pid, "VmRSS") for pid in pids) / 1024, 1)


async def _run(stack: Stack, cookies: list[str], employer_no: str) -> dict[str, Any]:
    parts = urlsplit(stack.url("gateway"))
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    rss_before = _rss_mb(stack)
    started = time.perf_counter()
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for first in range(0, STREAMS, CONNECT_AT_ONCE):
        streams += await asyncio.gather(*(_open(host, port, cookies[i])
                                          for i in range(first, min(first + CONNECT_AT_ONCE, STREAMS))))
    connect_s = time.perf_counter() - started
    await asyncio.gather(*(_drain(reader) for reader, _ in streams))
    await asyncio.sleep(1)
    rss_held = _rss_mb(stack)
    # A page while every stream is held: the page threads are free.
    page_started = time.perf_counter()
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(stack.url("gateway") + "/login")
    page_ms = (time.perf_counter() - page_started) * 1000
    arrivals: list[float] = []
    waiting = [asyncio.create_task(_wait_notice(reader, arrivals)) for reader, _ in streams]
    published = await asyncio.to_thread(run_setup, stack, "publish", employer_no)
    await asyncio.wait(waiting, timeout=30)
    rss_after = _rss_mb(stack)
    for task in waiting:
        task.cancel()
    for _, writer in streams:
        writer.close()
    latencies = [(t - published["published_at"]) * 1000 for t in arrivals]
    return {
        "streams": len(streams), "delivered": len(arrivals), "connect_all_s": round(connect_s, 2),
        "delivery_p50_ms": round(percentile(latencies, 50), 1), "delivery_all_ms": round(max(latencies, default=0), 1),
        "gateway_rss_mb_before": rss_before, "gateway_rss_mb_held": rss_held, "gateway_rss_mb_after": rss_after,
        "kb_per_stream": round((rss_held - rss_before) * 1024 / max(len(streams), 1), 1),
        "page_while_held_ms": round(page_ms, 1), "page_status": page.status_code,
    }


def run(stack: Stack) -> list[Result]:
    creds: dict[str, Any] = run_setup(stack, "employers", "1")
    # One stream per session, as 10,000 operators' open home pages (a session may hold 32 at most).
    cookies: list[str] = run_setup(stack, "stream-cookies", str(STREAMS))["cookies"]
    figures = asyncio.run(_run(stack, cookies, creds["demo_employer"]))
    return [Result(
        name=f"{STREAMS:,} concurrent SSE streams held, one change delivered to all", unit="ms",
        ours=figures["delivery_all_ms"],
        goal=f"all {STREAMS:,} delivered within {DELIVER_ALL_MS:,} ms, pages still served",
        met=(figures["delivered"] == STREAMS and figures["delivery_all_ms"] <= DELIVER_ALL_MS
             and figures["page_status"] == 200),
        peak_mb=figures["gateway_rss_mb_held"], details={**figures, "summary": (
            f"{figures['delivered']}/{figures['streams']} delivered, p50 {figures['delivery_p50_ms']} ms, "
            f"gateway {figures['gateway_rss_mb_before']} -> {figures['gateway_rss_mb_held']} MB "
            f"({figures['kb_per_stream']} KB/stream), a page meanwhile {figures['page_while_held_ms']} ms")},
    )]

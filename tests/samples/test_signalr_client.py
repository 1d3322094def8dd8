"""A real SignalR client (pysignalr) talks to the legacy sample hub: it speaks the real hub protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from paritycheck import samples
from paritycheck.samples import live

pysignalr = pytest.importorskip("pysignalr.client", reason="pysignalr (a dev dependency) is not installed")


async def test_pysignalr_chats_with_the_legacy_hub_and_gets_the_streamed_reply() -> None:
    served = await samples.start(summary_delay=0)
    try:
        url = served.legacy_url + "/hubs/chat"
        client = pysignalr.SignalRClient(url, retry_count=1, connection_timeout=1)
        echoed: list[Any] = []
        chunks: list[str] = []
        completed = asyncio.Event()
        opened = asyncio.Event()

        async def on_open() -> None:
            opened.set()

        async def on_message(args: list[Any]) -> None:
            echoed.append(args[0])

        async def on_chunk(args: list[Any]) -> None:
            chunks.append(args[0])

        async def on_done(message: Any) -> None:
            completed.set()

        client.on_open(on_open)
        client.on("ReceiveMessage", on_message)
        client.on("ReceiveChunk", on_chunk)
        task = asyncio.create_task(client.run())
        try:
            await asyncio.wait_for(opened.wait(), 10)
            await client.send("SendMessage", ["how is revenue?"], on_invocation=on_done)  # type: ignore[list-item]
            await asyncio.wait_for(completed.wait(), 10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await served.close()
    assert echoed == [{"user": "ana", "text": "how is revenue?"}]
    assert "".join(chunks) == live.REPLY and len(chunks) > 1

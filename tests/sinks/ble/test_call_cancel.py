"""A BLE method call cancelled just as its reply arrives is cancelled, not completed.

Python 3.11's asyncio.wait_for returns the inner result when a cancel and the result meet in
the same loop iteration, so the cancel is lost; the registrar's task then went back to waiting
for BlueZ and `stop()` waited for it forever (a hang seen in the BLE tests). The race is made
exact here with a reply future this test completes itself: no bus is needed for the timing.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from gatewayd.sinks.ble.bluez import call


class _ReplyWhenTold:
    """Just enough of a MessageBus for call(): its reply is the future the test completes."""

    connected = True

    def __init__(self) -> None:
        self.reply: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    async def call(self, msg: Message) -> Message:
        return await self.reply


async def test_a_cancel_that_meets_the_reply_is_not_swallowed() -> None:
    bus = _ReplyWhenTold()
    task = asyncio.create_task(
        call(cast(MessageBus, bus), "org.bluez", "/org/bluez/hci0", "org.bluez.X", "Y")
    )
    for _ in range(3):
        await asyncio.sleep(0)  # the call is waiting for its reply
    assert not task.done()
    bus.reply.set_result(Message(message_type=MessageType.METHOD_RETURN, reply_serial=1))
    await asyncio.sleep(0)  # the reply is delivered inside the call, which has not returned yet
    if task.cancel():  # accepted: the task was still running, so it must end cancelled
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        assert task.done() and task.result() == []


async def test_the_reply_is_returned_when_nobody_cancels() -> None:
    bus = _ReplyWhenTold()
    task = asyncio.create_task(call(cast(MessageBus, bus), "a.b", "/", "a.b", "C"))
    await asyncio.sleep(0)
    reply: Any = Message(
        message_type=MessageType.METHOD_RETURN, reply_serial=1, signature="s", body=["x"]
    )
    bus.reply.set_result(reply)
    assert await task == ["x"]

"""Agent output sharing the event loop with keys (issue 13): :class:`Pacer` and the paced
stdout reader of :class:`AgentProcess`, against real subprocesses.

Nothing is timed: each test waits for events (lines delivered, a stderr marker, the exit)
and asserts orders and counts; every wait is bounded by ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

from amux_tui.acp import AgentProcess, Frame
from amux_tui.acp.pacing import Pacer

LINES = 20_000
NEVER = 3600.0  # a max_hold no test outlives: holds end only when released


def flood_code(lines: int, then: str = "") -> str:
    """A child printing ``lines`` notifications as one burst, then running ``then``."""
    return (
        "import sys\n"
        f'sys.stdout.write(\'\'.join(\'{{"method":"n","params":{{"i":%d}}}}\\n\' % i '
        f"for i in range({lines})))\n"
        "sys.stdout.flush()\n" + then
    )


async def test_a_burst_is_delivered_in_slices_in_order_and_before_the_exit(tmp_path: Path):
    """With no time budget at all, each loop turn handles one line: other callbacks run
    between the lines of one read, and every line still arrives, in order, before on_exit."""
    got: list[int] = []
    ticks: list[int] = []  # len(got) each time another callback got the loop
    exits: list[int] = []
    done = asyncio.Event()

    def on_frame(frame: Frame) -> None:
        got.append(frame.params["i"])

    def on_exit(code: int) -> None:
        exits.append(len(got))
        done.set()

    loop = asyncio.get_running_loop()

    def tick() -> None:
        ticks.append(len(got))
        if not done.is_set():
            loop.call_soon(tick)

    proc = AgentProcess(
        [sys.executable, "-c", flood_code(LINES)],
        cwd=tmp_path,
        on_frame=on_frame,
        on_exit=on_exit,
        pacer=Pacer(budget=0.0),
    )
    async with asyncio.timeout(60):
        await proc.start()
        tick()
        await done.wait()
        await proc.wait()
    assert got == list(range(LINES))
    assert exits == [LINES]
    # The other callback ran while the burst was being handled, not only before or after.
    assert any(0 < n < LINES for n in ticks)


async def test_held_output_waits_until_released(tmp_path: Path):
    lines = 500  # fits in the pipe: the child gets to say it wrote them while held
    pacer = Pacer(max_hold=NEVER)
    got: list[int] = []
    marker = asyncio.Event()
    all_in = asyncio.Event()

    def on_frame(frame: Frame) -> None:
        got.append(frame.params["i"])
        if len(got) == lines:
            all_in.set()

    def on_stderr(line: str) -> None:
        if line == "written":
            marker.set()

    # The child writes the burst, says so on stderr (never paced), then waits for stdin.
    code = flood_code(
        lines, "sys.stderr.write('written\\n'); sys.stderr.flush(); sys.stdin.read()\n"
    )
    proc = AgentProcess(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        on_frame=on_frame,
        on_stderr=on_stderr,
        pacer=pacer,
    )
    async with asyncio.timeout(60):
        pacer.hold()
        await proc.start()
        await marker.wait()
        # Give the loop turns in which the pipe could be read, were it not held.
        for _ in range(50):
            await asyncio.sleep(0)
        assert got == []
        pacer.release()
        await all_in.wait()
        await proc.stop(grace=1.0)
    assert got == list(range(lines))


async def test_a_key_announced_by_another_thread_holds_output_until_taken_and_released():
    pacer = Pacer(max_hold=NEVER)
    ran: list[str] = []
    announced = threading.Event()

    def announce() -> None:
        pacer.input_arrived()
        announced.set()

    thread = threading.Thread(target=announce)
    thread.start()
    await asyncio.to_thread(announced.wait)
    thread.join()
    assert pacer.held
    pacer.when_free(lambda: ran.append("output"))
    await asyncio.sleep(0)
    pacer.input_taken()  # the app got the key: an ordinary hold from now on
    assert pacer.held
    await asyncio.sleep(0)
    assert ran == []
    pacer.release()
    assert not pacer.held
    async with asyncio.timeout(10):
        while not ran:
            await asyncio.sleep(0)
    assert ran == ["output"]


async def test_holds_lapse_so_output_always_moves_on():
    pacer = Pacer(max_hold=0.0)
    ran = asyncio.Event()
    pacer.input_arrived()  # a key the app never takes (e.g. it is shutting down)
    pacer.hold()
    pacer.when_free(ran.set)
    async with asyncio.timeout(10):
        await ran.wait()
    assert not pacer.held
    pacer.release()  # a release after the lapse is a no-op
    assert not pacer.held


async def test_typing_is_recent_input():
    pacer = Pacer()
    assert not pacer.input_within(3600)
    pacer.input_arrived()
    assert pacer.input_within(3600)

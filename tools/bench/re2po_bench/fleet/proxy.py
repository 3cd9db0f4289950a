"""A user-space TCP delay proxy: WAN latency on loopback without sch_netem.

Kernels without the netem qdisc (`tc qdisc add ... netem delay 50ms` fails
with "Specified qdisc kind is unknown") cannot add latency to loopback, so
the fleet benchmark puts this proxy between a node and radosgw instead:

    client <-> 127.0.0.1:PORT (this proxy) <-> upstream (radosgw)

Every read from either side is delivered to the other side `delay` seconds
after it was received, in order. Reading never waits for delivery, so each
direction adds `delay` of latency (2 x delay per round trip) while the
bandwidth stays what the two ends and the proxy's copying allow. With
`handshake=True` a new connection also pays the round trip of TCP's
handshake that a real WAN would add: the client's first bytes reach the
upstream no earlier than 3 x delay after the connection was accepted
(handshake round trip, then one way). EOF (a half-close) is forwarded with
the same delay; a reset on one side closes both after the delay.

The proxy runs an asyncio loop in a daemon thread of the calling process and
listens on 127.0.0.1 only:

    with DelayProxy(ProxyConfig("127.0.0.1", 17480, delay=0.05)) as proxy:
        url = proxy.url  # http://127.0.0.1:<free port>
"""

import asyncio
import threading
from dataclasses import dataclass, field

# deliver-at time (loop clock) and bytes; b"" is EOF, None is a reset
_Item = tuple[float, bytes | None]


@dataclass(frozen=True)
class ProxyConfig:
    upstream_host: str
    upstream_port: int
    delay: float = 0.05  # seconds added in each direction
    handshake: bool = True  # a new connection pays one more round trip
    listen_host: str = "127.0.0.1"
    listen_port: int = 0  # 0: a free port, see DelayProxy.port
    read_size: int = 64 * 1024
    # reads in flight per direction before the proxy stops reading: bounds
    # memory (1024 x 64 KiB = 64 MiB, ~1.3 GB/s at 50 ms) without limiting
    # the bandwidth the benchmark sees
    max_queued_reads: int = 1024
    connect_timeout: float = 10.0


@dataclass
class ProxyCounters:
    connections: int = 0
    bytes_to_upstream: int = 0
    bytes_to_client: int = 0
    errors: list[str] = field(default_factory=list)


class DelayProxy:
    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.counters = ProxyCounters()
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    # ---------------------------------------------------------- control

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the delay proxy is not running")
        return self._port

    @property
    def url(self) -> str:
        return "http://%s:%d" % (self.config.listen_host, self.port)

    def start(self, timeout: float = 10.0) -> int:
        """Starts listening (bounded wait); returns the port."""
        if self._thread is not None:
            return self.port
        self._thread = threading.Thread(target=self._run, name="delay-proxy",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the delay proxy did not start in %.0f s" %
                               timeout)
        if self._start_error is not None:
            raise RuntimeError("the delay proxy did not start: %s" %
                               self._start_error)
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None and loop.is_running():
            loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join(timeout)
        self._thread = None
        self._port = None

    def __enter__(self) -> "DelayProxy":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ loop

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:  # reported by start(), or logged
            if not self._ready.is_set():
                self._start_error = e
            else:
                self.counters.errors.append("proxy loop: %r" % e)
        finally:
            self._ready.set()
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(
                        *pending, return_exceptions=True))
            finally:
                loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._handle, self.config.listen_host, self.config.listen_port)
        sockets = server.sockets or ()
        self._port = int(sockets[0].getsockname()[1])
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()

    async def _handle(self, client_r: asyncio.StreamReader,
                      client_w: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        accepted = loop.time()
        self.counters.connections += 1
        cfg = self.config
        try:
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(
                cfg.upstream_host, cfg.upstream_port), cfg.connect_timeout)
        except (OSError, asyncio.TimeoutError) as e:
            self.counters.errors.append("connect upstream: %r" % e)
            client_w.close()
            return
        first = accepted + 3 * cfg.delay if cfg.handshake else 0.0
        await asyncio.gather(
            self._pipe(client_r, up_w, first, upstream=True),
            self._pipe(up_r, client_w, 0.0, upstream=False),
            return_exceptions=True)
        for w in (client_w, up_w):
            w.close()

    async def _pipe(self, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter, not_before: float,
                    upstream: bool) -> None:
        """Copies reader to writer, each read delivered `delay` after it
        was received (and not before `not_before`), in order."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Item] = asyncio.Queue(
            self.config.max_queued_reads)
        delay = self.config.delay

        async def receive() -> None:
            while True:
                data: bytes | None
                try:
                    data = await reader.read(self.config.read_size)
                except (OSError, asyncio.IncompleteReadError):
                    data = None
                await queue.put((max(loop.time() + delay, not_before), data))
                if not data:
                    return

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:  # the other side reset: so do we
                    writer.transport.abort()
                    return
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                if upstream:
                    self.counters.bytes_to_upstream += len(data)
                else:
                    self.counters.bytes_to_client += len(data)

        receiving = asyncio.ensure_future(receive())
        try:
            await deliver()
        except OSError:
            writer.transport.abort()
        finally:
            if not receiving.done():
                receiving.cancel()
            await asyncio.gather(receiving, return_exceptions=True)

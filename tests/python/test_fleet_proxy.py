"""Tests for the fleet benchmark's WAN delay proxy
(re2po_bench.fleet.proxy; stdlib unittest, 127.0.0.1 only, a few seconds):

    PYTHONPATH=tools/bench /usr/bin/python3 -m unittest test_fleet_proxy

An echo server on 127.0.0.1 behind the proxy: a round trip takes at least
twice the one-way delay, bytes come back intact and in order, and the delay
is paid once per direction, not once per read. Every wait is bounded.
"""

import hashlib
import os
import socket
import socketserver
import threading
import time
import unittest

import bench_package  # noqa: F401  (checks that re2po_bench is importable)
from re2po_bench.fleet.proxy import DelayProxy, ProxyConfig

DELAY = 0.05  # one way, as the benchmark uses it
TIMEOUT = 10.0  # bound of every socket operation


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while True:
            data = self.request.recv(65536)
            if not data:
                self.request.shutdown(socket.SHUT_WR)
                return
            self.request.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class DelayProxyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls) -> None:
        cls.echo = _Server(("127.0.0.1", 0), _Echo)
        cls.echo_thread = threading.Thread(target=cls.echo.serve_forever,
                                           kwargs={"poll_interval": 0.05},
                                           daemon=True)
        cls.echo_thread.start()
        port = cls.echo.server_address[1]
        cls.proxy = DelayProxy(ProxyConfig("127.0.0.1", port, delay=DELAY,
                                           handshake=False))
        cls.proxy.start(timeout=TIMEOUT)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.proxy.stop(timeout=TIMEOUT)
        cls.echo.shutdown()
        cls.echo.server_close()
        cls.echo_thread.join(TIMEOUT)

    def _connect(self, proxy: DelayProxy | None = None) -> socket.socket:
        p = proxy or self.proxy
        s = socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    @staticmethod
    def _recv_exactly(s: socket.socket, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            b = s.recv(min(65536, n - len(out)))  # bounded by the timeout
            if not b:
                break
            out += b
        return bytes(out)

    def test_listens_on_loopback_only(self) -> None:
        self.assertEqual(self.proxy.url,
                         "http://127.0.0.1:%d" % self.proxy.port)

    def test_round_trip_is_delayed_both_ways(self) -> None:
        with self._connect() as s:
            for i in range(3):
                msg = b"ping %d" % i
                t0 = time.monotonic()
                s.sendall(msg)
                got = self._recv_exactly(s, len(msg))
                rtt = time.monotonic() - t0
                self.assertEqual(got, msg)
                self.assertGreaterEqual(rtt, 2 * DELAY - 0.005)
                self.assertLess(rtt, 2 * DELAY + 1.0)

    def test_bytes_intact_in_order_and_delay_not_per_read(self) -> None:
        payload = os.urandom(4 * 1024 * 1024)  # ~64+ reads each way
        received: list[bytes] = []

        def reader(s: socket.socket) -> None:
            received.append(self._recv_exactly(s, len(payload)))

        with self._connect() as s:
            t = threading.Thread(target=reader, args=(s,), daemon=True)
            t0 = time.monotonic()
            t.start()
            for off in range(0, len(payload), 100_000):
                s.sendall(payload[off:off + 100_000])
            s.shutdown(socket.SHUT_WR)
            t.join(TIMEOUT)
            elapsed = time.monotonic() - t0
            self.assertFalse(t.is_alive(), "echo did not finish in time")
            # EOF is forwarded (after the delay) once everything came back
            self.assertEqual(s.recv(1), b"")
        self.assertEqual(len(received[0]), len(payload))
        self.assertEqual(hashlib.sha256(received[0]).hexdigest(),
                         hashlib.sha256(payload).hexdigest())
        self.assertGreaterEqual(elapsed, 2 * DELAY - 0.005)
        # 64 reads each paying 50 ms in turn would take > 6 s; pipelined
        # they pay it once per direction
        self.assertLess(elapsed, 2.0)

    def test_handshake_costs_one_more_round_trip(self) -> None:
        port = self.echo.server_address[1]
        with DelayProxy(ProxyConfig("127.0.0.1", port, delay=DELAY,
                                    handshake=True)) as p:
            with self._connect(p) as s:
                t0 = time.monotonic()
                s.sendall(b"first")
                self.assertEqual(self._recv_exactly(s, 5), b"first")
                first = time.monotonic() - t0
                t0 = time.monotonic()
                s.sendall(b"again")
                self.assertEqual(self._recv_exactly(s, 5), b"again")
                again = time.monotonic() - t0
        self.assertGreaterEqual(first, 4 * DELAY - 0.005)
        self.assertGreaterEqual(again, 2 * DELAY - 0.005)
        self.assertLess(again, first)

    def test_unreachable_upstream_closes_the_client(self) -> None:
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            dead = probe.getsockname()[1]
        with DelayProxy(ProxyConfig("127.0.0.1", dead, delay=DELAY)) as p:
            with self._connect(p) as s:
                try:
                    got = s.recv(1)
                except ConnectionResetError:
                    got = b""
                self.assertEqual(got, b"")
            self.assertTrue(any("connect upstream" in e
                                for e in p.counters.errors))


if __name__ == "__main__":
    unittest.main()

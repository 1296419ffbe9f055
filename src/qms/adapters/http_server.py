"""uvicorn behind one module: `qms serve`'s worker processes, each with a listening socket of its own.

uvicorn's own `--workers` hands one listening socket to every worker; the worker whose event loop
is awake when a burst of connections arrives accepts all of them (asyncio accepts up to the backlog
per wake-up), and a browser keeps its connection. Measured: 20 clients opening at once all landed
on one of two workers ([20, 0]) — one core served everything while the other idled. Here each
worker listens on a socket of its own, bound to the same address with SO_REUSEPORT, so the kernel
spreads new connections over the workers (by a hash of the client's address and port).

The sockets are made here, before any worker starts, and a worker that dies is started again on
the same socket: connections waiting in its queue are answered by the new one, not lost. The address
is first bound without SO_REUSEPORT, so that a port another server holds (even another `qms serve`)
is an error, not a second server quietly answering half the connections.
"""

from __future__ import annotations

import ipaddress
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time

from ..base.errors import Busy

STARTUP_FAILURE = 3          # uvicorn's exit code for an app that cannot start: not restarted
log = logging.getLogger("uvicorn.error")


class AddressInUse(Busy):
    """The address:port is taken (another server); the message names it."""


def _family(host: str) -> int:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:           # a name such as localhost
        return socket.AF_INET


def _listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise AddressInUse(f"{host}:{port}: address in use ({exc.strerror})") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(config, sock: socket.socket) -> None:      # in the worker process
    import uvicorn   # lazy: only `qms serve` needs the server; every other command starts without it
    config.configure_logging()
    uvicorn.Server(config).run(sockets=[sock])


def run(app: str, *, host: str, port: int, workers: int, **options) -> int:
    """Serve APP (an import string of a factory) with WORKERS processes until SIGINT/SIGTERM.
    Returns the exit code: 0, or STARTUP_FAILURE when a worker could not start the app."""
    import uvicorn   # lazy: only `qms serve` needs the server; every other command starts without it
    _listener(host, port, reuse_port=False).close()          # taken by anyone: an error, now
    config = uvicorn.Config(app, factory=True, host=host, port=port, **options)
    if workers == 1:
        server = uvicorn.Server(config)
        server.run(sockets=[_listener(host, port, reuse_port=False)])
        return STARTUP_FAILURE if not server.started else 0
    sockets = [_listener(host, port, reuse_port=True) for _ in range(workers)]
    spawn = multiprocessing.get_context("spawn")          # a fresh interpreter: no state of this one

    def start(sock):
        proc = spawn.Process(target=_worker, args=(config, sock), daemon=False)
        proc.start()
        return proc

    procs = [start(s) for s in sockets]
    # an Event, not time.sleep: under Debian's faketime (the tests' moved clock) sleep fails (EINVAL)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stopping.set())
    code = 0
    try:
        while not stopping.wait(0.2):
            for i, proc in enumerate(procs):
                if proc.is_alive() or stopping.is_set():
                    continue
                if proc.exitcode == STARTUP_FAILURE:
                    log.error("worker %s could not start the application; stopping", proc.pid)
                    stopping.set()
                    code = STARTUP_FAILURE
                    break
                log.warning("worker %s ended (exit code %s); starting another on its socket", proc.pid, proc.exitcode)
                procs[i] = start(sockets[i])
    finally:
        for proc in procs:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)          # uvicorn's graceful shutdown in the worker
        deadline = time.monotonic() + 30
        for proc in procs:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sock in sockets:
            sock.close()
    return code

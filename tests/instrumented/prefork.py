"""Run the test app like gunicorn does: one master, N forked-off worker processes.

    python prefork.py --port P --metrics-port M --workers 4

The master binds the port and hands the socket to each worker (the kernel
spreads connections over them), serves the aggregated exposition on
--metrics-port with start_metrics_server, and calls the `child_exit` hook when a
worker dies. PROMETHEUS_MULTIPROC_DIR must be set by the caller. Prints
"ready" once every worker is serving, then "exited <pid>" per dead worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(fd: int) -> None:
    sys.path.insert(0, str(HERE))
    import app  # noqa: E402  (imported after the environment is set)
    from asgi_server import serve

    import sergas_metrics as metrics

    metrics.sergas_db_pool_max_connections.set(10)  # livesum: 10 per live worker
    sock = socket.socket(fileno=fd)
    print("serving", os.getpid(), flush=True)
    asyncio.run(serve(app.build(), sock))


def master(port: int, metrics_port: int, workers: int) -> None:
    # As gunicorn.conf.py does in the README: the module is all an application has. Importing it
    # creates its instruments in the master too; clearing the directory afterwards (on_starting)
    # removes their files, so the master adds nothing to the exposition.
    from sergas_metrics import child_exit, clear_multiprocess_dir, start_metrics_server

    clear_multiprocess_dir()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)
    sock.set_inheritable(True)
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker-fd", str(sock.fileno())],
            pass_fds=(sock.fileno(),),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for child in children:
        assert child.stdout is not None
        child.stdout.readline()  # "serving <pid>"
    start_metrics_server(metrics_port, "127.0.0.1")
    print("ready", " ".join(str(c.pid) for c in children), flush=True)

    def reap(child: subprocess.Popen[str]) -> None:
        child.wait()
        child_exit(None, types.SimpleNamespace(pid=child.pid))  # what gunicorn calls
        print("exited", child.pid, flush=True)

    threads = [threading.Thread(target=reap, args=(c,), daemon=True) for c in children]
    for thread in threads:
        thread.start()

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for thread in threads:
            thread.join(timeout=5)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        signal.pause()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-fd", type=int)
    args = parser.parse_args()
    if args.worker_fd is not None:
        worker(args.worker_fd)
    else:
        master(args.port, args.metrics_port, args.workers)

"""Run what waits in django-q2's queue through its real parts, in this process: the pusher takes the
queued tasks from the ORM broker's table, a worker runs them and the monitor stores their results
(the same functions ``rasure worker``'s cluster runs in its processes)."""

from __future__ import annotations

from multiprocessing import Event, Queue, Value
from typing import Any


def run_queued(broker: Any = None) -> None:
    """One pass: every task queued now is run and its result stored; the queue is left empty."""
    from django_q.brokers import get_broker
    from django_q.monitor import monitor
    from django_q.pusher import pusher
    from django_q.worker import worker

    broker = broker or get_broker()
    tasks: Queue[Any] = Queue()
    stop = Event()
    stop.set()  # one pass of the pusher
    pusher(tasks, stop, broker=broker)
    tasks.put("STOP")
    results: Queue[Any] = Queue()
    worker(tasks, results, Value("f", -1))
    results.put("STOP")
    monitor(results, broker=broker)
    assert broker.queue_size() == 0

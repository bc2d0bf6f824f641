"""The SQLite writer queue: the threads of a process take the write lock in turn, in order.

cityhall.db puts a first-come, first-served queue in front of BEGIN IMMEDIATE, so threads
wait for the one writer to commit instead of sleeping and polling in SQLite's busy handler.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from cityhall.db import HOLDS, WriterQueue, make_engine, writer_queue
from tests.builders import run_threads


def test_waiters_get_the_lock_in_the_order_they_came():
    queue = WriterQueue()
    assert queue.acquire(1)
    order: list[int] = []
    threads = []
    for i in range(6):
        def wait(i=i) -> None:
            assert queue.acquire(10)
            order.append(i)
            queue.release()
        thread = threading.Thread(target=wait)
        thread.start()
        threads.append(thread)
        while len(queue._waiters) < i + 1:  # this one is queued before the next comes
            time.sleep(0.001)
    queue.release()
    for thread in threads:
        thread.join(10)
    assert order == list(range(6))
    assert queue.acquire(0.01), "the last one out leaves the lock free"


def test_a_waiter_that_times_out_leaves_the_queue():
    queue = WriterQueue()
    assert queue.acquire(1)
    assert not queue.acquire(0.05)
    assert not queue._waiters
    queue.release()
    assert queue.acquire(0.01)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/queue.sqlite3", create=True)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    yield engine
    engine.dispose()


def test_transactions_hold_the_queue_until_commit_or_rollback(engine, tmp_path):
    queue = writer_queue(f"{tmp_path}/queue.sqlite3")
    with engine.connect() as conn:
        conn.begin()
        assert conn.info.get(HOLDS) is queue
        assert not queue.acquire(0.01), "another thread waits while the transaction is open"
        conn.commit()
        assert HOLDS not in conn.info
        assert queue.acquire(0.01)
        queue.release()
        conn.begin()
        conn.rollback()
        assert queue.acquire(0.01)
        queue.release()
        conn.begin()  # closed in a transaction: the pool's rollback lets the next one in
    assert queue.acquire(0.01)
    queue.release()


def test_concurrent_writers_all_commit_in_turn(engine):
    """Twenty threads each read-modify-write one row 20 times: nothing is lost or refused."""
    barrier = threading.Barrier(20)
    def work() -> None:
        barrier.wait(10)
        for _ in range(20):
            with engine.begin() as conn:
                n = conn.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})

    assert not run_threads(work, 20, 60)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 400

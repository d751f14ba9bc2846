"""Blocks on a Dask cluster: the same numbers as a local run, even when a worker dies.

A ``distributed.LocalCluster`` with two worker processes stands in for a real cluster. Each
block carries its own seed, so where it runs, in which order, and how often it is
recomputed cannot change its numbers.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np
import pytest

import flowsim
from flowsim.testing.synthetic import synthetic_scenario

distributed = pytest.importorskip("distributed")

SCENARIO = synthetic_scenario(countries=12, routes_per_country=2.5, cohorts=2, weeks=60,
                              population=200_000, seed=3)


def _same(a: flowsim.Results, b: flowsim.Results) -> bool:
    return all(np.array_equal(a.dataset[v].values, b.dataset[v].values)
               for v in a.dataset.data_vars)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def test_a_cluster_gives_the_local_numbers(cluster) -> None:
    local = flowsim.simulate(SCENARIO, replicates=120, seed=5, block_size=20)
    with distributed.Client(cluster) as client:
        remote = flowsim.simulate(SCENARIO, replicates=120, seed=5, block_size=20,
                                  client=client)
    by_address = flowsim.simulate(SCENARIO, replicates=120, seed=5, block_size=20,
                                  scheduler=cluster.scheduler_address)
    assert _same(local, remote)
    assert _same(local, by_address)


def test_a_streamed_run_on_a_cluster_writes_the_local_file(cluster, tmp_path) -> None:
    local = flowsim.stream(SCENARIO, tmp_path / "local.nc", replicates=100, seed=7,
                           block_size=20, keep=("departures",))
    with distributed.Client(cluster) as client:
        remote = flowsim.stream(SCENARIO, tmp_path / "remote.nc", replicates=100, seed=7,
                                block_size=20, keep=("departures",), client=client)
    for v in local.dataset.data_vars:
        np.testing.assert_array_equal(remote.dataset[v].values, local.dataset[v].values,
                                      err_msg=str(v))


def test_a_worker_that_dies_loses_no_block(cluster) -> None:
    local = flowsim.simulate(SCENARIO, replicates=240, seed=6, block_size=20)
    started = threading.Event()

    def progress(done: int, total: int) -> None:
        started.set()

    with distributed.Client(cluster) as client:
        box: dict[str, flowsim.Results] = {}

        def run() -> None:
            box["r"] = flowsim.simulate(SCENARIO, replicates=240, seed=6, block_size=20,
                                        client=client, progress=progress)

        thread = threading.Thread(target=run)
        thread.start()
        assert started.wait(120), "no block finished"
        victim = next(iter(client.scheduler_info()["workers"]))
        # the worker process exits at once; its nanny starts a new one, and the scheduler
        # recomputes the blocks that were on it
        # the worker dies before it can answer, and the call fails with whatever the
        # connection raised: that is the point
        with contextlib.suppress(Exception):
            client.run(os._exit, 1, workers=[victim])
        thread.join(300)
        assert not thread.is_alive()
        assert victim not in client.scheduler_info()["workers"]  # it did die
        assert not box["r"].dataset["departures"].isnull().any()
    assert _same(local, box["r"])


class _BlocksHeld(distributed.SchedulerPlugin):
    """A scheduler plugin that counts the blocks the scheduler knows of, at every change."""

    name = "flowsim-blocks-held"

    def __init__(self, scheduler) -> None:
        self.scheduler = scheduler
        self.most = 0
        self.submitted: set[str] = set()

    def transition(self, key, start, finish, *args, **kwargs) -> None:
        if not str(key).startswith("_dask_block"):
            return
        self.submitted.add(str(key))
        held = sum(1 for k in self.scheduler.tasks if str(k).startswith("_dask_block"))
        self.most = max(self.most, held)


def test_the_cluster_holds_a_window_of_blocks_not_the_run(cluster) -> None:
    """24 blocks go to a cluster of two one-thread workers (a window of 4): the scheduler
    never holds more than 4 of them, each is sent once, and the numbers are the local ones.
    (Submitting every block at once, as before, makes it hold all 24.)"""
    from flowsim.ensemble.workers import dask_window

    plugin = _BlocksHeld(cluster.scheduler)
    cluster.scheduler.add_plugin(plugin, name=plugin.name)
    try:
        with distributed.Client(cluster) as client:
            # a worker of the module's cluster may still be restarting after an earlier test
            client.wait_for_workers(2, timeout=60)
            window = dask_window(client)
            remote = flowsim.simulate(SCENARIO, replicates=240, seed=8, block_size=10,
                                      client=client)
    finally:
        cluster.scheduler.remove_plugin(name=plugin.name)
    assert window == 4
    assert len(plugin.submitted) == 24
    assert 2 <= plugin.most <= window
    assert _same(flowsim.simulate(SCENARIO, replicates=240, seed=8, block_size=10), remote)

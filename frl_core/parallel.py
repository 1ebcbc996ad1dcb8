"""Execution backends: the same tasks on this process, on local worker processes or on a Ray cluster.

A corpus of recordings and the folds of a LOSO protocol are embarrassingly parallel: each task names its
input (a path, a fold number), the worker opens it itself and returns a small record, so frames and
training data never travel through the driver. Every backend runs ``setup(*setup_args)`` once per worker
(models loaded once, torch limited to one thread) before the tasks, and yields results as they finish.

Ray is optional (``requirements-cluster.txt``); only :class:`RayBackend` imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

CLUSTER_INSTALL = "python -m pip install -r requirements-cluster.txt"
"""The line that installs the optional cluster dependency (Ray)."""


class BackendError(Exception):
    """A backend cannot start (Ray missing, no cluster at an address); the message is one line for the user."""


Outcome = tuple[int, Any, str | None]
"""(task index, the task's return value or None, the error text when the task raised)."""


def default_workers() -> int:
    """Local workers when none are asked for: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def one_thread() -> None:
    """Each worker computes on one core, so N workers use N cores and CPU results are bit-identical."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["NUMBA_NUM_THREADS"] = "1"
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def _error_text(err: BaseException) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


class InlineBackend:
    """Runs tasks one after another in this process (``--workers 1``): no start-up cost, easy to debug."""

    name = "inline"

    def __init__(self) -> None:
        self.workers = 1

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], setup: Callable[..., None] | None = None,
            setup_args: tuple = ()) -> Iterator[Outcome]:
        if setup is not None:
            setup(*setup_args)
        for i, task in enumerate(tasks):
            try:
                yield i, fn(task), None
            except KeyboardInterrupt:
                raise
            except Exception as err:  # recorded by the caller; the other tasks go on
                yield i, None, _error_text(err)

    def close(self) -> None:
        pass

    def shutdown(self) -> None:
        self.close()


class ProcessBackend:
    """Local worker processes (spawned, so no thread or CUDA state is inherited from the driver)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise BackendError(f"--workers must be at least 1, got {workers}")
        self.workers = int(workers)
        self._pool = None

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], setup: Callable[..., None] | None = None,
            setup_args: tuple = ()) -> Iterator[Outcome]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        self._pool = ProcessPoolExecutor(max_workers=min(self.workers, max(1, len(tasks))),
                                         mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_setup_process, initargs=(setup, setup_args, os.getpid()))
        futures = {self._pool.submit(fn, task): i for i, task in enumerate(tasks)}
        try:
            for future in as_completed(futures):
                err = future.exception()
                yield futures[future], (None if err else future.result()), (_error_text(err) if err else None)
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def shutdown(self) -> None:
        self.close()


PARENT_CHECK_SECONDS = 1.0
"""How often a local worker checks that its driver is still there."""


def exit_with_parent(parent_pid: int, every: float = PARENT_CHECK_SECONDS) -> None:
    """Start a daemon thread that ends this worker process when ``parent_pid`` is no longer its parent:
    a driver killed outright (``kill``, an out-of-memory kill) cannot shut its pool down, and its workers
    would otherwise train or analyse on, unseen, until their task ends."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _setup_process(setup: Callable[..., None] | None, setup_args: tuple, parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        exit_with_parent(parent_pid)
    one_thread()
    if setup is not None:
        setup(*setup_args)


class _Worker:
    """A Ray actor: one process that runs the setup once (models loaded once) and then any number of tasks."""

    def __init__(self, setup: Callable[..., None] | None, setup_args: tuple) -> None:
        _setup_process(setup, setup_args)

    def call(self, fn: Callable[[Any], Any], task: Any) -> Any:
        return fn(task)


def import_ray() -> Any:
    """The ``ray`` module, or a BackendError naming the install line."""
    try:
        import ray
    except ImportError:
        raise BackendError(f"--ray needs Ray, which is not installed: {CLUSTER_INSTALL}") from None
    return ray


class RayBackend:
    """An actor per worker on a Ray cluster: attached at ``address``, or a local Ray started in this process.

    ``address``: "auto" (a running cluster when there is one, such as after ``ray start`` or with
    ``RAY_ADDRESS`` set, else a local Ray), "local" (always a new local Ray) or a cluster address
    (``ray://host:10001`` or ``host:6379``). ``workers`` defaults to the cluster's CPUs. When the cluster
    has GPUs each actor asks for its share of them. ``init_options`` go to ``ray.init`` (tests start a
    small local Ray with them).
    """

    name = "ray"

    def __init__(self, address: str = "auto", workers: int | None = None, **init_options: Any) -> None:
        ray = import_ray()
        self._ray = ray
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "configure_logging": False, **init_options}
        target = None if address in ("auto", "local") else address
        if address == "local":
            options.setdefault("num_cpus", workers or default_workers())
        if target is None:
            from frl_core.paths import REPO_ROOT

            # Local workers import this project from the checkout the driver runs from.
            options.setdefault("runtime_env", {"env_vars": {"PYTHONPATH": str(REPO_ROOT),
                                                            "OMP_NUM_THREADS": "1"}})
        self._started = not ray.is_initialized()
        if self._started:
            try:
                ray.init(address=target, **options)
            except (ConnectionError, ValueError, RuntimeError) as err:
                raise BackendError(f"cannot reach a Ray cluster at {address}: {_error_text(err)}") from None
        resources = ray.cluster_resources()
        cpus = int(resources.get("CPU", 1))
        self.workers = int(workers) if workers else max(1, cpus)
        gpus = float(resources.get("GPU", 0))
        self.gpus_per_worker = min(1.0, gpus / self.workers) if gpus > 0 else 0.0
        self._actors: list[Any] = []

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], setup: Callable[..., None] | None = None,
            setup_args: tuple = ()) -> Iterator[Outcome]:
        ray = self._ray
        actor_class = ray.remote(num_cpus=1, num_gpus=self.gpus_per_worker)(_Worker)
        self._actors = [actor_class.remote(setup, setup_args) for _ in range(min(self.workers, max(1, len(tasks))))]
        pending: dict[Any, tuple[int, Any]] = {}
        queue = list(enumerate(tasks))[::-1]
        idle = list(self._actors)
        try:
            while queue or pending:
                while idle and queue:
                    actor = idle.pop()
                    i, task = queue.pop()
                    pending[actor.call.remote(fn, task)] = (i, actor)
                done, _ = ray.wait(list(pending), num_returns=1)
                i, actor = pending.pop(done[0])
                try:
                    outcome: Outcome = (i, ray.get(done[0]), None)
                    idle.append(actor)
                except ray.exceptions.RayTaskError as err:
                    outcome = (i, None, _error_text(err.cause if err.cause is not None else err))
                    idle.append(actor)
                except ray.exceptions.RayError as err:  # the actor died: its task failed, a new one takes over
                    outcome = (i, None, _error_text(err))
                    idle.append(actor_class.remote(setup, setup_args))
                yield outcome
        finally:
            self.close()

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []

    def shutdown(self) -> None:
        """Leave the cluster (and stop the local Ray this backend started)."""
        self.close()
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


def make_backend(workers: int | None = None, ray_address: str | None = None, **ray_init: Any):
    """The backend the options ask for: Ray when ``ray_address`` is given, else local processes (inline for one)."""
    if ray_address is not None:
        return RayBackend(ray_address, workers, **ray_init)
    n = default_workers() if workers is None else int(workers)
    if n < 1:
        raise BackendError(f"--workers must be at least 1, got {n}")
    return InlineBackend() if n == 1 else ProcessBackend(n)


def add_backend_arguments(parser: Any, what: str, default_workers_text: str) -> None:
    """``--workers`` and ``--ray``, worded for ``what`` runs in parallel."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"{what} in N local processes (default: {default_workers_text}; with --ray: "
                             "the number of Ray actors, default the cluster's CPUs)")
    parser.add_argument("--ray", default=None, metavar="auto|local|ADDRESS",
                        help=f"{what} on Ray: auto = a running cluster if any, else a local Ray; local = a new "
                             f"local Ray; or a cluster address (needs {CLUSTER_INSTALL})")

"""Prometheus metrics. Counts are read from the store when scraped, so every process
reports the same totals whoever did the work; handler durations are this process's own."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from invoiceflow.functions import Registry
from invoiceflow.queues.queue import find_all
from invoiceflow.store import Database


class StoreCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        now = time.time()
        executions = GaugeMetricFamily(
            "invoiceflow_executions", "Workflow executions by status.", labels=["status"]
        )
        containers = GaugeMetricFamily(
            "invoiceflow_containers", "Containers (received files) by state.", labels=["state"]
        )
        depth = GaugeMetricFamily(
            "invoiceflow_queue_messages", "Messages in each queue.", labels=["queue", "state"]
        )
        age = GaugeMetricFamily(
            "invoiceflow_queue_oldest_message_age_seconds",
            "Age of the oldest message in each queue.",
            labels=["queue"],
        )
        invoices = CounterMetricFamily("invoiceflow_invoices_created", "Invoices created.")
        with self.db.transaction(write=False) as tx:
            for status, count in tx.fetch("executions_by_status"):
                executions.add_metric([status], count)
            for state, count in tx.fetch("containers_by_state"):
                containers.add_metric([state], count)
            for queue in find_all(tx):
                row = tx.fetchone("queue_counts", (now, now, now, queue.id, now))
                assert row is not None
                for state, count in zip(("visible", "in_flight", "delayed"), row, strict=False):
                    depth.add_metric([queue.name, state], count)
                age.add_metric([queue.name], now - row[3] if row[3] is not None else 0.0)
            created = tx.fetchone("invoices_created")
        invoices.add_metric([], created[0] if created else 0)
        yield from (executions, containers, depth, age, invoices)


def metrics_registry(db: Database, functions: Registry) -> CollectorRegistry:
    """A registry of its own (not the process-wide default), so that several apps in one
    process do not collide; handler durations are observed from ``functions``."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(db))
    durations = Histogram(
        "invoiceflow_handler_duration_seconds",
        "Time handlers took, by handler and outcome.",
        ["handler", "outcome"],
        registry=registry,
        buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120),
    )

    def observe(name: str, seconds: float, ok: bool) -> None:
        durations.labels(name, "ok" if ok else "error").observe(seconds)

    functions.observers.append(observe)
    return registry

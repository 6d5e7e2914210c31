"""Dagster as the warehouse's scheduler with a UI: the code location ``scheduling.definitions``.

The three loads are assets keyed like the dbt sources (``erp/customer``, ``crm/contacts``, ...)
and call the project's own loaders; dbt models and snapshots are assets from the manifest
(dagster-dbt), dbt tests are asset checks, ``dbt source freshness`` is a check on each loaded
table. Start it with ``warehouse schedule`` (``make schedule``).
"""

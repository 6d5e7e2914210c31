{#-
    The start of the current dbt run (UTC, dbt's `run_started_at`) as a
    timestamp without time zone with microseconds: the load_at of facts the
    vault derives itself, such as a deletion noticed by a record-tracking
    satellite.
-#}
{% macro vault_run_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

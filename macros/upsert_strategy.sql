{#-
    The incremental strategy that replaces a fact's rows by unique key:
    delete+insert on DuckDB and PostgreSQL; Spark (Iceberg) has no
    delete+insert, and its merge on the same key does the same.
-#}
{% macro upsert_strategy() -%}
    {{ return(adapter.dispatch('upsert_strategy', 'tpch_warehouse')()) }}
{%- endmacro %}

{% macro default__upsert_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__upsert_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{#-
    dbt-spark's get_columns_in_relation macro returns the raw rows of
    `describe extended` (tuples, no `.name`), so dbt's snapshot staging
    query finds none of the snapshot's columns and writes the deletion
    rows of `hard_deletes: new_record` snapshots with every source column
    null (dbt-labs/dbt-adapters#1401). The adapter's own method parses
    those rows into columns; the macro returns what it returns.
-#}
{% macro spark__get_columns_in_relation(relation) -%}
    {{ return(adapter.get_columns_in_relation(relation)) }}
{%- endmacro %}

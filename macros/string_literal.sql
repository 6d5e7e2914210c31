{#-
    A SQL string literal holding `value` exactly. Standard SQL (DuckDB,
    PostgreSQL) only doubles quotes; Spark's parser also reads backslash
    escapes, so there backslashes are doubled too. No session setting
    (spark.sql.parser.escapedStringLiterals) is needed, so the literal means
    the same on any Spark cluster.
-#}
{% macro string_literal(value) -%}
    {{ return(adapter.dispatch('string_literal', 'tpch_warehouse')(value)) }}
{%- endmacro %}

{% macro default__string_literal(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__string_literal(value) -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

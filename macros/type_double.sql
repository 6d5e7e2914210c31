{#-
    The 8-byte floating-point type: `double precision` on DuckDB and
    PostgreSQL, `double` on Spark, which has no `double precision`.
-#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'tpch_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#-
    The unbounded text type: `text` on DuckDB and PostgreSQL (what the
    contracts declare), `string` on Spark, which has no `text`.
-#}
{% macro type_text() -%}
    {{ return(adapter.dispatch('type_text', 'tpch_warehouse')()) }}
{%- endmacro %}

{% macro default__type_text() -%}
    text
{%- endmacro %}

{% macro spark__type_text() -%}
    string
{%- endmacro %}

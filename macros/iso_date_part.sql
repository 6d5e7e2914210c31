{#-
    ISO-8601 parts of a date: part 'day_of_week' (Monday 1 to Sunday 7) or
    'year' (the year the ISO week belongs to). Spelled isodow/isoyear on
    DuckDB and PostgreSQL, dayofweek_iso/yearofweek on Spark.
-#}
{% macro iso_date_part(part, expression) -%}
    {%- if part not in ['day_of_week', 'year'] -%}
        {{ exceptions.raise_compiler_error(
            "iso_date_part: part must be day_of_week or year, not " ~ part
        ) }}
    {%- endif -%}
    {{ return(adapter.dispatch('iso_date_part', 'tpch_warehouse')(part, expression)) }}
{%- endmacro %}

{% macro default__iso_date_part(part, expression) -%}
    extract({{ 'isodow' if part == 'day_of_week' else 'isoyear' }} from {{ expression }})
{%- endmacro %}

{% macro spark__iso_date_part(part, expression) -%}
    extract(
        {{ 'dayofweek_iso' if part == 'day_of_week' else 'yearofweek' }}
        from {{ expression }}
    )
{%- endmacro %}

{#-
    Turn a dlt load id (a unix epoch in seconds as text, for example
    '1795718575.8644216') into a UTC timestamp without time zone.
    Keep in step with `loaded_at_field` in the sources' YAML, which spells
    out the same expression because source YAML cannot call macros.
    Spark has no `double precision`, and adds seconds with timestamp_micros.
-#}
{% macro dlt_load_id_to_timestamp(column_name) -%}
    {{ return(adapter.dispatch('dlt_load_id_to_timestamp', 'tpch_warehouse')(column_name)) }}
{%- endmacro %}

{% macro default__dlt_load_id_to_timestamp(column_name) -%}
    cast('1970-01-01' as {{ dbt.type_timestamp() }})
    + cast({{ column_name }} as double precision) * interval '1 second'
{%- endmacro %}

{% macro spark__dlt_load_id_to_timestamp(column_name) -%}
    timestamp_micros(cast(round(cast({{ column_name }} as double) * 1000000) as bigint))
{%- endmacro %}

{#-
    A timestamp with time zone (dlt's `inserted_at`, say) as the UTC
    timestamp without time zone the rest of the project uses.
-#}
{% macro timestamp_to_utc(column_name) -%}
    {{ return(adapter.dispatch('timestamp_to_utc', 'tpch_warehouse')(column_name)) }}
{%- endmacro %}

{% macro default__timestamp_to_utc(column_name) -%}
    ({{ column_name }} at time zone 'UTC')
{%- endmacro %}

{% macro spark__timestamp_to_utc(column_name) -%}
    {{ column_name }}
{%- endmacro %}

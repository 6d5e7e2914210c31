{#-
    Turn a dlt load id (a unix epoch in seconds as text, for example
    '1795718575.8644216') into a UTC timestamp without time zone.
    Plain SQL that DuckDB and PostgreSQL both accept, so no dispatch.
    Keep in step with `loaded_at_field` in _erp__sources.yml, which spells
    out the same expression because source YAML cannot call macros.
-#}
{% macro dlt_load_id_to_timestamp(column_name) -%}
    cast('1970-01-01' as {{ dbt.type_timestamp() }})
    + cast({{ column_name }} as double precision) * interval '1 second'
{%- endmacro %}

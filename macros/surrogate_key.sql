{#-
    Star-schema surrogate key: lowercase hex MD5 (32 characters, text) of
    the given column expressions cast to text, joined with '|', each null
    written as '<null>'. The same text casts and md5 on DuckDB, PostgreSQL
    and Spark, so a key is the same value on every target.
    Stable: the same natural key and version start always give the same
    key, which is what lets facts be built incrementally.
-#}
{% macro surrogate_key(columns) %}
    cast(
        md5(
            {%- for column in columns %}
            coalesce(cast({{ column }} as {{ type_text() }}), '<null>')
            {%- if not loop.last %} || '|' ||{% endif %}
            {%- endfor %}
        ) as {{ type_text() }}
    )
{%- endmacro %}

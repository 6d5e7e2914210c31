{#-
    Star-schema surrogate key: lowercase hex MD5 (32 characters, text) of
    the given column expressions cast to text, joined with '|', each null
    written as '<null>'. Plain SQL valid on DuckDB and PostgreSQL (same
    text casts, same md5), so a key is the same value on both targets.
    Stable: the same natural key and version start always give the same
    key, which is what lets facts be built incrementally.
-#}
{% macro surrogate_key(columns) %}
    cast(
        md5(
            {%- for column in columns %}
            coalesce(cast({{ column }} as varchar), '<null>')
            {%- if not loop.last %} || '|' ||{% endif %}
            {%- endfor %}
        ) as text
    )
{%- endmacro %}

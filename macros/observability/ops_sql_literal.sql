{#-
    A value as a SQL literal every target reads: null, a number
    as is, a timestamp as a cast of its naive UTC text, anything else as a
    quoted string (string_literal, cut to max_length characters).
-#}
{% macro ops_sql_literal(value, max_length=4000) -%}
    {%- if value is none or value is not defined -%}
        null
    {%- elif value is number and value is not boolean -%}
        {{ value }}
    {%- elif value is boolean -%}
        {{ 'true' if value else 'false' }}
    {%- elif value.isoformat is defined and value.year is defined -%}
        cast('{{ value.strftime('%Y-%m-%d %H:%M:%S.%f') }}' as timestamp)
    {%- else -%}
        {{ string_literal((value | string)[:max_length]) }}
    {%- endif -%}
{%- endmacro %}

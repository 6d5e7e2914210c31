{#-
    The start of recorded history: a timestamp literal built from var
    `scd2_low_date`. Dimensions start each key's first version here, so a
    fact older than the first snapshot of its key joins the earliest known
    version instead of no version.
-#}
{% macro scd2_low_date() %}
    cast('{{ var("scd2_low_date") }}' as timestamp)
{%- endmacro %}

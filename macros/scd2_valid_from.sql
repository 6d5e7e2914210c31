{#-
    Start of a snapshot version as the marts use it: dbt_valid_from, except
    for each key's first version, which starts at scd2_low_date() so facts
    older than the first snapshot join the earliest known state. One rule
    for every dimension and as-of join.
-#}
{% macro scd2_valid_from(unique_key) %}
    case
        when
            row_number() over (
                partition by {{ unique_key | join(', ') }}
                order by dbt_valid_from
            ) = 1
            then {{ scd2_low_date() }}
        else dbt_valid_from
    end
{%- endmacro %}

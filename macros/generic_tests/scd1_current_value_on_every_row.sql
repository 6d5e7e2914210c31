{#-
    SCD type 1 rule inside a type 6 dimension: the column `current_column`
    holds, on every version of a key, the value `source_column` has on the
    key's current version (overwritten on all rows at each change).
    Returns every row whose current value differs from that value.
-#}
{% test scd1_current_value_on_every_row(
    model,
    unique_key,
    source_column,
    current_column,
    is_current='is_current'
) %}

with current_versions as (

    select
        {{ unique_key | join(',\n        ') }},
        {{ source_column }} as expected_value
    from {{ model }}
    where {{ is_current }}

),

validation as (

    select
        {% for key in unique_key -%}
            versions.{{ key }},
        {% endfor -%}
        versions.{{ current_column }} as actual_value,
        current_versions.expected_value
    from {{ model }} as versions
    left join current_versions
        on
            {% for key in unique_key -%}
                {{ 'and ' if not loop.first }}versions.{{ key }}
                = current_versions.{{ key }}
            {% endfor %}
    where
        versions.{{ current_column }}
        is distinct from current_versions.expected_value

)

select * from validation

{% endtest %}

{#-
    SCD type 3 rule: `previous_column` holds, on every version of a key,
    the value `source_column` had before its current value: the value of
    the latest version (by `valid_from`) that differs from the current
    version's, or null when the value never changed.
    Returns every row whose previous value differs from that.
-#}
{% test scd3_previous_value(
    model,
    unique_key,
    source_column,
    previous_column,
    valid_from='valid_from',
    is_current='is_current'
) %}

with current_versions as (

    select
        {{ unique_key | join(',\n        ') }},
        {{ source_column }} as current_value
    from {{ model }}
    where {{ is_current }}

),

earlier_values as (

    select
        {% for key in unique_key -%}
            versions.{{ key }},
        {% endfor -%}
        versions.{{ source_column }} as earlier_value,
        row_number() over (
            partition by
                {% for key in unique_key -%}
                    versions.{{ key }}{{ ',' if not loop.last }}
                {% endfor %}
            order by versions.{{ valid_from }} desc
        ) as recency
    from {{ model }} as versions
    inner join current_versions
        on
            {% for key in unique_key -%}
                {{ 'and ' if not loop.first }}versions.{{ key }}
                = current_versions.{{ key }}
            {% endfor %}
    where
        versions.{{ source_column }}
        is distinct from current_versions.current_value

),

validation as (

    select
        {% for key in unique_key -%}
            versions.{{ key }},
        {% endfor -%}
        versions.{{ previous_column }} as actual_value,
        earlier_values.earlier_value as expected_value
    from {{ model }} as versions
    left join earlier_values
        on
            {% for key in unique_key -%}
                versions.{{ key }} = earlier_values.{{ key }} and
            {% endfor %}
            earlier_values.recency = 1
    where
        versions.{{ previous_column }}
        is distinct from earlier_values.earlier_value

)

select * from validation

{% endtest %}

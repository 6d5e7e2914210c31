{#-
    SCD2 invariant: the validity ranges [valid_from, valid_to) of a
    key never overlap and none is empty or reversed. Returns each version
    that starts before the previous version of its key ends, and each
    version whose range is empty.
-#}
{% test scd2_no_overlapping_versions(
    model,
    unique_key,
    valid_from='dbt_valid_from',
    valid_to='dbt_valid_to'
) %}

with versions as (

    select
        {{ unique_key | join(',\n        ') }},
        {{ valid_from }},
        {{ valid_to }},
        lag({{ valid_to }}) over (
            partition by {{ unique_key | join(', ') }}
            order by {{ valid_from }}, {{ valid_to }}
        ) as previous_valid_to
    from {{ model }}

),

validation as (

    select *
    from versions
    where
        {{ valid_from }} >= {{ valid_to }}
        or previous_valid_to > {{ valid_from }}

)

select * from validation

{% endtest %}

{#-
    SCD2 invariant: the versions of a key are contiguous, each one starting
    exactly when the previous one ends (no gap in the history). Returns each
    version whose start differs from the end of the version before it.
-#}
{% test scd2_contiguous_versions(
    model,
    unique_key,
    valid_from='dbt_valid_from',
    valid_to='dbt_valid_to'
) %}

with versions as (

    select
        {{ unique_key | join(',\n        ') }},
        {{ valid_from }},
        lag({{ valid_to }}) over (
            partition by {{ unique_key | join(', ') }}
            order by {{ valid_from }}, {{ valid_to }}
        ) as previous_valid_to
    from {{ model }}

),

validation as (

    select *
    from versions
    where previous_valid_to <> {{ valid_from }}

)

select * from validation

{% endtest %}

{#-
    SCD2 invariant: every key has exactly one current version, whose
    `valid_to` column (dbt_valid_to by default) is the project's high date
    (var `scd2_high_date`); a key that was deleted keeps its deletion record
    as the current version. `valid_from` is accepted for a signature shared
    with the other scd2_ tests and is not used.
    Returns one row per key with zero or several current versions.
-#}
{% test scd2_one_current_version(
    model,
    unique_key,
    valid_from='dbt_valid_from',
    valid_to='dbt_valid_to'
) %}

with versions as (

    select
        {{ unique_key | join(',\n        ') }},
        {{ valid_to }}
    from {{ model }}

),

validation as (

    select
        {{ unique_key | join(',\n        ') }},
        sum(
            case
                when {{ valid_to }} = {{ scd2_high_date() }} then 1 else 0
            end
        ) as current_versions
    from versions
    group by
        {{ unique_key | join(',\n        ') }}
    having
        sum(
            case
                when {{ valid_to }} = {{ scd2_high_date() }} then 1 else 0
            end
        ) <> 1

)

select * from validation

{% endtest %}

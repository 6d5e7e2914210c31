{#-
    SCD2 invariant for `hard_deletes: new_record`: a key that has left the
    snapshotted relation has a deletion record (dbt_is_deleted 'True') as
    its current version, and a key still present has a current version that
    is not a deletion. Returns each key whose current version says the
    opposite of what `current_relation` holds.
-#}
{% test scd2_deletions_are_versions(model, unique_key, current_relation) %}

with current_versions as (

    select
        {{ unique_key | join(',\n        ') }},
        dbt_is_deleted
    from {{ model }}
    where dbt_valid_to = {{ scd2_high_date() }}

),

present_keys as (

    select
        {{ unique_key | join(',\n        ') }}
    from {{ current_relation }}

),

compared as (

    select
        {% for column in unique_key -%}
            current_versions.{{ column }},
        {% endfor -%}
        current_versions.dbt_is_deleted,
        not exists (
            select 1
            from present_keys
            where
                {% for column in unique_key -%}
                    present_keys.{{ column }} = current_versions.{{ column }}
                    {%- if not loop.last %} and {% endif %}
                {% endfor %}
        ) as has_left_source
    from current_versions

),

validation as (

    select *
    from compared
    where
        (has_left_source and coalesce(dbt_is_deleted, 'False') <> 'True')
        or (not has_left_source and coalesce(dbt_is_deleted, 'False') = 'True')

)

select * from validation

{% endtest %}

{#-
    Generic test on a satellite: its versions per key equal the versions of
    the same columns in an SCD2 snapshot of the same source, when both are
    built at the same cadence (the same dbt builds). The snapshot's rows are
    projected onto the satellite's payload, hashed with the same contract,
    and consecutive equal states are collapsed (the snapshot also versions
    changes of columns that live in another satellite); deletion rows are
    left out. Then the n-th version of each key must have the same hashdiff
    on both sides. Returns each (key, version) that differs.
-#}
{% test vault_sat_matches_snapshot(
    model, snapshot, parent_hash_key, hashdiff, hash_key_columns, payload
) %}

with satellite as (

    select * from {{ model }}

),

snapshot_rows as (

    select * from {{ snapshot }}

),

snapshot_states as (

    select
        {{ vault_hash(hash_key_columns) }} as hash_key,
        {{ vault_hash(payload, 'diff') }} as hashdiff,
        dbt_valid_from
    from snapshot_rows
    where
        coalesce(cast(dbt_is_deleted as {{ dbt.type_string() }}), 'False')
        <> 'True'

),

snapshot_changes as (

    select
        hash_key,
        hashdiff,
        dbt_valid_from,
        lag(hashdiff) over (
            partition by hash_key
            order by dbt_valid_from
        ) as previous_hashdiff
    from snapshot_states

),

snapshot_versions as (

    select
        hash_key,
        hashdiff,
        row_number() over (
            partition by hash_key
            order by dbt_valid_from
        ) as version_number
    from snapshot_changes
    where
        previous_hashdiff is null
        or previous_hashdiff <> hashdiff

),

satellite_versions as (

    select
        {{ parent_hash_key }} as hash_key,
        {{ hashdiff }} as hashdiff,
        row_number() over (
            partition by {{ parent_hash_key }}
            order by load_at
        ) as version_number
    from satellite
    where {{ parent_hash_key }} <> {{ vault_hash([], 'ghost') }}

),

final as (

    select
        coalesce(
            satellite_versions.hash_key, snapshot_versions.hash_key
        ) as hash_key,
        coalesce(
            satellite_versions.version_number,
            snapshot_versions.version_number
        ) as version_number,
        satellite_versions.hashdiff as satellite_hashdiff,
        snapshot_versions.hashdiff as snapshot_hashdiff
    from satellite_versions
    full outer join snapshot_versions
        on
            satellite_versions.hash_key = snapshot_versions.hash_key
            and satellite_versions.version_number
            = snapshot_versions.version_number
    where
        satellite_versions.hashdiff is null
        or snapshot_versions.hashdiff is null
        or satellite_versions.hashdiff <> snapshot_versions.hashdiff

)

select * from final

{% endtest %}

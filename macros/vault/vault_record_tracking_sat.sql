{#-
    Entry macro for a record-tracking satellite: whether a parent key is
    present in its source or was deleted there. Renders CTEs ending in
    `final`. The source CTE holds the parent hash key, `load_at` and
    `record_source` of every key the source holds now.
    Insert-only, one row per change of status: `is_deleted` false with the
    source's load_at when a key first appears (or reappears); `is_deleted`
    true when a key whose latest row says present is no longer in the
    source. A deletion's load_at is the start of the dbt run that noticed
    it (the raw row is gone, and with it the load that removed it), and
    its record_source is the parent's latest one. The first build adds the
    ghost record.
    Unlike the other entry macros it reads every staged key on every run,
    not only the rows loaded since its watermark: a deletion is the absence
    of a key, visible only against the full key set. That costs one key
    hash per staged row (no payload is hashed) and a scan of the table.
-#}
{% macro vault_record_tracking_sat(source_cte, parent_hash_key) -%}
tracking_source as (

    select
        {{ parent_hash_key }},
        max(load_at) as load_at,
        min(record_source) as record_source
    from {{ source_cte }}
    where {{ parent_hash_key }} <> {{ vault_hash([], 'ghost') }}
    group by {{ parent_hash_key }}

),
{%- if is_incremental() %}

tracking_existing as (

    select
        {{ parent_hash_key }},
        is_deleted,
        record_source,
        row_number() over (
            partition by {{ parent_hash_key }}
            order by load_at desc
        ) as newest_rank
    from {{ this }}
    where {{ parent_hash_key }} <> {{ vault_hash([], 'ghost') }}

),

tracking_latest as (

    select
        {{ parent_hash_key }},
        is_deleted,
        record_source
    from tracking_existing
    where newest_rank = 1

),

tracking_appeared as (

    select
        tracking_source.{{ parent_hash_key }},
        false as is_deleted,
        tracking_source.load_at,
        tracking_source.record_source
    from tracking_source
    left join tracking_latest
        on
            tracking_source.{{ parent_hash_key }}
            = tracking_latest.{{ parent_hash_key }}
    where tracking_latest.{{ parent_hash_key }} is null
        or tracking_latest.is_deleted

),

tracking_deleted as (

    select
        tracking_latest.{{ parent_hash_key }},
        true as is_deleted,
        {{ vault_run_started_at() }} as load_at,
        tracking_latest.record_source
    from tracking_latest
    left join tracking_source
        on
            tracking_latest.{{ parent_hash_key }}
            = tracking_source.{{ parent_hash_key }}
    where not tracking_latest.is_deleted
        and tracking_source.{{ parent_hash_key }} is null

),

final as (

    select
        {{ parent_hash_key }},
        is_deleted,
        load_at,
        record_source
    from tracking_appeared

    union all

    select
        {{ parent_hash_key }},
        is_deleted,
        load_at,
        record_source
    from tracking_deleted

)
{%- else %}

final as (

    select
        {{ parent_hash_key }},
        false as is_deleted,
        load_at,
        record_source
    from tracking_source

    union all

    select
        {{ vault_hash([], 'ghost') }} as {{ parent_hash_key }},
        false as is_deleted,
        {{ vault_ghost_load_at() }} as load_at,
        '{{ var("vault_ghost_record_source") }}' as record_source

)
{%- endif %}
{%- endmacro %}

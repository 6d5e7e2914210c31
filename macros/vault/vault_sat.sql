{#-
    Entry macro for a satellite. Renders the CTEs that load it, ending in
    `final`. The source CTE holds the parent's hash key, the payload
    columns, `load_at` and `record_source`, at most one row per parent key
    (staging holds each key's current state). The hashdiff is vault_hash
    (kind diff) over the payload, in the given order.
    Insert-only: a run appends a row only where the hashdiff differs from
    the parent key's latest row (or the key has none), so reloading
    unchanged data adds nothing. The first build adds the ghost record.
    Incremental runs read (and hash) only the rows loaded since the
    target's watermark (vault_load_watermark) and compare them with the
    latest rows of those keys only, so the cost follows the change.
-#}
{% macro vault_sat(source_cte, parent_hash_key, hashdiff, payload) -%}
sat_source as (

    select
        {{ parent_hash_key }},
        {{ vault_hash(payload, 'diff') }} as {{ hashdiff }},
        {%- for column in payload %}
        {{ column }},
        {%- endfor %}
        load_at,
        record_source,
        row_number() over (
            partition by {{ parent_hash_key }}
            order by load_at desc
        ) as newest_rank
    from {{ source_cte }}
    where {{ vault_load_watermark(
        parent_hash_key ~ ' <> ' ~ vault_hash([], 'ghost')
    ) }}

),
{%- if is_incremental() %}

sat_slice_keys as (

    select distinct {{ parent_hash_key }}
    from sat_source

),

sat_existing as (

    select
        existing.{{ parent_hash_key }},
        existing.{{ hashdiff }},
        row_number() over (
            partition by existing.{{ parent_hash_key }}
            order by existing.load_at desc
        ) as newest_rank
    from {{ this }} as existing
    inner join sat_slice_keys
        on
            existing.{{ parent_hash_key }}
            = sat_slice_keys.{{ parent_hash_key }}

),

sat_latest as (

    select
        {{ parent_hash_key }},
        {{ hashdiff }}
    from sat_existing
    where newest_rank = 1

),
{%- endif %}

sat_changed as (

    select
        sat_source.{{ parent_hash_key }},
        sat_source.{{ hashdiff }},
        {%- for column in payload %}
        sat_source.{{ column }},
        {%- endfor %}
        sat_source.load_at,
        sat_source.record_source
    from sat_source
    {%- if is_incremental() %}
    left join sat_latest
        on sat_source.{{ parent_hash_key }} = sat_latest.{{ parent_hash_key }}
    {%- endif %}
    where
        sat_source.newest_rank = 1
        {%- if is_incremental() %}
        and (
            sat_latest.{{ hashdiff }} is null
            or sat_latest.{{ hashdiff }} <> sat_source.{{ hashdiff }}
        )
        {%- endif %}

),

final as (

    select
        {{ parent_hash_key }},
        {{ hashdiff }},
        {%- for column in payload %}
        {{ column }},
        {%- endfor %}
        load_at,
        record_source
    from sat_changed
    {%- if not is_incremental() %}

    union all

    select
        {{ vault_hash([], 'ghost') }} as {{ parent_hash_key }},
        {{ vault_hash([], 'ghost') }} as {{ hashdiff }},
        {%- for column in payload %}
        typed_nulls.{{ column }},
        {%- endfor %}
        {{ vault_ghost_load_at() }} as load_at,
        '{{ var("vault_ghost_record_source") }}' as record_source
    {#- a join that matches nothing: one row of nulls typed as the payload
        (a bare null would lose a decimal's precision on PostgreSQL) #}
    from (select 1 as ghost_row) as ghost
    left join sat_source as typed_nulls on false
    {%- endif %}

)
{%- endmacro %}

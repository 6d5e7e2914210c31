{#-
    Private helper of vault_hub and vault_link: the CTEs, ending in `final`,
    that append the hash keys not yet in the table. Each source CTE holds
    `hash_key`, the `columns`, `load_at` and `record_source`. A key is
    inserted once, with the earliest load_at it was seen at (ties broken by
    record_source); the first build also adds the ghost record, whose
    `ghost_hash_columns` are ghost keys and other columns null.
    Incremental runs read (and hash) only the rows loaded since the
    target's watermark (vault_load_watermark), each source CTE filtered
    before the union so the database can filter before hashing.
-#}
{% macro vault_new_keys(source_ctes, hash_key, columns, ghost_hash_columns) -%}
{%- set since_watermark = vault_load_watermark(
    hash_key ~ ' <> ' ~ vault_hash([], 'ghost')
) -%}
new_key_sources as (
    {%- for cte in source_ctes %}

    select
        {{ hash_key }},
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        load_at,
        record_source
    from {{ cte }}
    where {{ since_watermark }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

new_key_ranked as (

    select
        {{ hash_key }},
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        load_at,
        record_source,
        row_number() over (
            partition by {{ hash_key }}
            order by load_at, record_source
        ) as first_seen_rank
    from new_key_sources

),

new_keys as (

    select
        new_key_ranked.{{ hash_key }},
        {%- for column in columns %}
        new_key_ranked.{{ column }},
        {%- endfor %}
        new_key_ranked.load_at,
        new_key_ranked.record_source
    from new_key_ranked
    {%- if is_incremental() %}
    left join {{ this }} as existing
        on new_key_ranked.{{ hash_key }} = existing.{{ hash_key }}
    {%- endif %}
    where
        new_key_ranked.first_seen_rank = 1
        {%- if is_incremental() %}
        and existing.{{ hash_key }} is null
        {%- endif %}

),

final as (

    select
        {{ hash_key }},
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        load_at,
        record_source
    from new_keys
    {%- if not is_incremental() %}

    union all

    select
        {{ vault_hash([], 'ghost') }} as {{ hash_key }},
        {%- for column in columns %}
        {%- if column in ghost_hash_columns %}
        {{ vault_hash([], 'ghost') }} as {{ column }},
        {%- else %}
        typed_nulls.{{ column }},
        {%- endif %}
        {%- endfor %}
        {{ vault_ghost_load_at() }} as load_at,
        '{{ var("vault_ghost_record_source") }}' as record_source
    {#- a join that matches nothing: one row of nulls typed as the columns #}
    from (select 1 as ghost_row) as ghost
    left join new_key_sources as typed_nulls on false
    {%- endif %}

)
{%- endmacro %}

{#-
    Entry macro for a point-in-time (PIT) table. Renders CTEs ending in
    `final`: one row per hub key and daily snapshot date, from the date of
    the hub's first real load to the date of its satellites' latest load,
    for every date on which the key was known. For each satellite it holds
    the key and load_at of the satellite row in force at the end of that
    day (the latest row loaded before midnight), or the ghost record's key
    and load_at when there was none yet, so a consumer joins each satellite
    on equality, (hash key, load_at), with no range conditions.
    Columns per satellite: `<satellite cte>_hk` and `<satellite cte>_load_at`.
-#}
{% macro vault_pit(hub_cte, hash_key, satellite_ctes) -%}
pit_bounds as (

    select
        cast(min(load_at) as date) as first_date,
        cast(max(load_at) as date) as last_date
    from (
        select load_at from {{ hub_cte }}
        where {{ hash_key }} <> {{ vault_hash([], 'ghost') }}
        {%- for sat in satellite_ctes %}
        union all
        select load_at from {{ sat }}
        where {{ hash_key }} <> {{ vault_hash([], 'ghost') }}
        {%- endfor %}
    ) as loads

),

pit_dates as (

    {{ days_between(
        'pit_bounds.first_date', 'pit_bounds.last_date', 'snapshot_date', 'pit_bounds'
    ) }}

),

pit_spine as (

    select
        {{ hub_cte }}.{{ hash_key }},
        pit_dates.snapshot_date,
        cast(pit_dates.snapshot_date as timestamp)
        + interval '1 day' as snapshot_end_at
    from {{ hub_cte }}
    inner join pit_dates
        on {{ hub_cte }}.load_at
        < cast(pit_dates.snapshot_date as timestamp) + interval '1 day'
    where {{ hub_cte }}.{{ hash_key }} <> {{ vault_hash([], 'ghost') }}

),
{%- for sat in satellite_ctes %}

pit_{{ sat }} as (

    select
        pit_spine.{{ hash_key }},
        pit_spine.snapshot_date,
        max({{ sat }}.load_at) as load_at
    from pit_spine
    inner join {{ sat }}
        on
            pit_spine.{{ hash_key }} = {{ sat }}.{{ hash_key }}
            and {{ sat }}.load_at < pit_spine.snapshot_end_at
    group by
        pit_spine.{{ hash_key }},
        pit_spine.snapshot_date

),
{%- endfor %}

final as (

    select
        pit_spine.{{ hash_key }},
        pit_spine.snapshot_date,
        {%- for sat in satellite_ctes %}
        case
            when pit_{{ sat }}.load_at is null
                then {{ vault_hash([], 'ghost') }}
            else pit_spine.{{ hash_key }}
        end as {{ sat }}_hk,
        coalesce(
            pit_{{ sat }}.load_at, {{ vault_ghost_load_at() }}
        ) as {{ sat }}_load_at{{ "," if not loop.last }}
        {%- endfor %}
    from pit_spine
    {%- for sat in satellite_ctes %}
    left join pit_{{ sat }}
        on
            pit_spine.{{ hash_key }} = pit_{{ sat }}.{{ hash_key }}
            and pit_spine.snapshot_date = pit_{{ sat }}.snapshot_date
    {%- endfor %}

)
{%- endmacro %}

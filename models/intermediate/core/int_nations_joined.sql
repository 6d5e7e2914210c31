with nations as (

    select * from {{ ref('stg_erp__nations') }}

),

regions as (

    select * from {{ ref('stg_erp__regions') }}

),

joined as (

    select
        nations.nation_id,
        nations.nation_name,
        regions.region_id,
        regions.region_name,
        greatest(nations.loaded_at, regions.loaded_at) as loaded_at

    from nations
    inner join regions
        on nations.region_id = regions.region_id

)

select * from joined

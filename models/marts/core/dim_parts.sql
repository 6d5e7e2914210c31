with part_snapshots as (

    select * from {{ ref('snap_erp__parts') }}

),

versions as (

    select
        part_id,
        {{ scd2_valid_from(['part_id']) }} as valid_from,
        dbt_valid_to as valid_to,
        dbt_is_deleted = 'True' as is_deleted,
        part_name,
        manufacturer_name,
        brand_name,
        part_type,
        part_size,
        container_type,
        retail_price,
        loaded_at
    from part_snapshots

),

keyed as (

    select
        {{ surrogate_key(['part_id', 'valid_from']) }} as part_sk,
        part_id,
        valid_from,
        valid_to,
        valid_to = {{ scd2_high_date() }} as is_current,
        is_deleted,
        part_name,
        manufacturer_name,
        brand_name,
        part_type,
        part_size,
        container_type,
        retail_price,
        loaded_at
    from versions

),

unknown_member as (

    select
        {{ unknown_member_sk() }} as part_sk,
        cast(-1 as bigint) as part_id,
        {{ scd2_low_date() }} as valid_from,
        {{ scd2_high_date() }} as valid_to,
        true as is_current,
        false as is_deleted,
        'Unknown part' as part_name,
        'Unknown' as manufacturer_name,
        'Unknown' as brand_name,
        'UNKNOWN' as part_type,
        cast(null as integer) as part_size,
        'UNKNOWN' as container_type,
        cast(null as decimal(15, 2)) as retail_price,
        {{ scd2_low_date() }} as loaded_at

),

final as (

    select
        part_sk,
        part_id,
        valid_from,
        valid_to,
        is_current,
        is_deleted,
        part_name,
        manufacturer_name,
        brand_name,
        part_type,
        part_size,
        container_type,
        retail_price,
        loaded_at
    from keyed

    union all

    select
        part_sk,
        part_id,
        valid_from,
        valid_to,
        is_current,
        is_deleted,
        part_name,
        manufacturer_name,
        brand_name,
        part_type,
        part_size,
        container_type,
        retail_price,
        loaded_at
    from unknown_member

)

select * from final

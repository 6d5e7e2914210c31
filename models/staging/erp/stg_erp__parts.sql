with source as (

    select * from {{ source('erp', 'part') }}

),

renamed as (

    select
        cast(p_partkey as bigint) as part_id,
        trim(p_name) as part_name,
        trim(p_mfgr) as manufacturer_name,
        trim(p_brand) as brand_name,
        trim(p_type) as part_type,
        cast(p_size as integer) as part_size,
        trim(p_container) as container_type,
        cast(p_retailprice as decimal(15, 2)) as retail_price,
        trim(p_comment) as part_comment,
        cast(updated_at as timestamp) as updated_at,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed

with source as (

    select * from {{ source('erp', 'region') }}

),

renamed as (

    select
        cast(r_regionkey as bigint) as region_id,
        trim(r_name) as region_name,
        trim(r_comment) as region_comment,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed

with source as (

    select * from {{ source('erp', 'nation') }}

),

renamed as (

    select
        cast(n_nationkey as bigint) as nation_id,
        trim(n_name) as nation_name,
        cast(n_regionkey as bigint) as region_id,
        trim(n_comment) as nation_comment,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
